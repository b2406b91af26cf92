#!/usr/bin/env bash
# e2e_readme: the README's generated tables are exactly what kshot prints —
# the experiment keys (`kshot help config --markdown`, between the
# config-keys markers) and each CSV file's columns (`kshot help files
# --markdown`, each between its columns:FILE markers). Regenerate a block
# with that command when a key or a column changes.
set -u
kshot=$1 readme=$2
pass=0 fail=0
compare() { # name, want, got
    if [ "$2" == "$3" ]; then
        pass=$((pass+1))
    else
        echo "FAIL: README.md's $1 differs from kshot's (regenerate it; want vs README):"
        diff <(echo "$2") <(echo "$3") | head -20
        fail=$((fail+1))
    fi
}
want=$("$kshot" help config --markdown) || { echo "kshot help config failed"; exit 1; }
got=$(sed -n '/<!-- config-keys:begin -->/,/<!-- config-keys:end -->/p' "$readme" | sed '1d;$d')
compare "key table" "$want" "$got"
files=$("$kshot" help files --markdown) || { echo "kshot help files failed"; exit 1; }
for f in $(echo "$files" | sed -n 's/^<!-- columns:\(.*\):begin -->$/\1/p'); do
    want=$(echo "$files" | sed -n "/<!-- columns:$f:begin -->/,/<!-- columns:$f:end -->/p")
    got=$(sed -n "/<!-- columns:$f:begin -->/,/<!-- columns:$f:end -->/p" "$readme")
    compare "column table of $f" "$want" "$got"
done
[ "$pass" -ge 6 ] || { echo "FAIL: expected the key table and five column tables, found $pass"; fail=$((fail+1)); }
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
