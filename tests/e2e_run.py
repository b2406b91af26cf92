#!/usr/bin/env python3
"""End-to-end checks of `kshot run` on a small experiment.

Usage: e2e_run.py KSHOT CONFIG [--full]

Runs CONFIG into a scratch directory and checks what a user relies on:
exit status, the CSV files and their columns, row counts computed from the
config, paired episodes across learners, values in range, summary.csv
recomputed independently (tests/check_summary.py), a rerun that does
nothing and changes nothing, and (--full) that -j 1 and -j 2 give identical
episodes.csv and that changing one learner reruns only its units.
Prints one line per failed check and a closing 'N passed, M failed'.
"""
import csv
import filecmp
import os
import shutil
import subprocess
import sys

from e2echeck import check, summary
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
EPISODE_COLUMNS = ("experiment,variant,seed,source,target,learner,ways,shots,episode,"
                   "step,probe,param,metric,value,status").split(",")



def run(kshot, args, cwd=None):
    # KSHOT_WRAP (e.g. "valgrind --error-exitcode=99 ...") runs kshot under a tool.
    import shlex
    wrap = shlex.split(os.environ.get("KSHOT_WRAP", ""))
    p = subprocess.run(wrap + [kshot] + args, capture_output=True, text=True, cwd=cwd)
    return p.returncode, p.stdout, p.stderr


def read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], [dict(zip(rows[0], r)) for r in rows[1:]]


def expected_rows(cfg):
    """Rows episodes.csv must have: per seed, target, learner, shots, episode, one row per metric
    per recorded step (accuracy + loss for logit learners, accuracy for knn, mse for regression)."""
    total = 0
    for t in cfg["targets"].values():
        regression = t.get("regression", False)
        for lname, l in cfg["learners"].items():
            kind = l["kind"]
            # the final step always, and the listed others
            steps = l.get("steps", 100)
            records = len(set(l.get("record_steps", [])) | {steps}) if kind not in ("prototypes", "knn") else 1
            metrics = 1 if regression or kind == "knn" else 2
            zero = 1 if regression else 0  # mse_zero, once per episode
            # forgetting, once per episode: on the shared pretraining, when the source has a
            # test split (idx and clusters do, csv does not)
            shared = kind in ("finetune", "prototypes") or (kind == "knn" and l.get("space") != "input")
            forget = int(shared and not regression and t.get("forgetting", 500) != 0 and
                         cfg.get("source_data") not in cfg.get("csv_data", set()))
            total += len(cfg["seeds"]) * len(t["shots"]) * t["episodes"] * (records * metrics + zero + forget)
    return total * cfg["variants"]


def check_files(out, cfg):
    for name in ("episodes.csv", "summary.csv", "costs.csv", "cost_summary.csv", "run.yaml"):
        check(f"{name} exists", os.path.isfile(os.path.join(out, name)))
    header, rows = read_csv(os.path.join(out, "episodes.csv"))
    check("episodes.csv columns", header == EPISODE_COLUMNS, str(header))
    want = expected_rows(cfg)
    check("episodes.csv row count", len(rows) == want, f"{len(rows)} rows, expected {want}")
    # Paired: every learner has exactly the same (seed, target, shots, episode) keys.
    keys = {}
    for r in rows:
        keys.setdefault(r["learner"], set()).add((r["seed"], r["target"], r["shots"], r["episode"]))
    sets = list(keys.values())
    check("learners see the same episodes", all(s == sets[0] for s in sets), str({k: len(v) for k, v in keys.items()}))
    check("every learner has rows", set(keys) == set(cfg["learners"]), str(sorted(keys)))
    bad = [r for r in rows if r["status"] != "ok"]
    check("no diverged episodes", not bad, str(bad[:2]))
    for r in rows:
        v = float(r["value"])
        if r["metric"] == "accuracy" and not 0.0 <= v <= 1.0:
            check("accuracy in [0, 1]", False, str(r))
            break
        if r["metric"] in ("loss", "mse") and not v >= 0.0:
            check(f"{r['metric']} >= 0", False, str(r))
            break
    else:
        check("values in range", True)
    # the baseline of the transfer gains: the only scratch learner (none configures baseline:)
    scratch = [n for n, l in cfg["learners"].items() if l["kind"] == "scratch"]
    baseline = ["--baseline", scratch[0]] if len(scratch) == 1 else []
    for name, t in cfg["targets"].items():
        if t.get("thresholds"):
            baseline += ["--thresholds", name + "=" + ",".join(str(v) for v in t["thresholds"])]
    p = subprocess.run([sys.executable, os.path.join(HERE, "check_summary.py"),
                        os.path.join(out, "episodes.csv"), os.path.join(out, "summary.csv")]
                       + baseline, capture_output=True, text=True)
    check("summary.csv recomputed independently (transfer gains too)", p.returncode == 0,
          p.stdout + p.stderr)
    _, summary = read_csv(os.path.join(out, "summary.csv"))
    gains = [r for r in summary if r["metric"] == "transfer_gain"]
    check("transfer_gain rows exactly when there is a baseline",
          bool(gains) == (len(scratch) == 1) and all(r["learner"] not in scratch for r in gains),
          f"{len(gains)} rows, baseline {baseline}")
    _, costs = read_csv(os.path.join(out, "costs.csv"))
    check("every unit's joules: measured (rapl) or 10 W per busy core (estimate)",
          all(r["joules_method"] in ("rapl", "estimate") and float(r["joules"]) >= 0 and
              (r["joules_method"] == "rapl" or
               abs(float(r["joules"]) - 10 * float(r["cpu_seconds"])) <= 1e-9 * float(r["joules"]) + 1e-12)
              for r in costs), str(costs[:1]))
    _, cs = read_csv(os.path.join(out, "cost_summary.csv"))
    ok = True
    for r in cs:
        if r["kind"] == "eval":
            t = cfg["targets"][r["target"]]
            k = int(r["shots"]) * (1 if t["regression"] else int(t["ways"]))
            ok &= int(r["support_examples_per_task"]) == k
        ok &= abs(float(r["watts_vs_brain"]) * 20 - float(r["watts"])) <= 1e-9 * float(r["watts"]) + 1e-12
    check("cost_summary: support examples per task, watts against the brain's 20 W", ok and bool(cs))
    multi = [n for n, t in cfg["targets"].items() if len(t["shots"]) > 1]
    aulc = [r for r in summary if r["metric"] == "aulc" and r["seed"] == "all"]
    check("an aulc row per learner, step and target of several shot counts, at most 1",
          bool(aulc) == bool(multi) and all(float(r["mean"]) <= 1.0 for r in aulc),
          f"{len(aulc)} pooled aulc rows")
    return rows


def main():
    kshot, config = sys.argv[1], sys.argv[2]
    full = "--full" in sys.argv
    cfg = load_expectations(config)
    tmp = tempfile.mkdtemp(prefix="kshot-e2e-")
    try:
        out = os.path.join(tmp, "a")
        code, so, se = run(kshot, ["run", config, "-o", out, "-q", "-j", "2"])
        check("run exits 0", code == 0, se)
        if code == 0:
            check_files(out, cfg)
            before = open(os.path.join(out, "episodes.csv"), "rb").read()
            code, so, se = run(kshot, ["run", config, "-o", out, "-j", "2"])
            check("rerun exits 0", code == 0, se)
            check("rerun computes nothing", " 0 to run " in se, se)
            check("rerun leaves episodes.csv identical",
                  open(os.path.join(out, "episodes.csv"), "rb").read() == before)
        if full and code == 0:
            out1 = os.path.join(tmp, "b")
            code, so, se = run(kshot, ["run", config, "-o", out1, "-q", "-j", "1"])
            check("-j 1 exits 0", code == 0, se)
            check("-j 1 and -j 2 give identical episodes.csv",
                  filecmp.cmp(os.path.join(out, "episodes.csv"), os.path.join(out1, "episodes.csv"), shallow=False))
            parts = set(os.listdir(os.path.join(out, "parts")))
            lname = cfg["change_learner"]
            code, so, se = run(kshot, ["run", config, "-o", out, "-q", "-j", "2", f"learners.{lname}.lr=0.0123"])
            check("changed run exits 0", code == 0, se)
            new = set(os.listdir(os.path.join(out, "parts"))) - parts
            t = cfg["targets"]
            # a learner the sweep does not touch has one unit for all variants
            swept = any(k.startswith(f"learners.{lname}.") for k in cfg.get("swept", []))
            want = (2 * len(cfg["seeds"]) * sum(len(x["shots"]) for x in t.values())  # part + cost part
                    * (cfg["variants"] if swept else 1))
            check("changing one learner reruns only its units", len(new) == want,
                  f"{len(new)} new part files, expected {want}")
            _, rows = read_csv(os.path.join(out, "episodes.csv"))
            _, old = read_csv(os.path.join(out1, "episodes.csv"))
            same = [a == b for a, b in zip(rows, old) if a["learner"] != lname]
            check("other learners' rows unchanged", len(rows) == len(old) and all(same))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


def load_expectations(config):
    """The few numbers the checks need, read from the experiment file with a tiny reader of the
    flow/block subset our configs use (PyYAML is not a dependency)."""
    import ast
    import re
    text = open(config).read()
    cfg = {"seeds": [0], "targets": {}, "learners": {}, "variants": 1}
    section, current, data_name = None, None, None
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        key, _, val = line.strip().partition(":")
        val = val.strip()
        if indent == 0:
            section = key
            if key == "seeds":
                cfg["seeds"] = ast.literal_eval(val)
            if key == "source" and val.startswith("{"):
                cfg["source_data"] = flow(val).get("data")
            continue
        if section == "source" and indent == 2 and key == "data":
            cfg["source_data"] = val
        if section == "targets" and indent == 2:
            current = cfg["targets"].setdefault(key, {"shots": [1, 5], "episodes": 600})
            if val.startswith("{"):
                current.update(flow(val))
        elif section == "targets" and indent == 4 and current is not None:
            current.update(flow("{" + f"{key}: {val}" + "}"))
        elif section == "learners" and indent == 2:
            cfg["learners"][key] = flow(val)
        elif section == "data" and indent == 2 and "sinusoid" in val:
            cfg.setdefault("regression_data", set()).add(key)
        elif section == "data" and indent == 2 and "csv" in val:
            cfg.setdefault("csv_data", set()).add(key)
        elif section == "data" and indent == 4 and key == "format" and val == "csv":
            cfg.setdefault("csv_data", set()).add(data_name)
        if section == "data" and indent == 2:
            data_name = key
        elif section == "sweep" and indent == 2:
            cfg["variants"] = cfg.get("variants", 1) * len(ast.literal_eval(val.replace(" ", "")) if val.startswith("[") else [0])
            cfg.setdefault("swept", []).append(key)
    for t in cfg["targets"].values():
        t["regression"] = t.get("data") in cfg.get("regression_data", set())
    # a learner whose test-time lr feeds only its evaluations
    cfg["change_learner"] = next(n for n, l in cfg["learners"].items()
                                 if l["kind"] in ("scratch", "finetune", "maml", "fomaml", "anil", "reptile"))
    return cfg


def flow(text):
    """Parse a one-line YAML flow map of scalars and lists of scalars."""
    import re
    text = text.strip()[1:-1]
    out, depth, cur = {}, 0, ""
    items = []
    for ch in text:
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        if ch == "," and depth == 0:
            items.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        items.append(cur)
    for it in items:
        k, _, v = it.partition(":")
        v = v.strip()
        if v.startswith("{"):
            out[k.strip()] = flow(v)
        elif v.startswith("["):
            out[k.strip()] = [scalar(x) for x in v[1:-1].split(",") if x.strip()]
        else:
            out[k.strip()] = scalar(v)
    return out


def scalar(v):
    v = v.strip()
    for f in (int, float):
        try:
            return f(v)
        except ValueError:
            pass
    return v


if __name__ == "__main__":
    sys.exit(main())
