"""The ``phasebench`` command line's arguments: one parser per subcommand (the handlers are in
:mod:`phasebench.suites.cli`).  A malformed command line is one line on stderr and exit status 2 (:class:`BadInput`)."""

from __future__ import annotations

import argparse
from typing import Callable, Dict

EXIT_REGRESSION = 1  # leaderboard --compare --fail-on-regression: a score regressed


class BadInput(ValueError):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, no usage dump
        raise BadInput(message)


def _radius(text: str):
    """``--radius``: an integer >= 0, or 'global' (None)."""
    return None if text in ("global", "none", "None") else int(text)


def build_parser(commands: Dict[str, Callable[[argparse.Namespace], int]]) -> argparse.ArgumentParser:
    """The parser of every subcommand; ``commands``: its handler by name (``args.func``)."""
    p = _Parser(prog="phasebench", description="Benchmark local denoisers on lattice data with known phases.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    s = sub.add_parser("models", help="list lattice models, parameters and known transitions")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=commands["models"])

    s = sub.add_parser("denoisers", help="list denoiser families")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=commands["denoisers"])

    s = sub.add_parser("tasks", help="list tasks")
    s.set_defaults(func=commands["tasks"])

    s = sub.add_parser("sample", help="sample a dataset to an .npz file with provenance")
    s.add_argument("model")
    s.add_argument("-p", "--param", action="append", metavar="NAME=VALUE")
    s.add_argument("--sampler-option", action="append", metavar="NAME=VALUE")
    s.add_argument("--L", type=int, required=True)
    s.add_argument("--n", type=int, required=True)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", required=True)
    s.set_defaults(func=commands["sample"])

    s = sub.add_parser("generate", help="generate samples with a diffusion reverse process driven by a denoiser schedule")
    s.add_argument("model")
    s.add_argument("-p", "--param", action="append", metavar="NAME=VALUE")
    s.add_argument("--channel", help="noise channel of the diffusion (default: bitflip for binary data, else gaussian)")
    s.add_argument("--channel-option", action="append", metavar="NAME=VALUE")
    s.add_argument("--L", type=int, required=True)
    s.add_argument("--n", type=int, required=True)
    s.add_argument("--family", required=True, help="the denoiser family acting outside the global window")
    s.add_argument("--radius", type=_radius, required=True, help="its radius (an integer >= 0, or 'global')")
    s.add_argument("--global", dest="global_family", metavar="FAMILY", help="the family whose global member acts in --window")
    s.add_argument("--window", metavar="LO:HI", help="the level window (lambda or p) of the global member")
    s.add_argument("--steps", type=int, help="reverse steps (default: 200)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--n-reference", type=int, help="reference samples of the model's sampler (default: --n)")
    s.add_argument("--n-train", type=int, default=2000, help="training configurations of trainable families")
    s.add_argument("--budget", type=float, help="training budget per fitted member, in reference seconds")
    s.add_argument("--family-option", action="append", metavar="FAMILY.NAME=VALUE")
    s.add_argument("--out", required=True)
    s.set_defaults(func=commands["generate"], fits_members=True)

    s = sub.add_parser("inspect", help="validate a dataset file and summarise it")
    s.add_argument("file")
    s.set_defaults(func=commands["inspect"])

    s = sub.add_parser("run", help="run tasks and write results.json, leaderboard.md and plots")
    s.add_argument("--division", default="quick")
    s.add_argument("--task", action="append")
    s.add_argument("--model", help="run the generic objective that the model's declared transitions choose, on any "
                                   "registered model (plugins included), instead of tasks")
    s.add_argument("-p", "--param", action="append", metavar="NAME=VALUE", help="a model parameter (with --model)")
    s.add_argument("--channel", help="the noise channel (with --model; default gaussian)")
    s.add_argument("--channel-option", action="append", metavar="NAME=VALUE",
                   help="a channel option (with --model), e.g. encode_binary_as_spin=1")
    s.add_argument("--family", action="append")
    s.add_argument("--out", default="reports/latest")
    s.add_argument("--L", type=int, nargs="+", help="override the task's lattice sizes")
    s.add_argument("--levels", type=float, nargs="+", help="override the noise levels (lambda or p)")
    s.add_argument("--radii", type=int, nargs="+", help="override the radii")
    s.add_argument("--values", type=float, nargs="+",
                   help="override the grid of the scanned model parameter (parameter-axis objectives, e.g. T)")
    s.add_argument("--n-train", type=int, help="override the training set size")
    s.add_argument("--n-test", type=int, help="override the test set size")
    s.add_argument("--seed", type=int, help="override the task's seed (data, noise, training and bootstrap seeds all derive from it)")
    s.add_argument("--budget", type=float, help="override the training budget per fitted member, in reference seconds (the work that takes that long on the reference machine; see README)")
    s.add_argument("--rules", choices=("open", "closed"),
                   help="closed: every learned family trains with the same compute and within a parameter band "
                        "(docs/leaderboard.md); default open")
    s.add_argument("--train-seeds", type=int, metavar="N",
                   help="training seeds per member of a trainable family (default: 1 in the quick division, 3 in the full)")
    s.add_argument("--family-option", action="append", metavar="FAMILY.NAME=VALUE",
                   help="set a family's option for every task, over the task's own (e.g. cnn.batch=32, cnn.steps=5000)")
    s.add_argument("--no-progress", action="store_true")
    s.add_argument("--executor", choices=("serial", "processes", "dask"), default="processes",
                   help="where member fits run: this process, local worker processes (default), or Dask")
    s.add_argument("--scheduler", metavar="ADDRESS",
                   help="with --executor dask: the scheduler of an existing cluster, e.g. tcp://host:8786 "
                        "(default: a LocalCluster on this machine)")
    s.add_argument("--dry-run", action="store_true",
                   help="print the cells, those already done in OUT's store, and their estimated cost; do no work")
    s.set_defaults(func=commands["run"], fits_members=True)

    s = sub.add_parser("cmi", help="the conditional mutual information heat map I(level, r) of a task's noisy data")
    s.add_argument("task")
    s.add_argument("--estimator", required=True, help="exact, gaussian, immse or mine (phasebench.suites.cmi)")
    s.add_argument("--division", default="quick")
    s.add_argument("--n", type=int, help="samples for a data-based estimator (default: the task's test set size)")
    s.add_argument("--levels", type=float, nargs="+", help="override the noise levels")
    s.add_argument("--radii", type=int, nargs="+", help="override the radii")
    s.add_argument("--L", type=int, nargs="+", help="override the lattice size (the first is used)")
    s.add_argument("--seed", type=int, help="override the task's seed")
    s.add_argument("--centres", type=int, help="sites A averaged per configuration by the exact Ising estimator "
                                              "(default 8; one transfer-matrix call per centre and radius)")
    s.add_argument("--out", default="reports/cmi")
    s.set_defaults(func=commands["cmi"])

    s = sub.add_parser("leaderboard", help="render results.json, a run's results store or pytest-benchmark JSON as "
                                           "Markdown (several: merged into one leaderboard), or compare two")
    s.add_argument("files", nargs="*", help="results.json, pytest-benchmark JSON, or an output directory (its "
                                            "cells.jsonl store); results of different code versions are refused")
    s.add_argument("--compare", nargs=2, metavar=("OLD", "NEW"),
                   help="each score's change between two runs (results.json or pytest-benchmark JSON), with its CI; "
                        "changes outside the CIs are flagged")
    s.add_argument("--fail-on-regression", action="store_true",
                   help=f"with --compare: exit with status {EXIT_REGRESSION} when a flagged change is a regression")
    s.add_argument("--out")
    s.set_defaults(func=commands["leaderboard"])
    return p
