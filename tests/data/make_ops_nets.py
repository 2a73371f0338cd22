#!/usr/bin/env python3
"""Regenerates tests/data/ops/: two small PyTorch networks exported to ONNX
*without* fusing BatchNormalization, eps-ball VNN-LIB specs around a few points,
what dense sampling in float64 found for each spec (expected.csv), and the
network's float64 outputs at a few points (points.txt / outputs.txt) for
comparing certnn's evaluation with torch's.  Not part of the build; the files are
committed.  Needs python3-torch (Debian).  Run from the source tree:

    python3 tests/data/make_ops_nets.py tests/data/ops

bn_conv.onnx   input [1,2,6,6] in [0,1]:
               BatchNorm (at the input) -> Conv 2->3 k3 pad1 -> BatchNorm -> Relu
               -> BatchNorm (after the ReLU) -> Conv 3->4 k3 pad1 stride2
               -> LeakyRelu(0.1) -> Flatten -> Gemm 36->8 -> Clip(0,6) (ReLU6)
               -> Gemm 8->3
act_mlp.onnx   input [1,4] in [0,1]: Gemm 4->12 -> LeakyRelu(0.2) -> Gemm 12->12
               -> Clip(-1,2) -> Gemm 12->3 -> Softmax.  outputs.txt holds its
               logits (the input of the Softmax), which certnn verifies.

The BatchNormalization statistics are random (not trained) and the export uses
eval mode with do_constant_folding=False, so the graph keeps every
BatchNormalization node (folding them is certnn's job).  Specs: for points p_k
and eps in {0.01, 0.05} (bn_conv) / {0.02, 0.1, 0.3} (act_mlp), the box
[p - eps, p + eps] clipped to [0,1] and the unsafe set "some other output >= the
output of the label predicted at p" (pairwise comparisons only, which a Softmax
output allows).  act_mlp_const.vnnlib compares an output with a constant, which
certnn must refuse on a Softmax network.
"""
import sys, os
import torch


class Flat(torch.nn.Module):
    def forward(self, x):
        return torch.flatten(x, 1)


def f32(v):
    """v rounded to float32: the value an ONNX float attribute stores, so that
    torch's float64 evaluation computes the file's function."""
    return float(torch.tensor(v, dtype=torch.float32))


def randomise_bn(bn, g):
    c = bn.num_features
    bn.eps = f32(bn.eps)
    with torch.no_grad():
        bn.weight.copy_(0.5 + torch.rand(c, generator=g))
        bn.bias.copy_(torch.rand(c, generator=g) - 0.5)
        bn.running_mean.copy_(torch.rand(c, generator=g) - 0.5)
        bn.running_var.copy_(0.2 + torch.rand(c, generator=g))


def export(net, shape, path):
    net.eval()
    torch.onnx.export(net, torch.zeros(*shape), path, input_names=["input"],
                      output_names=["output"], opset_version=13,
                      training=torch.onnx.TrainingMode.EVAL, do_constant_folding=False)


def write_spec(path, title, lo, hi, n_out, label):
    with open(path, "w") as f:
        f.write("; %s, label %d\n" % (title, label))
        for i in range(len(lo)):
            f.write("(declare-const X_%d Real)\n" % i)
        for j in range(n_out):
            f.write("(declare-const Y_%d Real)\n" % j)
        for i in range(len(lo)):
            f.write("(assert (>= X_%d %r))\n(assert (<= X_%d %r))\n" % (i, lo[i], i, hi[i]))
        f.write("(assert (or\n")
        for j in range(n_out):
            if j != label:
                f.write("    (and (>= Y_%d Y_%d))\n" % (j, label))
        f.write("))\n")


def specs(out, stem, logits, pts, epss, n_in, n_out, g, rows):
    for k, p in enumerate(pts):
        for eps in epss:
            name = "%s_p%d_eps_%s.vnnlib" % (stem, k, eps)
            pt = torch.tensor([p], dtype=torch.float64)
            label = int(logits(pt).argmax())
            lo = [max(0.0, v - eps) for v in p]
            hi = [min(1.0, v + eps) for v in p]
            write_spec(os.path.join(out, name), "%s point %d eps %s" % (stem, k, eps), lo, hi,
                       n_out, label)
            lo_t = torch.tensor(lo, dtype=torch.float64)
            hi_t = torch.tensor(hi, dtype=torch.float64)
            X = lo_t + torch.rand(20000, n_in, dtype=torch.float64, generator=g) * (hi_t - lo_t)
            corners = lo_t + torch.randint(0, 2, (4000, n_in), generator=g).double() * (hi_t - lo_t)
            Y = logits(torch.cat([X, corners]))
            other = torch.cat([Y[:, :label], Y[:, label + 1:]], 1).max(1).values
            margin = float((other - Y[:, label]).max())
            rows.append("%s,%s" % (name, "sat" if margin > 1e-6 else "nocex"))


def points(out, stem, logits, pts):
    with open(os.path.join(out, stem + "_points.txt"), "w") as f:
        for p in pts:
            f.write(" ".join("%r" % v for v in p) + "\n")
    with open(os.path.join(out, stem + "_outputs.txt"), "w") as f:
        Y = logits(torch.tensor(pts, dtype=torch.float64))
        for y in Y:
            f.write(" ".join("%.17g" % float(v) for v in y) + "\n")


def main(out):
    os.makedirs(out, exist_ok=True)
    g = torch.Generator().manual_seed(3)
    torch.manual_seed(5)
    rows = []

    bn0, bn1, bn2 = (torch.nn.BatchNorm2d(c) for c in (2, 3, 3))
    for bn in (bn0, bn1, bn2):
        randomise_bn(bn, g)
    conv = torch.nn.Sequential(
        bn0, torch.nn.Conv2d(2, 3, 3, padding=1), bn1, torch.nn.ReLU(), bn2,
        torch.nn.Conv2d(3, 4, 3, padding=1, stride=2), torch.nn.LeakyReLU(f32(0.1)), Flat(),
        torch.nn.Linear(36, 8), torch.nn.ReLU6(), torch.nn.Linear(8, 3))
    export(conv, (1, 2, 6, 6), os.path.join(out, "bn_conv.onnx"))
    convd = conv.double().eval()
    logits = lambda x: convd(x.reshape(-1, 2, 6, 6))
    cpts = [[((i * 7 + k * 13) % 17) / 16.0 for i in range(72)] for k in range(3)]
    with torch.no_grad():
        specs(out, "bn_conv", logits, cpts, (0.01, 0.05), 72, 3, g, rows)
        points(out, "bn_conv", logits, cpts)

    mlp = torch.nn.Sequential(
        torch.nn.Linear(4, 12), torch.nn.LeakyReLU(f32(0.2)), torch.nn.Linear(12, 12),
        torch.nn.Hardtanh(-1.0, 2.0),  # Clip with constant inputs (torch.clamp adds Casts)
        torch.nn.Linear(12, 3), torch.nn.Softmax(dim=1))
    X = torch.rand(512, 4, generator=g)
    y = (X[:, 0] + X[:, 1] > 1).long() + (X[:, 2] > X[:, 3]).long()
    opt = torch.optim.Adam(mlp.parameters(), lr=0.05)
    for _ in range(200):
        opt.zero_grad()
        loss = torch.nn.functional.nll_loss(torch.log(mlp(X) + 1e-9), y)
        loss.backward()
        opt.step()
    export(mlp, (1, 4), os.path.join(out, "act_mlp.onnx"))
    mlpd = mlp.double().eval()
    logits = lambda x: mlpd[:-1](x)
    mpts = [[0.2, 0.3, 0.7, 0.4], [0.8, 0.9, 0.1, 0.5], [0.5, 0.5, 0.5, 0.5], [0.1, 0.6, 0.3, 0.9]]
    with torch.no_grad():
        specs(out, "act_mlp", logits, mpts, (0.02, 0.1, 0.3), 4, 3, g, rows)
        points(out, "act_mlp", logits, mpts)
    with open(os.path.join(out, "act_mlp_const.vnnlib"), "w") as f:
        f.write("; a constant on a Softmax output: certnn must refuse it\n")
        for i in range(4):
            f.write("(declare-const X_%d Real)\n" % i)
        for j in range(3):
            f.write("(declare-const Y_%d Real)\n" % j)
        for i in range(4):
            f.write("(assert (>= X_%d 0.4))\n(assert (<= X_%d 0.6))\n" % (i, i))
        f.write("(assert (>= Y_0 0.9))\n")
    with open(os.path.join(out, "expected.csv"), "w") as f:
        f.write("vnnlib,sampling\n" + "\n".join(rows) + "\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/ops")
