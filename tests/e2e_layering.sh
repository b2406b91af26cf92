#!/usr/bin/env bash
# e2e_layering: DESIGN.md's layering rules, checked on the source tree.
#   tasks/ and learners/ include nothing of harness/ but harness/base/;
#   tasks/ and learners/ do not include each other;
#   nothing outside harness/main.c calls exit() or abort().
set -u
root=${1:-.}
cd "$root" || exit 2
fail=0 pass=0
rule() { # name, grep output (empty = rule holds)
    if [ -z "$2" ]; then pass=$((pass+1)); else echo "FAIL $1:"; echo "$2" | sed 's/^/  /'; fail=$((fail+1)); fi
}
rule "tasks/ and learners/ include only harness/base/ of harness/" \
    "$(grep -n '#include "harness/' tasks/*.[ch] learners/*.[ch] | grep -v '"harness/base/')"
rule "tasks/ does not include learners/" "$(grep -n '#include "learners/' tasks/*.[ch])"
rule "learners/ does not include tasks/" "$(grep -n '#include "tasks/' learners/*.[ch])"
rule "only harness/main.c exits" \
    "$(grep -nE '\b(exit|_exit|abort)\s*\(' harness/*.c harness/base/*.c tasks/*.c learners/*.c | grep -v '^harness/main.c:')"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
