#!/usr/bin/env python3
"""kshot against PyTorch on configs/reference.yaml's protocol, side by side in one run.

Usage: tests/bench/vs_torch.py BUILD_DIR [ROUNDS] [EPISODES]

BUILD_DIR holds kshot and tests/bench/bench_shapes (a release build is what
users run: `meson setup build-bench --buildtype=release`). Each round runs,
alternating: kshot's phases (-j 1: pretraining, then one unit of EPISODES
episodes per learner, timed by kshot itself in costs.csv; without the
forgetting rows, which the PyTorch script does not compute), PyTorch's same
phases (tests/bench/torch_phases.py, 1 thread; FGSM is the attack alone on
both sides: kshot's probe row of costs.csv, PyTorch's timed inside the
finetune loop), the whole protocol end to
end with both at 1 and at 2 workers/threads (PyTorch with a passive OpenMP
wait, so its idle threads do not spin), and the rate the BLAS reaches on the
same products (bench_shapes), and prototypes and kNN each alone in a run.
In the reference run the linear probe's unit computes the feature table
(the frozen body's features of every image the episodes draw) and the
prototypes and kNN units, which draw the same images through the same
layers, take it; alone, a unit computes its own, in units of EPISODES and
of 2,000 episodes (where the table is spread over ten times the episodes;
PyTorch computes features per episode, so its rate does not depend on
their number). It prints medians over ROUNDS (default 3) and
the ratios, kshot's GFLOP/s per phase beside the products' rate, and peak
memory. Both sides use the same OpenBLAS core: whatever OPENBLAS_CORETYPE
the environment sets, or, when it is unset, the core kshot runs on (which
kshot selects itself where OpenBLAS would fall back to a generic kernel;
PyTorch gets it through OPENBLAS_CORETYPE). PyTorch is Debian's
python3-torch, a peer for this benchmark only; without it the script says
so and exits 0. Not a test.
"""
import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TORCH = "/usr/bin/python3"
LEARNERS = ["finetune", "probe", "scratch", "proto", "knn"]
AMORTISED = 2000   # episodes of the extra prototypes/kNN units: the feature table amortised
TORCH_NAME = {"proto": "prototypes"}


def timed(cmd, env=None):
    """Run cmd; returns (wall seconds, peak RSS in kB, stdout)."""
    t = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr}")
    return wall, int(p.stderr.strip().splitlines()[-1]), p.stdout


def kshot_phases(kshot, episodes):
    out = tempfile.mkdtemp(prefix="kshot-bench-")
    try:
        cmd = [kshot, "run", os.path.join(ROOT, "configs/reference.yaml"), "-o", out, "-q", "-j", "1",
               f"targets.heldout.episodes={episodes}", "learners.knn={kind: knn}",
               # the PyTorch script does not score forgetting (500 source images
               # through each finetuned model, a quarter of kshot's finetune unit)
               "targets.heldout.forgetting=0"]
        wall, rss, _ = timed(cmd)
        phases = {}
        with open(os.path.join(out, "costs.csv"), newline="") as f:
            unit_episodes = 0
            for r in csv.DictReader(f):
                if r["phase"].startswith("probe:"):   # the probe's share of its unit
                    phases[r["phase"][6:]] = (unit_episodes, float(r["wall_seconds"]),
                                              float(r["flops"]))
                    continue
                n = 30000 if r["kind"] == "pretrain" else int(r["episodes"])
                unit_episodes = n
                name = "pretraining" if r["kind"] == "pretrain" else r["learner"]
                phases[name] = (n, float(r["wall_seconds"]), float(r["flops"]))
        return phases, rss
    finally:
        shutil.rmtree(out, ignore_errors=True)


ALONE = {"proto": "{kind: prototypes, distance: euclidean}", "knn": "{kind: knn}"}


def kshot_alone(kshot, name, episodes):
    """Episodes/s of learner `name` alone in a run: its unit computes its own feature table."""
    out = tempfile.mkdtemp(prefix="kshot-bench-")
    try:
        timed([kshot, "run", os.path.join(ROOT, "configs/reference.yaml"), "-o", out, "-q", "-j", "1",
               f"targets.heldout.episodes={episodes}", "probes={}", f"baseline={name}",
               f"learners={{{name}: {ALONE[name]}}}"])
        with open(os.path.join(out, "costs.csv"), newline="") as f:
            return next(int(r["episodes"]) / float(r["wall_seconds"])
                        for r in csv.DictReader(f) if r["kind"] == "eval")
    finally:
        shutil.rmtree(out, ignore_errors=True)


def kshot_whole(kshot, jobs):
    out = tempfile.mkdtemp(prefix="kshot-bench-")
    try:
        wall, rss, _ = timed([kshot, "run", os.path.join(ROOT, "configs/reference.yaml"), "-o", out,
                              "-q", "-j", str(jobs)])
        return wall, rss
    finally:
        shutil.rmtree(out, ignore_errors=True)


TORCH_CORE = {}   # OPENBLAS_CORETYPE for PyTorch: the core kshot runs on (set in main)


def kshot_info(kshot):
    """The lines `kshot info` prints (kernels, CPU, self-test)."""
    return subprocess.run([kshot, "info"], capture_output=True, text=True).stdout.splitlines()


def torch_core(info):
    """The OpenBLAS core PyTorch must be given to multiply with kshot's kernels.

    PyTorch links the same OpenBLAS. Where nothing sets OPENBLAS_CORETYPE and
    OpenBLAS would fall back to a generic kernel, kshot selects the CPU's own
    (`kshot info` says so); PyTorch, left alone, would run the generic one.
    Returns kshot's core, from `kshot info`'s lines, when the environment
    leaves OPENBLAS_CORETYPE unset, else "" (kshot keeps the environment's
    value, and so does PyTorch)."""
    if "OPENBLAS_CORETYPE" in os.environ:
        return ""
    line = next((l for l in info if l.startswith("blas:") and "core " in l), "")
    return line.split("core ")[1].split(",")[0] if line else ""


def torch_run(threads, episodes, whole=False):
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", OMP_NUM_THREADS=str(threads), **TORCH_CORE)
    wall, rss, out = timed([TORCH, os.path.join(HERE, "torch_phases.py"), str(threads),
                            str(episodes)] + (["whole"] if whole else []), env)
    phases = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) == 3:
            phases[f[0]] = (int(f[1]), float(f[2]))
    return phases, wall, rss


def shapes(build):
    _, _, out = timed([os.path.join(build, "tests/bench/bench_shapes")])
    return {f.split()[0]: float(f.split()[1]) for f in out.splitlines() if not f.startswith("#")}


def med(values):
    return statistics.median(values)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    build = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    episodes = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    kshot = os.path.join(build, "kshot")
    if subprocess.run([TORCH, "-c", "import torch"], capture_output=True).returncode != 0:
        print("skipped: PyTorch (Debian's python3-torch) is not installed; "
              "`apt-get install python3-torch` to run this benchmark")
        return 0
    info = kshot_info(kshot)
    core = next((l for l in info if l.startswith("blas:")), "blas: ?")
    name = torch_core(info)
    if name:
        TORCH_CORE["OPENBLAS_CORETYPE"] = name
    small = next((l for l in info if l.startswith("small products:")), "")
    small = small.split("(")[0].strip().rstrip(",")
    k_rate, t_rate, k_flops, rates, whole, rss = {}, {}, {}, {}, {}, {}
    for r in range(rounds):
        phases, k_rss = kshot_phases(kshot, episodes)
        for name, (n, s, fl) in phases.items():
            k_rate.setdefault(name, []).append(n / s)
            k_flops.setdefault(name, []).append(fl / s / 1e9)
        rss.setdefault("kshot", []).append(k_rss)
        tph, _, t_rss = torch_run(1, episodes)
        for name, (n, s) in tph.items():
            t_rate.setdefault(name, []).append(n / s)
        rss.setdefault("torch", []).append(t_rss)
        for name in ALONE:
            for n in (episodes, AMORTISED):
                k_rate.setdefault(f"{name}@{n}", []).append(kshot_alone(kshot, name, n))
        for jobs in (1, 2):
            whole.setdefault(("kshot", jobs), []).append(kshot_whole(kshot, jobs)[0])
            whole.setdefault(("torch", jobs), []).append(torch_run(jobs, 200, whole=True)[1])
        for k, v in shapes(build).items():
            rates.setdefault(k, []).append(v)
        print(f"round {r + 1}/{rounds} done", file=sys.stderr, flush=True)

    print(f"kshot against PyTorch {subprocess.run([TORCH, '-c', 'import torch; print(torch.__version__)'], capture_output=True, text=True).stdout.strip()}, "
          f"{core[6:]}; kshot's {small}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}"
          f"{' (PyTorch given ' + TORCH_CORE['OPENBLAS_CORETYPE'] + ', the core kshot selected)' if TORCH_CORE else ''}; "
          f"medians of {rounds} alternating rounds, {episodes} episodes per learner\n")
    print("| reference workload, 1 worker / 1 thread | kshot | PyTorch | kshot / PyTorch | kshot GFLOP/s | BLAS GFLOP/s, same products |")
    print("| --- | --- | --- | --- | --- | --- |")
    yard = {"pretraining": "step64", "finetune": "step25", "scratch": "step25", "probe": "step25",
            "proto": "fwd100", "knn": "fwd100"}
    for name in ["pretraining"] + LEARNERS:
        k = med(k_rate[name])
        t = med(t_rate[TORCH_NAME.get(name, name)])
        unit = "examples/s" if name == "pretraining" else "episodes/s"
        # a unit that takes the probe's table does not do its products: no GFLOP/s
        shared = " (the probe's feature table)" if name in ALONE else ""
        gflops = "" if shared else f"{med(k_flops[name]):.1f}"
        print(f"| {name}, {unit}{shared} | {k:,.0f} | {t:,.0f} | {k / t:.1f}× | {gflops} | "
              f"{med(rates[yard[name]]):.1f} ({yard[name]}) |")
    for name in ALONE:   # PyTorch's cost per episode does not depend on their number
        t = med(t_rate[TORCH_NAME.get(name, name)])
        for n in (episodes, AMORTISED):
            k = med(k_rate[f"{name}@{n}"])
            print(f"| {name} alone (its own table), {n:,} episodes per unit, episodes/s | {k:,.0f} | "
                  f"{t:,.0f} | {k / t:.1f}× | | |")
    k, t = med(k_rate["fgsm"]), med(t_rate["fgsm"])
    print(f"| FGSM (ε 0.1) on the finetuned model, episodes/s | {k:,.0f} | {t:,.0f} | {k / t:.1f}× | "
          f"{med(k_flops['fgsm']):.1f} | |")
    for jobs in (1, 2):
        k, t = med(whole[("kshot", jobs)]), med(whole[("torch", jobs)])
        print(f"| whole reference run, wall seconds, {jobs} worker{'s' if jobs > 1 else ''}/thread{'s' if jobs > 1 else ''} | "
              f"{k:.2f} | {t:.2f} | {t / k:.1f}× faster | | |")
    k, t = med(rss["kshot"]), med(rss["torch"])
    print(f"| peak resident memory (phases run), MB | {k / 1024:.0f} | {t / 1024:.0f} | {t / k:.1f}× less | | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
