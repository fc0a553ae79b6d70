#!/usr/bin/python3
# PyTorch reference timing for docs/performance.md: a CIFAR ResNet (option-A shortcuts,
# as in the paper) training step at batch 128.  Usage: torch_resnet_cifar.py THREADS [HW] [DEPTH]
# The model (Net) is also what bench/compare_pytorch.py imports: keep one definition.
import sys, time, torch, torch.nn as nn, torch.nn.functional as F
class Block(nn.Module):
    def __init__(s, cin, cout, stride):
        super().__init__()
        s.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False); s.b1 = nn.BatchNorm2d(cout)
        s.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False); s.b2 = nn.BatchNorm2d(cout)
        s.pad = cout - cin; s.stride = stride
    def forward(s, x):
        o = F.relu(s.b1(s.c1(x))); o = s.b2(s.c2(o))
        sc = x
        if s.stride != 1 or s.pad:
            sc = x[:, :, ::s.stride, ::s.stride]
            sc = F.pad(sc, (0, 0, 0, 0, s.pad // 2, s.pad - s.pad // 2))
        return F.relu(o + sc)
class Net(nn.Module):
    def __init__(s, n):
        super().__init__()
        s.conv = nn.Conv2d(3, 16, 3, 1, 1, bias=False); s.bn = nn.BatchNorm2d(16)
        layers, cin = [], 16
        for cout, st in ((16, 1), (32, 2), (64, 2)):
            for i in range(n):
                layers.append(Block(cin, cout, st if i == 0 else 1)); cin = cout
        s.layers = nn.Sequential(*layers); s.fc = nn.Linear(64, 10)
    def forward(s, x):
        x = s.layers(F.relu(s.bn(s.conv(x))))
        return s.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))
def cifar_resnet(depth):
    """ResNet-DEPTH for CIFAR (depth = 6n + 2: 20, 32, 44, 56, 110), option-A shortcuts."""
    return Net((depth - 2) // 6)
def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    hw = int(sys.argv[2]) if len(sys.argv) > 2 else 32
    depth = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    torch.set_num_threads(threads)
    net = cifar_resnet(depth)
    opt = torch.optim.SGD(net.parameters(), lr=0.0, momentum=0.9)
    x = torch.randn(128, 3, hw, hw); y = torch.randint(0, 10, (128,))
    times = []
    for it in range(12):
        t0 = time.perf_counter()
        opt.zero_grad(); loss = F.cross_entropy(net(x), y); loss.backward(); opt.step()
        if it >= 2: times.append(time.perf_counter() - t0)
    times.sort(); med = times[len(times) // 2]
    print(f"torch {torch.__version__} resnet{depth} train batch 128 {hw}x{hw} threads {threads}: {128/med:.1f} images/s, median {med*1e3:.1f} ms")
if __name__ == "__main__":
    main()
