#!/usr/bin/python3
"""Adapt a kshot checkpoint with the PyTorch reference implementation.

Usage: /usr/bin/python3 tests/reference/adapt_checkpoint_torch.py results/reference/models/ID.ckpt

Loads the float32 parameters of a kshot checkpoint (format: learners/ckpt.h)
into the PyTorch network of protocol_torch.py, prints its source test
accuracy, then runs 200 PyTorch-drawn episodes of the finetune and probe
adaptations on it: separates "is the pretraining different" from "is the
adaptation different" when kshot and PyTorch disagree. Needs python3-torch.
"""
import struct, sys, numpy as np, torch, torch.nn as nn, random, statistics, math
sys.path.insert(0, __import__("os").path.dirname(__import__("os").path.abspath(__file__)))
import protocol_torch as P
def load(path):
    b = open(path, "rb").read()
    assert b[:8] == b"KSHOTCKP"
    ver, nl = struct.unpack("<II", b[8:16]); o = 16
    assert ver == 2, "checkpoint format %d; this reader knows 2 (weights stored in x out)" % ver
    sizes = struct.unpack("<%dI" % (nl + 1), b[o:o + 4 * (nl + 1)]); o += 4 * (nl + 1)
    act, = struct.unpack("<I", b[o:o+4]); o += 4
    npar, nextra = struct.unpack("<QQ", b[o:o+16]); o += 16
    tl, = struct.unpack("<I", b[o:o+4]); o += 4 + tl
    p = np.frombuffer(b, "<f4", count=npar, offset=o)
    return sizes, p
sizes, p = load(sys.argv[1])
m = P.net(5); o = 0
for li, lin in enumerate([m[0], m[2], m[4]]):
    i, out = sizes[li], sizes[li+1]
    # kshot stores W as (in, out), row-major; PyTorch's Linear holds (out, in).
    lin.weight.data = torch.tensor(p[o:o+i*out].reshape(i, out).T.copy()); o += i*out
    lin.bias.data = torch.tensor(p[o:o+out].copy()); o += out
xte, yte = P.idx("t10k-images-idx3-ubyte.gz"), P.idx("t10k-labels-idx1-ubyte.gz")
tm = yte < 5
with torch.no_grad():
    print("source acc", (m(torch.tensor(xte[tm], dtype=torch.float32)/255).argmax(1) == torch.tensor(yte[tm], dtype=torch.long)).float().mean().item())
state = {k: v.clone() for k, v in m.state_dict().items()}
rng = random.Random(1); by = {c: np.flatnonzero(yte == c) for c in range(5, 10)}
res = {"finetune": [], "probe": []}
for ep in range(200):
    cl = rng.sample(range(5, 10), 5); si, qi, sy, qy = [], [], [], []
    for l, c in enumerate(cl):
        r = rng.sample(list(by[c]), 20); si += r[:5]; qi += r[5:]; sy += [l]*5; qy += [l]*15
    xs = torch.tensor(xte[si], dtype=torch.float32)/255; xq = torch.tensor(xte[qi], dtype=torch.float32)/255
    ys, yq = torch.tensor(sy), torch.tensor(qy)
    for kind in res:
        n = P.net(5); n.load_state_dict(state); nn.init.zeros_(n[4].weight); nn.init.zeros_(n[4].bias)
        res[kind].append((P.adapt(n, n.parameters() if kind == "finetune" else n[4].parameters(), xs, ys, xq) == yq).float().mean().item())
for k, v in res.items(): print(k, statistics.mean(v), 1.96*statistics.stdev(v)/math.sqrt(len(v)))
