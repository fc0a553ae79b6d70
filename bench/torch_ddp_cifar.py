#!/usr/bin/python3
# PyTorch DistributedDataParallel (gloo) reference for docs/distributed.md: ResNet-20
# (bench/torch_resnet_cifar.py's Net) trained at a global batch of 128 split over WORLD
# processes of THREADS threads each, on random data, on this machine (localhost).
# Prints rank 0's median step time and the job's images/s.  WORLD 1 runs the plain model
# (no DDP wrapper), the single-process baseline.
#   usage: torch_ddp_cifar.py WORLD [THREADS] [STEPS]
import os, sys, time
import torch, torch.distributed as dist, torch.multiprocessing as mp, torch.nn.functional as F
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_resnet_cifar import cifar_resnet

def worker(rank, world, threads, steps, port):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = cifar_resnet(20)
    if world > 1:
        os.environ["MASTER_ADDR"] = "127.0.0.1"
        os.environ["MASTER_PORT"] = str(port)
        dist.init_process_group("gloo", rank=rank, world_size=world)
        net = torch.nn.parallel.DistributedDataParallel(net)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    local = 128 // world
    g = torch.Generator().manual_seed(rank)
    x = torch.randn(local, 3, 32, 32, generator=g); y = torch.randint(0, 10, (local,), generator=g)
    times = []
    for it in range(steps):
        t0 = time.perf_counter()
        opt.zero_grad(); loss = F.cross_entropy(net(x), y); loss.backward(); opt.step()
        if it >= 2: times.append(time.perf_counter() - t0)
    times.sort(); med = times[len(times) // 2]
    if rank == 0:
        print(f"torch {torch.__version__} ddp-gloo world {world} x {threads} threads resnet20 "
              f"global batch 128: {128 / med:.1f} images/s, median step {med * 1e3:.1f} ms")
    if world > 1:
        dist.destroy_process_group()

def main():
    world = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    steps = int(sys.argv[3]) if len(sys.argv) > 3 else 12
    port = 29500 + os.getpid() % 1000
    if world == 1:
        worker(0, 1, threads, steps, port)
    else:
        mp.spawn(worker, args=(world, threads, steps, port), nprocs=world, join=True)

if __name__ == "__main__":
    main()
