"""certnn from Python: load a network, verify properties and samples, attack, bound.

    import certnn, numpy as np
    net = certnn.load("model.onnx")
    net.verify("prop.vnnlib", timeout=60)           # dict, as `certnn verify --json`
    net.verify_sample(x, label=3, eps=0.02)         # x: NumPy array or sequence
    net.attack("prop.vnnlib", method="pgd")
    lo, hi = net.bounds(x - 0.01, x + 0.01)         # NumPy arrays

Results are plain dicts whose keys are those of the command line's --json
output; failures raise certnn.Error with certnn's message.  The library runs
with the interpreter's lock released.  Engine options are keyword arguments
named as the command-line options with '_' for '-' (timeout, threads,
max_nodes, split, node_bounds, ...; see certnn.engine_options()); the engine
uses one thread unless threads= says otherwise.

"Robust" and "unsat" come only from proofs (sound bounds in directed
rounding, or the complete engine); a counterexample is reported only after it
was checked in exact rational arithmetic.  Each float given is taken exactly.
"""

from fractions import Fraction

from . import _certnn

Error = _certnn.Error
version = _certnn.version
engine_options = _certnn.engine_options

try:
    import numpy as _np
except ImportError:  # the package works without NumPy; arrays then come back as lists
    _np = None

__all__ = ["load", "Net", "Error", "engine_options", "version"]


def _exact(text):
    """An exact rational "p/q" as its exact decimal when the expansion terminates
    (as the command line writes x_exact, docs/json.md), else unchanged."""
    f = Fraction(text)
    d, a, b = f.denominator, 0, 0
    while d % 2 == 0:
        d, a = d // 2, a + 1
    while d % 5 == 0:
        d, b = d // 5, b + 1
    if d != 1 or max(a, b) > 1100:
        return text
    k = max(a, b)
    digits = str(abs(f.numerator) * 2 ** (k - a) * 5 ** (k - b)).rjust(k + 1, "0")
    body = digits if k == 0 else digits[:-k] + "." + digits[-k:]
    return ("-" if f < 0 else "") + body


def _decimals(result):
    """Exact values of a result dict (counterexample x_exact, exact_slacks) as decimals."""
    if isinstance(result, dict):
        for key, value in result.items():
            if key in ("x_exact", "exact_slacks") and isinstance(value, list):
                result[key] = [_exact(v) for v in value]
            else:
                _decimals(value)
    return result


def _flat(x):
    """A sample as a flat sequence of floats (NumPy arrays of any shape are raveled)."""
    if _np is not None:
        return _np.asarray(x, dtype=_np.float64).ravel().tolist()
    return [float(v) for v in x]


class Net:
    """A network loaded from an ONNX or NNet file (certnn.load)."""

    def __init__(self, path):
        self._net = _certnn.load(str(path))
        self.path = str(path)

    @property
    def inputs(self):
        return self._net.inputs

    @property
    def outputs(self):
        return self._net.outputs

    def info(self):
        """The network's description: inputs, outputs, layers, relus, params, sha256, fold_exact."""
        return self._net.info()

    def forward(self, x):
        """Outputs at x in double precision (not a proof of anything)."""
        y = self._net.forward(_flat(x))
        return y if _np is None else _np.array(y, dtype=_np.float64)

    def verify(self, vnnlib, **options):
        """Decide a VNN-LIB property with the complete engine.

        Returns the dict of `certnn verify MODEL --vnnlib P --json`: verdict
        ("sat", "unsat", "timeout", "unknown"), time_s, nodes, reason,
        counterexample (x, x_exact, y, case, disjunct, exact_slacks) or None.
        """
        return _decimals(self._net.verify(str(vnnlib), **options))

    def verify_sample(self, x, label, eps, method="bounds", bounds="crown", norm="inf",
                      clip=(0.0, 1.0), **options):
        """Is the eps-ball around x (L-infinity, or L2 with norm=2), within clip,
        classified as label?

        method="bounds": sound bound propagation ("robust" or "unknown");
        method="complete": the bounds, then the complete engine ("robust",
        "not-robust" with the engine's counterexample in result["engine"],
        "timeout", "unknown").  "misclassified": x itself, checked exactly,
        is not classified as label.  bounds: interval, deeppoly, crown, alpha.
        norm=2: the L2 ball cut to clip, bounds only (the dual norm at the input).
        """
        if str(norm).lower() in ("inf", "linf"):
            n = 0
        elif str(norm).lower() in ("2", "l2"):
            n = 2
        else:
            raise ValueError("norm: expected 'inf' or 2, got %r" % (norm,))
        lo, hi = clip
        return _decimals(self._net.verify_sample(_flat(x), int(label), float(eps), method=method,
                                                 bounds=bounds, clip_lo=float(lo),
                                                 clip_hi=float(hi), norm=n, **options))

    def attack(self, vnnlib, method="pgd", time=10.0, restarts=2000, seed=1):
        """PGD or FGSM against a VNN-LIB property: verdict "sat" with x / x_exact
        (checked exactly) or "unknown"."""
        return _decimals(self._net.attack(str(vnnlib), method=method, time=float(time),
                                          restarts=int(restarts), seed=int(seed)))

    def bounds(self, lo, hi, method="crown"):
        """Sound lower and upper bounds of every output over the box [lo, hi]."""
        olo, ohi = self._net.bounds(_flat(lo), _flat(hi), method=method)
        if _np is None:
            return olo, ohi
        return (_np.array([-_np.inf if v is None else v for v in olo], dtype=_np.float64),
                _np.array([_np.inf if v is None else v for v in ohi], dtype=_np.float64))


def load(path):
    """Load an ONNX (.onnx) or NNet (.nnet) network."""
    return Net(path)
