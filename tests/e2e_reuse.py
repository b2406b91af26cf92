#!/usr/bin/env python3
"""Forgetting with known answers, end to end, on configs/smoke.yaml.

Usage: e2e_reuse.py KSHOT SOURCE_ROOT

The smoke config (Fashion-MNIST, 784-32-5, source classes 0-4 with their
test split) runs with four learners through overrides:
  - probe: the body frozen, so the source head sees the pretrained body:
    forgetting is exactly 0 in every episode (a row with 0, not empty);
  - still: a full fine-tune at lr = 0, whose body never moves: exactly 0;
  - wild: a full fine-tune, 30 SGD steps at lr 1 on the new classes, which
    overwrites the body: forgetting clearly positive (its pooled interval
    wholly above 0 in each seed);
  - scratch: no pretrained body, no source head: no forgetting rows.
Also: the forgetting rows carry the final step, and summary.csv pools them;
and with energy.powercap pointing at a fake tree of RAPL package counters,
every unit's joules are read from it (method rapl).
"""
import csv
import os
import shutil
import subprocess
import sys
import tempfile

import e2echeck

LEARNERS = ("{probe: {kind: finetune, freeze: body, steps: 5, lr: 0.1}, "
            "still: {kind: finetune, steps: 5, lr: 0}, "
            "wild: {kind: finetune, steps: 30, optimizer: sgd, lr: 1.0}, "
            "scratch: {kind: scratch, steps: 5}}")


def main():
    kshot, root = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="kshot-reuse-")
    try:
        p = subprocess.run([kshot, "run", os.path.join(root, "configs/smoke.yaml"), "-o", tmp,
                            "-q", "learners=" + LEARNERS], capture_output=True, text=True)
        if not e2echeck.check("kshot run", p.returncode == 0, p.stderr):
            return e2echeck.summary()
        with open(os.path.join(tmp, "episodes.csv"), newline="") as f:
            rows = [r for r in csv.DictReader(f) if r["metric"] == "forgetting"]
        by = {}
        for r in rows:
            by.setdefault(r["learner"], []).append(r)
        episodes = 2 * 2 * 20  # seeds x shot counts x episodes
        for name in ("probe", "still"):
            got = by.get(name, [])
            e2echeck.check(f"{name}: forgetting exactly 0 in every episode",
                           len(got) == episodes and all(r["value"] == "0" for r in got),
                           f"{len(got)} rows, values {sorted({r['value'] for r in got})[:5]}",
                           verbose=True)
        wild = by.get("wild", [])
        e2echeck.check("wild: a forgetting row per episode, after the final step",
                       len(wild) == episodes and all(r["step"] == "30" for r in wild),
                       f"{len(wild)} rows")
        e2echeck.check("scratch: no forgetting rows", "scratch" not in by)
        with open(os.path.join(tmp, "summary.csv"), newline="") as f:
            summary = [r for r in csv.DictReader(f) if r["metric"] == "forgetting" and
                       r["learner"] == "wild"]
        # per seed, over its 20 episodes (two seeds' t-interval is too wide to say anything)
        for r in (r for r in summary if r["seed"] != "all"):
            m, ci = float(r["mean"]), float(r["ci95"])
            e2echeck.check(f"wild, seed {r['seed']}, {r['shots']} shots: forgetting clearly "
                           f"positive", m - ci > 0 and m <= 1, f"{m:.3f} +- {ci:.3f}", verbose=True)
        e2echeck.check("wild: per-seed and pooled rows for both shot counts", len(summary) == 6)
        # energy.powercap at a fake tree of package counters that do not move: every unit
        # measured (rapl), and what they measured is exactly nothing
        fake = os.path.join(tmp, "powercap")
        for zone in ("intel-rapl:0", "intel-rapl:1"):
            os.makedirs(os.path.join(fake, zone))
            for name, value in (("energy_uj", "123456789"), ("max_energy_range_uj", "262143328850")):
                with open(os.path.join(fake, zone, name), "w") as f:
                    f.write(value + "\n")
        out = os.path.join(tmp, "rapl")
        p = subprocess.run([kshot, "run", os.path.join(root, "configs/smoke.yaml"), "-o", out, "-q",
                            "learners={scratch: {kind: scratch, steps: 5}}",
                            "energy.powercap=" + fake], capture_output=True, text=True)
        e2echeck.check("kshot run with a fake powercap tree", p.returncode == 0, p.stderr)
        with open(os.path.join(out, "costs.csv"), newline="") as f:
            costs = list(csv.DictReader(f))
        e2echeck.check("every unit's joules read from the counters (rapl, 0 J: they never moved)",
                       costs and all(r["joules_method"] == "rapl" and float(r["joules"]) == 0
                                     for r in costs), str(costs[:1]))
        with open(os.path.join(out, "cost_summary.csv"), newline="") as f:
            e2echeck.check("cost_summary.csv says rapl", all(r["joules_method"] == "rapl"
                                                              for r in csv.DictReader(f)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return e2echeck.summary()


if __name__ == "__main__":
    sys.exit(main())
