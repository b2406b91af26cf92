#!/usr/bin/env python3
"""Robustness probes end to end, with known answers, on configs/smoke.yaml.

Usage: e2e_probes.py KSHOT SOURCE_ROOT

Fine-tuning, the linear probe and knn from the smoke config, with probes
given as overrides: FGSM and PGD (10 steps) at eps 0.1, a PGD of one step
with no random start (which must equal FGSM: a step of 2.5 eps projected
back on the eps-ball is FGSM's point), and Gaussian noise at sigma 0 and
0.1. Checks:
  - mean accuracy over each seed's episodes: clean >= FGSM >= PGD;
  - the one-step PGD rows equal the FGSM rows, episode by episode;
  - noise of sigma 0 reproduces the clean rows bit for bit (fine-tuning);
  - knn, which has no input gradient, gets noise rows and no FGSM or PGD rows;
  - an adversarial patch (14 pixels, 100 steps) switches more predictions to
    its target class than a random patch of the same size;
  - cue conflict: adapted on the cue alone (strength 1), the shape bias is
    about 0; with no cue (strength 0) the content decisions are the clean
    accuracy, episode by episode, and the shape bias is well above 1/2;
  - probe rows carry the final step and param; -j 1 and -j 2 write the same
    episodes.csv;
  - curves.svg has a robustness panel per probe with accuracy rows;
  - with cue_in_source the supervised pretraining is a unit of its own, and
    on images that carry their class's texture it learns the shortcut: its
    training loss falls under half the clean pretraining's.
"""
import csv
import filecmp
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

import e2echeck

OVERRIDES = [
    "learners={finetune: {kind: finetune, steps: 10, lr: 0.01}, "
    "probe: {kind: finetune, freeze: body, steps: 10, lr: 0.1}, knn: {kind: knn, k: 3}}",
    "probes={fgsm: {kind: fgsm, eps: [0.1]}, pgd: {kind: pgd, eps: [0.1], steps: 10}, "
    "pgd1: {kind: pgd, eps: [0.1], steps: 1, random_start: false}, "
    "noise: {kind: noise, sigma: [0, 0.1]}, patch: {kind: patch, size: [14], steps: 100}, "
    "cue: {kind: cue_conflict, strength: [0, 1], learners: [finetune, knn]}}",
]


def main():
    kshot, root = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="kshot-probes-")
    try:
        outs = []
        for jobs in ("2", "1"):
            out = os.path.join(tmp, "j" + jobs)
            p = subprocess.run([kshot, "run", os.path.join(root, "configs/smoke.yaml"), "-o", out,
                                "-q", "-j", jobs] + OVERRIDES, capture_output=True, text=True)
            if not e2echeck.check(f"kshot run -j {jobs}", p.returncode == 0, p.stderr):
                return e2echeck.summary()
            outs.append(out)
        e2echeck.check("-j 1 and -j 2 write the same episodes.csv",
                       filecmp.cmp(os.path.join(outs[0], "episodes.csv"),
                                   os.path.join(outs[1], "episodes.csv"), shallow=False))
        with open(os.path.join(outs[0], "episodes.csv"), newline="") as f:
            rows = [r for r in csv.DictReader(f) if r["metric"] == "accuracy"]
        def values(learner, probe, param, seed=None, step=None):
            return {(r["seed"], r["shots"], r["episode"]): r["value"] for r in rows
                    if r["learner"] == learner and r["probe"] == probe and r["param"] == param
                    and (seed is None or r["seed"] == seed) and (step is None or r["step"] == step)}
        for learner, final in (("finetune", "10"), ("probe", "10")):
            for seed in ("0", "1"):
                clean = values(learner, "", "", seed, final)
                fgsm, pgd = values(learner, "fgsm", "0.1", seed), values(learner, "pgd", "0.1", seed)
                m = [statistics.mean(float(v) for v in d.values()) for d in (clean, fgsm, pgd)]
                e2echeck.check(f"{learner}, seed {seed}: clean >= FGSM >= PGD",
                               len(clean) == len(fgsm) == len(pgd) == 40 and m[0] >= m[1] >= m[2],
                               f"{m[0]:.3f} >= {m[1]:.3f} >= {m[2]:.3f}", verbose=True)
            e2echeck.check(f"{learner}: one-step PGD from x equals FGSM, episode by episode",
                           values(learner, "pgd1", "0.1") == values(learner, "fgsm", "0.1"))
            steps = {r["step"] for r in rows if r["learner"] == learner and r["probe"]}
            e2echeck.check(f"{learner}: probe rows after the final step", steps == {final},
                           str(steps))
        e2echeck.check("noise of sigma 0 reproduces fine-tuning's clean rows bit for bit",
                       values("finetune", "noise", "0") == values("finetune", "", "", step="10"))
        knn = {r["probe"] for r in rows if r["learner"] == "knn"}
        e2echeck.check("knn: noise rows, no FGSM or PGD rows (no input gradient)",
                       knn == {"", "noise"}, str(knn))
        with open(os.path.join(outs[0], "episodes.csv"), newline="") as f:
            every = list(csv.DictReader(f))
        def mean(learner, probe, metric, param):
            v = [float(r["value"]) for r in every if r["learner"] == learner and
                 r["probe"] == probe and r["metric"] == metric and r["param"] == param]
            return statistics.mean(v) if v else float("nan"), len(v)
        for learner in ("finetune", "probe"):
            opt, n = mean(learner, "patch", "switch_rate", "14")
            rnd, _ = mean(learner, "patch", "switch_rate_random", "14")
            e2echeck.check(f"{learner}: the optimised patch switches more predictions than a "
                           f"random one", n == 80 and opt > rnd, f"{opt:.3f} > {rnd:.3f} over {n}",
                           verbose=True)
        for learner in ("finetune", "knn"):
            sb, n = mean(learner, "cue", "shape_bias", "1")
            e2echeck.check(f"{learner}: adapted on the cue alone, shape bias about 0",
                           n == 80 and sb <= 0.05, f"{sb:.3f} over {n}", verbose=True)
        content = {(r["seed"], r["shots"], r["episode"]): r["value"] for r in every
                   if r["learner"] == "finetune" and r["probe"] == "cue" and
                   r["metric"] == "content_fraction" and r["param"] == "0"}
        e2echeck.check("finetune: with no cue, the content decisions are the clean accuracy",
                       content == values("finetune", "", "", step="10"))
        sb0, _ = mean("finetune", "cue", "shape_bias", "0")
        e2echeck.check("finetune: with no cue, shape bias well above one half", sb0 > 0.6,
                       f"{sb0:.3f}", verbose=True)
        e2echeck.check("the cue probe runs only on the learners it lists",
                       not any(r["probe"] == "cue" and r["learner"] == "probe" for r in every))
        # a texture-biased pretraining: the source images carry their classes' cues
        out = os.path.join(tmp, "cue-source")
        p = subprocess.run([kshot, "run", os.path.join(root, "configs/smoke.yaml"), "-o", out, "-q",
                            "learners={probe: {kind: finetune, freeze: body, steps: 10, lr: 0.1}}",
                            "probes={cue: {kind: cue_conflict, strength: [0.3], "
                            "cue_in_source: true}}"], capture_output=True, text=True)
        if e2echeck.check("kshot run with cue_in_source", p.returncode == 0, p.stderr):
            def pretraining(d):
                with open(os.path.join(d, "pretrain.csv"), newline="") as f:
                    return {r["seed"]: r for r in csv.DictReader(f)}
            clean, cued = pretraining(outs[0]), pretraining(out)
            e2echeck.check("cue_in_source: its own pretraining, which learns the shortcut (its "
                           "training loss under half the clean one's)",
                           all(cued[k]["unit"] != clean[k]["unit"] and
                               float(cued[k]["train_loss"]) < 0.5 * float(clean[k]["train_loss"])
                               for k in clean),
                           str({k: (clean[k]["train_loss"], cued[k]["train_loss"]) for k in clean}),
                           verbose=True)
        # curves.svg: beside the learning curves, a robustness panel per probe with accuracy
        # rows (fgsm, pgd, pgd1, noise, patch): each learner's colour is stroked in each it takes
        import re
        svg = open(os.path.join(outs[0], "curves.svg")).read()
        strokes = {}
        for style in re.findall(r'<path style="([^"]*)"', svg):
            m = re.search(r"stroke:(rgb\([^)]*\))", style)
            if m and "stroke-width:2;" in style and "fill:none" in style:
                strokes[m.group(1)] = strokes.get(m.group(1), 0) + 1
        e2echeck.check("curves.svg: a learning curve, a legend line and a robustness curve per "
                       "probe it takes for each learner (knn: noise only)",
                       sorted(strokes.values()) == [3, 7, 7], str(strokes))
        e2echeck.check("noise of sigma 0.1 changes some decision",
                       values("finetune", "noise", "0.1") != values("finetune", "", "", step="10"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return e2echeck.summary()


if __name__ == "__main__":
    sys.exit(main())
