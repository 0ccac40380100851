"""The ``phasebench`` command line.

Bad input (unknown names, out-of-range parameters, malformed files) prints one
line on stderr and exits with status 2; every output file is written
atomically, so a failed command leaves no partial output.  SIGINT (Ctrl-C) and
SIGTERM stop any command at once, its worker processes included, with one line
on stderr and the status 130 or 143 (:mod:`phasebench.suites.interrupts`).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import List, Optional

from phasebench.suites.cli_parser import EXIT_REGRESSION, BadInput
from phasebench.suites.cli_parser import build_parser as _build_parser
from phasebench.suites.interrupts import Interrupted, interrupt_behind, prepare_exit, stop_signals_raise

EXIT_BAD_INPUT = 2
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a writer killed by a closed pipe


def check_output(path: str, directory: bool) -> None:
    """Refuse, before any work, an output path that cannot be written: a directory where a file goes (or the
    reverse), or an ancestor that is a file or not writable."""
    target = Path(path)
    kind = "directory" if directory else "file"
    if target.exists() and target.is_dir() != directory:
        raise BadInput(f"output {path}: exists and is not a {kind}")
    parent = target if directory else target.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise BadInput(f"output {path}: {parent} is a file, not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise BadInput(f"output {path}: {parent} is not writable")


def cmd_models(args) -> int:
    from phasebench.lattice_models import MODELS

    infos = [MODELS.get(n).describe() for n in MODELS.names()]
    if args.json:
        print(json.dumps(infos, indent=2))
        return 0
    for info in infos:
        print(f"{info['name']}: {info['description']}")
        print(f"  variables: {info['variable_type']}, channels={info['channels']}, boundary={info['boundary']}, sampler={info['sampler']}")
        for p in info["params"]:
            print(f"  param {p['name']} in {p['range']} (default {p['default']:g}): {p['doc']}")
        for t in info["transitions"]:
            where = f" under the {t['channel']} channel" if t["channel"] else ""
            flag = "" if t["scored"] else " [unverified, not scored]"
            fss = ", ".join(f"{k} {t[k]:.4g}" for k in ("crossing_exponent", "nu") if t.get(k) is not None)
            fss = f" [{fss}]" if fss else ""
            print(f"  transition {t['axis']} = {t['value']:g} +- {t['uncertainty']:g}{where} ({t['reference']}){flag}{fss}")
    return 0


def cmd_denoisers(args) -> int:
    from phasebench.denoisers import DENOISERS

    infos = [DENOISERS.get(n).describe_family() for n in DENOISERS.names()]
    if args.json:
        print(json.dumps(infos, indent=2))
        return 0
    for info in infos:
        print(f"{info['name']}: {info['description']}")
        print(f"  radius: {info['radius_semantics']}; global member: {'yes' if info['global_member'] else 'no'}; "
              f"trainable: {'yes' if info['trainable'] else 'no'}; models: {', '.join(info['models'])}")
        for h in info["hyperparameters"]:
            print(f"  hyperparameter {h['name']} = {h['default']!r}, {h['allowed']}: {h['doc']}")
    return 0


def cmd_tasks(args) -> int:
    from phasebench.suites.tasks import TASKS, get_task

    for name in TASKS.names():
        t = get_task(name)
        q = t.config("quick")
        print(f"{name}: {t.description}")
        print(f"  model {t.model_name} {t.model_params}, channel {t.channel_name}; quick: L={list(q.L)}, "
              f"{t.levels_text(q)}, radii={list(q.radii)}{'' if t.scored else ' [unscored]'}")
    return 0


def _summary(model, ds) -> None:
    L = ds.samples.shape[-1]
    exact = model.exact_observables(L)
    for name, (mean, se) in model.observables(ds.samples).items():
        ref = f"   exact {exact[name]:.6g}" if name in exact else ""
        print(f"  {name:>12s} = {mean:.6g} +- {se:.2g}{ref}")
    diag = ds.metadata.get("diagnostics", {})
    if diag:
        print("  sampler: " + ", ".join(f"{k}={v}" for k, v in diag.items() if not isinstance(v, (dict, list))))
    print(f"  sha256 {ds.sha256}")


def cmd_sample(args) -> int:
    from phasebench.lattice_models import datasets, make_model, parse_param_assignments

    model = make_model(args.model, **parse_param_assignments(args.param, "parameter"))
    options = parse_param_assignments(args.sampler_option, "sampler option")
    ds = datasets.generate(model, args.n, args.L, args.seed, **options)
    datasets.save(ds, args.out)
    print(f"{args.model} {model.values} L={args.L} n={args.n} seed={args.seed} -> {args.out}")
    _summary(model, ds)
    return 0


def cmd_generate(args) -> int:
    from phasebench.lattice_models import datasets, make_model, parse_param_assignments
    from phasebench.lattice_models.channels import make_channel
    from phasebench.suites.generation.observables import format_comparison
    from phasebench.suites.generation.run import default_channel_name, run_generation
    from phasebench.suites.generation.schedule import parse_window

    model = make_model(args.model, **parse_param_assignments(args.param, "parameter"))
    channel = make_channel(args.channel or default_channel_name(model),
                           **parse_param_assignments(args.channel_option, "channel option"))
    window = None if args.window is None else parse_window(args.window)
    options = parse_family_options(args.family_option or [])
    ds = run_generation(model, channel, args.L, args.n, args.family, args.radius, global_family=args.global_family,
                        window=window, steps=args.steps, seed=args.seed, n_reference=args.n_reference,
                        budget=args.budget, n_train=args.n_train, family_options=options)
    datasets.save(ds, args.out)
    gen = ds.metadata["diagnostics"]["generation"]
    sched = gen["schedule"]
    where = "" if sched["global"] is None else (f" + global {sched['global']['family']} on {args.channel or channel.name} "
                                                f"level window {sched['window']} ({sched['global_fraction']:.0%} of calls)")
    print(f"{args.model} {model.values} L={args.L} n={args.n} seed={args.seed}: {gen['process']}, "
          f"{gen['path']['steps']} steps, {args.family} r={args.radius}{where} -> {args.out} ({gen['wall_seconds']:.1f} s)")
    print(format_comparison(gen["comparison"]))
    print(f"  sha256 {ds.sha256}")
    return 0


def cmd_inspect(args) -> int:
    from phasebench.lattice_models import datasets, make_model

    ds = datasets.load(args.file)  # validates format, hash and the model's constraints
    meta = ds.metadata
    model = make_model(meta["model"], **meta["params"])
    print(f"{args.file}: {meta['model']} {meta['params']} L={meta['L']} n={meta['n']} seed={meta['seed']} "
          f"(phasebench {meta['version']}, sampler {meta['sampler']})")
    _summary(model, ds)
    return 0


def parse_family_options(items: List[str]) -> dict:
    """``FAMILY.NAME=VALUE`` items -> {family: {name: value}}; a value is read as JSON (32, 1e-3, true) or else
    kept as a string."""
    out: dict = {}
    for item in items:
        target, sep, text = item.partition("=")
        family, dot, name = target.partition(".")
        if not (sep and dot and family and name):
            raise BadInput(f"--family-option wants FAMILY.NAME=VALUE (e.g. cnn.batch=32), got {item!r}")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        out.setdefault(family, {})[name] = value
    return out


def grid_overrides(args, **names: str) -> dict:
    """The grid overrides that the command line gives: override name -> the ``args`` attribute it comes from."""
    return {key: getattr(args, attr) for key, attr in names.items() if getattr(args, attr) is not None}


def cmd_run(args) -> int:
    from phasebench.lattice_models import parse_param_assignments
    from phasebench.suites.runner import run

    overrides = grid_overrides(args, L="L", levels="levels", radii="radii", budget="budget", n_train="n_train",
                               n_test="n_test", seed="seed", axis_values="values", train_seeds="train_seeds",
                               rules="rules")
    if args.family_option:
        overrides["family_options"] = parse_family_options(args.family_option)
    model = None
    if args.model is not None:
        if args.task:
            raise BadInput("give --task or --model, not both")
        model = {"name": args.model, "params": parse_param_assignments(args.param, "parameter"), "channel": args.channel,
                 "channel_options": parse_param_assignments(args.channel_option, "channel option")}
    elif args.param or args.channel or args.channel_option:
        raise BadInput("-p/--param, --channel and --channel-option need --model")
    if args.scheduler is not None and args.executor != "dask":
        raise BadInput(f"--scheduler is the address of a Dask scheduler: it needs --executor dask, not {args.executor}")
    if args.dry_run:
        return dry_run(args, overrides, model)
    check_output(args.out, directory=True)
    results = run(tasks=args.task, families=args.family, division=args.division, out_dir=args.out,
                  progress=not args.no_progress, overrides=overrides, model=model, executor=args.executor,
                  scheduler=args.scheduler)
    print(f"wrote {args.out}/results.json and {args.out}/leaderboard.md "
          f"({results['provenance']['wall_seconds']:.0f} s)")
    return 0


def dry_run(args, overrides, model) -> int:
    """``phasebench run --dry-run``: print the cells, which are done in the store, and their estimated cost."""
    from phasebench.suites.executors import make_executor
    from phasebench.suites.executors import n_workers
    from phasebench.suites.results_store import ResultsStore, code_version
    from phasebench.suites.runner import plan
    from phasebench.suites.sweep_plan import render_plan

    if args.executor == "dask" and args.scheduler:  # the cluster's worker threads (a LocalCluster is not started)
        executor = make_executor("dask", args.scheduler)
        try:
            slots = executor.slots()
        finally:
            executor.close()
    else:
        slots = 1 if args.executor == "serial" else n_workers()
    cells = plan(tasks=args.task, families=args.family, division=args.division, out_dir=args.out,
                 overrides=overrides, model=model, slots=slots)
    sys.stdout.write(render_plan(cells, ResultsStore(args.out), code_version(),
                                 {"executor": args.executor, "slots": slots}))
    return 0


def cmd_leaderboard(args) -> int:
    from phasebench.lattice_models.provenance import write_text_atomic
    from phasebench.suites.leaderboard import render_file

    if args.compare and args.files:
        raise BadInput("give result files to render or --compare OLD NEW, not both")
    if args.fail_on_regression and not args.compare:
        raise BadInput("--fail-on-regression needs --compare OLD NEW")
    if args.out:
        check_output(args.out, directory=False)
    status = 0
    if args.compare:
        from phasebench.suites.compare import compare_files

        text, changes = compare_files(*args.compare)
        status = EXIT_REGRESSION if args.fail_on_regression and any(c.regression for c in changes) else 0
    elif len(args.files) == 1:  # a store of mixed code versions is refused by its reader
        text = render_file(args.files[0])
    elif args.files:  # several runs, one leaderboard; refused (exit 2) where versions or grids differ
        from phasebench.suites.leaderboard import render_merged

        text = render_merged(args.files)
    else:
        raise BadInput("give result files (results.json or pytest-benchmark JSON) or --compare OLD NEW")
    if args.out:
        write_text_atomic(args.out, text)
    else:
        sys.stdout.write(text)
    return status


def cmd_cmi(args) -> int:
    from phasebench.suites.cmi.heatmap import check_estimator, write_heatmap
    from phasebench.suites.runner import apply_overrides
    from phasebench.suites.tasks import get_task

    task = get_task(args.task)
    check_estimator(args.estimator, task.model_name, task.channel())
    overrides = grid_overrides(args, L="L", levels="levels", radii="radii", seed="seed")
    cfg = apply_overrides(task, task.division_config(args.division), overrides)
    if args.n is not None and args.n < 3:
        raise BadInput(f"--n must be >= 3, got {args.n}")
    if args.centres is not None and (args.centres < 1 or task.model_name != "ising"):
        raise BadInput(f"--centres takes a positive count, for the exact Ising estimator only; got {args.centres} "
                       f"for {args.task}")
    result = write_heatmap(task, cfg, args.estimator, args.out, args.n, args.centres)
    print(f"{args.task}: {len(result['cells'])} cells, {result['wall_seconds']:.1f} s; wrote {args.out}/cmi_{args.estimator}.json "
          f"and {args.out}/{result['plot']}")
    return 0


def interrupted_message(args, stop: Interrupted) -> str:
    """The one line for an interrupted command: what stopped, and where finished fits were kept."""
    store = os.path.join(args.out, "cells.jsonl") if args.command == "run" else None
    if store is not None and os.path.exists(store):
        line = (f"phasebench: {args.command} interrupted by {stop.signal_name}; the finished cells are in {store} "
                f"(the same command resumes from them)")
    else:
        line = f"phasebench: {args.command} interrupted by {stop.signal_name}; no output was written"
    if getattr(args, "fits_members", False):
        from phasebench.suites.fit_cache import cache_directory

        directory = cache_directory()
        line += (f"; the fits and evaluations finished so far are in the fit cache {directory}" if directory else
                 "; set PHASEBENCH_FIT_CACHE to keep fits and evaluations across interruptions")
    return line


def build_parser():
    """The command line's parser (:mod:`phasebench.suites.cli_parser`) with this module's handlers."""
    return _build_parser({name[4:]: f for name, f in globals().items() if name.startswith("cmd_")})


def main(argv: Optional[List[str]] = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        with stop_signals_raise():
            return args.func(args)
    except Interrupted as stop:
        return interrupted_exit(args, stop)
    except Exception as exc:
        stop = interrupt_behind(exc)  # a library's error raised by the interrupt (interrupts module doc)
        if stop is not None:
            return interrupted_exit(args, stop)
        if isinstance(exc, ValueError):  # BadInput, UnknownNameError and parameter validation errors
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            print(f"phasebench: error: {msg}", file=sys.stderr)
            return EXIT_BAD_INPUT
        if isinstance(exc, BrokenPipeError):  # the reader went away (``phasebench tasks | head``): stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at stdout's flush
            return EXIT_BROKEN_PIPE
        raise


def interrupted_exit(args, stop: Interrupted) -> int:
    print(interrupted_message(args, stop), file=sys.stderr)
    prepare_exit()
    return stop.exit_status


if __name__ == "__main__":
    sys.exit(main())
