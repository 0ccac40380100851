"""Leaderboards: render saved results (results.json) or pytest-benchmark JSON as Markdown."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any, Dict, List, Sequence

from .results_format import RESULTS_FORMAT, missing_numbers_as_nan


def _cell(value: Any) -> str:
    """A table cell's text: a ``|`` inside it (``|T_c^ - T_c|``) is escaped, or it would end the cell."""
    return re.sub(r"(?<!\\)\|", r"\\|", str(value))


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(_cell(c) for c in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def load(path: str | Path) -> Dict[str, Any]:
    """Read a results or pytest-benchmark file; ValueError if unreadable or foreign."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"no such file: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not readable JSON ({type(exc).__name__})") from None
    if isinstance(data, dict) and data.get("format") == RESULTS_FORMAT and isinstance(data.get("tasks"), dict):
        return {**data, "tasks": missing_numbers_as_nan(data["tasks"])}
    if isinstance(data, dict) and isinstance(data.get("benchmarks"), list) and "machine_info" in data:
        return data
    raise ValueError(f"{path} is neither a phasebench results file nor pytest-benchmark JSON")


def render_results(results: Dict[str, Any]) -> str:
    from .objectives import task_from_record
    from .tasks import TASKS, get_task

    prov = results.get("provenance", {})
    hw = prov.get("hardware", {})
    out = [
        "# phasebench leaderboard",
        "",
        f"- division: {prov.get('division')}, package {prov.get('package_version')}, commit {prov.get('git_commit') or 'n/a'}"
        + (f", code version {prov['code_version']} (every task below)" if prov.get("code_version") else ""),
        f"- hardware: {hw.get('processor')} ({hw.get('cpu_count')} cores){', GPU ' + hw['gpu'] if hw.get('gpu') else ''}; "
        f"wall time {prov.get('wall_seconds', float('nan')):.0f} s",
        "- scores carry 95% bootstrap CIs over independent test configurations; see each task's section.",
        "",
    ]
    for name, t in results["tasks"].items():
        out += [f"## {name}{'' if t.get('scored', True) else ' (unscored measurement)'}", "", t.get("description", ""), ""]
        task = get_task(name) if name in TASKS else task_from_record(name, t)  # a --model run rebuilds its objective
        if task is None:
            out += [f"(task {name!r} is not installed; raw summary keys: {', '.join(t['summary'])})", ""]
            continue
        header, rows = task.leaderboard_rows(t["summary"])
        out += [table(header, rows), ""]
        rules = t.get("rules") or {}
        if rules.get("rules") == "closed":
            flops = rules.get("train_flops_per_member")
            out += [f"- **closed rules**: every learned member's Adam loop trained with {flops:.3g} multiply-adds (forward "
                    f"and backward), the same training configurations; parameter band {rules['param_band'][0]:,}-"
                    f"{rules['param_band'][1]:,}" + (f"; outside it, not comparable: {', '.join(rules['outside_band'])}"
                                                      if rules.get("outside_band") else "; every family inside it")
                    if isinstance(flops, (int, float)) else "- **closed rules**", ""]
        if t.get("placement"):
            from .placement import placement_intro, placement_rows

            out += placement_intro(t["placement"]) + [table(*placement_rows(t["placement"])), ""]
        if "wall_seconds" in t:
            stages = ", ".join(f"{k.split(':', 1)[-1]} {v:.0f} s" for k, v in t.get("stage_seconds", {}).items())
            out += [f"- wall time {t['wall_seconds']:.0f} s ({stages})", ""]
        if "bootstrap" in t:  # results files of older versions lack it
            b = t["bootstrap"]
            out += [f"- CIs: {b.get('ci_level', 0.95):.0%} percentile bootstrap over test configurations, "
                    f"{b['n_resamples']} resamples, seeds derived from the task seed {b['seed']}", ""]
        refused = [s for s in t["summary"].values() if s.get("refused")]
        for s in refused:
            reports = list(s.get("locality", {}).values())
            reports += [v for e in s.get("per_L", {}).values() for v in e.get("locality", {}).values()]
            msgs = {v["message"] for v in reports if not v.get("passed")}
            out.append(f"- **{s['family']}** refused: {'; '.join(sorted(msgs))}")
        for p in t.get("plots", []):
            out.append(f"![{Path(p).stem}]({p})")
        out.append("")
    from .overall import overall_of_results, overall_rows

    table_overall = overall_of_results(results)
    if table_overall:
        out += ["## Overall", "", "Each family's mean rank over the tasks that rank it by their placement score, with a parametric-"
                "bootstrap 95% interval (docs/leaderboard.md#overall).",
                "", table(*overall_rows(table_overall)), ""]
    return "\n".join(out) + "\n"


def render_benchmarks(data: Dict[str, Any]) -> str:
    mi = data.get("machine_info", {})
    cpu = mi.get("cpu", {})
    out = [
        "# phasebench speed benchmarks",
        "",
        f"- machine: {cpu.get('brand_raw', mi.get('processor', '?'))}, {cpu.get('count', '?')} cores, "
        f"python {mi.get('python_version', '?')}; {data.get('datetime', '')}",
        "- times are medians; ratios in extra_info are measured against a baseline in the same run.",
        "",
    ]
    header = ["benchmark", "median", "IQR", "rounds", "extra_info"]
    rows: List[List[str]] = []
    for b in data["benchmarks"]:
        st = b.get("stats", {})
        extra = ", ".join(f"{k}={_fmt(v)}" for k, v in sorted(b.get("extra_info", {}).items()))
        rows.append([b.get("fullname", b.get("name", "?")), _fmt_time(st.get("median")), _fmt_time(st.get("iqr")),
                     str(st.get("rounds", "")), extra])
    return "\n".join(out) + "\n" + table(header, rows) + "\n"


def split_benchmarks(data: Dict[str, Any]) -> tuple:
    """pytest-benchmark JSON -> (results.json-shaped dicts joined from its score cases, one per division;
    the same JSON with its speed benchmarks only, or None where it has none)."""
    from .case_records import is_case, results_from_cases

    cases = [{**b["extra_info"], "record": missing_numbers_as_nan(b["extra_info"]["record"])}
             for b in data["benchmarks"] if is_case(b.get("extra_info"))]
    speed = [b for b in data["benchmarks"] if not is_case(b.get("extra_info"))]
    results = [{"format": RESULTS_FORMAT, **r} for r in results_from_cases(cases)]
    return results, ({**data, "benchmarks": speed} if speed else None)


def results_of(path: str | Path) -> List[Dict[str, Any]]:
    """The results of a results.json, or those joined from the score cases of a pytest-benchmark JSON;
    ValueError if it holds none."""
    data = load(path)
    if data.get("format") == RESULTS_FORMAT:
        return [data]
    results, _ = split_benchmarks(data)
    if not results:
        raise ValueError(f"{path} holds no phasebench score cases (suites/benchmarks/test_scores.py)")
    return results


def contents_of(path: str | Path) -> tuple:
    """``(results, speed benchmarks or None)`` of a results store (an output directory or its cells.jsonl, of one
    code version: :func:`phasebench.suites.results_store.results_from_store`), a results.json, or a
    pytest-benchmark JSON (:func:`split_benchmarks`)."""
    from .results_store import results_from_store, store_of

    store = store_of(path)
    if store is not None:
        return [results_from_store(store)], None
    data = load(path)
    if data.get("format") == RESULTS_FORMAT:
        return [data], None
    return split_benchmarks(data)


def render_file(path: str | Path) -> str:
    """A results.json or a results store as its leaderboard; a pytest-benchmark JSON as the leaderboard of its
    score cases (the same as from the results.json of a run of the same cells and seeds) and a section of its
    speed benchmarks (:func:`contents_of`)."""
    results, speed = contents_of(path)
    parts = [render_results(r) for r in results] + ([render_benchmarks(speed)] if speed else [])
    return "\n".join(parts) if parts else render_benchmarks(load(path))


def render_merged(paths: Sequence[str | Path]) -> str:
    """One leaderboard from the results of several runs (results.json, stores or pytest-benchmark JSON of score
    cases), merged by :func:`phasebench.suites.merge.merge_results` (which refuses results that are not
    comparable), and the speed benchmarks of each pytest-benchmark JSON."""
    from .merge import merge_results

    named, speed = [], []
    for path in paths:
        results, bench = contents_of(path)
        if not results and not bench:
            raise ValueError(f"{path} holds neither phasebench results nor benchmarks")
        named += [(str(path), r) for r in results]
        speed += [bench] if bench else []
    parts = [render_results(merge_results(named))] if named else []
    return "\n".join(parts + [render_benchmarks(b) for b in speed])


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _fmt_time(t: Any) -> str:
    if not isinstance(t, (int, float)) or math.isnan(t):
        return "n/a"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if t >= scale:
            return f"{t / scale:.3g} {unit}"
    return f"{t * 1e9:.3g} ns"
