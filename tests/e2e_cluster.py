#!/usr/bin/env python3
"""End-to-end checks of shared results directories: shards, locks, merge, SLURM's variables.

Usage: e2e_cluster.py KSHOT        (working directory: the source root)

On configs/smoke.yaml (2 pretrain and 20 eval units), against a single
run's files:
- three shards started at the same instant compute each pretraining exactly
  once between them (their run records' computed: and reused: lists say
  who did what), and `kshot merge` gives the single run's episodes.csv,
  summary.csv and pretrain.csv byte for byte;
- merge of an incomplete directory lists the missing units, writes nothing
  and exits 1; merge of a directory that is no results directory exits 2;
- --only pretrain shards, then --only eval shards, then merge: the same
  bytes, and the eval shards reuse every pretraining;
- SLURM's array variables give the shard when --shard is not given
  (ID with COUNT, with MIN/MAX and a step), the record names the job and
  task; variables that name no shard are refused (exit 2);
- parts computed under another kernel (KSHOT_GEMM=openblas changes the
  unit ids' core) are not mixed: merge names them and their core, exit 1;
  nor are units computed by two binaries (the records' CRC-32s differ);
- --fresh starts a directory over, and is refused while another run uses it
  (exit 1) and with a shard (exit 2).
Prints one line per failed check and a closing 'N passed, M failed'.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from e2echeck import check, summary

CONFIG = "configs/smoke.yaml"
FILES = ("episodes.csv", "summary.csv", "pretrain.csv")


def kshot_env(extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    env.update(extra or {})
    return env


def start(kshot, out, *args, env=None, jobs=1):
    return subprocess.Popen([kshot, "run", CONFIG, "-o", out, "-j", str(jobs), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=kshot_env(env))


def run(kshot, out, *args, env=None, jobs=1):
    p = start(kshot, out, *args, env=env, jobs=jobs)
    o, e = p.communicate(timeout=600)
    return p.returncode, o + e


def merge(kshot, out):
    p = subprocess.run([kshot, "merge", out], capture_output=True, text=True, env=kshot_env())
    return p.returncode, p.stdout + p.stderr


def record_lists(path):
    """computed: and reused: of a run record, as sets of unit ids."""
    text = open(path).read() if os.path.exists(path) else ""
    lists = {}
    for key in ("computed", "reused"):
        m = re.search(rf"^{key}:(.*?)(?=^\S)", text, re.S | re.M)
        lists[key] = set(re.findall(r"[0-9a-f]{32}", m.group(1))) if m else None
    return lists, text


def same_files(name, a, b):
    for f in FILES:
        try:
            same = open(os.path.join(a, f), "rb").read() == open(os.path.join(b, f), "rb").read()
        except OSError as e:
            same = False
        check(f"{name}: {f} equals the single run's", same, f"{a}/{f} vs {b}/{f}")


def pretrain_ids(kshot):
    p = subprocess.run([kshot, "plan", CONFIG], capture_output=True, text=True, env=kshot_env())
    return set(re.findall(r"^([0-9a-f]{32})  pretrain", p.stdout, re.M))


def main():
    kshot = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="kshot-cluster-")
    try:
        ref = os.path.join(tmp, "single")
        rc, out = run(kshot, ref, jobs=2)
        check("single run exits 0", rc == 0, out)
        pre = pretrain_ids(kshot)
        check("the plan has 2 pretrain units", len(pre) == 2, str(pre))

        # Three shards at the same instant.
        d = os.path.join(tmp, "three")
        procs = [start(kshot, d, "--shard", f"{i}/3") for i in range(3)]
        outs = [p.communicate(timeout=600) for p in procs]
        for i, p in enumerate(procs):
            check(f"shard {i}/3 exits 0", p.returncode == 0, "".join(outs[i]))
        recs = [record_lists(os.path.join(d, f"run.{i}-of-3.yaml"))[0] for i in range(3)]
        for u in sorted(pre):
            n = sum(u in r["computed"] for r in recs if r["computed"] is not None)
            check(f"pretrain unit {u[:8]} computed exactly once by the three shards", n == 1,
                  f"computed by {n}")
            check(f"pretrain unit {u[:8]} reused by the other two",
                  sum(u in r["reused"] for r in recs if r["reused"] is not None) == 2, str(recs))
        evals = [r["computed"] - pre for r in recs if r["computed"] is not None]
        check("the shards' eval units are disjoint and cover the plan",
              len(set().union(*evals)) == 20 and sum(map(len, evals)) == 20,
              str([len(e) for e in evals]))
        check("shards write no combined file", not os.path.exists(os.path.join(d, "episodes.csv")))
        check("shards say to merge", "kshot merge" in "".join(outs[0]), "".join(outs[0]))
        check("no lock file left", not [f for f in os.listdir(os.path.join(d, "parts"))
                                        if f.endswith(".lock")])
        rc, out = merge(kshot, d)
        check("merge exits 0", rc == 0, out)
        check("merge says what it wrote", "merged 22 units" in out, out)
        same_files("three shards merged", d, ref)

        # Merge of an incomplete directory, and of no results directory.
        d = os.path.join(tmp, "partial")
        rc, out = run(kshot, d, "--shard", "0/3")
        check("shard 0/3 alone exits 0", rc == 0, out)
        rc, out = merge(kshot, d)
        check("incomplete merge exits 1", rc == 1, out)
        check("incomplete merge lists the missing units",
              out.count("missing eval unit") >= 10 and "units are missing" in out, out)
        check("incomplete merge writes nothing", not os.path.exists(os.path.join(d, "episodes.csv")))
        rc, out = merge(kshot, os.path.join(tmp, "nothing-here"))
        check("merge of no results directory exits 2", rc == 2, out)
        check("merge of no results directory says why", "units.csv" in out, out)

        # --only pretrain, then --only eval, sharded.
        d = os.path.join(tmp, "only")
        for i in range(2):
            rc, out = run(kshot, d, "--only", "pretrain", "--shard", f"{i}/2")
            check(f"--only pretrain --shard {i}/2 exits 0", rc == 0, out)
        parts = os.listdir(os.path.join(d, "parts"))
        check("--only pretrain computes only the pretrainings",
              sorted(p[:32] for p in parts if p.endswith(".cost.csv")) == sorted(pre), str(parts))
        check("--only pretrain writes its own records",
              os.path.exists(os.path.join(d, "run.pretrain.0-of-2.yaml"))
              and os.path.exists(os.path.join(d, "run.pretrain.1-of-2.yaml")))
        for i in range(2):
            rc, out = run(kshot, d, "--only", "eval", "--shard", f"{i}/2")
            check(f"--only eval --shard {i}/2 exits 0", rc == 0, out)
            lists, _ = record_lists(os.path.join(d, f"run.eval.{i}-of-2.yaml"))
            check(f"--only eval --shard {i}/2 reuses the pretrainings and computes none",
                  lists["computed"] is not None and not (lists["computed"] & pre)
                  and pre <= lists["reused"], str(lists))
        rc, out = merge(kshot, d)
        check("--only merge exits 0", rc == 0, out)
        same_files("--only pretrain then eval", d, ref)

        # SLURM's array variables.
        d = os.path.join(tmp, "slurm")
        job = {"SLURM_JOB_ID": "1077", "SLURM_ARRAY_JOB_ID": "1074", "SLURM_ARRAY_TASK_ID": "1",
               "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_MIN": "0",
               "SLURM_ARRAY_TASK_MAX": "2"}
        rc, out = run(kshot, d, env=job)
        check("an array task exits 0", rc == 0, out)
        lists, text = record_lists(os.path.join(d, "run.1-of-3.yaml"))
        check("an array task is shard 1/3", "shard: '1/3'" in text and "shard_from: slurm" in text,
              text[:600])
        check("its record names the job and task", "job_id: '1077'" in text
              and "array_job_id: '1074'" in text and "array_task_id: '1'" in text, text[:900])
        ref_lists, _ = record_lists(os.path.join(tmp, "three", "run.1-of-3.yaml"))
        check("it runs what --shard 1/3 ran",
              lists["computed"] is not None and ref_lists["computed"] is not None and
              (lists["computed"] | lists["reused"]) ==
              (ref_lists["computed"] | ref_lists["reused"]), f"{lists} vs {ref_lists}")
        step = {"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_COUNT": "3",
                "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "4"}   # --array=0-4:2
        rc, out = run(kshot, d, env=step)
        check("--array=0-4:2 task 4 is shard 2/3",
              rc == 0 and os.path.exists(os.path.join(d, "run.2-of-3.yaml")), out)
        rc, out = run(kshot, d, env=dict(step, SLURM_ARRAY_TASK_ID="3"))
        check("a task id off the array's step is refused (exit 2)", rc == 2, out)
        check("the refusal names the variables", "SLURM_ARRAY_TASK_ID" in out, out)
        rc, out = run(kshot, d, "--shard", "0/3", env=job)
        check("--shard wins over SLURM's variables",
              rc == 0 and os.path.exists(os.path.join(d, "run.0-of-3.yaml")), out)
        rc, out = merge(kshot, d)
        check("the array tasks merge to the single run's bytes", rc == 0, out)
        same_files("array tasks merged", d, ref)

        # Parts of another kernel are not mixed in.
        info = subprocess.run([kshot, "info"], capture_output=True, text=True).stdout
        if "libxsmm, target" in info:
            d = os.path.join(tmp, "mixed")
            rc, out = run(kshot, d, "--shard", "0/2", env={"KSHOT_GEMM": "openblas"})
            check("a shard on OpenBLAS alone exits 0", rc == 0, out)
            rc, out = run(kshot, d, "--shard", "1/2")
            check("a shard with libxsmm exits 0", rc == 0, out)
            rc, out = merge(kshot, d)
            check("mixed kernels: merge exits 1", rc == 1, out)
            check("mixed kernels: merge names the other core",
                  "computed under BLAS core" in out and "another BLAS core" in out, out)
            check("mixed kernels: nothing written",
                  not os.path.exists(os.path.join(d, "episodes.csv")))

        # Units of two binaries are not mixed: a copy of kshot with one byte
        # appended runs the same, but is another binary (its CRC-32 differs).
        other = os.path.join(tmp, "kshot-other")
        shutil.copyfile(kshot, other)
        with open(other, "ab") as f:
            f.write(b"\0")
        os.chmod(other, 0o755)
        d = os.path.join(tmp, "binaries")
        rc, out = run(other, d, "--shard", "0/2")
        check("a shard of the other binary exits 0", rc == 0, out)
        rc, out = run(kshot, d, "--shard", "1/2")
        check("a shard of this binary exits 0", rc == 0, out)
        rc, out = merge(kshot, d)
        check("two binaries: merge exits 1", rc == 1, out)
        check("two binaries: merge names both", "two kshot binaries" in out and "kshot-other" in out
              and "run.0-of-2.yaml" in out and "run.1-of-2.yaml" in out, out)
        check("two binaries: nothing written", not os.path.exists(os.path.join(d, "episodes.csv")))
        rc, out = run(other, d, "--shard", "1/2", "--fresh")
        check("--fresh with a shard is refused even so", rc == 2, out)

        # --fresh.
        d = os.path.join(tmp, "fresh")
        rc, out = run(kshot, d, jobs=2)
        check("a run to start over exits 0", rc == 0, out)
        long = start(kshot, d, "targets.heldout.episodes=400", jobs=1)
        t0 = time.monotonic()   # until it has rewritten the record: it holds the directory
        while time.monotonic() - t0 < 60 and long.poll() is None and \
                "status: running" not in open(os.path.join(d, "run.yaml")).read():
            time.sleep(0.05)
        rc, out = run(kshot, d, "--fresh")
        check("--fresh while another run uses the directory: exit 1", rc == 1, out)
        check("--fresh says another process uses it", "another kshot process" in out, out)
        check("the other run was still going", long.poll() is None)
        long.send_signal(signal.SIGINT)
        long.communicate(timeout=120)
        rc, out = run(kshot, d, "--fresh", "--shard", "0/2")
        check("--fresh with a shard: exit 2", rc == 2, out)
        rc, out = run(kshot, d, "--fresh", jobs=2)
        check("--fresh: exit 0", rc == 0, out)
        check("--fresh: every unit computed again", "22 units, 22 to run" in out, out)
        same_files("--fresh", d, ref)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
