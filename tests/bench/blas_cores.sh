#!/usr/bin/env bash
# blas_cores.sh BUILD_DIR — the engine's speed under OpenBLAS's own choice of
# kernel and under its generic fallback (Prescott), side by side: the runs
# alternate, three rounds, and each line is bench_engine's median of 7.
# Ratios are printed at the end. The machine is shared: read ratios, not
# absolute times.
set -euo pipefail
bench=${1:-build}/tests/bench/bench_engine
[ -x "$bench" ] || { echo "build first: $bench not found" >&2; exit 2; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for round in 1 2 3; do
    env -u OPENBLAS_CORETYPE "$bench" > "$tmp/default.$round"
    OPENBLAS_CORETYPE=Prescott "$bench" > "$tmp/generic.$round"
done
echo "== default core: $(head -1 "$tmp/default.1")"; tail -n +2 "$tmp/default.2"
echo "== generic fallback: $(head -1 "$tmp/generic.1")"; tail -n +2 "$tmp/generic.2"
echo "== median-of-rounds ratio generic/default (how many times slower the fallback is)"
python3 - "$tmp" <<'PY'
import sys, glob, statistics, re
tmp = sys.argv[1]
def load(kind):
    cases = {}
    for f in sorted(glob.glob(f"{tmp}/{kind}.*")):
        for line in open(f).read().splitlines()[1:]:
            name = line[:36].strip()
            cases.setdefault(name, []).append(float(re.search(r"median\s+([\d.]+)", line).group(1)))
    return {k: statistics.median(v) for k, v in cases.items()}
d, g = load("default"), load("generic")
for k in d:
    print(f"{k:36s} {g[k] / d[k]:5.2f}x")
PY
