#!/usr/bin/env python3
"""Regenerates tests/data/preact/: a tiny pre-activation residual network as
PyTorch exports it (BatchNormalization nodes unfused, inside the residual
block's branch and on the block input that is also the skip), eps-ball VNN-LIB
specs around a few points, what dense sampling in float64 found for each spec
(expected.csv), and the network's float64 outputs at a few points
(preact_points.txt / preact_outputs.txt) for comparing certnn's evaluation with
torch's.  Not part of the build; the files are committed.  Needs python3-torch
(Debian).  Run from the source tree:

    python3 tests/data/make_preact.py tests/data/preact

preact.onnx   input [1,1,8,8] in [0,1]:
              Conv 1->4 k3 pad1 (x) -> BatchNorm -> Relu -> Conv 4->4 k3 pad1
              -> BatchNorm -> Relu -> Conv 4->4 k3 pad1, plus x (Add)
              -> Flatten -> Gemm 256->10

Weights are torch's random initialisation (seed 11), nothing is trained; the
BatchNormalization statistics are random and nonzero (make_ops_nets.py's
randomise_bn), and the export uses eval mode with do_constant_folding=False.
Specs: for points p_k and eps in {0.01, 0.05, 0.2}, the box [p - eps, p + eps]
clipped to [0,1] and the unsafe set "some other output >= the output of the
label predicted at p".
"""
import sys, os
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_ops_nets import Flat, randomise_bn, export, specs, points  # noqa: E402


class PreAct(torch.nn.Module):
    def __init__(self, g):
        super().__init__()
        self.stem = torch.nn.Conv2d(1, 4, 3, padding=1)
        self.bn1 = torch.nn.BatchNorm2d(4)
        self.conv1 = torch.nn.Conv2d(4, 4, 3, padding=1)
        self.bn2 = torch.nn.BatchNorm2d(4)
        self.conv2 = torch.nn.Conv2d(4, 4, 3, padding=1)
        for bn in (self.bn1, self.bn2):
            randomise_bn(bn, g)
        self.flat = Flat()
        self.fc = torch.nn.Linear(256, 10)

    def forward(self, x):
        x = self.stem(x)
        y = self.conv1(torch.relu(self.bn1(x)))
        y = self.conv2(torch.relu(self.bn2(y)))
        return self.fc(self.flat(x + y))


def main(out):
    os.makedirs(out, exist_ok=True)
    g = torch.Generator().manual_seed(3)
    torch.manual_seed(11)
    rows = []
    net = PreAct(g)
    export(net, (1, 1, 8, 8), os.path.join(out, "preact.onnx"))
    netd = net.double().eval()
    logits = lambda x: netd(x.reshape(-1, 1, 8, 8))
    pts = [[((i * 7 + k * 13) % 17) / 16.0 for i in range(64)] for k in range(3)]
    with torch.no_grad():
        specs(out, "preact", logits, pts, (0.01, 0.05, 0.2), 64, 10, g, rows)
        points(out, "preact", logits, pts)
    with open(os.path.join(out, "expected.csv"), "w") as f:
        f.write("vnnlib,sampling\n" + "\n".join(rows) + "\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/preact")
