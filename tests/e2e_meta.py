#!/usr/bin/env python3
"""The shipped sinusoid protocol, reduced, still shows what it ships to show.

Usage: e2e_meta.py KSHOT SOURCE_ROOT [ITERATIONS]

Runs configs/sinusoid.yaml through overrides only — every meta-learner
meta-trained for ITERATIONS outer steps (default 6000) instead of 70,000,
200 held-out functions instead of 600, K = 5 and 10 — and checks:

- every meta-learner has one meta-training per K in pretrain.csv, with its
  learner and shots, and its FLOPs and seconds in costs.csv;
- maml beats the pretrained baseline after one step at both K: the paired
  difference of query MSE over identical episodes (maml - pretrained) has a
  95% t-interval wholly below zero;
- the meta-learned initialisations improve with the test-time step (MSE
  after 1 step below MSE after 0 steps, paired, for maml).
"""
import csv
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

import e2echeck

META = ["maml", "fomaml", "anil", "metasgd", "reptile"]
SHOTS = [5, 10]
EPISODES = 200
T975 = 1.972  # t quantile, 199 degrees of freedom


def paired(rows, a, b, shots, step_a, step_b):
    """Per-episode MSE of learner a at step_a minus learner b at step_b."""
    def of(learner, step):
        return {r["episode"]: float(r["value"]) for r in rows
                if r["learner"] == learner and r["shots"] == str(shots) and r["step"] == str(step)
                and r["metric"] == "mse"}
    x, y = of(a, step_a), of(b, step_b)
    return [x[k] - y[k] for k in sorted(x) if k in y]


def main():
    kshot, root = sys.argv[1], sys.argv[2]
    iters = int(sys.argv[3]) if len(sys.argv) > 3 else 6000
    tmp = tempfile.mkdtemp(prefix="kshot-meta-")
    try:
        args = [kshot, "run", os.path.join(root, "configs/sinusoid.yaml"), "-o", tmp, "-q",
                "-j", "2", f"targets.heldout.episodes={EPISODES}",
                "targets.heldout.shots=[" + ",".join(map(str, SHOTS)) + "]"]
        args += [f"learners.{k}.meta.iterations={iters}" for k in META]
        p = subprocess.run(args, capture_output=True, text=True)
        if not e2echeck.check("kshot run of the reduced protocol", p.returncode == 0, p.stderr):
            return e2echeck.summary()
        with open(os.path.join(tmp, "pretrain.csv"), newline="") as f:
            pre = list(csv.DictReader(f))
        for k in META:
            got = sorted(int(r["shots"]) for r in pre if r["learner"] == k and r["status"] == "ok")
            e2echeck.check(f"{k}: one meta-training per K", got == SHOTS, str(got))
        with open(os.path.join(tmp, "costs.csv"), newline="") as f:
            costs = [r for r in csv.DictReader(f) if r["kind"] == "pretrain" and r["learner"] in META]
        e2echeck.check("meta-trainings' costs recorded", len(costs) == len(META) * len(SHOTS) and
                       all(float(r["flops"]) > 0 and float(r["cpu_seconds"]) > 0 for r in costs),
                       f"{len(costs)} rows")
        with open(os.path.join(tmp, "episodes.csv"), newline="") as f:
            rows = list(csv.DictReader(f))
        for k in SHOTS:
            d = paired(rows, "maml", "pretrained", k, 1, 1)
            m, half = statistics.mean(d), T975 * statistics.stdev(d) / math.sqrt(len(d))
            e2echeck.check(f"K={k}: maml beats the pretrained baseline after one step",
                           len(d) == EPISODES and m + half < 0,
                           f"paired MSE difference {m:.3f} +- {half:.3f} over {len(d)} episodes",
                           verbose=True)
            d = paired(rows, "maml", "maml", k, 1, 0)
            m, half = statistics.mean(d), T975 * statistics.stdev(d) / math.sqrt(len(d))
            e2echeck.check(f"K={k}: maml's step improves on its initialisation", m + half < 0,
                           f"{m:.3f} +- {half:.3f}", verbose=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return e2echeck.summary()


if __name__ == "__main__":
    sys.exit(main())
