#!/usr/bin/env python3
"""Regenerates tests/data/tanh/: a small tanh/sigmoid MLP exported by PyTorch to
ONNX, eps-ball VNN-LIB specs around a few points, and what dense sampling in
float64 found for each spec (expected.csv).  Not part of the build; the files are
committed.  Needs python3-torch (Debian).  Run from the source tree:

    python3 tests/data/make_tanh_mlp.py tests/data/tanh

Network: 3 inputs -> Gemm 10 -> Tanh -> Gemm 10 -> Sigmoid -> Gemm 3, trained a few
hundred steps (seed 7) to classify the sign pattern of two linear forms, so that
its decision boundaries cross the unit cube.  Specs: for points p_k in [0,1]^3 and
eps in {0.02, 0.15, 0.35}, the box [p - eps, p + eps] and the unsafe set "some other
output >= the output of the label predicted at p".  expected.csv lists, per spec,
"sat" when some sampled point (grid and random, float64) violates the property by
a margin > 1e-6 (certnn must then not answer unsat), else "nocex".  For eps 0.35
specs without a sampled counterexample a "_tight" variant moves the threshold to
0.98 times the sampled worst margin (just above what the samples reach).
"""
import sys, os
import torch

def main(out):
    torch.manual_seed(7)
    os.makedirs(out, exist_ok=True)
    net = torch.nn.Sequential(
        torch.nn.Linear(3, 10), torch.nn.Tanh(),
        torch.nn.Linear(10, 10), torch.nn.Sigmoid(),
        torch.nn.Linear(10, 3)).double()
    X = torch.rand(512, 3, dtype=torch.float64)
    a = X[:, 0] + X[:, 1] - 1.0
    b = X[:, 1] - X[:, 2]
    y = (a > 0).long() + (b > 0).long()
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    for _ in range(300):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(X), y)
        loss.backward()
        opt.step()
    net = net.float()
    torch.onnx.export(net, torch.zeros(1, 3), os.path.join(out, "tanh_mlp.onnx"),
                      input_names=["input"], output_names=["output"], opset_version=13)
    netd = net.double()
    pts = [(0.2, 0.3, 0.7), (0.8, 0.9, 0.1), (0.5, 0.5, 0.5), (0.45, 0.6, 0.55),
           (0.1, 0.1, 0.9), (0.7, 0.35, 0.3)]
    rows = []
    g = torch.Generator().manual_seed(1)
    for k, p in enumerate(pts):
        for eps in (0.02, 0.15, 0.35):
            name = "tanh_mlp_p%d_eps_%s.vnnlib" % (k, eps)
            pt = torch.tensor([p], dtype=torch.float64)
            label = int(netd(pt).argmax())
            lo = [max(0.0, v - eps) for v in p]
            hi = [min(1.0, v + eps) for v in p]
            with open(os.path.join(out, name), "w") as f:
                f.write("; tanh_mlp around %s, eps %s, label %d\n" % (p, eps, label))
                for i in range(3):
                    f.write("(declare-const X_%d Real)\n" % i)
                for j in range(3):
                    f.write("(declare-const Y_%d Real)\n" % j)
                for i in range(3):
                    f.write("(assert (>= X_%d %r))\n(assert (<= X_%d %r))\n" % (i, lo[i], i, hi[i]))
                f.write("(assert (or\n")
                for j in range(3):
                    if j != label:
                        f.write("    (and (>= Y_%d Y_%d))\n" % (j, label))
                f.write("))\n")
            n = 21
            grid = torch.stack(torch.meshgrid(*[torch.linspace(lo[i], hi[i], n, dtype=torch.float64)
                                                for i in range(3)], indexing="ij"), -1).reshape(-1, 3)
            rnd = torch.rand(20000, 3, dtype=torch.float64, generator=g)
            rnd = torch.tensor(lo, dtype=torch.float64) + rnd * (torch.tensor(hi, dtype=torch.float64)
                                                                 - torch.tensor(lo, dtype=torch.float64))
            Y = netd(torch.cat([grid, rnd]))
            other = torch.cat([Y[:, :label], Y[:, label + 1:]], 1).max(1).values
            margin = float((other - Y[:, label]).max())
            rows.append("%s,%s" % (name, "sat" if margin > 1e-6 else "nocex"))
            if eps == 0.35 and margin < -1e-3:
                # a tighter unsafe set: other - label >= 0.98 margin, which the
                # samples do not reach; bounds at the root alone rarely decide it
                tname = name.replace(".vnnlib", "_tight.vnnlib")
                thr = margin * 0.98
                with open(os.path.join(out, name)) as f:
                    head = f.read().split("(assert (or")[0]
                with open(os.path.join(out, tname), "w") as f:
                    f.write(head + "(assert (or\n")
                    for j in range(3):
                        if j != label:
                            f.write("    (and (>= (- Y_%d Y_%d) %r))\n" % (j, label, thr))
                    f.write("))\n")
                rows.append("%s,nocex" % tname)
    with open(os.path.join(out, "expected.csv"), "w") as f:
        f.write("vnnlib,sampling\n" + "\n".join(rows) + "\n")

if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/tanh")
