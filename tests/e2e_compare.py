#!/usr/bin/env python3
"""kshot compare against an independent computation from episodes.csv.

Usage: e2e_compare.py KSHOT SOURCE_ROOT

Runs configs/smoke.yaml (two seeds, five learners, scratch the baseline)
and reads `kshot compare --format csv`. Recomputed here with the Python
standard library (the t distribution from tests/check_summary.py):
  - mean and ci95 of every learner and shot count at its final step equal
    summary.csv's pooled rows;
  - diff and diff_ci95 equal summary.csv's pooled transfer_gain;
  - p_t: the t-test of the two seed means of the paired differences (df 1);
  - p_wilcoxon: the signed-rank test over every paired episode, zeros
    dropped, average ranks, normal approximation with the tie correction;
  - p_holm: Holm's adjustment of p_t across the table;
  - best: the highest mean of each column; tied: a paired difference to the
    best whose interval contains 0.
Also: the text and markdown formats print, and a learner that does not exist
is refused with exit status 2. Two runs side by side (the second with
finetune's lr changed): learners are named RUN/LEARNER, a unit both runs
share compares to itself with a difference of exactly 0, the cross-run
paired difference of finetune equals one recomputed from the two
episodes.csv files, and a run whose target draws other episodes (more of
them) is refused with exit status 2, naming the target. Validation: with a
target marked `role: validation` and a sweep over two learners' lr, each
learner's variant is the one whose mean over the validation target's cells
is best (recomputed here), the tables hold the test target only, and each
learner's row there is its chosen variant's.
"""
import csv
import io
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2echeck  # noqa: E402
from check_summary import t_cdf, t_quantile  # noqa: E402

COLUMNS = ("target,metric,step,probe,param,learner,shots,n,mean,ci95,diff,diff_ci95,p_t,"
           "p_wilcoxon,p_holm,best,tied").split(",")


def close(a, b, rel=1e-6, abs_=1e-9):
    if a == "" or b is None:
        return a == "" and b is None
    a = float(a)
    return abs(a - b) <= max(abs_, rel * max(abs(a), abs(b)))


def pooled(pairs):
    """(mean, ci95, p_t) of values by seed, as kshot pools them."""
    seeds = sorted({s for s, _ in pairs})
    means = [statistics.mean(v for s, v in pairs if s == k) for k in seeds]
    if len(seeds) >= 2:
        m, sd, k = statistics.mean(means), statistics.stdev(means), len(means)
        ci = t_quantile(0.975, k - 1) * sd / math.sqrt(k)
    else:
        v = [x for _, x in pairs]
        m, sd, k = statistics.mean(v), statistics.stdev(v), len(v)
        ci = 1.96 * sd / math.sqrt(k)
    t = m / (sd / math.sqrt(k)) if sd > 0 else math.inf
    p = 2 * (1 - t_cdf(abs(t), k - 1)) if sd > 0 else (1.0 if m == 0 else 0.0)
    return m, ci, p


def wilcoxon(d):
    d = [x for x in d if x != 0]
    if not d:
        return None
    order = sorted(range(len(d)), key=lambda i: abs(d[i]))
    ranks, ties, i = [0.0] * len(d), 0.0, 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and abs(d[order[j + 1]]) == abs(d[order[i]]):
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j + 2) / 2
        t = j - i + 1
        ties += t ** 3 - t
        i = j + 1
    m = len(d)
    w = sum(r for r, x in zip(ranks, d) if x > 0)
    z = (w - m * (m + 1) / 4) / math.sqrt(m * (m + 1) * (2 * m + 1) / 24 - ties / 48)
    return math.erfc(abs(z) / math.sqrt(2))


def holm(ps):
    idx = sorted((i for i, p in enumerate(ps) if p is not None), key=lambda i: ps[i])
    out, run = list(ps), 0.0
    for j, i in enumerate(idx):
        run = max(run, min(1.0, (len(idx) - j) * ps[i]))
        out[i] = run
    return out


def main():
    kshot, root = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="kshot-compare-")
    try:
        p = subprocess.run([kshot, "run", os.path.join(root, "configs/smoke.yaml"), "-o", tmp,
                            "-q"], capture_output=True, text=True)
        if not e2echeck.check("kshot run", p.returncode == 0, p.stderr):
            return e2echeck.summary()
        p = subprocess.run([kshot, "compare", tmp, "--format", "csv"], capture_output=True,
                           text=True)
        e2echeck.check("kshot compare --format csv", p.returncode == 0, p.stderr)
        rows = list(csv.DictReader(io.StringIO(p.stdout)))
        e2echeck.check("the csv's columns, first", list(rows[0])[:len(COLUMNS)] == COLUMNS,
                       str(list(rows[0])))
        with open(os.path.join(tmp, "episodes.csv"), newline="") as f:
            eps = [r for r in csv.DictReader(f) if r["metric"] == "accuracy" and not r["probe"]]
        final = {}
        for r in eps:
            s = int(r["step"]) if r["step"] else -1
            final[r["learner"]] = max(final.get(r["learner"], -2), s)
        def values(learner, shots):
            f = final[learner]
            return {(r["seed"], r["episode"]): float(r["value"]) for r in eps
                    if r["learner"] == learner and r["shots"] == shots and r["value"] and
                    (int(r["step"]) if r["step"] else -1) == f}
        with open(os.path.join(tmp, "summary.csv"), newline="") as f:
            summary = {(r["learner"], r["shots"], r["step"], r["metric"]): r
                       for r in csv.DictReader(f) if r["seed"] == "all" and not r["probe"]}
        ok_mean = ok_diff = ok_p = ok_best = True
        want_t = []
        for r in rows:
            v = values(r["learner"], r["shots"])
            m, ci, _ = pooled([(k[0], x) for k, x in v.items()])
            s = summary[(r["learner"], r["shots"], r["step"], "accuracy")]
            ok_mean &= close(r["mean"], float(s["mean"])) and close(r["ci95"], float(s["ci95"]))
            ok_mean &= close(r["mean"], m) and close(r["ci95"], ci)
            if r["learner"] == "scratch":
                ok_diff &= r["diff"] == "" and r["p_t"] == ""
                want_t.append(None)
                continue
            b = values("scratch", r["shots"])
            pairs = [(k[0], v[k] - b[k]) for k in sorted(v) if k in b]
            dm, dci, pt = pooled(pairs)
            g = summary[(r["learner"], r["shots"], r["step"], "transfer_gain")]
            ok_diff &= close(r["diff"], float(g["mean"])) and close(r["diff_ci95"], float(g["ci95"]))
            ok_diff &= close(r["diff"], dm) and close(r["diff_ci95"], dci)
            ok_p &= close(r["p_t"], pt, rel=1e-5) and close(r["p_wilcoxon"], wilcoxon([x for _, x in pairs]), rel=1e-5)
            want_t.append(pt)
        for r, h in zip(rows, holm(want_t)):
            ok_p &= close(r["p_holm"], h, rel=1e-5) if h is not None else r["p_holm"] == ""
        for shots in {r["shots"] for r in rows}:
            col = [r for r in rows if r["shots"] == shots]
            best = max(col, key=lambda r: float(r["mean"]))
            ok_best &= all((r["best"] == "1") == (r is best) for r in col)
            bv = values(best["learner"], shots)
            for r in col:
                if r is best:
                    continue
                v = values(r["learner"], shots)
                dm, dci, _ = pooled([(k[0], v[k] - bv[k]) for k in sorted(v) if k in bv])
                ok_best &= (r["tied"] == "1") == (abs(dm) <= dci)
        e2echeck.check("means and CIs equal summary.csv's and the recomputed ones", ok_mean)
        e2echeck.check("paired differences equal transfer_gain and the recomputed ones", ok_diff)
        e2echeck.check("p_t, p_wilcoxon and p_holm equal the independent computation", ok_p)
        e2echeck.check("best and tied marks", ok_best)
        e2echeck.check("five learners x two shot counts", len(rows) == 10, str(len(rows)))
        for fmt in ("text", "markdown"):
            p = subprocess.run([kshot, "compare", tmp, "--format", fmt], capture_output=True,
                               text=True)
            e2echeck.check(f"--format {fmt}", p.returncode == 0 and "finetune" in p.stdout and
                           "best" in p.stdout, p.stderr)
        p = subprocess.run([kshot, "compare", tmp, "--baseline", "nobody"], capture_output=True,
                           text=True)
        e2echeck.check("an unknown baseline is refused (exit 2) naming it",
                       p.returncode == 2 and '"nobody"' in p.stderr, p.stderr)

        # Two runs side by side.
        other = os.path.join(tmp, "lr01")
        p = subprocess.run([kshot, "run", os.path.join(root, "configs/smoke.yaml"), "-o", other,
                            "-q", "learners.finetune.lr=0.1"], capture_output=True, text=True)
        e2echeck.check("a second run", p.returncode == 0, p.stderr)
        a = os.path.basename(tmp.rstrip("/"))
        p = subprocess.run([kshot, "compare", tmp, other, "--format", "csv", "--baseline",
                            f"{a}/finetune"], capture_output=True, text=True)
        e2echeck.check("two runs side by side", p.returncode == 0, p.stderr)
        rows2 = {(r["learner"], r["shots"]): r for r in csv.DictReader(io.StringIO(p.stdout))}
        e2echeck.check("learners named RUN/LEARNER, both runs' learners there",
                       (f"{a}/scratch", "1") in rows2 and ("lr01/finetune", "5") in rows2,
                       str(sorted(rows2)))
        same = rows2.get((f"lr01/scratch", "1"), {})
        e2echeck.check("a unit both runs share: the same mean in both",
                       same.get("mean") == rows2.get((f"{a}/scratch", "1"), {}).get("mean"), str(same))
        with open(os.path.join(other, "episodes.csv"), newline="") as f:
            eps2 = [r for r in csv.DictReader(f) if r["metric"] == "accuracy" and not r["probe"]]
        ok = True
        for shots in ("1", "5"):
            base = values("finetune", shots)
            f2 = max(int(r["step"]) for r in eps2 if r["learner"] == "finetune")
            v2 = {(r["seed"], r["episode"]): float(r["value"]) for r in eps2
                  if r["learner"] == "finetune" and r["shots"] == shots and r["value"] and
                  int(r["step"]) == f2}
            dm, dci, pt = pooled([(k[0], v2[k] - base[k]) for k in sorted(v2) if k in base])
            r = rows2[("lr01/finetune", shots)]
            ok &= close(r["diff"], dm) and close(r["diff_ci95"], dci) and close(r["p_t"], pt, rel=1e-5)
        e2echeck.check("the cross-run paired difference equals the recomputed one", ok)
        p = subprocess.run([kshot, "compare", tmp, other, "--format", "csv", "--baseline",
                            "lr01/scratch"], capture_output=True, text=True)
        zero = [r for r in csv.DictReader(io.StringIO(p.stdout))
                if r["learner"] == f"{a}/scratch"]
        e2echeck.check("the shared unit against itself: a difference of exactly 0",
                       zero and all(float(r["diff"]) == 0 and float(r["diff_ci95"]) == 0
                                    for r in zero), str(zero))
        longer = os.path.join(tmp, "longer")
        p = subprocess.run([kshot, "run", os.path.join(root, "configs/smoke.yaml"), "-o", longer,
                            "-q", "targets.heldout.episodes=30"], capture_output=True, text=True)
        p = subprocess.run([kshot, "compare", tmp, longer], capture_output=True, text=True)
        e2echeck.check("runs whose episodes differ are refused (exit 2), naming the target",
                       p.returncode == 2 and 'target "heldout" differently' in p.stderr, p.stderr)

        # A sweep's variant chosen on a validation target.
        vdir = os.path.join(tmp, "validation")
        p = subprocess.run([kshot, "run", os.path.join(root, "configs/smoke.yaml"), "-o", vdir, "-q",
                            "targets.val={data: fashion, split: train, classes: [5, 6, 7, 8, 9], "
                            "role: validation, shots: [1, 5], queries: 5, episodes: 20}",
                            "sweep={learners.finetune.lr: [0.001, 0.1], "
                            "learners.probe.lr: [0.01, 1.0]}"], capture_output=True, text=True)
        e2echeck.check("a run with a validation target and a sweep", p.returncode == 0, p.stderr)
        p = subprocess.run([kshot, "compare", vdir, "--format", "csv"], capture_output=True,
                           text=True)
        vrows = list(csv.DictReader(io.StringIO(p.stdout)))
        e2echeck.check("only the test target is reported",
                       p.returncode == 0 and vrows and {r["target"] for r in vrows} == {"heldout"},
                       p.stderr + str({r["target"] for r in vrows}))
        with open(os.path.join(vdir, "episodes.csv"), newline="") as f:
            veps = [r for r in csv.DictReader(f) if r["metric"] == "accuracy" and not r["probe"]]
        ok = True
        for learner in ("finetune", "probe"):
            fin = max(int(r["step"]) for r in veps if r["learner"] == learner)
            scores = {}
            for v in sorted({r["variant"] for r in veps}):
                cells = {}
                for r in veps:
                    if (r["learner"] == learner and r["variant"] == v and r["target"] == "val"
                            and int(r["step"]) == fin and r["value"]):
                        cells.setdefault(r["shots"], []).append(float(r["value"]))
                scores[v] = statistics.mean(statistics.mean(c) for c in cells.values())
            want = max(scores, key=scores.get)
            got = {r["variant"] for r in vrows if r["learner"] == learner}
            ok &= got == {want}
            for r in vrows:
                if r["learner"] != learner:
                    continue
                seeds = {}
                for x in veps:
                    if (x["learner"] == learner and x["variant"] == want and
                            x["target"] == "heldout" and x["shots"] == r["shots"] and
                            int(x["step"]) == fin and x["value"]):
                        seeds.setdefault(x["seed"], []).append(float(x["value"]))
                ok &= close(r["mean"], statistics.mean(statistics.mean(v) for v in seeds.values()))
        e2echeck.check("each learner's variant is the best on the validation target, and its "
                       "test rows are that variant's", ok, str(vrows[:4]))
        p = subprocess.run([kshot, "compare", vdir], capture_output=True, text=True)
        e2echeck.check("the choice is printed",
                       "Variants chosen on the validation targets" in p.stdout and
                       "finetune: learners.finetune.lr=" in p.stdout, p.stdout[:500])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return e2echeck.summary()


if __name__ == "__main__":
    sys.exit(main())
