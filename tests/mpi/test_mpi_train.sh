#!/usr/bin/env bash
# Data-parallel `resnet train` under mpirun, 2 ranks on this machine, against
# single processes of the same program (the reference: one process with
# --shards 2, which tests/test_train_dist.c ties to the unsharded trainer):
#   1. 2 ranks with --sync-bn give weights and a checkpoint byte-identical to
#      one process with --shards 2 (that one on 2 threads: threads change nothing),
#      and 4 ranks the weights of one process with --shards 4;
#   2. a run interrupted after epoch 1 and resumed under MPI ends identical too;
#   3. a rank killed mid-run ends the job with an error, the checkpoint left
#      behind is a complete one, and a resumed run continues from it;
#   4. a rank that stops answering (SIGSTOP) makes rank 0 fail with a clear
#      error within --mpi-timeout, and the job ends.
# usage: test_mpi_train.sh RESNET_EXE [MPIRUN]
set -u
exe=$1
mpirun=${2:-mpirun}
if ! command -v "$mpirun" >/dev/null 2>&1; then
  echo "SKIP: no mpirun"; exit 77
fi
if ! command -v python3 >/dev/null 2>&1; then
  echo "SKIP: no python3 to write the dataset"; exit 77
fi
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
[ -n "${RN_KEEP:-}" ] && trap - EXIT
failed=0
fail() { echo "FAIL: $*"; failed=1; }
ok() { echo "ok   $*"; }

# A CIFAR-10 binary dataset of 16 images per file: the class is a bright quadrant.
python3 - "$work/data" <<'EOF'
import os, random, sys
d = sys.argv[1]
os.makedirs(d)
rng = random.Random(7)
for f in ["data_batch_%d.bin" % i for i in range(1, 6)] + ["test_batch.bin"]:
    out = bytearray()
    for r in range(16):
        lab = rng.randrange(4)
        out.append(lab)
        for c in range(3):
            for y in range(32):
                for x in range(32):
                    q = (y >= 16) * 2 + (x >= 16)
                    out.append(min(255, int(60 * rng.random() + (150 if q == lab else 20))))
    open(os.path.join(d, f), "wb").write(out)
EOF

mpi=("$mpirun" --allow-run-as-root --oversubscribe -np 2)
common=(resnet20 --width 4 --data cifar10 --data-dir "$work/data" --batch 16 --seed 3
        --schedule step:2 --sync-bn)

# ---- 1. two ranks == one process of two shards, bit for bit
"$exe" train "${common[@]}" --threads 2 --shards 2 --epochs 3 --out "$work/one" \
  >"$work/one.log" 2>&1 || fail "single process: $(tail -3 "$work/one.log")"
"${mpi[@]}" "$exe" train "${common[@]}" --threads 1 --epochs 3 --out "$work/two" \
  >"$work/two.log" 2>&1 || fail "mpirun -np 2: $(tail -5 "$work/two.log")"
grep -q "data-parallel: 2 ranks" "$work/two.log" || fail "the MPI run did not see 2 ranks"
if cmp -s "$work/one/weights.safetensors" "$work/two/weights.safetensors" &&
   cmp -s "$work/one/checkpoint.safetensors" "$work/two/checkpoint.safetensors"; then
  ok "2 ranks with --sync-bn: weights and checkpoint identical to 1 process of 2 shards"
else
  fail "2 ranks differ from 1 process of 2 shards"
fi
# only rank 0 logs: a header and one row per epoch
[ "$(wc -l <"$work/two/log.csv")" = 4 ] || fail "log.csv has $(wc -l <"$work/two/log.csv") lines"
# the 1-process default (one shard) differs only by rounding: not the same bits
"$exe" train "${common[@]}" --threads 1 --epochs 3 --out "$work/plain" >/dev/null 2>&1
cmp -s "$work/one/weights.safetensors" "$work/plain/weights.safetensors" &&
  fail "--shards 2 gave the bits of one shard: the comparison above proves nothing"

# 4 ranks (oversubscribed: 2 per core here) == one process of 4 shards: the engine's
# tree order beyond two ranks, and rank batches smaller than the process's
"$exe" train "${common[@]}" --threads 1 --shards 4 --epochs 1 --out "$work/one4" \
  >"$work/one4.log" 2>&1 || fail "single process of 4 shards: $(tail -3 "$work/one4.log")"
"$mpirun" --allow-run-as-root --oversubscribe -np 4 "$exe" train "${common[@]}" --threads 1 \
  --epochs 1 --out "$work/four" >"$work/four.log" 2>&1 || fail "mpirun -np 4: $(tail -5 "$work/four.log")"
if cmp -s "$work/one4/weights.safetensors" "$work/four/weights.safetensors"; then
  ok "4 ranks with --sync-bn: weights identical to 1 process of 4 shards"
else
  fail "4 ranks differ from 1 process of 4 shards"
fi

# ---- 2. resume under MPI
"${mpi[@]}" "$exe" train "${common[@]}" --threads 1 --epochs 1 --out "$work/res" \
  >"$work/res1.log" 2>&1 || fail "resume, first part: $(tail -5 "$work/res1.log")"
"${mpi[@]}" "$exe" train "${common[@]}" --threads 1 --epochs 3 --out "$work/res" \
  --resume "$work/res/checkpoint.safetensors" >"$work/res2.log" 2>&1 ||
  fail "resume, second part: $(tail -5 "$work/res2.log")"
grep -q "resumed from" "$work/res2.log" || fail "the resumed run did not say so"
if cmp -s "$work/one/weights.safetensors" "$work/res/weights.safetensors"; then
  ok "interrupted after epoch 1 and resumed under MPI: identical weights"
else
  fail "the resumed MPI run differs"
fi

# The pid of rank $2 of the job tagged $1 (mpirun -x RN_TEST_TAG).
rank_pid() {
  for d in /proc/[0-9]*; do
    env=$(tr "\\0" "\\n" 2>/dev/null <"$d/environ") || continue
    if grep -qx "RN_TEST_TAG=$1" <<<"$env" && grep -qx "OMPI_COMM_WORLD_RANK=$2" <<<"$env"; then
      echo "${d#/proc/}"; return 0
    fi
  done
  return 1
}

# Starts a long job tagged $1 in the background (more epochs than it will live).
long_job() {
  RN_TEST_TAG=$1 "${mpi[@]}" -x RN_TEST_TAG "$exe" train "${common[@]}" --threads 1 \
    --epochs 100000 --mpi-timeout 5 --out "$work/$1" >"$work/$1.log" 2>&1 &
  job=$!
  pids+=("$job")
  # until the first checkpoint is written
  for _ in $(seq 1 600); do
    [ -f "$work/$1/checkpoint.safetensors" ] && break
    sleep 0.1
  done
  [ -f "$work/$1/checkpoint.safetensors" ] || fail "$1: no checkpoint after 60 s"
}

# Waits at most $2 seconds for job $1; sets rc (124 when it did not end).
wait_bounded() {
  rc=124
  for _ in $(seq 1 $(($2 * 10))); do
    if ! kill -0 "$1" 2>/dev/null; then wait "$1"; rc=$?; return; fi
    sleep 0.1
  done
}

# ---- 3. a rank killed mid-run
long_job killed
sleep 1
victim=$(rank_pid killed 1) || fail "killed: rank 1 not found"
if [ -n "${victim:-}" ]; then
  kill -KILL "$victim"
  wait_bounded "$job" 60
  if [ "$rc" = 124 ]; then
    fail "killed: the job still runs 60 s after rank 1 died"
  elif [ "$rc" = 0 ]; then
    fail "killed: the job reported success"
  else
    ok "a killed rank ends the job (exit $rc)"
  fi
  ls "$work/killed" | grep -q '\.tmp' && fail "killed: a temporary file was left behind"
  # the checkpoint left behind is complete: a resumed run continues from it
  epochs_done=$(($(wc -l <"$work/killed/log.csv") - 1))
  "${mpi[@]}" "$exe" train "${common[@]}" --threads 1 --epochs $((epochs_done + 1)) \
    --out "$work/killed" --resume "$work/killed/checkpoint.safetensors" \
    >"$work/killed-resume.log" 2>&1
  if [ $? = 0 ] && grep -q "epoch $((epochs_done + 1))/" "$work/killed-resume.log"; then
    ok "the checkpoint of the killed run resumes (epoch $epochs_done -> $((epochs_done + 1)))"
  else
    fail "resuming the killed run: $(tail -5 "$work/killed-resume.log")"
  fi
fi

# ---- 4. a rank that hangs
long_job hung
sleep 1
victim=$(rank_pid hung 1) || fail "hung: rank 1 not found"
if [ -n "${victim:-}" ]; then
  kill -STOP "$victim"
  pids+=("$victim")
  start=$(date +%s)
  wait_bounded "$job" 90
  took=$(($(date +%s) - start))
  if [ "$rc" = 124 ]; then
    fail "hung: the job still runs 90 s after rank 1 stopped"
  elif [ "$rc" = 0 ]; then
    fail "hung: the job reported success"
  elif ! grep -q "reduction engine failed" "$work/hung.log" ||
       ! grep -q "not complete after 5 s" "$work/hung.log"; then
    fail "hung: no clear error: $(tail -5 "$work/hung.log")"
  else
    ok "a silent rank makes rank 0 fail after the 5 s timeout; the job ended in ${took} s (exit $rc)"
  fi
  kill -KILL "$victim" 2>/dev/null
fi

exit $failed
