#!/usr/bin/env bash
# e2e_cli: the kshot executable's help, version and usage errors.
set -u
kshot=$1
fail=0; pass=0
check() { # name, expected status, command...
    local name=$1 want=$2; shift 2
    "$@" >/tmp/kshot-cli.$$ 2>&1; local got=$?
    if [ "$got" -ne "$want" ]; then
        echo "FAIL $name: exit $got, expected $want"; sed 's/^/  | /' /tmp/kshot-cli.$$; fail=$((fail+1))
    else pass=$((pass+1)); fi
}
contains() { # name, text, command...
    local name=$1 text=$2; shift 2
    if "$@" 2>&1 | grep -qF -- "$text"; then pass=$((pass+1))
    else echo "FAIL $name: output lacks '$text'"; fail=$((fail+1)); fi
}
check help 0 "$kshot" --help
contains help-lists-commands "commands:" "$kshot" --help
check version 0 "$kshot" --version
contains version-text "kshot " "$kshot" --version
check no-args 2 "$kshot"
check unknown 2 "$kshot" frobnicate
contains unknown-names-valid "unknown command 'frobnicate'; valid commands:" "$kshot" frobnicate
check info 0 "$kshot" info
contains info-core "blas: OpenBLAS, core " "$kshot" info
# A generic OpenBLAS kernel on a CPU with AVX2 is warned about, with the fix.
if grep -qw avx2 /proc/cpuinfo; then
    contains generic-core-warning "OPENBLAS_CORETYPE=" env OPENBLAS_CORETYPE=Prescott "$kshot" info
    contains generic-core-named "'Prescott' kernel" env OPENBLAS_CORETYPE=Prescott "$kshot" info
fi
# run and plan: usage errors are exit 2, found before any work.
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
check run-no-file 2 "$kshot" run
contains run-no-file-msg "no experiment file given" "$kshot" run
check run-missing-file 2 "$kshot" run "$tmp/none.yaml"
contains run-missing-file-msg "$tmp/none.yaml: no such file" "$kshot" run "$tmp/none.yaml"
check run-bad-option 2 "$kshot" run configs/smoke.yaml --frobnicate
check run-bad-j 2 "$kshot" run configs/smoke.yaml -j 0
check run-bad-shard 2 "$kshot" run configs/smoke.yaml --shard 3/3
contains run-help "--shard I/N" "$kshot" run --help
check bad-override 2 "$kshot" run configs/smoke.yaml targets.heldout.episodes=abc -o "$tmp/r"
contains bad-override-msg '<command line>:1:26: targets.heldout.episodes: expected an integer' \
    "$kshot" run configs/smoke.yaml targets.heldout.episodes=abc -o "$tmp/r"
printf 'name: x\ndata:\n  d: {format: idx, dir: %s/nodata}\ntargets:\n  t: {data: d}\nlearners:\n  s: {kind: scratch}\n' "$tmp" > "$tmp/nodata.yaml"
check missing-data-dir 2 "$kshot" run "$tmp/nodata.yaml" -o "$tmp/r"
contains missing-data-dir-msg "no such file" "$kshot" run "$tmp/nodata.yaml" -o "$tmp/r"
mkdir -p "$tmp/bad"
printf 'not an idx file' | gzip > "$tmp/bad/train-images-idx3-ubyte.gz"
printf 'not an idx file' | gzip > "$tmp/bad/train-labels-idx1-ubyte.gz"
sed "s#nodata#bad#" "$tmp/nodata.yaml" | sed 's/t: {data: d}/t: {data: d, split: train}/' > "$tmp/bad.yaml"
check damaged-data 1 "$kshot" run "$tmp/bad.yaml" -o "$tmp/r"
contains damaged-data-msg "train-images-idx3-ubyte.gz" "$kshot" run "$tmp/bad.yaml" -o "$tmp/r"
printf 'name: x\nseeds: [0]\nseeds: [1]\n' > "$tmp/dup.yaml"
contains duplicate-key "dup.yaml:3:1: duplicate key 'seeds' (first at line 2)" "$kshot" plan "$tmp/dup.yaml"
# A file-size limit is an error naming the file, not a kill by SIGXFSZ.
check file-size-limit 1 bash -c "ulimit -f 4; exec \"\$0\" run configs/smoke.yaml -o \"\$1/small\" -q" "$kshot" "$tmp"
contains file-size-limit-msg "File too large" bash -c "ulimit -f 4; exec \"\$0\" run configs/smoke.yaml -o \"\$1/small2\" -q" "$kshot" "$tmp"
# Smaller defects: a results path that is a file and an experiment path that is a
# directory are command-line errors; a full stdout is an error; a tab explains itself.
touch "$tmp/afile"
check out-is-a-file 2 "$kshot" run configs/smoke.yaml -o "$tmp/afile" -q
contains out-is-a-file-msg "exists and is not a directory" "$kshot" run configs/smoke.yaml -o "$tmp/afile" -q
check plan-a-directory 2 "$kshot" plan "$tmp"
contains plan-a-directory-msg "is a directory (expected an experiment file)" "$kshot" plan "$tmp"
if [ -w /dev/full ]; then
    check plan-to-full-stdout 1 bash -c "exec \"\$0\" plan configs/smoke.yaml > /dev/full" "$kshot"
fi
printf 'name: x\nseeds:\n\t- 0\n' > "$tmp/tab.yaml"
contains tab-explained "YAML does not allow tabs for indentation" "$kshot" plan "$tmp/tab.yaml"
# A NUL byte in a CSV field is refused with its place; a scale that overflows float too.
printf 'a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n' > "$tmp/t.csv"
printf 'a,b,label\n1,2,x\n3,\0004,y\n' > "$tmp/nul.csv"
for f in t nul; do
    printf 'name: x\ndata:\n  d: {format: csv, path: %s/%s.csv, label: label, scale: 1e-40}\ntargets:\n  t: {data: d, ways: 2, shots: [1], queries: 1, episodes: 1}\nlearners:\n  k: {kind: knn, space: input}\n' "$tmp" "$f" > "$tmp/$f.yaml"
done
check nul-byte 1 "$kshot" run "$tmp/nul.yaml" -o "$tmp/rn" -q
contains nul-byte-msg "record 3 (line 3), field 2: a NUL byte at byte 1" "$kshot" run "$tmp/nul.yaml" -o "$tmp/rn" -q
check scale-overflow 2 "$kshot" run "$tmp/t.yaml" -o "$tmp/rs" -q
contains scale-overflow-msg "data.d.scale: 1e-40 makes a feature value of 8" "$kshot" run "$tmp/t.yaml" -o "$tmp/rs" -q
check plan 0 "$kshot" plan configs/smoke.yaml
contains plan-count "22 units: 2 pretrain, 20 eval" "$kshot" plan configs/smoke.yaml
# Memory: plan estimates it; run refuses up front what exceeds --max-memory
# (exit 1, nothing computed), and the estimate grows with a unit's rows.
contains plan-memory "memory: about " "$kshot" plan configs/smoke.yaml -j 2
contains plan-memory-refusal "kshot run would refuse it" "$kshot" plan configs/smoke.yaml --max-memory 1M
check max-memory-refused 1 "$kshot" run configs/smoke.yaml -o "$tmp/mm" -q --max-memory 20M
contains max-memory-msg "more than --max-memory (20 MB)" "$kshot" run configs/smoke.yaml -o "$tmp/mm" -q --max-memory 20M
check max-memory-nothing-computed 1 test -e "$tmp/mm/parts/"*.csv
contains max-memory-rows "more than --max-memory (1024 MB)" "$kshot" run configs/smoke.yaml -o "$tmp/mm" -q --max-memory 1G targets.heldout.episodes=10000000
check max-memory-bad 2 "$kshot" run configs/smoke.yaml --max-memory 4X
check max-memory-ok 0 "$kshot" run configs/smoke.yaml -o "$tmp/mm" -q --max-memory 8G
contains help-config "learners.<name>.freeze" "$kshot" help config
# A results path too long to hold is refused by name, never cut short.
long="$tmp/$(printf 'd%.0s' $(seq 250))"
for i in $(seq 17); do long="$long/$(printf 'e%.0s' $(seq 250))"; done
contains long-results-run "the results directory's path is" "$kshot" run configs/smoke.yaml -o "$long" -q
check long-results-run-status 2 "$kshot" run configs/smoke.yaml -o "$long" -q
contains long-results-slurm "the results directory's path is" "$kshot" slurm configs/smoke.yaml --results "$long" -o "$tmp/s.sh"
rm -f /tmp/kshot-cli.$$
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
