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
rm -f /tmp/kshot-cli.$$
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
