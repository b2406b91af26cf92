#!/usr/bin/env bash
# dev.sh — the README's two commands, and nothing clever:
#   ./dev.sh quickstart   install what is missing, build, run configs/quickstart.yaml
#   ./dev.sh test         install what is missing, build, run every test
#                         (plus the SLURM test on a throwaway one-node cluster,
#                         an AddressSanitizer+UBSan build, a valgrind pass over
#                         the unit suite and the smallest end-to-end tests,
#                         cppcheck, and a clang build that runs each libFuzzer
#                         target for KSHOT_FUZZ_SECONDS, default 60)
# Works on a fresh Debian 12 machine, as root or through sudo.
set -euo pipefail
cd "$(dirname "$0")"

# Debian 12 package names; each is checked with dpkg before apt-get runs.
BUILD_PKGS=(build-essential pkg-config meson ninja-build libyaml-dev libopenblas-dev
            libcsv-dev zlib1g-dev libisal-dev libxsmm-dev libcairo2-dev dataset-fashion-mnist)
TEST_PKGS=(libcmocka-dev valgrind python3 python3-pandas r-base-core
           munge slurmctld slurmd slurm-client clang libclang-rt-14-dev cppcheck)

log() { printf '\n==> %s\n' "$*"; }

install_missing() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing: ${missing[*]}"
    local sudo=()
    [ "$(id -u)" -ne 0 ] && sudo=(sudo)
    # Packages with daemons (munge, slurmd, slurmctld) must not start system
    # services: the SLURM test starts its own cluster. policy-rc.d denies
    # service starts while apt runs, unless the machine has its own policy.
    local policy=/usr/sbin/policy-rc.d made=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
        "${sudo[@]}" chmod 755 "$policy"; made=1
    fi
    local rc=0
    { "${sudo[@]}" apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; } || rc=$?
    [ "$made" = 1 ] && "${sudo[@]}" rm -f "$policy"
    return "$rc"
}

# configure DIR [meson options...]: set up DIR once, reconfigure if options change.
configure() {
    local dir=$1; shift
    if [ -d "$dir" ]; then meson configure "$dir" "$@" >/dev/null
    else meson setup "$dir" "$@" >/dev/null; fi
}

phase_start=0
phase() { phase_start=$(date +%s); log "$*"; }
phase_end() { printf '    (%s: %ds)\n' "$1" $(( $(date +%s) - phase_start )); TIMES+=("$1 $(( $(date +%s) - phase_start ))s"); }
TIMES=()

quickstart() {
    phase "dependencies"; install_missing "${BUILD_PKGS[@]}"; phase_end deps
    phase "build (release)"
    configure build-release --buildtype=release -Dtests=false
    ninja -C build-release; phase_end build
    phase "quickstart: configs/quickstart.yaml (a few minutes on 2 cores)"
    ./build-release/kshot run configs/quickstart.yaml
    phase_end quickstart
}

test_all() {
    local t0; t0=$(date +%s)
    local werror=()
    [ "${CI:-}" = "true" ] && werror=(-Dwerror=true)
    phase "dependencies"; install_missing "${BUILD_PKGS[@]}" "${TEST_PKGS[@]}"; phase_end deps

    phase "build"
    configure build --buildtype=debugoptimized "${werror[@]}"
    ninja -C build; phase_end build
    phase "tests: unit, e2e, slow"
    meson test -C build --print-errorlogs --suite unit --suite e2e --suite slow
    phase_end tests

    phase "tests on a throwaway SLURM cluster (needs root)"
    meson test -C build --print-errorlogs --suite cluster
    phase_end slurm

    phase "build with AddressSanitizer + UndefinedBehaviorSanitizer"
    configure build-asan --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false "${werror[@]}"
    ninja -C build-asan; phase_end asan-build
    phase "tests under ASan+UBSan: unit, smoke"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        meson test -C build-asan --print-errorlogs --suite unit --suite smoke
    phase_end asan-tests

    # libxsmm sees valgrind's CPU (no AVX-512) and generates AVX2 kernels for it.
    # Valgrind cannot run AVX-512: where OpenBLAS would choose such a kernel
    # and nobody set OPENBLAS_CORETYPE, this phase alone sets Haswell (a value
    # the user or the environment set is kept).
    phase "tests under valgrind: unit, smoke"
    local vg='valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --quiet'
    local core=()
    if [ -z "${OPENBLAS_CORETYPE:-}" ] && grep -qw avx512f /proc/cpuinfo; then
        core=(OPENBLAS_CORETYPE=Haswell)
    fi
    env ${core[@]+"${core[@]}"} meson test -C build --print-errorlogs --suite unit \
        --timeout-multiplier 10 --wrapper "$vg"
    # The smoke tests are Python drivers: valgrind wraps the kshot they start.
    env ${core[@]+"${core[@]}"} KSHOT_WRAP="$vg" meson test -C build --print-errorlogs \
        --suite smoke --timeout-multiplier 10
    phase_end valgrind

    phase "static analysis: cppcheck (tests/static/cppcheck.sh)"
    bash tests/static/cppcheck.sh
    phase_end cppcheck

    # clang builds everything here (-Wall -Wextra, -Werror in CI), with
    # libFuzzer's coverage hooks and ASan+UBSan; the fuzz targets link libFuzzer.
    phase "build with clang: ASan+UBSan, libFuzzer targets"
    CC=clang configure build-fuzz --buildtype=debugoptimized -Dfuzz=true \
        -Db_sanitize=address,undefined -Db_lundef=false -Dc_args=-fsanitize=fuzzer-no-link "${werror[@]}"
    ninja -C build-fuzz; phase_end fuzz-build
    phase "fuzzing: each target ${KSHOT_FUZZ_SECONDS:-60} s from its seeds (tests/fuzz/)"
    local flog=build-fuzz/fuzz.log frc=0
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        meson test -C build-fuzz --suite fuzz --verbose >"$flog" 2>&1 || frc=$?
    grep -E "executions|FAILED" "$flog" || true
    [ "$frc" = 0 ] || { tail -n 80 "$flog"; echo "fuzzing failed (inputs kept in build-fuzz/fuzz-artifacts/)"; return "$frc"; }
    phase_end fuzz

    log "phase times: ${TIMES[*]}; total $(( $(date +%s) - t0 ))s"
}

case "${1:-}" in
    quickstart) quickstart ;;
    test) test_all ;;
    *) echo "usage: ./dev.sh quickstart | test" >&2; exit 2 ;;
esac
