"""The executors (suites/executors.py): serial, local processes and Dask give the same scores bit for bit."""

import json

import pytest
from test_interrupts import _session, _wait, needs_proc
from test_interrupts import _untimed as untimed  # results.json less timings and provenance

from phasebench.suites.cli import main
from phasebench.suites.executors import make_executor

# gff-markov with the closed-form linear family and a tiny torch cnn (two members each): a few seconds per run
GRID = ["--task", "gff-markov", "--family", "linear", "--family", "cnn", "--L", "8", "--levels", "0.3", "1", "3",
        "--radii", "1", "2", "--n-train", "64", "--n-test", "32", "--budget", "0.3",
        "--family-option", "cnn.width=4", "--family-option", "cnn.depth=0", "--family-option", "cnn.embed_dim=4",
        "--no-progress"]


def results(out):
    return untimed(json.loads((out / "results.json").read_text()))


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PHASEBENCH_CACHE", str(tmp_path_factory.mktemp("datasets")))
        mp.setenv("PHASEBENCH_WORKERS", "2")
        mp.delenv("PHASEBENCH_FIT_CACHE", raising=False)
        yield


def test_serial_processes_and_dask_give_identical_scores(env, tmp_path, capsys):
    from dask.distributed import LocalCluster

    assert main(["run", *GRID, "--executor", "serial", "--out", str(tmp_path / "serial")]) == 0
    assert main(["run", *GRID, "--executor", "processes", "--out", str(tmp_path / "processes")]) == 0
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        assert main(["run", *GRID, "--executor", "dask", "--scheduler", cluster.scheduler_address,
                     "--out", str(tmp_path / "dask")]) == 0
    serial = results(tmp_path / "serial")
    summary = serial["tasks"]["gff-markov"]["summary"]
    assert {"linear/L8", "cnn/L8"} <= summary.keys()
    assert summary["cnn/L8"]["members"]["1"]["name"] == "cnn"
    assert results(tmp_path / "processes") == serial
    assert results(tmp_path / "dask") == serial
    prov = [json.loads((tmp_path / e / "results.json").read_text())["provenance"]["executor"]
            for e in ("serial", "processes", "dask")]
    assert [p["executor"] for p in prov] == ["serial", "processes", "dask"]
    assert prov[2]["slots"] == 2 and prov[2]["scheduler"] == cluster.scheduler_address


def test_dask_without_an_address_starts_a_local_cluster(env):
    executor = make_executor("dask")
    try:
        assert executor.cluster is not None and executor.slots() == 2  # PHASEBENCH_WORKERS single-threaded workers
        assert sorted(executor.map_unordered(abs, [-3, 1, -2])) == [(0, 3), (1, 1), (2, 2)]
    finally:
        executor.close()


@pytest.mark.parametrize("argv, message", [
    (["--scheduler", "tcp://127.0.0.1:8786"], "needs --executor dask"),
    (["--executor", "threads"], "invalid choice"),
])
def test_bad_executor_options_are_one_line_and_exit_2(argv, message, tmp_path, capsys):
    assert main(["run", "--task", "gff-markov", "--out", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and message in err
    assert not (tmp_path / "cells.jsonl").exists()


def _worker_pid(item):
    import os
    import time

    time.sleep(0.2)  # long enough that both workers take items
    return os.getpid()


@needs_proc
def test_an_activated_process_executor_keeps_one_pool_and_kills_it_when_a_map_is_abandoned():
    """A run's maps share one worker pool (no worker start per fit round or evaluation); a map left half way
    kills the pool's workers, and the next map starts a fresh one; outside a run each map has its own pool."""
    import os

    from phasebench.suites.executors import ProcessExecutor, activate

    ex = ProcessExecutor(workers=2)
    with activate(ex):
        first = {pid for _, pid in ex.map_unordered(_worker_pid, range(8))}
        second = {pid for _, pid in ex.map_unordered(_worker_pid, range(8))}
        assert len(first) == 2 and second == first and os.getpid() not in first  # the same workers, not this one
        abandoned = ex.map_unordered(_worker_pid, range(8))
        next(abandoned)
        abandoned.close()
        assert _gone(first)
        third = {pid for _, pid in ex.map_unordered(_worker_pid, range(8))}
        assert third and not third & first
    assert ex._pool is None and _gone(third)  # closed with the run
    lone = ProcessExecutor(workers=2)  # not activated: a pool per map
    assert not {pid for _, pid in lone.map_unordered(_worker_pid, range(8))} & third and lone._pool is None


def _gone(pids):
    """The processes ``pids`` (of this session) have exited within 10 s."""
    import os

    return _wait(lambda: not set(pids) & _session(os.getsid(0)).keys(), 10.0)
