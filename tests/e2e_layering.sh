#!/usr/bin/env bash
# e2e_layering: DESIGN.md's layering rules, checked on the source tree.
#   tasks/ and learners/ include nothing of harness/ but harness/base/;
#   tasks/ and learners/ do not include each other;
#   nothing outside harness/main.c calls exit() or abort();
#   no learner kind's name appears in a string literal outside learners/
#   (harness/ and tasks/ find kinds, their keys and help in the registry).
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
kinds=$(grep -ho '^ *\.name = "[a-z0-9_]*"' learners/*.c | sed 's/.*"\(.*\)"/\1/' | sort -u)
rule "the registry names its kinds (found: $(echo $kinds))" "$( [ "$(echo "$kinds" | wc -w)" -ge 4 ] || echo "fewer than 4 kinds found in learners/*.c")"
rule "no learner kind is named in a string literal outside learners/" \
    "$(KINDS="$kinds" python3 - harness/*.[ch] harness/base/*.[ch] tasks/*.[ch] <<'PY'
import os, re, sys
kinds = os.environ["KINDS"].split()
literal = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
for path in sys.argv[1:]:
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        code = line.split("//", 1)[0]
        for m in literal.finditer(code):
            for k in kinds:
                if re.search(r"\b%s\b" % re.escape(k), m.group(1)):
                    print(f"{path}:{n}: \"{m.group(1)}\" names kind {k}")
PY
)"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
