#!/usr/bin/env python3
"""cert_tamper.py HOW IN OUT -- writes a copy of certificate IN, unsigned and
canonical (certs.h section 2), with one optimised refutation ["ab", d, k,
ALPHA, BETAS] changed (tests/certs.sh):
  alpha_high    a slope above 1 (q = 129)
  alpha_mirror  every slope q of every such item replaced by 128 - q (valid
                slopes, but no longer the ones that refute)
  beta_neg      a negative multiplier
  beta_unsplit  a multiplier for a ReLU that no node of the tree splits
  beta_big      multipliers so large that the bound no longer follows
  bound_high    a root bound ("bounds") raised by 1, above what its slopes prove
  bound_slope   a root bound's slope above 1 (the first bound with slopes)
  bound_layer   a root bound moved to layer 2 (not a ReLU's input)
  alpha_past    a sparse ALPHA whose last run skips past the last ReLU
  bound_past, bound_badhex, bound_zero: as alpha_* on a root bound's slopes
  alpha_badhex  an ALPHA with an upper-case hex digit
  alpha_zero    a sparse ALPHA with a run that skips 0 ReLUs after the first
                (the same slopes, not the one spelling; when every run has
                one slope, a slope more after the last)
ALPHA (certs.h section 1): "" every slope the default, 2 hex digits per
ReLU when none is, else runs "SKIP:HEX" separated by ",".
Exits 3 when IN has nothing the change applies to."""
import json
import sys


def decode(alpha):
    """The explicit slopes of ALPHA as {ReLU index: q} (the others default),
    and the number of values it spells out (the dense length, or where the
    last run ends)."""
    if ":" not in alpha:
        return {j: int(alpha[2 * j:2 * j + 2], 16) for j in range(len(alpha) // 2)}, len(alpha) // 2
    q, j = {}, 0
    for run in alpha.split(","):
        skip, hexs = run.split(":")
        j += int(skip)
        for i in range(0, len(hexs), 2):
            q[j] = int(hexs[i:i + 2], 16)
            j += 1
    return q, j


def encode(q, n, dense):
    """ALPHA of {index: q} over n values (dense when none is the default)."""
    if dense:
        return "".join("%02x" % q[j] for j in range(n))
    runs, j, skip = [], 0, 0
    while j < n:
        if j not in q:
            skip, j = skip + 1, j + 1
            continue
        h = ""
        while j < n and j in q:
            h, j = h + "%02x" % q[j], j + 1
        runs.append("%d:%s" % (skip, h))
        skip = 0
    return ",".join(runs)


def high(alpha):
    """ALPHA with its first explicit slope set to 129."""
    q, n = decode(alpha)
    q[min(q)] = 129
    return encode(q, n, ":" not in alpha)


def respell(how, alpha):
    """ALPHA changed as `how` says (alpha_*), or None when it does not apply."""
    if how == "alpha_badhex" and alpha:
        at = alpha.index(":") + 1 if ":" in alpha else 0
        return alpha[:at] + "A" + alpha[at + 1:]
    if ":" not in alpha:
        return None
    if how == "alpha_past":
        return alpha + ",1000000000:80"
    if how == "alpha_zero":
        runs = alpha.split(",")
        for i, r in enumerate(runs):
            skip, hexs = r.split(":")
            if len(hexs) >= 4:
                runs[i] = "%s:%s,0:%s" % (skip, hexs[:2], hexs[2:])
                return ",".join(runs)
        return alpha + ",0:80"    # (runs of one slope: one more, skipping 0)
    return None


def items(doc):
    for res in doc["signed"]["results"]:
        for tree in res.get("proof", []):
            for node in tree["nodes"]:
                for part in node:
                    if isinstance(part, list):
                        for it in part:
                            if isinstance(it, list) and it and it[0] == "ab":
                                yield tree, it


def main():
    how, src, dst = sys.argv[1:4]
    doc = json.load(open(src))
    done = False
    if how.startswith("bound_"):
        for res in doc["signed"]["results"]:
            for tree in res.get("proof", []):
                for b in tree.get("bounds", []):
                    if done:
                        break
                    if how == "bound_high":
                        b[3] = float.hex(float.fromhex(b[3]) + 1.0)
                    elif how == "bound_layer":
                        b[0] = 2
                    elif how == "bound_slope":
                        if not decode(b[4])[0]:
                            continue
                        b[4] = high(b[4])
                    else:
                        r = respell("alpha_" + how[len("bound_"):], b[4])
                        if r is None:
                            continue
                        b[4] = r
                    done = True
        if not done:
            sys.exit(3)
        with open(dst, "w") as f:
            f.write(json.dumps({"signed": doc["signed"]}, sort_keys=True, separators=(",", ":"),
                               ensure_ascii=True) + "\n")
        return
    for tree, it in items(doc):
        alpha, betas = it[3], it[4]
        if how == "alpha_mirror" and alpha:
            q, n = decode(alpha)
            it[3] = encode({j: 128 - v for j, v in q.items()}, n, ":" not in alpha)
            done = True
            continue
        r = respell(how, alpha) if how in ("alpha_past", "alpha_badhex", "alpha_zero") else None
        if r is not None:
            it[3] = r
        elif how == "alpha_high" and alpha:
            it[3] = high(alpha)
        elif how == "beta_neg" and betas:
            betas[0][1] = "-0x1p+0"
        elif how == "beta_unsplit" and betas:
            split = {n[1] for n in tree["nodes"] if n[0] == "r"}
            betas[0][0] = min(j for j in range(len(split) + 1) if j not in split)
        elif how == "beta_big" and betas:
            for b in betas:
                b[1] = "0x1p+40"
        else:
            continue
        done = True
        break
    if not done:
        sys.exit(3)
    signed = doc["signed"]
    with open(dst, "w") as f:
        f.write(json.dumps({"signed": signed}, sort_keys=True, separators=(",", ":"),
                           ensure_ascii=True) + "\n")


main()
