"""Where independent pieces of work run: in this process, in local worker processes, or on a Dask cluster.

The runner's unit of mapped work is a member fit (:func:`phasebench.suites.parallel_fit.fit_members`): every
fit is a pure, deterministic function of its :class:`~phasebench.suites.parallel_fit.MemberSpec` (one torch
thread; a budget in reference seconds fixes the work), so the executor changes where and how fast members are
fitted and nothing else (``tests/test_executors.py`` checks the scores bit for bit).

* ``serial``: every fit in this process, one after the other.
* ``processes`` (the default, no server needed): a ``spawn`` pool of ``PHASEBENCH_WORKERS`` processes on this
  machine (:class:`phasebench.suites.interrupts.WorkerPool`: killed, not awaited, on Ctrl-C).
* ``dask``: ``dask.distributed``; a ``LocalCluster`` of ``PHASEBENCH_WORKERS`` single-threaded worker processes
  when no scheduler address is given, else ``Client(address)`` on an existing cluster (docs/running.md: SLURM
  through dask-jobqueue, Kubernetes through dask-kubernetes).  A fit on a Dask worker runs under the
  environment variables that decide its numerics in this process (:data:`FORWARDED_ENV`), so a worker
  started elsewhere computes what a local process would.

The runner activates one executor for a whole run (:func:`activate`); code that maps work asks for
:func:`current` (the ``processes`` executor when none is active).
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, Callable, Iterator, List, Optional, Sequence, Tuple


def n_workers() -> int:
    """Fit workers on this machine: ``PHASEBENCH_WORKERS`` if set, one on a GPU, else one per available core."""
    forced = os.environ.get("PHASEBENCH_WORKERS")
    if forced:
        try:
            n = int(forced)
        except ValueError:
            raise ValueError(f"PHASEBENCH_WORKERS must be a positive integer, got {forced!r}") from None
        if n < 1:
            raise ValueError(f"PHASEBENCH_WORKERS must be a positive integer, got {forced!r}")
        return n
    from phasebench.denoisers.base import torch_device

    if torch_device() != "cpu":  # one process drives the GPU; more would each hold a CUDA context
        return 1
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


EXECUTORS = ("serial", "processes", "dask")

#: variables that change a fit's numbers or device; sent with every Dask task and set in the worker
FORWARDED_ENV = ("PHASEBENCH_TORCH_THREADS", "PHASEBENCH_DEVICE", "PHASEBENCH_CUDA_GRAPHS")


class Executor:
    """Maps a function over independent items; results are yielded as they finish, with their index."""

    name = "serial"

    def slots(self) -> int:
        """How many items run at once (for the cost model of ``phasebench run --dry-run``)."""
        return 1

    def map_unordered(self, fn: Callable[[Any], Any], items: Sequence[Any],
                      meanwhile: Callable[[], None] = lambda: None) -> Iterator[Tuple[int, Any]]:
        """``(index, fn(item))`` for every item as it finishes; ``meanwhile()`` runs in this process once the
        items are submitted (the fits that stay here, while workers train)."""
        meanwhile()
        for i, item in enumerate(items):
            yield i, fn(item)

    def close(self, abort: bool = False) -> None:
        """Release the executor's resources; ``abort``: an exception is in flight, kill rather than wait."""

    def describe(self) -> dict:
        return {"executor": self.name, "slots": self.slots()}


class SerialExecutor(Executor):
    """Everything in this process (``--executor serial``, or ``PHASEBENCH_WORKERS=1``)."""


class ProcessExecutor(Executor):
    """Local ``spawn`` worker processes, ``workers`` of them (default ``PHASEBENCH_WORKERS`` or the cores).

    Activated for a run (:func:`activate`), it keeps one pool for all of the run's maps: a worker's start
    (importing torch and the package, 3-7 s on a 2-core machine) is paid once, not per fit round or evaluation.
    Outside a run each map has a pool of its own.  A map left with an exception (an interrupt, a failed item)
    kills the workers, as does closing the executor with an exception in flight."""

    name = "processes"

    def __init__(self, workers: Optional[int] = None):
        self.workers = n_workers() if workers is None else workers
        self._pool = None  # kept while the executor is active

    def slots(self) -> int:
        return self.workers

    def map_unordered(self, fn, items, meanwhile=lambda: None):
        from .interrupts import WorkerPool

        if self.workers < 2 or len(items) < 2:  # a pool's start-up is not worth it
            yield from super().map_unordered(fn, items, meanwhile)
            return
        if self not in _ACTIVE:
            with WorkerPool(min(self.workers, len(items))) as pool:
                yield from _pool_map(pool, fn, items, meanwhile)
            return
        if self._pool is None:
            self._pool = WorkerPool(self.workers)
        try:
            yield from _pool_map(self._pool, fn, items, meanwhile)
        except BaseException:  # GeneratorExit too: a map abandoned half way leaves work in the workers
            self.close(abort=True)
            raise

    def close(self, abort: bool = False) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.kill_workers_now() if abort else pool.shutdown(wait=True)


def _pool_map(pool, fn, items, meanwhile):
    from concurrent.futures import as_completed

    futures = {pool.submit(fn, item): i for i, item in enumerate(items)}
    meanwhile()
    for future in as_completed(futures):
        yield futures[future], future.result()


def run_with_env(env: dict, fn: Callable[[Any], Any], item: Any) -> Any:
    """On a Dask worker: ``fn(item)`` with the driver's :data:`FORWARDED_ENV` in place (unset where unset)."""
    for key in FORWARDED_ENV:
        if env.get(key) is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = env[key]
    return fn(item)


class DaskExecutor(Executor):
    """``dask.distributed``: a ``LocalCluster`` (no address) or the cluster at ``scheduler``."""

    name = "dask"

    def __init__(self, scheduler: Optional[str] = None, workers: Optional[int] = None):
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise ValueError("--executor dask needs dask.distributed: pip install 'phasebench[dask]'") from None
        self.scheduler = scheduler
        self.cluster = None
        if scheduler is None:
            # one thread per worker process: fits are single-threaded, and torch holds the GIL in Python code
            self.cluster = LocalCluster(n_workers=n_workers() if workers is None else workers, threads_per_worker=1,
                                        processes=True, dashboard_address=None)
            self.client = Client(self.cluster)
        else:
            try:
                self.client = Client(scheduler, timeout="20s")
            except (OSError, TimeoutError, ValueError) as err:
                raise ValueError(f"--scheduler {scheduler}: cannot connect to a Dask scheduler ({err})") from None

    def slots(self) -> int:
        return max(1, sum(w.get("nthreads", 1) for w in self.client.scheduler_info()["workers"].values()))

    def map_unordered(self, fn, items, meanwhile=lambda: None):
        from dask.distributed import as_completed

        env = {key: os.environ.get(key) for key in FORWARDED_ENV}
        futures = [self.client.submit(run_with_env, env, fn, item, pure=False) for item in items]
        index = {f.key: i for i, f in enumerate(futures)}
        try:
            meanwhile()
            for future in as_completed(futures):
                yield index[future.key], future.result()
        finally:  # an interrupt or a failed fit: drop what has not run
            self.client.cancel([f for f in futures if not f.done()])

    def close(self, abort: bool = False) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def describe(self) -> dict:
        return {**super().describe(), "scheduler": self.scheduler or "LocalCluster"}


def make_executor(name: str, scheduler: Optional[str] = None) -> Executor:
    """The executor ``name`` (:data:`EXECUTORS`); ``scheduler`` (a Dask address) only with ``dask``."""
    if name not in EXECUTORS:
        raise ValueError(f"unknown executor {name!r} (known: {', '.join(EXECUTORS)})")
    if scheduler is not None and name != "dask":
        raise ValueError(f"--scheduler is an address of a Dask scheduler: it needs --executor dask, not {name!r}")
    if name == "serial":
        return SerialExecutor()
    if name == "processes":
        return ProcessExecutor()
    return DaskExecutor(scheduler)


_ACTIVE: List[Executor] = []


def current() -> Executor:
    """The executor of the run in progress, else a fresh ``processes`` executor (today's default)."""
    return _ACTIVE[-1] if _ACTIVE else ProcessExecutor()


@contextlib.contextmanager
def activate(executor: Executor) -> Iterator[Executor]:
    """Make ``executor`` :func:`current` within the block, and close it at the end (at once, killing its workers,
    when the block ends with an exception)."""
    _ACTIVE.append(executor)
    aborted = True
    try:
        yield executor
        aborted = False
    finally:
        _ACTIVE.remove(executor)
        executor.close(abort=aborted)


@contextlib.contextmanager
def ensure_active() -> Iterator[Executor]:
    """The executor of the run in progress, else a ``processes`` executor activated for the block (so that the
    block's maps share one worker pool)."""
    if _ACTIVE:
        yield _ACTIVE[-1]
        return
    with activate(ProcessExecutor()) as executor:
        yield executor
