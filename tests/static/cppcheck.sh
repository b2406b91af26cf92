#!/usr/bin/env bash
# cppcheck.sh — the static analyser over kshot's sources, with the project's
# configuration: warnings, performance and portability checks, the defines the
# build uses, the suppressions in cppcheck-suppressions.txt (each with its
# reason) and inline `cppcheck-suppress` comments. Any finding fails (exit 1).
# Working directory: the source root.
set -euo pipefail
cppcheck --enable=warning,performance,portability --std=c11 --inline-suppr \
    --suppressions-list=tests/static/cppcheck-suppressions.txt \
    -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DKSHOT_VERSION='"0"' -DKSHOT_HAVE_LIBXSMM \
    -I . --quiet -j "$(nproc)" --error-exitcode=1 \
    --template='{file}:{line}: {severity}: {message} [{id}]' \
    harness learners tasks
echo "cppcheck: no findings in harness/ learners/ tasks/"
