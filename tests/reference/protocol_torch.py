#!/usr/bin/python3
"""Independent PyTorch implementation of configs/reference.yaml's protocol.

Not part of the test suite (it needs Debian's python3-torch, ~1 GB); run by
hand to cross-check kshot:  /usr/bin/python3 tests/reference/protocol_torch.py [episodes] [seed]

Fashion-MNIST pixels /255; 784-256-128-5 ReLU, nn.Linear default init;
pretraining on the 30,000 training images of classes 0-4, cross-entropy,
Adam lr 1e-3, batch 64, one shuffled epoch (last partial batch kept); then
5-way 5-shot episodes with 15 queries per class from the test split of
classes 5-9; finetune / probe (body frozen) / scratch: 20 full-batch Adam
steps, lr 1e-3, new head zero-initialised (scratch: default init);
prototypes: squared euclidean on the 128-d features; FGSM at eps 0.1 on the
fine-tuned model's queries (x' = clamp(x + 0.1·sign(grad_x mean CE), 0, 1)),
reported as finetune_fgsm.
"""
import gzip, struct, sys, random, statistics, math
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

D = "/usr/share/datasets/fashion-mnist/"


def idx(name):
    with gzip.open(D + name) as f:
        data = f.read()
    magic, n = struct.unpack(">II", data[:8])
    if magic == 0x803:
        r, c = struct.unpack(">II", data[8:16])
        return np.frombuffer(data, np.uint8, offset=16).reshape(n, r * c)
    return np.frombuffer(data, np.uint8, offset=8)


def net(out):
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, out))


def adapt(model, params, xs, ys, xq, steps=20, lr=1e-3):
    opt = torch.optim.Adam(params, lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(model(xs), ys).backward()
        opt.step()
    with torch.no_grad():
        return model(xq).argmax(1)


def pretrain(X, Y):
    """One epoch of Adam (lr 1e-3, batch 64, shuffled) on the source rows."""
    model = net(5)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    perm = torch.randperm(len(X))
    for b in range(0, len(X), 64):
        i = perm[b:b + 64]
        opt.zero_grad()
        F.cross_entropy(model(X[i]), Y[i]).backward()
        opt.step()
    return model


def main():
    episodes = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    torch.manual_seed(seed)
    rng = random.Random(seed)
    xtr, ytr = idx("train-images-idx3-ubyte.gz"), idx("train-labels-idx1-ubyte.gz")
    xte, yte = idx("t10k-images-idx3-ubyte.gz"), idx("t10k-labels-idx1-ubyte.gz")
    src = ytr < 5
    X = torch.tensor(xtr[src], dtype=torch.float32) / 255
    Y = torch.tensor(ytr[src], dtype=torch.long)
    model = pretrain(X, Y)
    tmask = yte < 5
    with torch.no_grad():
        acc = (model(torch.tensor(xte[tmask], dtype=torch.float32) / 255).argmax(1)
               == torch.tensor(yte[tmask], dtype=torch.long)).float().mean().item()
    print(f"source test accuracy {acc:.4f}")
    body_state = {k: v.clone() for k, v in model.state_dict().items()}
    by_class = {c: np.flatnonzero(yte == c) for c in range(5, 10)}
    res = {k: [] for k in ("finetune", "probe", "scratch", "proto", "finetune_fgsm")}
    for ep in range(episodes):
        classes = rng.sample(range(5, 10), 5)
        s_idx, q_idx, s_y, q_y = [], [], [], []
        for label, c in enumerate(classes):
            rows = rng.sample(list(by_class[c]), 20)
            s_idx += rows[:5]; q_idx += rows[5:]
            s_y += [label] * 5; q_y += [label] * 15
        xs = torch.tensor(xte[s_idx], dtype=torch.float32) / 255
        xq = torch.tensor(xte[q_idx], dtype=torch.float32) / 255
        ys, yq = torch.tensor(s_y), torch.tensor(q_y)
        for kind in ("finetune", "probe"):
            m = net(5)
            m.load_state_dict(body_state)
            nn.init.zeros_(m[4].weight); nn.init.zeros_(m[4].bias)
            params = m.parameters() if kind == "finetune" else m[4].parameters()
            res[kind].append((adapt(m, params, xs, ys, xq) == yq).float().mean().item())
            if kind == "finetune":
                xa = xq.clone().requires_grad_(True)
                F.cross_entropy(m(xa), yq).backward()
                with torch.no_grad():
                    xa = (xq + 0.1 * xa.grad.sign()).clamp(0, 1)
                    res["finetune_fgsm"].append((m(xa).argmax(1) == yq).float().mean().item())
        m = net(5)
        res["scratch"].append((adapt(m, m.parameters(), xs, ys, xq) == yq).float().mean().item())
        with torch.no_grad():
            body = nn.Sequential(*list(model.children())[:4])
            fs, fq = body(xs), body(xq)
            mu = torch.stack([fs[ys == k].mean(0) for k in range(5)])
            pred = (-((fq[:, None, :] - mu[None]) ** 2).sum(-1)).argmax(1)
            res["proto"].append((pred == yq).float().mean().item())
    for k, v in res.items():
        sd = statistics.stdev(v)
        print(f"{k:9s} {statistics.mean(v):.4f} ± {1.96 * sd / math.sqrt(len(v)):.4f}")


if __name__ == "__main__":
    main()
