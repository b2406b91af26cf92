#!/usr/bin/env python3
"""check_summary: recompute every row of a kshot summary.csv from its episodes.csv.

Usage: check_summary.py EPISODES_CSV SUMMARY_CSV [--ok-only] [--baseline LEARNER]
                        [--thresholds TARGET=V1,V2,...]...
       check_summary.py --self-test

An independent reference for harness/stats.c, written with the Python
standard library only (csv, statistics, math); see DESIGN.md "Outputs".

Cells. The key of a cell is every column of summary.csv except seed, n,
n_failed, mean, std and ci95 (so at least variant, target, learner, shots,
step, probe, param, metric; columns such as experiment or source that the
writer may add are part of the key too and must exist in episodes.csv).
Values are the `value` column of episodes.csv; an empty value (a diverged
episode, or a value that does not apply) is not a measurement: it is left
out of n, mean, std and ci95 and counted in n_failed instead. With
--ok-only, rows whose status is not `ok` are counted as failed whatever
their value (use it if the writer summarises only ok rows).
Values are read as the doubles their text denotes; a summary computed from
the unrounded values instead (e.g. float32 values printed with %.9g and
parsed as doubles here) still matches unless a cell's spread is below about
1e-3 of its magnitude.

Expected rows, per cell:
  - per seed: n = number of values, n_failed = number of failed rows,
    mean, std = sample std (n - 1), ci95 = 1.96 * std / sqrt(n); std and
    ci95 empty when n < 2, mean too when n = 0.
  - seed = all: with s >= 2 seeds that have values, n = total values,
    mean = mean of the seed means, std = sample std of the seed means,
    ci95 = t(0.975, s - 1) * std / sqrt(s); with one seed, that seed's row.
    n_failed = the sum over all seeds.
  Every seed of a cell has a row, also one whose rows all failed (n = 0,
  empty mean, std and ci95), and every cell has its pooled row.

Transfer gain (with --baseline; without it summary.csv must have none).
For the primary metric (accuracy, or mse with its sign flipped), every
other learner's value on an episode minus the baseline's value on the same
episode (same experiment, variant, source, target, ways, shots, probe,
param, metric, seed and episode number) at the baseline's largest step,
filed under the learner's own cell with metric transfer_gain and summarised
as above (an empty value on either side counts as failed). Each of its rows
has a negative_transfer twin: n and n_failed the same, mean 1 when
mean + ci95 < 0, 0 when not, empty when ci95 is; std and ci95 empty.

Curves over shot counts. For every cell key of metric accuracy or mse with
shots blanked, per seed, the points (K, mean of the cell at K); a seed's
curve counts when it has a mean at every shot count its target has in
episodes.csv (at least two). aulc: the trapezoid area over log2 K divided
by log2(Kmax/Kmin); accuracy (area - 1/ways)/(1 - 1/ways), mse 1 - area /
(the same area of the cell means of metric mse_zero, step empty); per seed
n = the shot counts, pooled as above. shots_to_threshold (per --thresholds
of the target; param = the threshold as %.9g): the smallest K whose mean is
at least (accuracy) or at most (mse) the threshold, inf when none; pooled
on the curve of the seed means, n = shot counts x seeds. std, ci95 empty.

The t quantile is found by bisection on the closed-form t distribution
function for integer degrees of freedom (Abramowitz & Stegun 26.7.3-4) —
a different method from the C code's incomplete beta function.

Exit status: 0 when every row matches (relative difference at most 1e-6,
or absolute at most 1e-12), 1 on the first mismatch or missing/extra row
(with a message saying which), 2 when a file cannot be read or lacks a
column.
"""
import csv
import math
import statistics
import sys

STAT_COLS = ("n", "n_failed", "mean", "std", "ci95")
REQUIRED_KEYS = ("variant", "target", "learner", "shots", "step", "probe", "param", "metric")
REL_TOL, ABS_TOL = 1e-6, 1e-12


class Mismatch(Exception):
    pass


class BadInput(Exception):
    pass


# ---- Student t ----

def t_cdf(t, df):
    """P(T <= t) for integer df >= 1 (A&S 26.7.3 odd df, 26.7.4 even df)."""
    theta = math.atan(abs(t) / math.sqrt(df))
    s, c = math.sin(theta), math.cos(theta)
    if df % 2:
        term = c
        acc = c if df > 1 else 0.0
        for k in range(3, df - 1, 2):
            term *= c * c * (k - 1) / k
            acc += term
        a = 2 / math.pi * (theta + s * acc)
    else:
        term = acc = 1.0
        for k in range(2, df - 1, 2):
            term *= c * c * (k - 1) / k
            acc += term
        a = s * acc
    return 0.5 + math.copysign(a, t) / 2


_t_cache = {}


def t_quantile(p, df):
    """The t with P(T <= t) = p, for 0.5 < p < 1, by bisection to the last bit."""
    if (p, df) not in _t_cache:
        lo, hi = 0.0, 1.0
        while t_cdf(hi, df) < p:
            lo, hi = hi, 2 * hi
        while True:
            mid = (lo + hi) / 2
            if mid in (lo, hi):
                break
            if t_cdf(mid, df) < p:
                lo = mid
            else:
                hi = mid
        _t_cache[(p, df)] = (lo + hi) / 2
    return _t_cache[(p, df)]


# ---- expected rows ----

def per_seed(values, failed=0):
    """(n, n_failed, mean, std, ci95) with None for what does not apply."""
    n = len(values)
    if n == 0:
        return (0, failed, None, None, None)
    mean = statistics.mean(values)
    if n < 2:
        return (n, failed, mean, None, None)
    std = statistics.stdev(values)
    return (n, failed, mean, std, 1.96 * std / math.sqrt(n))


def pooled(seed_rows):
    failed = sum(r[1] for r in seed_rows)
    rows = [r for r in seed_rows if r[0] > 0]
    if not rows:
        return (0, failed, None, None, None)
    if len(rows) == 1:
        return (rows[0][0], failed) + rows[0][2:]
    s = len(rows)
    means = [r[2] for r in rows]
    std = statistics.stdev(means)
    return (sum(r[0] for r in rows), failed, statistics.mean(means), std,
            t_quantile(0.975, s - 1) * std / math.sqrt(s))


# ---- reading ----

def read_csv(path):
    """Header and list of (line number, row dict)."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None:
                raise BadInput(f"{path}: empty file")
            rows = []
            for fields in reader:
                if len(fields) != len(header):
                    raise BadInput(f"{path}:{reader.line_num}: {len(fields)} fields "
                                   f"(expected {len(header)})")
                rows.append((reader.line_num, dict(zip(header, fields))))
            return header, rows
    except (OSError, csv.Error, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: {exc}")


def need(header, cols, path):
    missing = [c for c in cols if c not in header]
    if missing:
        raise BadInput(f"{path}: missing column(s) {', '.join(missing)}")


def number(text, where):
    try:
        return float(text)
    except ValueError:
        raise BadInput(f"{where}: '{text}' is not a number")


def group_episodes(path, keys, ok_only):
    """{key tuple: {seed: ([values], number of failed rows)}}."""
    header, rows = read_csv(path)
    need(header, list(keys) + ["seed", "value", "status"], path)
    cells = {}
    for line, row in rows:
        seeds = cells.setdefault(tuple(row[k] for k in keys), {})
        values, failed = seeds.setdefault(row["seed"], ([], [0]))
        if row["value"] == "" or (ok_only and row["status"] != "ok"):
            failed[0] += 1
        else:
            values.append(number(row["value"], f"{path}:{line}"))
    return {key: {seed: (v, f[0]) for seed, (v, f) in seeds.items()}
            for key, seeds in cells.items()}


# ---- comparing ----

def close(got, want):
    return abs(got - want) <= max(ABS_TOL, REL_TOL * max(abs(got), abs(want)))


def compare(got_row, want, where):
    for col, w in zip(STAT_COLS[:2], want[:2]):
        text = got_row[col]
        if not text.isdigit() or int(text) != w:
            raise Mismatch(f"{where}: {col} is '{text}' but the episodes give {w}")
    for col, w in zip(STAT_COLS[2:], want[2:]):
        text = got_row[col]
        if w is None:
            if text != "":
                raise Mismatch(f"{where}: {col} is '{text}' but should be empty (n = {want[0]})")
            continue
        if text == "":
            raise Mismatch(f"{where}: {col} is empty but the episodes give {w!r}")
        g = number(text, where)
        if g != w and not close(g, w):
            raise Mismatch(f"{where}: {col} is {g!r} but the episodes give {w!r} "
                           f"(relative difference {abs(g - w) / max(abs(w), 1e-300):.3g})")


SIGN = {"accuracy": 1.0, "mse": -1.0}
PAIR = ("experiment", "variant", "source", "target", "ways", "shots", "probe", "param",
        "metric", "seed", "episode")


def gain_cells(path, keys, baseline):
    """The transfer_gain cells, grouped as group_episodes groups values."""
    header, rows = read_csv(path)
    need(header, PAIR + ("learner", "step", "value"), path)
    base = {}
    for line, row in rows:
        if row["learner"] == baseline and row["metric"] in SIGN:
            k = tuple(row[c] for c in PAIR)
            step = int(row["step"]) if row["step"] else -1
            if k not in base or step > base[k][0]:
                base[k] = (step, row["value"])
    cells = {}
    for line, row in rows:
        k = tuple(row[c] for c in PAIR)
        if row["learner"] == baseline or row["metric"] not in SIGN or k not in base:
            continue
        gain = dict(row, metric="transfer_gain")
        seeds = cells.setdefault(tuple(gain[c] for c in keys), {})
        values, failed = seeds.setdefault(row["seed"], ([], [0]))
        b = base[k][1]
        if row["value"] == "" or b == "":
            failed[0] += 1
        else:
            values.append(SIGN[row["metric"]] * (number(row["value"], f"{path}:{line}") -
                                                 number(b, f"{path}:{line}")))
    return {key: {seed: (v, f[0]) for seed, (v, f) in seeds.items()}
            for key, seeds in cells.items()}


def curve_rows(cells, keys, thresholds):
    """{(key, seed): expected tuple} of the aulc and shots_to_threshold rows."""
    idx = {k: i for i, k in enumerate(keys)}
    def mean_of(key, seed):
        if key not in cells or seed not in cells[key] or not cells[key][seed][0]:
            return None
        return statistics.mean(cells[key][seed][0])
    target_shots = {}
    for key in cells:
        t = tuple(key[idx[c]] for c in ("experiment", "variant", "source", "target"))
        target_shots.setdefault(t, set()).add(key[idx["shots"]])
    curves = {}
    for key, seeds in cells.items():
        metric = key[idx["metric"]]
        if metric not in ("accuracy", "mse"):
            continue
        ck = list(key)
        ck[idx["shots"]] = ""
        curve = curves.setdefault(tuple(ck), {})
        for seed in seeds:
            m = mean_of(key, seed)
            z = 0.0
            if metric == "mse":
                zk = list(key)
                zk[idx["step"]], zk[idx["metric"]] = "", "mse_zero"
                z = mean_of(tuple(zk), seed)
            if m is not None and z is not None:
                curve.setdefault(seed, []).append((int(key[idx["shots"]]), m, z))
    out = {}
    for ck, seeds in curves.items():
        t = tuple(ck[idx[c]] for c in ("experiment", "variant", "source", "target"))
        need = len(target_shots[t])
        mse = ck[idx["metric"]] == "mse"
        if need < 2:
            continue
        done = {}
        for seed, pts in seeds.items():
            if len(pts) != need:
                continue
            pts.sort()
            area = sum((math.log2(b[0]) - math.log2(a[0])) * (a[1] + b[1]) / 2
                       for a, b in zip(pts, pts[1:]))
            span = math.log2(pts[-1][0] / pts[0][0])
            if mse:
                zero = sum((math.log2(b[0]) - math.log2(a[0])) * (a[2] + b[2]) / 2
                           for a, b in zip(pts, pts[1:]))
                v = 1 - area / zero
            else:
                chance = 1 / int(ck[idx["ways"]])
                v = (area / span - chance) / (1 - chance)
            done[seed] = pts
            key = list(ck)
            key[idx["metric"]] = "aulc"
            out[(tuple(key), seed)] = (need, 0, v, None, None)
        if not done:
            continue
        key = list(ck)
        key[idx["metric"]] = "aulc"
        out[(tuple(key), "all")] = pooled([out[(tuple(key), s)] for s in done])
        for thr in thresholds.get(ck[idx["target"]], []):
            def first(pts):
                hits = [k for k, m, _ in pts if (m <= thr if mse else m >= thr)]
                return float(min(hits)) if hits else math.inf
            key = list(ck)
            key[idx["metric"]], key[idx["param"]] = "shots_to_threshold", "%.9g" % thr
            for seed, pts in done.items():
                out[(tuple(key), seed)] = (need, 0, first(pts), None, None)
            mean_curve = [(k, statistics.mean(done[s][i][1] for s in done), 0)
                          for i, (k, _, _) in enumerate(next(iter(done.values())))]
            out[(tuple(key), "all")] = (need * len(done), 0, first(mean_curve), None, None)
    return out


def negative(row):
    """The negative_transfer twin of a summary tuple."""
    n, failed, mean, _, ci = row
    return (n, failed, None if ci is None else float(mean + ci < 0), None, None)


def check(episodes_path, summary_path, ok_only=False, baseline=None, thresholds=None):
    """Number of summary rows checked; raises Mismatch or BadInput."""
    header, rows = read_csv(summary_path)
    need(header, ("seed",) + STAT_COLS + REQUIRED_KEYS, summary_path)
    keys = tuple(c for c in header if c not in ("seed",) + STAT_COLS)
    cells = group_episodes(episodes_path, keys, ok_only)
    derived = curve_rows(cells, keys, thresholds or {})
    twins = {}
    if baseline is not None:
        gains = gain_cells(episodes_path, keys, baseline)
        cells.update(gains)
        m = keys.index("metric")
        twins = {key[:m] + ("negative_transfer",) + key[m + 1:]: key for key in gains}
    seen = set()
    for line, row in rows:
        key, seed = tuple(row[k] for k in keys), row["seed"]
        label = ", ".join(f"{k}={v}" for k, v in zip(keys, key))
        where = f"{summary_path}:{line} ({label}, seed={seed})"
        if (key, seed) in seen:
            raise Mismatch(f"{where}: duplicate row")
        seen.add((key, seed))
        if (key, seed) in derived:
            compare(row, derived[(key, seed)], where)
            continue
        gain_key = twins.get(key)
        if key not in cells and gain_key is None:
            raise Mismatch(f"{where}: no episodes have this key")
        seeds = cells[gain_key if gain_key else key]
        if seed == "all":
            want = pooled([per_seed(*v) for v in seeds.values()])
        elif seed in seeds:
            want = per_seed(*seeds[seed])
        else:
            raise Mismatch(f"{where}: no episodes have this seed")
        compare(row, negative(want) if gain_key else want, where)
    for key in list(cells) + list(twins):
        label = ", ".join(f"{k}={v}" for k, v in zip(keys, key))
        for seed in list(cells[twins.get(key, key)]) + ["all"]:
            if (key, seed) not in seen:
                raise Mismatch(f"{summary_path}: missing row ({label}, seed={seed})")
    for key, seed in derived:
        if (key, seed) not in seen:
            label = ", ".join(f"{k}={v}" for k, v in zip(keys, key))
            raise Mismatch(f"{summary_path}: missing row ({label}, seed={seed})")
    return len(rows)


def self_test():
    """t quantiles against the standard table and closed forms."""
    table = {1: 12.7062, 2: 4.3027, 3: 3.1824, 4: 2.7764, 9: 2.2622, 29: 2.0452, 100: 1.9840}
    for df, t in table.items():
        assert abs(t_quantile(0.975, df) - t) < 5e-5, (df, t_quantile(0.975, df))
    for p in (0.6, 0.9, 0.975, 0.999):
        assert close(t_quantile(p, 1), -1 / math.tan(math.pi * p))
        assert close(t_quantile(p, 2), (2 * p - 1) / math.sqrt(2 * p * (1 - p)))
    assert close(pooled([(5, 0, 0.652, 0.05, 0.04), (7, 1, 0.56, 0.04, 0.03),
                         (6, 2, 0.72, 0.03, 0.02)])[4], 0.1994748661416326)
    assert pooled([(0, 3, None, None, None), (4, 1, 0.5, 0.1, 0.2)]) == (4, 4, 0.5, 0.1, 0.2)
    print("check_summary self-test: ok")


def main(argv):
    if argv[1:] == ["--self-test"]:
        self_test()
        return 0
    args = [a for a in argv[1:] if a != "--ok-only"]
    baseline, thresholds = None, {}
    if "--baseline" in args:
        i = args.index("--baseline")
        baseline = args[i + 1] if i + 1 < len(args) else None
        args = args[:i] + args[i + 2:]
    while "--thresholds" in args:
        i = args.index("--thresholds")
        target, _, values = (args[i + 1] if i + 1 < len(args) else "").partition("=")
        thresholds[target] = [float(v) for v in values.split(",") if v]
        args = args[:i] + args[i + 2:]
    if len(args) != 2 or ("--baseline" in argv and baseline is None):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    try:
        n = check(args[0], args[1], ok_only="--ok-only" in argv, baseline=baseline,
                  thresholds=thresholds)
    except BadInput as exc:
        print(f"check_summary: {exc}", file=sys.stderr)
        return 2
    except Mismatch as exc:
        print(f"check_summary: mismatch: {exc}", file=sys.stderr)
        return 1
    print(f"check_summary: {n} summary rows match {args[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
