#!/usr/bin/env bash
# e2e_slurm.sh KSHOT — kshot on a real SLURM: the script `kshot slurm` writes,
# submitted to a throwaway one-node cluster (tests/cluster/slurm-localhost.sh),
# gives a single process's episodes.csv byte for byte; an evaluation task
# that receives SIGTERM (`scancel --signal=TERM --full`, as preemption
# begins) stops cleanly with exit 3 and status `stopped` in its record, the
# merge after it lists the missing units and fails, and submitting the
# same script again finishes the work.
#
# Needs root (slurmd runs jobs as their submitter, and the cluster runs as
# root) and Debian's munge, slurmctld, slurmd and slurm-client, which
# ./dev.sh test installs. Without root it is skipped (exit 77).
# Working directory: the source root.
set -uo pipefail
kshot=$(realpath "$1")
root=$(pwd -P)
cluster=$root/tests/cluster/slurm-localhost.sh
pass=0 fail=0
check() {   # check NAME CONDITION-STATUS [DETAIL]
    if [ "$2" = 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $1${3:+: $3}"; fi
}

if [ "$(id -u)" != 0 ]; then
    echo "skipped: the SLURM test needs root (it starts slurmctld and slurmd)"; exit 77
fi
for b in munged slurmctld slurmd sbatch squeue scancel; do
    PATH=$PATH:/usr/sbin command -v "$b" >/dev/null ||
        { echo "FAIL $b is not installed (./dev.sh test installs munge slurmctld slurmd slurm-client)"; exit 1; }
done

tmp=$(mktemp -d /tmp/kshot-slurm-XXXXXX)
chmod 755 "$tmp"
cleanup() { bash "$cluster" down "$tmp/cluster" >/dev/null 2>&1; rm -rf "$tmp"; }
trap cleanup EXIT
export SLURM_LOCAL_CPUS=3   # the three evaluation tasks at once, on whatever cores there are
bash "$cluster" up "$tmp/cluster" || { echo "FAIL the cluster did not start"; exit 1; }
export SLURM_CONF=$tmp/cluster/slurm.conf
wait_job() { bash "$cluster" wait "$tmp/cluster" "$1"; }

longer=(targets.heldout.episodes=1000)
"$kshot" run configs/smoke.yaml "${longer[@]}" -o "$tmp/single" -j 2 -q 2>/dev/null
check "a single process's run exits 0" $?

# A results directory whose path needs quoting.
res="$tmp/it's results"
"$kshot" slurm configs/smoke.yaml "${longer[@]}" --tasks 3 --time 0:20:00 --results "$res" \
    -o "$tmp/submit.sh" 2>"$tmp/slurm.err"
check "kshot slurm exits 0" $? "$(cat "$tmp/slurm.err")"
bash -n "$tmp/submit.sh"
check "the submit script is valid bash" $?

submitted=$(bash "$tmp/submit.sh" 2>&1)
check "the submit script submits" $? "$submitted"
eval_job=$(sed -n 's/.*evaluation \([0-9]*\),.*/\1/p' <<<"$submitted")
merge_job=$(cat "$res/slurm/merge.jobid" 2>/dev/null)
[ -n "$eval_job" ] && [ -n "$merge_job" ]
check "it names the evaluation and merge jobs" $? "$submitted"

# Preemption's first step, on evaluation task 0 once it computes.
t0=$SECONDS
until grep -q "status: running" "$res/run.eval.0-of-3.yaml" 2>/dev/null || [ $((SECONDS - t0)) -gt 300 ]; do
    sleep 0.1
done
scancel --signal=TERM --full "${eval_job}_0"
check "scancel --signal=TERM --full reaches the task" $?
wait_job "$merge_job"
check "the merge job ends" $?
grep -q "status: stopped" "$res/run.eval.0-of-3.yaml"
check "the signalled task stopped cleanly (its record says stopped)" $? \
    "$(grep -E '^(status|error):' "$res/run.eval.0-of-3.yaml"; tail -3 "$res/slurm/eval-${eval_job}_0.out")"
scontrol -o show job "${eval_job}_0" | grep -q "ExitCode=3:0"
check "the signalled task exited 3" $? "$(scontrol -o show job "${eval_job}_0" | grep -o 'ExitCode=[^ ]*')"
grep -q "units are missing" "$res/slurm/merge-$merge_job.out"
check "the merge lists what is missing" $? "$(cat "$res/slurm/merge-$merge_job.out")"
scontrol -o show job "$merge_job" | grep -q "ExitCode=1:0"
check "the incomplete merge exits 1" $?
[ ! -e "$res/episodes.csv" ]
check "the incomplete merge writes no episodes.csv" $?
for i in 1 2; do
    grep -q "status: done" "$res/run.eval.$i-of-3.yaml"
    check "evaluation task $i finished" $?
done

# Submitting again finishes the work: only task 0's share is left.
submitted=$(bash "$tmp/submit.sh" 2>&1)
check "the script submits again" $? "$submitted"
merge_job=$(cat "$res/slurm/merge.jobid")
wait_job "$merge_job"
grep -q "merged 22 units" "$res/slurm/merge-$merge_job.out"
check "the second merge combines every unit" $? "$(cat "$res/slurm/merge-$merge_job.out")"
cmp -s "$res/episodes.csv" "$tmp/single/episodes.csv"
check "episodes.csv equals the single process's, byte for byte" $?
cmp -s "$res/summary.csv" "$tmp/single/summary.csv"
check "summary.csv equals the single process's" $?
grep -A30 "^computed:" "$res/run.eval.1-of-3.yaml" | grep -q "computed: \[\]"
check "on resubmission, task 1 had nothing left to compute" $? \
    "$(grep -A3 '^computed:' "$res/run.eval.1-of-3.yaml")"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
