"""Interrupt a two-cell sweep at random points of its second cell and tally how it ended
(docs/decisions/interrupt-landing.md).  Usage: python interrupt_landing.py RUNS SEED LO HI, the signal going
out LO..HI seconds after the first cell reaches the store; prints run, delay, exit status, stored cells, and
the whole stderr of every run that did not end with 130."""
import os, signal, subprocess, sys, time, json, shutil
from pathlib import Path
GRID = ["--task", "gff-markov", "--task", "toric-gaussian", "--family", "linear", "--family", "mwpm", "--L", "8",
        "--levels", "0.3", "1", "3", "--radii", "1", "2", "--n-train", "64", "--n-test", "32", "--no-progress"]
base = Path(os.environ.get("TMPDIR", "/tmp")) / "interrupt_landing"; base.mkdir(exist_ok=True)
ds = base / "datasets"; ds.mkdir(exist_ok=True)
import random; random.seed(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
for i in range(int(sys.argv[1])):
    out = base / f"out{i}"; shutil.rmtree(out, ignore_errors=True)
    env = dict(os.environ, PHASEBENCH_CACHE=str(ds), PHASEBENCH_WORKERS="1"); env.pop("PHASEBENCH_FIT_CACHE", None)
    p = subprocess.Popen([sys.executable, "-m", "phasebench.suites.cli", "run", *GRID, "--out", str(out)], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while p.poll() is None:
        f = out / "cells.jsonl"
        if f.exists() and f.read_text().count("\n") >= 1: break
        time.sleep(0.01)
    delay = random.uniform(float(sys.argv[3]), float(sys.argv[4])); time.sleep(delay)
    p.send_signal(signal.SIGINT)
    st = p.wait(60)
    err = p.stderr.read()
    n = (out / "cells.jsonl").read_text().count("\n")
    print(i, round(delay, 3), st, n, err.strip().splitlines()[-1:] if st != 130 else "", flush=True)
    if st != 130:
        print(err)
