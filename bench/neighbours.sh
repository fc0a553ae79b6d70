#!/usr/bin/env bash
# Two threads beside a neighbour: reproduces the table of "Two threads and a
# busy machine" (docs/performance.md). Starts a neighbour on the same cores,
# runs `resnet bench` on 1 and 2 threads in alternation for several rounds
# (each build given, in turn), stops the neighbour, and prints per round and
# then the median and worst round of each, and the ratio 2 threads / 1.
#
#   bash bench/neighbours.sh [options] -- ARCH [resnet bench options]
#   bash bench/neighbours.sh --neighbour omp --rounds 5 -- resnet18
#   bash bench/neighbours.sh --neighbour resnet --builds "build build-omp" -- resnet50
#   bash bench/neighbours.sh --neighbour busy --nice 0 -- resnet20 --train --batch 32
#
# Options:
#   --builds "DIR..."  build directories holding the resnet program (default: build)
#   --neighbour KIND   none | omp (an OpenMP program of its own, 2 threads meeting at a
#                      barrier thousands of times a second) | resnet (a second
#                      `resnet bench resnet18` on 2 threads) | busy (plain busy loops,
#                      --copies of them) | build (compilers: the library's sources compiled over
#                      and over, one job per CPU)       (default omp)
#   --nice N           the neighbour's nice level (default 0)
#   --copies N         busy loops / compile jobs / OpenMP threads of the neighbour
#                      (default: one per CPU)
#   --rounds N         rounds; each runs every build on 1 and 2 threads (default 5)
#   --seconds S        seconds per `resnet bench` run (default 3)
#   --threads "1 2"    the thread counts compared (default "1 2")
# The CPU is printed first: record it with the figures.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
builds="build"; neighbour=omp; nice_level=0; rounds=5; seconds=3; threads="1 2"; copies=""
while [ $# -gt 0 ]; do
  case "$1" in
    --builds) builds=$2; shift 2 ;;
    --neighbour) neighbour=$2; shift 2 ;;
    --nice) nice_level=$2; shift 2 ;;
    --copies) copies=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || { echo "usage: $0 [options] -- ARCH [resnet bench options]" >&2; exit 2; }
bench_args=("$@")
for b in $builds; do
  [ -x "$b/resnet" ] || { echo "no resnet program in $b (build it: cmake --build $b --target resnet_cli)" >&2; exit 2; }
done
cpus=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
copies=${copies:-$cpus}
work=$(mktemp -d)
pids=()
stop_neighbours() {
  for p in "${pids[@]}"; do kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
  rm -rf "$work"
}
trap stop_neighbours EXIT INT TERM

# each neighbour runs in its own process group (setsid), so that stopping it
# stops its children too
start() { setsid nice -n "$nice_level" "$@" >/dev/null 2>&1 & pids+=($!); }
case "$neighbour" in
  none) ;;
  omp)
    ${CC:-cc} -O2 -fopenmp "$top/bench/neighbour-omp.c" -o "$work/neighbour-omp"
    OMP_NUM_THREADS=$copies start "$work/neighbour-omp" ;;
  resnet)
    first=${builds%% *}
    start bash -c "while :; do '$first/resnet' bench resnet18 --threads $cpus --seconds 60; done" ;;
  busy)
    for _ in $(seq "$copies"); do start bash -c 'while :; do :; done'; done ;;
  build)
    for j in $(seq "$copies"); do
      start bash -c "while :; do for f in '$top'/src/*/*.c; do ${CC:-cc} -O2 -std=c99 -I'$top/include' -I'$top/src' -c \"\$f\" -o '$work/o$j.o'; done; done"
    done ;;
  *) echo "unknown neighbour '$neighbour'" >&2; exit 2 ;;
esac

echo "# CPU: $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ //') ($cpus CPUs)"
echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
echo "# neighbour: $neighbour x$copies at nice $nice_level; resnet bench ${bench_args[*]} --seconds $seconds; $rounds rounds"
sleep 1 # let the neighbour get going

declare -A samples
for r in $(seq "$rounds"); do
  # alternate the order of the thread counts (and builds) from round to round
  order=$threads; border=$builds
  if [ $((r % 2)) = 0 ]; then
    order=$(echo $threads | tr ' ' '\n' | tac | tr '\n' ' ')
    border=$(echo $builds | tr ' ' '\n' | tac | tr '\n' ' ')
  fi
  line="round $r:"
  for b in $border; do
    for t in $order; do
      ms=$("$b/resnet" bench "${bench_args[@]}" --threads "$t" --seconds "$seconds" 2>/dev/null |
           sed -n 's/^ms per batch (median): *//p')
      samples["$b $t"]+="$ms "
      line+=" $(basename "$b")/$t=${ms}ms"
    done
  done
  echo "$line"
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"

stats() { # values -> "median worst"
  echo "$@" | tr ' ' '\n' | sed '/^$/d' | sort -g |
    awk '{v[NR]=$1} END {m = NR % 2 ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2; printf "%.1f %.1f", m, v[NR]}'
}
printf '%-24s %8s %10s %12s %12s\n' build threads "median ms" "worst ms" "median/1T"
for b in $builds; do
  read -r base _ <<<"$(stats ${samples["$b ${threads%% *}"]})"
  for t in $threads; do
    read -r med worst <<<"$(stats ${samples["$b $t"]})"
    printf '%-24s %8s %10s %12s %12s   worst/1T %s\n' "$(basename "$b")" "$t" "$med" "$worst" \
      "$(awk -v a="$med" -v b="$base" 'BEGIN {printf "%.2f", a / b}')" \
      "$(awk -v a="$worst" -v b="$base" 'BEGIN {printf "%.2f", a / b}')"
  done
done
