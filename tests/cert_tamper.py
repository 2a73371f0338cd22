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
  bound_slope   a root bound's slope above 1
  bound_layer   a root bound moved to layer 2 (not a ReLU's input)
Exits 3 when IN has nothing the change applies to."""
import json
import sys


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
                for b in tree.get("bounds", [])[:1]:
                    if how == "bound_high":
                        b[3] = float.hex(float.fromhex(b[3]) + 1.0)
                    elif how == "bound_layer":
                        b[0] = 2
                    else:
                        b[4] = "81" + b[4][2:]
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
            it[3] = "".join("%02x" % (128 - int(alpha[i:i + 2], 16))
                            for i in range(0, len(alpha), 2))
            done = True
            continue
        if how == "alpha_high" and alpha:
            it[3] = "81" + alpha[2:]
        elif how == "beta_neg" and betas:
            betas[0][1] = "-0x1p+0"
        elif how == "beta_unsplit" and betas:
            split = {n[1] for n in tree["nodes"] if n[0] == "r"}
            n_relus = len(alpha) // 2
            free = [j for j in range(n_relus) if j not in split]
            betas[0][0] = free[0]
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
