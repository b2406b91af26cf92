#!/usr/bin/env python3
"""End-to-end checks that an interrupted or damaged run finishes with the same bytes.

Usage: e2e_interrupt.py KSHOT        (working directory: the source root)

Runs configs/smoke.yaml, made long enough to interrupt (200 episodes per
unit), and checks what DESIGN.md promises ("Outputs", "Exit status"):
- SIGINT (and SIGTERM) after about a second: exit status 3 (an episodes.csv
  left by an older run is gone, not left looking current), a message that
  says to run the same command again, parts/ holding only complete files
  (no temporaries, every part a CSV with its file's header and full rows);
  the same command then exits 0 with an episodes.csv byte-identical to an
  uninterrupted run's (made with -j 1, the others with -j 2);
- SIGKILL at a random instant mid-way (the run is given no chance to clean
  up): the same command then exits 0 with the same episodes.csv, and no
  part or checkpoint is damaged (each verified on the rerun, which would
  warn and recompute one that is);
- deleting one part recomputes exactly that unit, to the same bytes;
- --shard 0/2 then --shard 1/2 into one directory, then a plain run that
  finds everything done and rebuilds: the same episodes.csv;
- a truncated checkpoint that a rerun needs is refused with a warning that
  names it, and its pretraining is recomputed (the checkpoint is part of a
  deterministic unit's result; DESIGN.md: a damaged file is refused, and
  running the same command again finishes the rest): exit 0, same bytes.
Prints one line per failed check and a closing 'N passed, M failed'.
"""
import csv
import glob
import os
import random
import re
import shutil
import signal
import subprocess
import sys

from e2echeck import check, summary
import tempfile
import time

CONFIG = "configs/smoke.yaml"
LONGER = ["targets.heldout.episodes=200"]
HEADERS = {  # the part columns of each file (kshot help files lists the whole files)
    "episode": "episode,step,probe,param,metric,value,status",
    "pretrain": "classes,examples,train_loss,source_test_accuracy,status",
    "cost": "episodes,phase,cpu_seconds,wall_seconds,flops,joules,joules_method,peak_rss_kb,"
            "blas_core",
}



def run(kshot, out, *extra, jobs=2):
    p = subprocess.run([kshot, "run", CONFIG, *LONGER, "-o", out, "-j", str(jobs), *extra],
                       capture_output=True, text=True)
    return p.returncode, p.stderr


def interrupt(kshot, out, sig):
    """Start a run, signal it once it is computing units (at least a second
    in, and after the first part appeared), return (status, stderr, parts
    present when signalled)."""
    p = subprocess.Popen([kshot, "run", CONFIG, *LONGER, "-o", out, "-j", "2"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    t0 = time.monotonic()
    parts = os.path.join(out, "parts")
    while time.monotonic() - t0 < 300 and p.poll() is None:
        if time.monotonic() - t0 >= 1.0 and glob.glob(os.path.join(parts, "*.csv")):
            break
        time.sleep(0.05)
    finished_early = p.poll() is not None
    p.send_signal(sig)
    _, err = p.communicate(timeout=300)
    check(f"{sig.name}: the run was still going when signalled", not finished_early,
          "raise targets.heldout.episodes so that it runs longer")
    return p.returncode, err


def unit_ids(kshot):
    """(id, kind, seed, learner) of every unit, from `kshot plan`."""
    p = subprocess.run([kshot, "plan", CONFIG, *LONGER], capture_output=True, text=True)
    check("plan exits 0", p.returncode == 0, p.stderr)
    units = []
    for line in p.stdout.splitlines():
        m = re.match(r"([0-9a-f]{32})  (pretrain|eval) .* seed (\d+)(?:  learner (\S+))?", line)
        if m:
            units.append((m.group(1), m.group(2), int(m.group(3)), m.group(4)))
    return units


def check_parts(name, out):
    """Only finished files: no temporaries anywhere, every part a whole CSV."""
    tmps = [f for f in glob.glob(os.path.join(out, "**", "*"), recursive=True) if ".tmp." in f]
    check(f"{name}: no temporary files left", not tmps, ", ".join(tmps))
    parts = sorted(glob.glob(os.path.join(out, "parts", "*.csv")))
    for path in parts:
        with open(path, newline="") as f:
            text = f.read()
        # a part is its check line (#kshot-part 1 unit records crc32), then the CSV
        first, _, text = text.partition("\n")
        check(f"{name}: {os.path.basename(path)} starts with its part line",
              first.startswith("#kshot-part 1 " + os.path.basename(path).split(".")[0] + " "),
              first)
        rows = list(csv.reader(text.splitlines()))
        kind = "cost" if path.endswith(".cost.csv") else (
            "episode" if rows and rows[0] == HEADERS["episode"].split(",") else "pretrain")
        header = HEADERS[kind].split(",")
        ok = (text.endswith("\n") and rows and rows[0] == header and len(rows) >= 2
              and all(len(r) == len(header) for r in rows[1:]))
        check(f"{name}: {os.path.basename(path)} is a whole {kind} part", ok, text[:200])
    return parts


def same_file(name, a, b):
    try:
        with open(a, "rb") as f, open(b, "rb") as g:
            same, detail = f.read() == g.read(), f"{a} differs from {b}"
    except OSError as e:
        same, detail = False, str(e)
    check(name, same, detail)


def main():
    kshot = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="kshot-interrupt-")
    try:
        fresh = os.path.join(tmp, "fresh")
        t0 = time.monotonic()
        rc, err = run(kshot, fresh, jobs=1)
        run_time = (time.monotonic() - t0) / 2   # about what -j 2 takes
        check("fresh run exits 0", rc == 0, err)
        ref = os.path.join(fresh, "episodes.csv")
        units = unit_ids(kshot)
        check("plan lists 22 units", len(units) == 22, str(len(units)))

        for sig in (signal.SIGINT, signal.SIGTERM):
            out = os.path.join(tmp, sig.name.lower())
            os.makedirs(out)
            for name in ("episodes.csv", "curves.svg"):
                with open(os.path.join(out, name), "w") as f:
                    f.write("left by an older run\n")
            rc, err = interrupt(kshot, out, sig)
            check(f"{sig.name}: no combined file or figure of an older run is left looking current",
                  not os.path.exists(os.path.join(out, "episodes.csv")) and
                  not os.path.exists(os.path.join(out, "curves.svg")))
            check(f"{sig.name}: exit status 3", rc == 3, f"status {rc}: {err}")
            check(f"{sig.name}: says to run again", "run the same command again" in err, err)
            parts = check_parts(sig.name, out)
            n_units = sum(1 for p in parts if not p.endswith(".cost.csv"))
            check(f"{sig.name}: some but not all units done", 0 < n_units < 22, str(n_units))
            with open(os.path.join(out, "run.yaml")) as f:
                check(f"{sig.name}: run.yaml says stopped", "\nstatus: stopped\n" in f.read())
            rc, err = run(kshot, out)
            check(f"{sig.name}: rerun exits 0", rc == 0, err)
            check(f"{sig.name}: rerun runs only what was missing",
                  f"22 units, {22 - n_units} to run" in err, err)
            same_file(f"{sig.name}: episodes.csv equals the uninterrupted run's",
                      os.path.join(out, "episodes.csv"), ref)
            same_file(f"{sig.name}: pretrain.csv equals the uninterrupted run's",
                      os.path.join(out, "pretrain.csv"), os.path.join(fresh, "pretrain.csv"))
            check_parts(f"{sig.name} rerun", out)

        # SIGKILL at a random instant once the run is computing: nothing to
        # flush, temporaries may stay; the rerun finishes to the same bytes.
        rng = random.Random(os.getpid())
        fresh_time = run_time
        for k in range(2):
            out = os.path.join(tmp, f"sigkill{k}")
            delay = rng.uniform(0.0, 0.4) * fresh_time
            p = subprocess.Popen([kshot, "run", CONFIG, *LONGER, "-o", out, "-j", "2"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            t0 = time.monotonic()   # mid-way: once units are being written, then a random delay
            while p.poll() is None and time.monotonic() - t0 < 300 and \
                    not glob.glob(os.path.join(out, "parts", "*.cost.csv")):
                time.sleep(0.02)
            time.sleep(delay)
            killed_early = p.poll() is not None
            p.kill()
            p.wait()
            check(f"SIGKILL {k}: the run was still going {delay:.1f} s after its first part",
                  not killed_early, "raise targets.heldout.episodes so that it runs longer")
            # a unit is done once its part is there (its cost part is written
            # first, so a kill may leave a cost part alone: not done)
            done = len([f for f in glob.glob(os.path.join(out, "parts", "*.csv"))
                        if not f.endswith(".cost.csv")])
            rc, err = run(kshot, out)
            check(f"SIGKILL {k}: rerun exits 0", rc == 0, err)
            check(f"SIGKILL {k}: no part or checkpoint was damaged", "recomputing" not in err, err)
            check(f"SIGKILL {k}: rerun runs only what was missing ({done} done)",
                  f"22 units, {22 - done} to run" in err, err)
            same_file(f"SIGKILL {k}: episodes.csv equals the uninterrupted run's",
                      os.path.join(out, "episodes.csv"), ref)

        # One part deleted: exactly that unit runs again, to the same bytes.
        out = os.path.join(tmp, "sigint")
        eval_id = next(u[0] for u in units if u[1] == "eval" and u[3] == "finetune")
        part = os.path.join(out, "parts", eval_id + ".csv")
        with open(part, "rb") as f:
            before = f.read()
        os.remove(part)
        rc, err = run(kshot, out)
        check("deleted part: rerun exits 0", rc == 0, err)
        check("deleted part: one unit runs", "22 units, 1 to run" in err
              and "finetune heldout 1-shot seed 0 done" in err, err)
        with open(part, "rb") as f:
            check("deleted part: the same bytes again", f.read() == before)
        same_file("deleted part: episodes.csv unchanged", os.path.join(out, "episodes.csv"), ref)

        # Two shards into one directory, then a plain run that only rebuilds.
        out = os.path.join(tmp, "shards")
        for i in range(2):
            rc, err = run(kshot, out, "--shard", f"{i}/2")
            check(f"shard {i}/2 exits 0", rc == 0, err)
            check(f"shard {i}/2 writes no episodes.csv",
                  i == 1 or not os.path.exists(os.path.join(out, "episodes.csv")))
        for i in range(2):   # each shard keeps its own run record
            path = os.path.join(out, f"run.{i}-of-2.yaml")
            text = open(path).read() if os.path.exists(path) else ""
            check(f"shard {i}/2 has its run record", f"shard: '{i}/2'" in text, path)
        check("the shards write no plain run.yaml", not os.path.exists(os.path.join(out, "run.yaml")))
        rc, err = run(kshot, out)
        check("after the shards: plain run exits 0", rc == 0, err)
        check("after the shards: nothing left to run", "22 units, 0 to run" in err, err)
        same_file("after the shards: episodes.csv equals the single run's",
                  os.path.join(out, "episodes.csv"), ref)
        check_parts("shards", out)

        # A truncated checkpoint that the next run needs: recomputed, same bytes.
        out = os.path.join(tmp, "damaged")
        shutil.copytree(fresh, out)
        pre = next(u for u in units if u[1] == "pretrain" and u[2] == 1)
        user = next(u for u in units if u[1] == "eval" and u[2] == 1 and u[3] == "probe")
        ckpt = os.path.join(out, "models", pre[0] + ".ckpt")
        size = os.path.getsize(ckpt)
        with open(ckpt, "r+b") as f:
            f.truncate(size // 2)
        rc, err = run(kshot, out)
        check("damaged checkpoint, nothing needs it: exit 0", rc == 0, err)
        check("damaged checkpoint, nothing needs it: nothing runs", "22 units, 0 to run" in err, err)
        os.remove(os.path.join(out, "parts", user[0] + ".csv"))
        rc, err = run(kshot, out)
        check("damaged checkpoint: exit 0", rc == 0, err)
        check("damaged checkpoint: a warning names the file",
              f"warning: {ckpt}" in err and "recomputing pretrain unit " + pre[0] in err, err)
        check("damaged checkpoint: the pretraining and the deleted unit run",
              "22 units, 2 to run" in err, err)
        check("damaged checkpoint: rewritten whole", os.path.getsize(ckpt) == size)
        same_file("damaged checkpoint: episodes.csv equals the undamaged run's",
                  os.path.join(out, "episodes.csv"), ref)
        same_file("damaged checkpoint: pretrain.csv equals the undamaged run's",
                  os.path.join(out, "pretrain.csv"), os.path.join(fresh, "pretrain.csv"))
        check_parts("damaged", out)

        # Damaged parts (issue: parts trusted without a check): one cut at a line
        # boundary, one cut inside a line, another unit's part under this unit's name.
        # Each is found, named, removed and recomputed: the same bytes, never combined.
        out = os.path.join(tmp, "parts")
        shutil.copytree(fresh, out)
        evals = [u for u in units if u[1] == "eval"]
        cut_line, cut_mid, swapped, donor = (os.path.join(out, "parts", u[0] + ".csv")
                                             for u in evals[:4])
        for path, keep in ((cut_line, "line"), (cut_mid, "mid")):
            text = open(path, newline="").read()
            body = text.rstrip("\n").split("\n")
            text = "\n".join(body[:-1]) + "\n" if keep == "line" else text[:-7]
            open(path, "w", newline="").write(text)
        shutil.copyfile(donor, swapped)
        rc, err = run(kshot, out)
        check("damaged parts: exit 0", rc == 0, err)
        for path in (cut_line, cut_mid, swapped):
            check(f"damaged parts: a warning names {os.path.basename(path)}",
                  f"warning: {path}" in err and "recomputing eval unit" in err, err)
        check("damaged parts: their three units run again", "22 units, 3 to run" in err, err)
        same_file("damaged parts: episodes.csv equals the undamaged run's",
                  os.path.join(out, "episodes.csv"), ref)
        check_parts("damaged parts", out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
