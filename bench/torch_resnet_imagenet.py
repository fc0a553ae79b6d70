# PyTorch reference timing for docs/performance.md: torchvision ResNet-18/50 inference or a
# training step.  Usage: torch_resnet_imagenet.py ARCH THREADS BATCH infer|train
import sys, time, torch, torchvision, torch.nn.functional as F
arch, threads, batch, train = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "train"
torch.set_num_threads(threads)
net = getattr(torchvision.models, arch)()
x = torch.randn(batch, 3, 224, 224); y = torch.randint(0, 1000, (batch,))
if train:
    net.train(); opt = torch.optim.SGD(net.parameters(), lr=0.0, momentum=0.9)
else:
    net.eval()
times = []
n = 6 if train else 30
for it in range(n + 2):
    t0 = time.perf_counter()
    if train:
        opt.zero_grad(); F.cross_entropy(net(x), y).backward(); opt.step()
    else:
        with torch.no_grad(): net(x)
    if it >= 2: times.append(time.perf_counter() - t0)
times.sort(); med = times[len(times) // 2]
print(f"torch {torch.__version__} {arch} {'train' if train else 'infer'} batch {batch} 224x224 threads {threads}: {batch/med:.2f} images/s, median {med*1e3:.1f} ms")
