"""Stopping a long command: SIGINT (Ctrl-C) and SIGTERM end it at once, and no worker outlives it.

* :func:`stop_signals_raise` (the CLI wraps every command in it): SIGINT and SIGTERM raise
  :class:`Interrupted` in the main thread wherever it is.  It unwinds like an exception, so ``finally``
  blocks run: the atomic writers (:mod:`phasebench.lattice_models.provenance`) delete their temporary files
  and nothing partial is left.  The CLI turns it into one line and the status 128 + signal number, after
  :func:`prepare_exit`.  Python runs signal handlers between bytecodes only, so a long native call (a
  numba kernel) must return every fraction of a second, as the loop-gas sampler's does.
* :class:`WorkerPool`: a ``spawn`` process pool for work that runs long in workers (member fits).  When
  its block ends with any exception (an interrupt, a failed fit) the workers are killed, not awaited:
  their results would be thrown away.  Workers ignore SIGINT (Ctrl-C reaches the terminal's whole
  process group; the parent alone decides), and stop by themselves when the parent dies, even by
  SIGKILL: on Linux the kernel kills them (``prctl(PR_SET_PDEATHSIG)``); everywhere (macOS too) a
  thread in each worker polls its parent's pid.  The multiprocessing resource tracker exits once the
  parent and the workers are gone (it reads a pipe they all hold).
"""

from __future__ import annotations

import _thread
import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Iterator

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
PARENT_POLL_SECONDS = 0.5  # how often a worker checks that its parent lives (the portable path)
#: an interrupt lost in a finalizer is raised again this much later (docs/decisions/interrupt-landing.md)
REDELIVER_SECONDS = 0.01
KILLED_WORKER_WAIT_SECONDS = 2.0  # a SIGKILLed worker is reaped in milliseconds; this bounds a stuck one
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived.  A BaseException, like KeyboardInterrupt, so that ``except Exception``
    handlers do not swallow it."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(self.signal_name)

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_status(self) -> int:
        """The shell's convention for a command ended by a signal: 130 for SIGINT, 143 for SIGTERM."""
        return 128 + self.signum


@contextlib.contextmanager
def stop_signals_raise() -> Iterator[None]:
    """Within the block, the first SIGINT or SIGTERM raises :class:`Interrupted`; later ones are ignored
    so that the unwinding (killing workers, removing temporary files) is not itself interrupted.
    Signals ignored on entry stay ignored; outside the main thread, where Python cannot install
    handlers, it changes nothing.

    The handler runs in whatever Python frame the main thread is in, and two kinds of frame do not let
    the exception through: a finalizer or callback (``__del__``, a weakref callback such as importlib's
    module-lock cleanup), where Python reports it to ``sys.unraisablehook`` and goes on; and a native
    caller that wraps it (a pybind11 extension's initialisation turns it into ``ImportError`` with the
    interrupt as its cause).  The first is delivered again in the main flow: the hook re-raises the
    signal with ``_thread.interrupt_main`` from a timer thread, once the finalizer has returned, or at
    the block's end if that comes first.  The second is recognised by :func:`interrupt_behind`."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    state = {"signum": None, "redeliver": False, "in_hook": False, "timer": None}

    def handler(signum, frame):
        if state["signum"] is not None and not state["redeliver"]:
            return  # a later signal, during the unwinding
        if state["in_hook"]:  # raised here it would be lost too: once more, later
            deliver_later(signum)
            return
        state["signum"], state["redeliver"] = signum, False
        raise Interrupted(signum)

    def deliver_later(signum):
        state["redeliver"] = True
        state["timer"] = threading.Timer(REDELIVER_SECONDS, _thread.interrupt_main, (signum,))
        state["timer"].daemon = True
        state["timer"].start()

    def unraisable(report):
        if isinstance(report.exc_value, Interrupted) and report.exc_value.signum == state["signum"]:
            state["in_hook"] = True  # swallowed by a finalizer: raise it again once back in the main flow
            try:
                deliver_later(report.exc_value.signum)
            finally:
                state["in_hook"] = False
        else:
            previous_hook(report)

    # a signal ignored from the start stays ignored (a shell's background job ignores SIGINT, nohup SIGHUP)
    previous = {s: signal.signal(s, handler) for s in STOP_SIGNALS if signal.getsignal(s) is not signal.SIG_IGN}
    previous_hook, sys.unraisablehook = sys.unraisablehook, unraisable
    try:
        yield
        if state["redeliver"]:  # the block ended before the interrupt came back
            raise Interrupted(state["signum"])
    finally:
        if state["timer"] is not None:
            state["timer"].cancel()
        sys.unraisablehook = previous_hook
        for s, h in previous.items():
            if h is not None:  # None: a handler not installed from Python, which cannot be restored
                signal.signal(s, h)


def interrupt_behind(exc: BaseException) -> Interrupted | None:
    """The :class:`Interrupted` that ``exc`` is, or that caused it (its ``__cause__`` or ``__context__``
    chain), else None: an interrupt that a library turned into its own error is still an interrupt."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, Interrupted):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def prepare_exit() -> None:
    """For a program that was interrupted and now returns its status.  Further SIGINT and SIGTERM are
    ignored (a second Ctrl-C would print a traceback from the interpreter's shutdown), and the objects that
    exist now are left out of the final garbage collections (gc.freeze), which over torch's object graph
    take seconds (5-7 s on a loaded 2-core machine, 1 s after this) while the user waits for the prompt.
    The exit's cleanups (atexit, finalizers) still run."""
    import gc

    if threading.current_thread() is threading.main_thread():
        for s in STOP_SIGNALS:
            signal.signal(s, signal.SIG_IGN)
    gc.freeze()


class WorkerPool(ProcessPoolExecutor):
    """``ProcessPoolExecutor`` with ``spawn`` workers that never outlive this process and are killed, not
    awaited, when the ``with`` block ends with an exception."""

    def __init__(self, max_workers: int):
        super().__init__(max_workers=max_workers, mp_context=get_context("spawn"), initializer=_start_worker,
                         initargs=(os.getpid(),))

    def submit(self, fn, /, *args, **kwargs):
        # a worker is spawned here, in this thread, and inherits its signal mask: blocked, a Ctrl-C during
        # the worker's start waits for _start_worker, which ignores it (else: a traceback from the worker)
        with _blocked(signal.SIGINT):
            return super().submit(fn, *args, **kwargs)

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.shutdown(wait=True)
        else:
            self.kill_workers_now()
        return False

    def kill_workers_now(self) -> None:
        """SIGKILL every worker, drop the queued work, and reap the workers (milliseconds)."""
        workers = list((self._processes or {}).values())
        for p in workers:
            with contextlib.suppress(OSError, ValueError):  # already gone
                p.kill()
        self.shutdown(wait=False, cancel_futures=True)
        for p in workers:
            with contextlib.suppress(OSError, ValueError, AssertionError):
                p.join(KILLED_WORKER_WAIT_SECONDS)


@contextlib.contextmanager
def _blocked(signum: int) -> Iterator[None]:
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - Windows
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signum})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def _start_worker(parent_pid: int) -> None:
    """Worker initializer: ignore Ctrl-C, and die with the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before the line above took effect
        os._exit(1)
    threading.Thread(target=_exit_when_orphaned, args=(parent_pid,), name="phasebench-parent-watch",
                     daemon=True).start()


def _exit_when_orphaned(parent_pid: int) -> None:
    """An orphan is adopted by init or a subreaper, so its parent pid changes (the portable path)."""
    while os.getppid() == parent_pid:
        time.sleep(PARENT_POLL_SECONDS)
    os._exit(1)
