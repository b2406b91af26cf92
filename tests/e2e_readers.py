#!/usr/bin/python3
"""kshot's CSV read the way researchers read it: with pandas and with R.

Usage: /usr/bin/python3 e2e_readers.py KSHOT SOURCE_ROOT

Debian's python3-pandas and r-base-core (installed by `./dev.sh test`).
Runs configs/smoke.yaml, then:
  - pandas.read_csv loads every CSV file; the columns that hold numbers are
    numeric dtypes, empty fields are NaN (never the string ''), the label
    columns are strings;
  - R's read.csv loads every CSV file; the same columns are numeric (or, with
    no value at all, all NA), empty fields NA;
  - from episodes.csv, pandas and R each recompute finetune's pooled 5-shot
    accuracy at its final step (the mean of the seed means) and its paired
    difference to scratch, which equal summary.csv's mean and transfer_gain
    and `kshot compare`'s diff.
"""
import io
import os
import shutil
import subprocess
import sys
import tempfile

import e2echeck

try:
    import pandas as pd
except ImportError:  # the README's test command installs it; say so rather than pass
    print("FAIL pandas is not installed for this interpreter (apt-get install python3-pandas)")
    sys.exit(1)

NUMERIC = {
    "episodes.csv": ["seed", "ways", "shots", "episode", "step", "value"],
    "summary.csv": ["ways", "shots", "n", "n_failed", "mean", "std", "ci95"],
    "pretrain.csv": ["seed", "shots", "examples", "train_loss", "source_test_accuracy"],
    "costs.csv": ["seed", "shots", "episodes", "cpu_seconds", "wall_seconds", "flops", "joules",
                  "peak_rss_kb"],
    "cost_summary.csv": ["shots", "units", "episodes", "flops_total", "cpu_seconds_total",
                         "flops_per_task", "joules_per_task", "watts"],
}
TEXT = {
    "episodes.csv": ["experiment", "learner", "metric", "status"],
    "summary.csv": ["learner", "metric", "seed"],
    "pretrain.csv": ["unit", "status"],
    "costs.csv": ["unit", "kind", "phase", "joules_method"],
    "cost_summary.csv": ["kind", "joules_method"],
}

R_SCRIPT = r"""
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]
numeric <- list(
  "episodes.csv" = c("seed", "ways", "shots", "episode", "step", "value"),
  "summary.csv" = c("ways", "shots", "n", "n_failed", "mean", "std", "ci95"),
  "pretrain.csv" = c("seed", "shots", "examples", "train_loss", "source_test_accuracy"),
  "costs.csv" = c("seed", "shots", "episodes", "cpu_seconds", "wall_seconds", "flops", "joules",
                  "peak_rss_kb"),
  "cost_summary.csv" = c("shots", "units", "episodes", "flops_total", "cpu_seconds_total",
                         "flops_per_task", "joules_per_task", "watts"))
for (f in names(numeric)) {
  d <- read.csv(file.path(dir, f), stringsAsFactors = FALSE)
  for (c in numeric[[f]]) {
    # a column with no value at all (e.g. pretrain.csv's shots without per-shot
    # pretrainings) is all NA, which R types as logical
    if (!is.numeric(d[[c]]) && !all(is.na(d[[c]]))) cat("NOTNUMERIC", f, c, "\n")
  }
  cat("ROWS", f, nrow(d), "\n")
}
e <- read.csv(file.path(dir, "episodes.csv"), stringsAsFactors = FALSE)
if (!any(is.na(e$step))) cat("NOEMPTY step\n")
e <- e[e$metric == "accuracy" & e$probe %in% c(NA, "") & e$shots == 5, ]
ft <- e[e$learner == "finetune" & e$step == max(e$step[e$learner == "finetune"], na.rm = TRUE), ]
sc <- e[e$learner == "scratch" & e$step == max(e$step[e$learner == "scratch"], na.rm = TRUE), ]
cat("POOLED", sprintf("%.10f", mean(tapply(ft$value, ft$seed, mean))), "\n")
m <- merge(ft, sc, by = c("seed", "episode"))
cat("DIFF", sprintf("%.10f", mean(tapply(m$value.x - m$value.y, m$seed, mean))), "\n")
"""


def close(a, b, tol=1e-7):
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def main():
    kshot, root = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="kshot-readers-")
    try:
        p = subprocess.run([kshot, "run", os.path.join(root, "configs/smoke.yaml"), "-o", tmp,
                            "-q"], capture_output=True, text=True)
        if not e2echeck.check("kshot run", p.returncode == 0, p.stderr):
            return e2echeck.summary()
        frames = {}
        for name, cols in NUMERIC.items():
            df = pd.read_csv(os.path.join(tmp, name))
            frames[name] = df
            bad = [c for c in cols if not pd.api.types.is_numeric_dtype(df[c])]
            e2echeck.check(f"pandas: {name}'s number columns are numeric", not bad, str(bad))
            text = [c for c in TEXT[name] if not pd.api.types.is_object_dtype(df[c])]
            e2echeck.check(f"pandas: {name}'s label columns are text", not text, str(text))
            blanks = [c for c in df.columns if (df[c].astype(str) == "").any()]
            e2echeck.check(f"pandas: {name} has no empty strings (empty is NaN)", not blanks,
                           str(blanks))
        e2echeck.check("pandas: empty steps (learners without steps) read as NaN",
                       frames["episodes.csv"]["step"].isna().any())
        e = frames["episodes.csv"]
        e = e[(e.metric == "accuracy") & e.probe.isna() & (e.shots == 5)]
        def final(learner):
            d = e[e.learner == learner]
            return d[d.step == d.step.max()]
        ft, sc = final("finetune"), final("scratch")
        pooled = ft.groupby("seed").value.mean().mean()
        m = ft.merge(sc, on=["seed", "episode"])
        diff = (m.value_x - m.value_y).groupby(m.seed).mean().mean()
        s = frames["summary.csv"]
        row = s[(s.learner == "finetune") & (s.shots == 5) & (s.seed == "all") & s.probe.isna() &
                (s.step == ft.step.iloc[0])]
        want_mean = float(row[row.metric == "accuracy"]["mean"].iloc[0])
        want_gain = float(row[row.metric == "transfer_gain"]["mean"].iloc[0])
        e2echeck.check("pandas: finetune's pooled 5-shot accuracy equals summary.csv's",
                       close(pooled, want_mean, 1e-6), f"{pooled} vs {want_mean}", verbose=True)
        e2echeck.check("pandas: its paired difference to scratch equals transfer_gain",
                       close(diff, want_gain, 1e-6), f"{diff} vs {want_gain}", verbose=True)
        p = subprocess.run([kshot, "compare", tmp, "--format", "csv"], capture_output=True,
                           text=True)
        c = pd.read_csv(io.StringIO(p.stdout))
        got = float(c[(c.learner == "finetune") & (c.shots == 5)]["diff"].iloc[0])
        e2echeck.check("pandas: kshot compare's diff is the same number", close(got, diff, 1e-6),
                       f"{got} vs {diff}")
        r = subprocess.run(["Rscript", "-e", R_SCRIPT, tmp], capture_output=True, text=True)
        if e2echeck.check("R: Rscript ran", r.returncode == 0, r.stderr[-500:]):
            out = r.stdout
            e2echeck.check("R: read.csv reads every number column as numeric",
                           "NOTNUMERIC" not in out and out.count("ROWS") == len(NUMERIC), out)
            e2echeck.check("R: empty steps read as NA", "NOEMPTY" not in out, out)
            vals = dict(line.split()[:2] for line in out.splitlines()
                        if line.startswith(("POOLED", "DIFF")))
            e2echeck.check("R: the pooled accuracy and the paired difference agree",
                           close(float(vals["POOLED"]), want_mean, 1e-6) and
                           close(float(vals["DIFF"]), want_gain, 1e-6), str(vals), verbose=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return e2echeck.summary()


if __name__ == "__main__":
    sys.exit(main())
