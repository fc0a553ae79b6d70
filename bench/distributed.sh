#!/usr/bin/env bash
# Data-parallel throughput side by side (docs/distributed.md): ResNet-20, global batch 128,
# 32x32x3 images, on this machine:
#   libresnet  1 rank x 1 thread, 2 ranks x 1 thread (mpirun; per-rank BN and --sync-bn),
#              1 rank x 2 threads                 -> images/s of the second epoch (log.csv)
#   PyTorch    1 process x 1 thread, DDP (gloo) 2 processes x 1 thread
#                                                 -> images/s of the median step
# The configurations alternate within each round; the table gives each one's median over
# the rounds.  Needs a resnet program built with -DRESNET_MPI=ON, mpirun and python3-torch.
#   usage: bench/distributed.sh RESNET_EXE [ROUNDS]
set -euo pipefail
exe=$1
rounds=${2:-3}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# 1280 training images (10 batches of 128), 128 test images; random pixels and labels
python3 - "$work/data" <<'PY'
import os, random, sys
d = sys.argv[1]; os.makedirs(d); rng = random.Random(1)
for i, f in enumerate(["data_batch_%d.bin" % k for k in range(1, 6)] + ["test_batch.bin"]):
    out = bytearray()
    for r in range(256 if i < 5 else 128):
        out.append(rng.randrange(10)); out += os.urandom(3072)
    open(os.path.join(d, f), "wb").write(out)
PY
mpi=(mpirun --allow-run-as-root --oversubscribe -np 2)
common=(resnet20 --data cifar10 --data-dir "$work/data" --batch 128 --epochs 2 --seed 1)
lib_ips() { tail -1 "$1/log.csv" | cut -d, -f7; }
declare -A got
add() { got[$1]="${got[$1]:-} $2"; echo "  $1: $2 img/s"; }
for r in $(seq 1 "$rounds"); do
  echo "round $r"
  "$exe" train "${common[@]}" --threads 1 --out "$work/a" >/dev/null 2>&1
  add "libresnet 1 rank x 1 thread" "$(lib_ips "$work/a")"
  "${mpi[@]}" "$exe" train "${common[@]}" --threads 1 --out "$work/b" >"$work/b.log" 2>&1
  add "libresnet 2 ranks x 1 thread" "$(lib_ips "$work/b")"
  grep '^communication' "$work/b.log" | tail -1 | sed 's/^/    /'
  "$exe" train "${common[@]}" --threads 2 --out "$work/c" >/dev/null 2>&1
  add "libresnet 1 rank x 2 threads" "$(lib_ips "$work/c")"
  "${mpi[@]}" "$exe" train "${common[@]}" --threads 1 --sync-bn --out "$work/d" >"$work/d.log" 2>&1
  add "libresnet 2 ranks x 1 thread, --sync-bn" "$(lib_ips "$work/d")"
  grep '^communication' "$work/d.log" | tail -1 | sed 's/^/    /'
  add "PyTorch DDP gloo 2 x 1 thread" "$(/usr/bin/python3 "$here/torch_ddp_cifar.py" 2 1 12 | sed 's/.*: \([0-9.]*\) images.*/\1/')"
  add "PyTorch 1 process x 1 thread" "$(/usr/bin/python3 "$here/torch_ddp_cifar.py" 1 1 12 | sed 's/.*: \([0-9.]*\) images.*/\1/')"
done
echo
echo "| configuration | median images/s | samples |"
echo "|---|---:|---|"
for k in "libresnet 1 rank x 1 thread" "libresnet 2 ranks x 1 thread" "libresnet 2 ranks x 1 thread, --sync-bn" \
         "libresnet 1 rank x 2 threads" "PyTorch 1 process x 1 thread" "PyTorch DDP gloo 2 x 1 thread"; do
  med=$(tr ' ' '\n' <<<"${got[$k]}" | grep . | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')
  echo "| $k | $med | ${got[$k]# } |"
done
