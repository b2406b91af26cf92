#!/usr/bin/env bash
# run.sh TARGET SEEDS [SECONDS] — run one libFuzzer target for a bounded time
# (default $KSHOT_FUZZ_SECONDS, else 60) from its seed corpus, in a scratch
# corpus directory so the source tree is not written; any crash, leak,
# timeout or sanitizer report fails (libFuzzer exits nonzero and the input
# is kept under build-fuzz/fuzz-artifacts/ for a unit test). Prints the
# executions run.
set -uo pipefail
target=$1 seeds=$2 secs=${3:-${KSHOT_FUZZ_SECONDS:-60}}
name=$(basename "$target")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
artifacts=$(dirname "$target")/../../fuzz-artifacts/$name/
mkdir -p "$artifacts"
"$target" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$artifacts" "$work" "$seeds" >"$work.log" 2>&1
rc=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work.log")
if [ "$rc" != 0 ]; then
    tail -n 60 "$work.log"
    echo "$name: FAILED after ${runs:-?} executions (exit $rc); the input is in $artifacts"
    rm -f "$work.log"
    exit 1
fi
echo "$name: ${runs:-?} executions in ${secs} s, none failed (corpus $(ls "$work" | wc -l) inputs)"
rm -f "$work.log"
