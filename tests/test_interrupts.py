"""SIGINT, SIGTERM and SIGKILL of ``phasebench run`` while members fit in worker processes
(suites.interrupts, issue 28): the run stops at once with one line and the status 128 + signal, writes
nothing, leaves no process behind, and a rerun gives the results of an uninterrupted run.  Also: Ctrl-C
stops ``phasebench sample`` inside the loop-gas kernel, and an orphaned worker exits without Linux's help.

Each run is a real ``python -m phasebench.suites.cli run`` in its own session, so that its processes
(the parent, the spawned workers and the multiprocessing resource tracker) are found by session id in
/proc.  The grid is tiny (gff-markov, cnn, L = 8, one level, radii 0-3, 4 members on 2 workers, a small
fixed number of Adam steps); the signal goes out when the first fitted member reaches the fit cache, while
the workers fit the others.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from phasebench.suites import cli
from phasebench.suites.interrupts import PARENT_POLL_SECONDS, Interrupted, stop_signals_raise

needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds a run's processes in /proc")

GRID = ["--task", "gff-markov", "--family", "cnn", "--L", "8", "--levels", "1.0", "--radii", "0", "1", "2", "3",
        *[a for opt in ("steps=200", "width=8", "depth=1", "embed_dim=8", "polish_configs=16")
          for a in ("--family-option", f"cnn.{opt}")]]
EXIT_WITHIN_SECONDS = 3.0  # issue 28: the prompt is back within 3 s of Ctrl-C
ORPHANS_GONE_WITHIN_SECONDS = 10.0  # issue 28: no worker outlives a SIGKILLed run by more than 10 s
START_TIMEOUT_SECONDS = 600.0  # imports, data and the first fits on a loaded 2-core machine
UNTIMED = ("provenance", "fit_cache", "reused_evaluations")  # machine, clock, argv; where a member or record was read from


def _sigint_default():
    """In the child: SIGINT to its default. A test runner started in the background of a non-interactive shell
    (a CI script, ``cmd &``) passes SIGINT on as ignored, and a program that finds it ignored keeps it so, as
    Python does (``nohup`` semantics); the run under test stands for one started from a terminal."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _session(sid: int):
    """{pid: (state, cmdline)} of the live processes of session ``sid`` (zombies are finished)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # exited meanwhile
            continue
        state, session = fields[0], int(fields[3])
        if session == sid and state != "Z":
            found[int(entry.name)] = (state, cmdline)
    return found


def _workers(sid: int):
    return [pid for pid, (_, cmd) in _session(sid).items() if "spawn_main" in cmd]


def _wait(condition, timeout: float, every: float = 0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(every)
    return condition()


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    return tmp_path_factory.mktemp("datasets")  # a private PHASEBENCH_CACHE, shared by the module's runs


def _start(tmp: Path, datasets: Path, fit_cache: Path = None, workers: int = 2):
    env = dict(os.environ, PHASEBENCH_CACHE=str(datasets), PHASEBENCH_WORKERS=str(workers), TMPDIR=str(tmp / "tmp"))
    env.pop("PHASEBENCH_FIT_CACHE", None)
    if fit_cache is not None:
        env["PHASEBENCH_FIT_CACHE"] = str(fit_cache)
    (tmp / "tmp").mkdir(exist_ok=True)
    argv = [sys.executable, "-m", "phasebench.suites.cli", "run", *GRID, "--out", str(tmp / "out"), "--no-progress"]
    return subprocess.Popen(argv, env=env, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=_sigint_default)


def _complete(tmp: Path, datasets: Path, fit_cache: Path = None, workers: int = 2) -> dict:
    proc = _start(tmp, datasets, fit_cache, workers)
    out, err = proc.communicate(timeout=START_TIMEOUT_SECONDS)
    assert proc.returncode == 0, err
    return _untimed(json.loads((tmp / "out" / "results.json").read_text()))


def _untimed(obj):
    """results.json without what differs between identical runs: provenance, timings, fit-cache paths."""
    if isinstance(obj, dict):
        return {k: _untimed(v) for k, v in obj.items() if k not in UNTIMED and not k.endswith("seconds")}
    if isinstance(obj, list):
        return [_untimed(v) for v in obj]
    return obj


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, datasets):
    """Fitted in-process, which saves two workers' start: members fitted in workers are the same bit for bit
    (tests/test_parallel_fit.py), and the worker count is in the provenance, which is not compared."""
    return _complete(tmp_path_factory.mktemp("uninterrupted"), datasets, workers=1)


def _interrupt(tmp: Path, datasets: Path, signum: int, to_group: bool, after_first_fit: bool):
    """Start a run with a fit cache and send it ``signum`` while its workers fit: once they exist, or once
    the first member reached the cache (so that a rerun resumes from it)."""
    fit_cache = tmp / "fits"
    proc = _start(tmp, datasets, fit_cache)
    ready = (lambda: list(fit_cache.glob("*.pkl")) and _workers(proc.pid)) if after_first_fit else (
        lambda: len(_workers(proc.pid)) == 2)
    _wait(lambda: proc.poll() is not None or ready(), START_TIMEOUT_SECONDS, 0.01)
    workers = _workers(proc.pid)
    assert proc.poll() is None and workers, "the run ended before it could be interrupted"
    sent = time.monotonic()
    if to_group:  # Ctrl-C: the terminal signals the whole foreground process group
        os.killpg(proc.pid, signum)
    else:
        os.kill(proc.pid, signum)
    return proc, sent, workers, fit_cache


def _check_stopped_at_once(proc, sent: float, workers, fit_cache: Path, tmp: Path, signum: int):
    """Acceptance 1 of issue 28, for SIGINT and SIGTERM."""
    try:
        proc.wait(timeout=60)
    finally:
        proc.kill()
    latency = time.monotonic() - sent
    name = signal.Signals(signum).name
    stderr = proc.stderr.read()
    remaining = _session(proc.pid)
    gone = _wait(lambda: not _session(proc.pid), 1.0)
    print(f"{name}: status {proc.returncode} after {latency:.2f} s; at exit {len(remaining)} of the run's "
          f"processes remained ({len(workers)} workers before), {len(_session(proc.pid))} after 1 s")
    assert proc.returncode == 128 + signum
    assert latency < EXIT_WITHIN_SECONDS
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"phasebench: run interrupted by {name}; no output was written")
    assert str(fit_cache) in lines[0]
    assert not (tmp / "out").exists()
    assert not list((tmp / "tmp").glob("phasebench-run-*"))  # no staged plots left behind
    assert not [p for p in fit_cache.glob("*") if p.suffix != ".pkl"]  # no partial cache entry
    assert not set(workers) & remaining.keys()  # killed and reaped before the run exited
    assert gone, _session(proc.pid)  # the resource tracker follows within a second


@needs_proc
def test_ctrl_c_stops_the_run_at_once_and_a_rerun_gives_the_uninterrupted_results(tmp_path, datasets, uninterrupted):
    _check_stopped_at_once(*_interrupt(tmp_path, datasets, signal.SIGINT, to_group=True, after_first_fit=True),
                           tmp_path, signal.SIGINT)
    assert _complete(tmp_path, datasets, tmp_path / "fits") == uninterrupted


@needs_proc
def test_sigterm_stops_the_run_at_once(tmp_path, datasets):
    _check_stopped_at_once(*_interrupt(tmp_path, datasets, signal.SIGTERM, to_group=False, after_first_fit=False),
                           tmp_path, signal.SIGTERM)


@needs_proc
def test_workers_of_a_killed_run_stop_by_themselves_and_a_rerun_gives_the_uninterrupted_results(
        tmp_path, datasets, uninterrupted):
    proc, sent, workers, fit_cache = _interrupt(tmp_path, datasets, signal.SIGKILL, to_group=False,
                                                after_first_fit=True)
    proc.wait(timeout=10)
    gone = _wait(lambda: not _session(proc.pid), ORPHANS_GONE_WITHIN_SECONDS)
    latency = time.monotonic() - sent
    print(f"SIGKILL: {len(workers)} workers and the resource tracker gone after {latency:.2f} s")
    assert gone, _session(proc.pid)

    assert _complete(tmp_path, datasets, fit_cache) == uninterrupted


@needs_proc
def test_a_worker_whose_parent_dies_exits_without_the_linux_signal(tmp_path):
    """The portable path (macOS): the watcher thread alone, no prctl."""
    # the parent's pid is read before the child reports itself: once it has, the test may kill the parent at once
    orphan = ("import os, time; from phasebench.suites.interrupts import _exit_when_orphaned; "
              "parent = os.getppid(); print(os.getpid(), flush=True); _exit_when_orphaned(parent)")
    parent = (f"import subprocess, sys, time; p = subprocess.Popen([sys.executable, '-c', {orphan!r}]); "
              "time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", parent], stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        child = int(proc.stdout.readline())
        assert _session(proc.pid).keys() == {proc.pid, child}
        proc.kill()
        proc.wait()
        t0 = time.monotonic()
        assert _wait(lambda: child not in _session(proc.pid), 10 * PARENT_POLL_SECONDS)
        print(f"orphan exited {time.monotonic() - t0:.2f} s after its parent")
    finally:
        proc.kill()


def _threads(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("Threads:")))


@needs_proc
def test_ctrl_c_stops_sample_inside_the_loop_gas_sampler(tmp_path):
    """The sampler's kernel runs in calls of ~0.2 s: a single call for 10^6 sweeps would take minutes."""
    argv = [sys.executable, "-m", "phasebench.suites.cli", "sample", "toric_loops", "-p", "x=0.6", "--L", "32",
            "--n", "64", "--sampler-option", "thermalization=1000000", "--out", str(tmp_path / "s.npz")]
    # no BLAS threads: the second thread is numba's, started by the first kernel call (thermalization)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", NUMBA_NUM_THREADS="2")
    proc = subprocess.Popen(argv, env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=_sigint_default)
    try:
        assert _wait(lambda: proc.poll() is not None or _threads(proc.pid) > 1, START_TIMEOUT_SECONDS, 0.05)
        time.sleep(0.5)
        sent = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=60)
        latency = time.monotonic() - sent
    finally:
        proc.kill()
    stderr = proc.stderr.read()
    print(f"sample SIGINT: status {proc.returncode} after {latency:.2f} s")
    assert proc.returncode == 130 and latency < EXIT_WITHIN_SECONDS
    assert stderr.splitlines() == ["phasebench: sample interrupted by SIGINT; no output was written"], stderr
    assert not list(tmp_path.iterdir())


def test_the_loop_gas_in_short_kernel_calls_gives_the_samples_of_one_call(monkeypatch):
    from phasebench.lattice_models import toric_loops

    def sample(site_sweeps_per_call):
        monkeypatch.setattr(toric_loops, "KERNEL_CALL_SITE_SWEEPS", site_sweeps_per_call)
        return toric_loops.sample_loop_gas(70, 6, 1, 0.3, chains=16, spacing=3, thermalization=50, pilot_sweeps=40)

    one_call, (short_samples, short_diag) = sample(1 << 40), sample(1000)  # 1000: 3 sweeps a call (spacing 3)
    assert np.array_equal(one_call[0], short_samples)
    assert one_call[1] == short_diag  # the occupation series (tau_int) too


def test_interrupted_names_the_signal_and_the_shell_status():
    assert (Interrupted(signal.SIGINT).exit_status, Interrupted(signal.SIGTERM).exit_status) == (130, 143)
    assert Interrupted(signal.SIGTERM).signal_name == "SIGTERM"
    assert not isinstance(Interrupted(signal.SIGINT), Exception)  # `except Exception` does not swallow it


def test_an_interrupt_swallowed_by_a_finalizer_is_raised_again_where_it_propagates():
    """The handler runs in whatever frame is current; in a ``__del__`` (or importlib's module-lock weakref
    callback, where CI met it) Python reports the exception as unraisable and goes on.  SIGTERM: a test runner
    in a CI script's background may have SIGINT ignored, which stop_signals_raise leaves so."""

    class SignalledInFinalizer:
        def __del__(self):
            signal.raise_signal(signal.SIGTERM)  # the handler runs here, inside __del__

    unraisable = []
    hook, sys.unraisablehook = sys.unraisablehook, unraisable.append
    try:
        with pytest.raises(Interrupted) as stop:
            with stop_signals_raise():
                SignalledInFinalizer()  # collected at once
                deadline = time.monotonic() + 5.0
                while time.monotonic() < deadline:
                    time.sleep(0.001)
        assert stop.value.signum == signal.SIGTERM
        with pytest.raises(Interrupted):  # the block ends before the timer: raised at its end
            with stop_signals_raise():
                SignalledInFinalizer()
        assert unraisable == []  # taken by the interrupt's hook, not reported
    finally:
        sys.unraisablehook = hook


def test_an_error_that_a_library_raises_from_the_interrupt_ends_the_command_as_the_interrupt(monkeypatch, capsys):
    """pybind11 turns an exception raised during an extension's initialisation into ``ImportError`` (CI met it
    with Ctrl-C during ``import pymatching``): the command ends as interrupted, one line, status 130."""

    def import_interrupted(args):
        try:
            raise Interrupted(signal.SIGINT)
        except Interrupted as exc:
            raise ImportError("initialization failed") from exc

    monkeypatch.setattr(cli, "cmd_models", import_interrupted)
    monkeypatch.setattr(cli, "prepare_exit", lambda: None)  # keeps this test process's signals and gc as they are
    assert cli.main(["models"]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["phasebench: models interrupted by SIGINT; no output was written"]
