"""The Python package certnn, in process, against the command line on real data.

Run by tests/python.sh (python3 -m pytest) with the build's extension staged;
CN_SHARED / CN_SRCDIR / CERTNN come from the test environment."""

import gzip
import json
import os
import re
import subprocess
import threading
from fractions import Fraction

import numpy as np
import pytest

import certnn

SHARED = os.environ["CN_SHARED"]
SRC = os.environ["CN_SRCDIR"]
CERTNN = os.environ["CERTNN"]
ACAS = os.path.join(SHARED, "benchmarks", "acasxu")
ZOO = os.path.join(SRC, "models", "zoo")
FMNIST = "/usr/share/datasets/fashion-mnist"


def acas(net, prop):
    return (os.path.join(ACAS, "onnx", "ACASXU_run2a_%s_batch_2000.onnx" % net),
            os.path.join(ACAS, "vnnlib", "prop_%d.vnnlib" % prop))


def cli_json(*args):
    out = subprocess.run([CERTNN, *args, "--json"], capture_output=True, text=True)
    assert out.stdout, out.stderr
    return json.loads(out.stdout)


def fmnist_images(count):
    """The first `count` Fashion-MNIST test images (pixel / 255) and labels."""
    if not os.path.exists(os.path.join(FMNIST, "t10k-images-idx3-ubyte.gz")):
        pytest.skip("no Fashion-MNIST test set (Debian package: dataset-fashion-mnist)")
    with gzip.open(os.path.join(FMNIST, "t10k-images-idx3-ubyte.gz")) as f:
        pixels = np.frombuffer(f.read(), dtype=np.uint8, offset=16)
    with gzip.open(os.path.join(FMNIST, "t10k-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read(), dtype=np.uint8, offset=8)
    return pixels[: count * 784].reshape(count, 28, 28) / 255.0, labels[:count]


def box_of(vnnlib, n_in):
    """The input box of a VNN-LIB file written with one bound per assert."""
    lo, hi = [None] * n_in, [None] * n_in
    for op, i, v in re.findall(r"\(assert \((<=|>=) X_(\d+) ([-0-9.eE]+)\)\)", open(vnnlib).read()):
        (hi if op == "<=" else lo)[int(i)] = Fraction(v)
    return lo, hi


def test_load_and_info():
    net = certnn.load(os.path.join(ZOO, "fmnist_ibp.onnx"))
    assert (net.inputs, net.outputs) == (784, 10)
    info = net.info()
    assert info["inputs"] == 784 and info["outputs"] == 10 and info["relus"] > 0
    assert len(info["sha256"]) == 64
    cli = cli_json("info", os.path.join(ZOO, "fmnist_ibp.onnx"))
    assert cli["sha256"] == info["sha256"]


def test_verify_unsat_like_the_command_line():
    onnx, prop = acas("1_1", 1)
    net = certnn.load(onnx)
    r = net.verify(prop, threads=1, node_samples=0, timeout=60)
    cli = cli_json("verify", onnx, "--vnnlib", prop, "--threads", "1", "--node-samples", "0",
                   "--timeout", "60")
    assert r["verdict"] == "unsat" == cli["verdict"]
    assert r["nodes"] == cli["nodes"] and r["depth"] == cli["depth"]
    assert r["counterexample"] is None
    # the same names as --json (docs/json.md), null where absent
    assert set(cli) - {"schema_version"} == set(r)
    assert r["found_by"] == cli["found_by"] and r["reason"] is None


def test_verify_sat_gives_an_exact_point_in_the_box():
    onnx, prop = acas("1_7", 3)
    net = certnn.load(onnx)
    r = net.verify(prop, threads=1)
    assert r["verdict"] == "sat"
    cex = r["counterexample"]
    cli = cli_json("verify", onnx, "--vnnlib", prop, "--threads", "1")
    assert cex["x_exact"] == cli["counterexample"]["x_exact"]   # exact decimals, as the CLI
    assert all(re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", q) for q in cex["x_exact"])
    x = [Fraction(q) for q in cex["x_exact"]]
    lo, hi = box_of(prop, 5)
    assert all(l <= v <= h for l, v, h in zip(lo, x, hi))
    # prop_3's unsafe set: output 0 is the minimum of the five
    y = net.forward(cex["x"])
    assert y[0] <= min(y[1:]) + 1e-9


def test_verify_sample_matches_verify_data():
    images, labels = fmnist_images(12)
    model = os.path.join(ZOO, "fmnist_ibp.onnx")
    net = certnn.load(model)
    mine = [net.verify_sample(img, int(lab), 0.02)["verdict"] for img, lab in zip(images, labels)]
    cli = cli_json("verify", model, "--data", os.path.join(FMNIST, "t10k-images-idx3-ubyte.gz"),
                   "--labels", os.path.join(FMNIST, "t10k-labels-idx1-ubyte.gz"),
                   "--eps", "0.02", "--samples", "12", "--attack", "0")
    theirs = [row["verdict"] for row in cli["results"]]
    assert mine == theirs
    assert "robust" in mine


def test_verify_sample_l2():
    images, labels = fmnist_images(12)
    net = certnn.load(os.path.join(ZOO, "fmnist_ibp.onnx"))
    rng = np.random.default_rng(3)
    more = 0
    for img, lab in zip(images, labels):
        linf = net.verify_sample(img, int(lab), 0.02)
        l2 = net.verify_sample(img, int(lab), 0.02, norm=2)
        assert l2["norm"] == 2 and linf["norm"] == "inf"
        # the L2 ball lies in the L-infinity box of the same radius
        assert linf["verdict"] != "robust" or l2["verdict"] == "robust"
        wide = net.verify_sample(img, int(lab), 0.5, norm=2)
        more += wide["verdict"] == "robust" and \
            net.verify_sample(img, int(lab), 0.5)["verdict"] != "robust"
        if wide["verdict"] == "robust":
            x = img.ravel()
            for _ in range(20):      # points on the sphere, cut to [0, 1]
                d = rng.normal(size=x.size)
                p = np.clip(x + 0.5 * d / np.linalg.norm(d), 0, 1)
                assert np.argmax(net.forward(p)) == lab
    assert more > 0
    with pytest.raises(ValueError, match="norm=2"):
        net.verify_sample(images[0], int(labels[0]), 0.1, norm=2, method="complete")


def test_verify_sample_complete_decides_more():
    images, labels = fmnist_images(20)
    net = certnn.load(os.path.join(ZOO, "fmnist_plain.onnx"))
    for img, lab in zip(images, labels):
        r = net.verify_sample(img, int(lab), 0.05, method="complete", timeout=20, threads=2)
        if r["verdict"] == "not-robust":
            cex = r["engine"]["counterexample"]
            x = np.array([float(Fraction(q)) for q in cex["x_exact"]])
            assert np.max(np.abs(x - img.ravel())) <= 0.05 + 1e-12
            y = net.forward(x)
            assert np.argmax(y) != lab or y[lab] <= max(np.delete(y, lab)) + 1e-9
            return
    pytest.fail("no sample of fmnist_plain at eps 0.05 was attacked by the complete engine")


def test_attack_finds_a_confirmed_point():
    onnx, prop = acas("1_8", 3)
    net = certnn.load(onnx)
    r = net.attack(prop, method="pgd", time=5)
    assert r["verdict"] == "sat"
    lo, hi = box_of(prop, 5)
    assert all(l <= Fraction(q) <= h for l, q, h in zip(lo, r["x_exact"], hi))


def test_bounds_contain_sampled_outputs():
    images, _ = fmnist_images(3)
    net = certnn.load(os.path.join(ZOO, "fmnist_pgd.onnx"))
    rng = np.random.default_rng(7)
    for img in images:
        x = img.ravel()
        lo, hi = np.clip(x - 0.03, 0, 1), np.clip(x + 0.03, 0, 1)
        for method in ("interval", "deeppoly", "crown"):
            blo, bhi = net.bounds(lo, hi, method=method)
            assert blo.shape == (10,) and np.all(blo <= bhi)
            for _ in range(20):
                y = net.forward(rng.uniform(lo, hi))
                assert np.all(blo <= y + 1e-9) and np.all(y <= bhi + 1e-9)


def test_errors_carry_the_message():
    with pytest.raises(certnn.Error, match="nonexistent.onnx"):
        certnn.load("nonexistent.onnx")
    onnx, prop = acas("1_1", 1)
    net = certnn.load(onnx)
    with pytest.raises(TypeError, match="unknown engine option 'colour'"):
        net.verify(prop, colour=3)
    with pytest.raises(ValueError, match="threads"):
        net.verify(prop, threads=5000)
    with pytest.raises(ValueError, match="split"):
        net.verify(prop, split="sideways")
    with pytest.raises(ValueError, match="label"):
        net.verify_sample([0.5] * 5, 7, 0.01)
    with pytest.raises(ValueError, match="expected 5 values"):
        net.verify_sample([0.5] * 4, 0, 0.01)
    with pytest.raises(ValueError, match="norm"):
        net.verify_sample([0.5] * 5, 0, 0.01, norm=1)
    fm = certnn.load(os.path.join(ZOO, "fmnist_ibp.onnx"))
    with pytest.raises(certnn.Error, match="inputs"):
        fm.verify(prop)
    assert set(certnn.engine_options()) >= {"timeout", "threads", "max_nodes", "split"}


def test_the_engine_runs_without_the_interpreter_lock():
    onnx, prop = acas("2_8", 1)     # unsat in about 108,000 nodes: open at 3,000
    net = certnn.load(onnx)
    out = {}
    t = threading.Thread(target=lambda: out.update(
        net.verify(prop, threads=1, node_samples=0, timeout=0, max_nodes=3000)))
    t.start()
    ticks = 0
    while t.is_alive():
        ticks += 1
    t.join()
    assert out["verdict"] == "unknown" and out["nodes"] > 2900
    # with the lock held through the call, this loop could not have run
    assert ticks > 10000


def test_a_pytorch_model_exported_to_onnx(tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 12), torch.nn.ReLU(),
                                torch.nn.Linear(12, 3))
    x = torch.rand(1, 1, 4, 4)
    path = str(tmp_path / "tiny.onnx")
    torch.onnx.export(model, x, path)
    net = certnn.load(path)
    y = net.forward(x.numpy())
    assert np.allclose(y, model(x).detach().numpy().ravel(), atol=1e-5)
    label = int(np.argmax(y))
    r = net.verify_sample(x.numpy(), label, 0.0, method="complete")
    assert r["verdict"] == "robust" or r["verdict"] == "misclassified"
    r = net.verify_sample(x.numpy(), label, 1.0, method="complete", timeout=30)
    assert r["verdict"] in ("robust", "not-robust")
