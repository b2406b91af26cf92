#!/usr/bin/python3
"""PyTorch's time for each phase of configs/reference.yaml's protocol (the peer for vs_torch.py).

Usage: /usr/bin/python3 tests/bench/torch_phases.py THREADS EPISODES [whole]

The same work as kshot's units, timed phase by phase after the data are in
memory: the pretraining (one epoch of Adam over the 30,000 training images
of classes 0-4, batch 64, then the source test accuracy and the checkpoint,
as kshot's pretraining unit does), then EPISODES 5-way 5-shot episodes with 15
queries per class for each learner: finetune, probe (body frozen), scratch
(20 full-batch Adam steps at lr 1e-3), prototypes and 1-NN on the pretrained
features, and FGSM (eps 0.1) on the finetuned model's queries (the attack
timed alone). Prints one line per phase: name, count, seconds. With
`whole`, it times the script from its start instead (data loading
included), as kshot's wall time is, and runs what configs/reference.yaml
runs (no knn). Needs Debian's python3-torch; not a dependency of kshot.
"""
import os
import random
import resource
import sys
import tempfile
import time

T0 = time.perf_counter()
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

# The protocol's data loader, network and pretraining: the reference implementation's own.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
from protocol_torch import idx, net, pretrain  # noqa: E402


def adapt(model, params, xs, ys, steps=20, lr=1e-3):
    opt = torch.optim.Adam(params, lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(model(xs), ys).backward()
        opt.step()


def main():
    threads, episodes = int(sys.argv[1]), int(sys.argv[2])
    whole = len(sys.argv) > 3 and sys.argv[3] == "whole"
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    rng = random.Random(0)
    xtr, ytr = idx("train-images-idx3-ubyte.gz"), idx("train-labels-idx1-ubyte.gz")
    xte, yte = idx("t10k-images-idx3-ubyte.gz"), idx("t10k-labels-idx1-ubyte.gz")
    src = ytr < 5
    X = torch.tensor(xtr[src], dtype=torch.float32) / 255
    Y = torch.tensor(ytr[src], dtype=torch.long)
    times = {}

    t = time.perf_counter()
    model = pretrain(X, Y)
    # what kshot's pretraining unit does after the epoch, in its time: the
    # source test accuracy (the 5,000 test images of classes 0-4, converted
    # there) and the checkpoint
    tmask = yte < 5
    with torch.no_grad():
        (model(torch.tensor(xte[tmask], dtype=torch.float32) / 255).argmax(1)
         == torch.tensor(yte[tmask], dtype=torch.long)).float().mean().item()
    with tempfile.TemporaryFile() as f:
        torch.save(model.state_dict(), f)
    times["pretraining"] = (len(X), time.perf_counter() - t)

    body_state = {k: v.clone() for k, v in model.state_dict().items()}
    body = nn.Sequential(*list(model.children())[:4])
    by_class = {c: np.flatnonzero(yte == c) for c in range(5, 10)}
    tasks = []
    for _ in range(episodes):
        classes = rng.sample(range(5, 10), 5)
        s_idx, q_idx, s_y, q_y = [], [], [], []
        for label, c in enumerate(classes):
            rows = rng.sample(list(by_class[c]), 20)
            s_idx += rows[:5]
            q_idx += rows[5:]
            s_y += [label] * 5
            q_y += [label] * 15
        tasks.append((torch.tensor(xte[s_idx], dtype=torch.float32) / 255,
                      torch.tensor(xte[q_idx], dtype=torch.float32) / 255,
                      torch.tensor(s_y), torch.tensor(q_y)))

    def phase(name, fn):
        t = time.perf_counter()
        for xs, xq, ys, yq in tasks:
            fn(xs, xq, ys, yq)
        times[name] = (len(tasks), time.perf_counter() - t)

    attack = [0.0]   # seconds in the FGSM attack itself

    def finetune(xs, xq, ys, yq, probe=False, fgsm=False):
        m = net(5)
        m.load_state_dict(body_state)
        nn.init.zeros_(m[4].weight)
        nn.init.zeros_(m[4].bias)
        if probe:   # a frozen body needs no gradient: autograd skips it
            for layer in list(m.children())[:4]:
                layer.requires_grad_(False)
        adapt(m, m[4].parameters() if probe else m.parameters(), xs, ys)
        with torch.no_grad():
            m(xq).argmax(1)
        if fgsm:   # the attack alone is timed, as kshot's probe row times it
            t = time.perf_counter()
            x = xq.clone().requires_grad_(True)
            F.cross_entropy(m(x), yq).backward()
            with torch.no_grad():
                m((x + 0.1 * x.grad.sign()).clamp(0, 1)).argmax(1)
            attack[0] += time.perf_counter() - t

    def scratch(xs, xq, ys, yq):
        m = net(5)
        adapt(m, m.parameters(), xs, ys)
        with torch.no_grad():
            m(xq).argmax(1)

    def prototypes(xs, xq, ys, yq):
        with torch.no_grad():
            fs, fq = body(xs), body(xq)
            mu = torch.stack([fs[ys == k].mean(0) for k in range(5)])
            (-((fq[:, None, :] - mu[None]) ** 2).sum(-1)).argmax(1)

    def knn(xs, xq, ys, yq):
        with torch.no_grad():
            fs, fq = body(xs), body(xq)
            ys[torch.cdist(fq, fs).argmin(1)]

    # the attack on each finetuned model, timed apart from the finetuning
    phase("finetune", lambda *a: finetune(*a, fgsm=True))
    times["finetune"] = (len(tasks), times["finetune"][1] - attack[0])
    times["fgsm"] = (len(tasks), attack[0])
    phase("probe", lambda *a: finetune(*a, probe=True))
    phase("scratch", scratch)
    phase("prototypes", prototypes)
    if not whole:   # configs/reference.yaml has no knn learner
        phase("knn", knn)
    for name, (n, s) in times.items():
        print(f"{name} {n} {s:.6f}")
    print(f"peak_rss_kb {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}")
    if whole:
        print(f"whole {time.perf_counter() - T0:.6f}")


if __name__ == "__main__":
    main()
