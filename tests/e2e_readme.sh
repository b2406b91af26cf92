#!/usr/bin/env bash
# e2e_readme: the README's table of experiment keys is exactly what
# `kshot help config --markdown` prints (both come from the schema table;
# regenerate the README block with that command when a key changes).
set -u
kshot=$1 readme=$2
want=$("$kshot" help config --markdown) || { echo "kshot help config failed"; echo "0 passed, 1 failed"; exit 1; }
got=$(sed -n '/<!-- config-keys:begin -->/,/<!-- config-keys:end -->/p' "$readme" | sed '1d;$d')
if [ "$want" == "$got" ]; then
    echo "1 passed, 0 failed"
else
    echo "FAIL: README.md's key table differs from 'kshot help config --markdown':"
    diff <(echo "$want") <(echo "$got") | head -20
    echo "0 passed, 1 failed"
    exit 1
fi
