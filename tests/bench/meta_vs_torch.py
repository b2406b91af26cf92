#!/usr/bin/python3
"""kshot's second-order MAML meta-training against PyTorch on the same workload.

Usage: /usr/bin/python3 tests/bench/meta_vs_torch.py KSHOT [REPS]

KSHOT is the kshot binary (a release build: build-release/kshot); REPS is the
number of alternating repetitions (default 3). Run it with /usr/bin/python3,
the interpreter that has Debian's python3-torch (another python3 may come
first on PATH); without PyTorch the script says so and exits 0. Not a test.

The workload is configs/sinusoid.yaml's MAML setting: y = A sin(x - phi),
A in [0.1, 5], phi in [0, pi], x in [-5, 5]; a 1-40-40-1 ReLU network with
nn.Linear's default initialisation; outer steps of 25 tasks, each with K = 10
support and 10 query points; one inner SGD step at 0.01 on the support MSE;
Adam at 0.001 on the mean query MSE after the inner step, through the exact
second-order meta-gradient. One thread on each side.

Each repetition runs, in turn:
  - kshot: `kshot run configs/sinusoid.yaml -j 1` reduced by overrides to one
    maml learner of N_KSHOT outer steps (a fresh output directory, so nothing
    is reused); the meta-training's cpu_seconds and wall_seconds come from
    costs.csv (its `pretrain` row for learner maml).
  - PyTorch, the usual way: a loop over the 25 tasks, the inner gradient by
    torch.autograd.grad(..., create_graph=True), then backward through it;
    N_TORCH outer steps timed after WARMUP untimed ones.
  - PyTorch, batched: the same outer step with the 25 tasks' inner steps as
    one batch (per-task copies of the parameters, batched matmuls), PyTorch's
    fastest way to write this workload; checked against the loop's
    meta-gradient before any timing.
It prints the medians per outer step (wall and CPU seconds), the ratios
PyTorch / kshot, and the projected time of the shipped protocol's 15
meta-trainings of 70,000 steps at this per-step cost (the README's measured
4 min 47 s with -j 2 for kshot's whole protocol beside it). Then the peak
resident memory of a second-order MAML meta-training on the Fashion-MNIST
split (configs/fashion-meta.yaml reduced: 5 inner steps, one worker), from
costs.csv's peak_rss_kb and from getrusage(RUSAGE_CHILDREN), measured before
torch is imported (a child's ru_maxrss starts from its parent's: see
kshot_fashion_rss); the requirement is under 300 MB. Both sides use the same
OpenBLAS core: whatever OPENBLAS_CORETYPE the environment sets, or, when it is
unset, the core kshot runs on, which PyTorch is given (see vs_torch.torch_core).
"""
import csv
import importlib.util
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from vs_torch import kshot_info, torch_core

# One thread for every BLAS and OpenMP runtime, set before torch is imported.
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

N_KSHOT = 5000       # kshot's outer steps per run (about 2 s)
N_TORCH = 300        # PyTorch's timed outer steps per run
WARMUP = 20          # PyTorch's untimed outer steps before each timing
TASKS, SHOTS, QUERIES = 25, 10, 10
INNER_LR, OUTER_LR = 0.01, 0.001
PROTOCOL_STEPS = 70000 * 15          # 15 meta-trainings of 70,000 outer steps
KSHOT_PROTOCOL_WALL = 4 * 60 + 47    # the README's whole protocol, -j 2

SINUSOID_ARGS = [
    os.path.join(ROOT, "configs/sinusoid.yaml"), "-q", "-j", "1",
    "targets.heldout.shots=[10]", "targets.heldout.episodes=10",
    "learners={maml: {kind: maml, meta: {iterations: %d, batch: %d, queries: %d, "
    "inner_steps: 1, inner_lr: %g, lr: %g}}}" % (N_KSHOT, TASKS, QUERIES, INNER_LR, OUTER_LR),
    "baseline=maml",    # the config's baseline learner is not in this run
]
FASHION_ARGS = [
    os.path.join(ROOT, "configs/fashion-meta.yaml"), "-q", "-j", "1",
    "targets.heldout.shots=[5]", "targets.heldout.episodes=50",
    "learners={maml: {kind: maml, meta: {iterations: 50, batch: 4, ways: 5, "
    "inner_steps: 5, inner_lr: 0.1}}}",
    "baseline=maml",
]


# ---------------------------------------------------------------- kshot side

def kshot_run(kshot, args):
    """Runs `kshot run` into a fresh directory; returns costs.csv's rows."""
    out = tempfile.mkdtemp(prefix="kshot-meta-bench-")
    try:
        cmd = [kshot, "run", args[0], "-o", out] + args[1:]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr}")
        with open(os.path.join(out, "costs.csv"), newline="") as f:
            return list(csv.DictReader(f))
    finally:
        shutil.rmtree(out, ignore_errors=True)


def kshot_meta_step(kshot):
    """kshot's (wall, cpu) seconds per outer step of its maml meta-training."""
    rows = [r for r in kshot_run(kshot, SINUSOID_ARGS)
            if r["kind"] == "pretrain" and r["learner"] == "maml"]
    if len(rows) != 1:
        sys.exit(f"expected one maml pretrain row in costs.csv, found {len(rows)}")
    return float(rows[0]["wall_seconds"]) / N_KSHOT, float(rows[0]["cpu_seconds"]) / N_KSHOT


def kshot_fashion_rss(kshot):
    """Peak RSS (kB) of the Fashion MAML run: costs.csv's and getrusage's.

    On Linux a process's ru_maxrss survives exec: a child starts from the
    high-water mark of the parent it was forked from. kshot's peak_rss_kb
    (getrusage of itself) and RUSAGE_CHILDREN therefore include this script's
    own peak, which is why this runs before torch is imported (the
    interpreter alone is far smaller than kshot; with torch loaded it is
    about 230 MB, and both numbers would report that instead)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    rows = kshot_run(kshot, FASHION_ARGS)
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    csv_kb = max(int(r["peak_rss_kb"]) for r in rows)
    # The run's own peak only if it exceeds everything it could have inherited.
    rusage = after if after > max(before, own) else None
    return (csv_kb if csv_kb > own else None), rusage, own


def kshot_cores(kshot):
    """The kernels kshot reports: `kshot info`'s lines and its warnings."""
    p = subprocess.run([kshot, "info"], capture_output=True, text=True)
    lines = [l for l in p.stdout.splitlines()
             if l.startswith(("blas:", "small products:", "cpu:"))]
    return lines + [l for l in p.stderr.splitlines() if l.strip()]


def torch_blas_library():
    """The BLAS library this process has loaded (PyTorch's, after a product)."""
    with open("/proc/self/maps") as f:
        libs = {l.split()[-1] for l in f if "blas" in l.split()[-1].lower()}
    return ", ".join(sorted(os.path.realpath(l) for l in libs if ".so" in l)) or "?"


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "?"


# -------------------------------------------------------------- PyTorch side

def torch_init(torch, seed):
    """The 1-40-40-1 network's parameters, initialised as nn.Linear does."""
    torch.manual_seed(seed)
    params = []
    for fan_in, fan_out in [(1, 40), (40, 40), (40, 1)]:
        layer = torch.nn.Linear(fan_in, fan_out)
        params += [layer.weight.detach().clone().requires_grad_(True),
                   layer.bias.detach().clone().requires_grad_(True)]
    return params


def forward(params, x):
    """The network on x: (points, 1) with shared parameters, or (tasks, points, 1)
    with per-task parameters of shapes (tasks, out, in) and (tasks, out)."""
    layers = len(params) // 2
    for i in range(layers):
        w, b = params[2 * i], params[2 * i + 1]
        x = x @ w.transpose(-1, -2) + b.unsqueeze(-2)
        if i < layers - 1:
            x = x.relu()
    return x


def sample_tasks(torch):
    """25 sinusoids and their support and query points: (tasks, points, 1) each."""
    amp = torch.empty(TASKS, 1, 1).uniform_(0.1, 5.0)
    phase = torch.empty(TASKS, 1, 1).uniform_(0.0, math.pi)
    xs = torch.empty(TASKS, SHOTS, 1).uniform_(-5.0, 5.0)
    xq = torch.empty(TASKS, QUERIES, 1).uniform_(-5.0, 5.0)
    return xs, amp * torch.sin(xs - phase), xq, amp * torch.sin(xq - phase)


def meta_loss_loop(torch, params, tasks):
    """The mean query MSE after one inner step, one task at a time."""
    xs, ys, xq, yq = tasks
    total = 0.0
    for t in range(TASKS):
        support = ((forward(params, xs[t]) - ys[t]) ** 2).mean()
        grads = torch.autograd.grad(support, params, create_graph=True)
        fast = [p - INNER_LR * g for p, g in zip(params, grads)]
        total = total + ((forward(fast, xq[t]) - yq[t]) ** 2).mean()
    return total / TASKS


def meta_loss_batched(torch, params, tasks):
    """The same loss with the 25 inner steps as one batch: each task gets its
    own copy of the parameters, so the gradient of the summed support losses
    with respect to the copies is each task's own gradient."""
    xs, ys, xq, yq = tasks
    copies = [p.expand(TASKS, *p.shape) for p in params]
    support = ((forward(copies, xs) - ys) ** 2).mean(dim=(1, 2)).sum()
    grads = torch.autograd.grad(support, copies, create_graph=True)
    fast = [c - INNER_LR * g for c, g in zip(copies, grads)]
    return ((forward(fast, xq) - yq) ** 2).mean()


def check_batched(torch):
    """The batched meta-gradient equals the loop's (float64, same tasks)."""
    params = [p.detach().double().requires_grad_(True) for p in torch_init(torch, 1)]
    tasks = [t.double() for t in sample_tasks(torch)]
    g_loop = torch.autograd.grad(meta_loss_loop(torch, params, tasks), params)
    g_batch = torch.autograd.grad(meta_loss_batched(torch, params, tasks), params)
    worst = max(((a - b).abs().max() / a.abs().max().clamp(min=1e-30)).item()
                for a, b in zip(g_loop, g_batch))
    if worst > 1e-10:
        sys.exit(f"batched meta-gradient differs from the loop's: {worst:.2e}")
    return worst


def torch_meta_step(torch, meta_loss, seed):
    """PyTorch's (wall, cpu) seconds per outer step, and the mean meta-loss of
    the first and the last 50 timed steps (it should fall)."""
    params = torch_init(torch, seed)
    opt = torch.optim.Adam(params, lr=OUTER_LR)
    losses = []

    def step():
        loss = meta_loss(torch, params, sample_tasks(torch))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.detach())

    for _ in range(WARMUP):
        step()
    losses.clear()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(N_TORCH):
        step()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    first = torch.stack(losses[:50]).mean().item()
    last = torch.stack(losses[-50:]).mean().item()
    return wall / N_TORCH, cpu / N_TORCH, first, last


# --------------------------------------------------------------------- report

def hms(seconds):
    m, s = divmod(round(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min {s:02d} s" if h else f"{m} min {s:02d} s"


def mb(kb):
    return f"{kb / 1024:.1f} MB" if kb else "not separable"


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    kshot = sys.argv[1]
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    if importlib.util.find_spec("torch") is None:
        print("skipped: PyTorch (Debian's python3-torch) is not installed for this "
              f"interpreter ({sys.executable}); run with /usr/bin/python3")
        return 0
    # Memory first, before torch makes this process large (see kshot_fashion_rss).
    fashion_csv, fashion_rusage, own_kb = kshot_fashion_rss(kshot)

    core = torch_core(kshot_info(kshot))   # before torch loads OpenBLAS, which reads it once
    if core:
        os.environ["OPENBLAS_CORETYPE"] = core
    import torch
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)

    worst = check_batched(torch)
    series = {"kshot": [], "torch loop": [], "torch batched": []}
    falls = {"torch loop": [], "torch batched": []}
    for r in range(reps):
        series["kshot"].append(kshot_meta_step(kshot))
        for name, fn in (("torch loop", meta_loss_loop), ("torch batched", meta_loss_batched)):
            wall, cpu, first, last = torch_meta_step(torch, fn, seed=r)
            series[name].append((wall, cpu))
            falls[name].append((first, last))
        print(f"repetition {r + 1}/{reps} done", file=sys.stderr, flush=True)

    med = {name: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
           for name, v in series.items()}
    kw, kc = med["kshot"]

    print(f"CPU: {cpu_model()} ({os.cpu_count()} CPUs)")
    print("kshot reports:")
    for line in kshot_cores(kshot):
        print(f"  {line}")
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} thread, BLAS "
          f"{torch_blas_library()}; OPENBLAS_CORETYPE="
          f"{os.environ.get('OPENBLAS_CORETYPE', '(unset)')}"
          f"{' (unset in the environment: the core kshot selected)' if core else ''}")
    print(f"batched PyTorch meta-gradient vs the loop's (float64): largest relative "
          f"difference {worst:.1e}")
    print()
    print(f"Second-order MAML, sinusoid K = {SHOTS}, {TASKS} tasks x {QUERIES} queries, "
          f"1 inner step; medians of {reps} alternating repetitions "
          f"(kshot {N_KSHOT} steps, PyTorch {N_TORCH} after {WARMUP} warm-up)")
    print()
    print("| per outer step | wall ms (range) | CPU ms | wall / kshot | CPU / kshot | "
          "15 x 70,000 steps at this wall time, 1 core | same split over 2 cores |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, (w, c) in med.items():
        walls = [x for x, _ in series[name]]
        print(f"| {name} | {w * 1e3:.3f} ({min(walls) * 1e3:.3f}-{max(walls) * 1e3:.3f}) | "
              f"{c * 1e3:.3f} | {w / kw:.1f}x | {c / kc:.1f}x | "
              f"{hms(w * PROTOCOL_STEPS)} | {hms(w * PROTOCOL_STEPS / 2)} |")
    print()
    print(f"kshot's whole protocol (15 meta-trainings, 21 evaluation units), measured "
          f"with -j 2 (README): {hms(KSHOT_PROTOCOL_WALL)}")
    for name, v in falls.items():
        text = ", ".join(f"{a:.2f} -> {b:.2f}" for a, b in v)
        print(f"{name}: mean meta-loss, first -> last 50 timed steps: {text}")
    print()
    verdict = "under" if max(fashion_csv or 0, fashion_rusage or 0) < 300 * 1024 else "OVER"
    print(f"Fashion-MNIST second-order MAML (5 inner steps at 0.1, 4 tasks, -j 1): peak RSS "
          f"{mb(fashion_csv)} (costs.csv), {mb(fashion_rusage)} (getrusage, children); "
          f"{verdict} the 300 MB requirement (this script's own peak when it ran: "
          f"{mb(own_kb)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
