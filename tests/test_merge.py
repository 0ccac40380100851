"""Merged leaderboards: results of separate runs (one of them the example plugin family) render as one
leaderboard, and results that are not comparable are refused with one line and exit status 2."""

import copy
import json
import sys
from pathlib import Path

import pytest

from phasebench.denoisers import DENOISERS
from phasebench.suites.cli import main
from phasebench.suites.runner import run

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "window_mean"
TINY = {"L": [8], "levels": [0.3, 1.0, 3.0], "radii": [0, 1, 2], "n_train": 200, "n_test": 100}


def strict(path):
    def refuse(token):
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(Path(path).read_text(), parse_constant=refuse)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """The built-in exact and linear families in one run; the example plugin family, registered as its entry
    point would register it, in another."""
    sys.path.insert(0, str(EXAMPLE))
    from window_mean import WindowMean

    DENOISERS.register("window_mean")(WindowMean)
    try:
        a, b = tmp_path_factory.mktemp("builtin"), tmp_path_factory.mktemp("plugin")
        run(tasks=["gff-markov"], families=["exact", "linear"], out_dir=str(a), progress=False, overrides=TINY)
        run(tasks=["gff-markov"], families=["window_mean"], out_dir=str(b), progress=False, overrides=TINY)
        yield a / "results.json", b / "results.json"
    finally:
        DENOISERS._entries.pop("window_mean", None)
        sys.path.remove(str(EXAMPLE))


def test_two_runs_merge_into_one_leaderboard(two_runs, tmp_path):
    a, b = two_runs
    out = tmp_path / "merged.md"
    assert main(["leaderboard", str(a), str(b), "--out", str(out)]) == 0
    text = out.read_text()
    assert text.count("## gff-markov") == 1
    for family in ("exact", "linear", "window_mean"):
        assert f"| {family} |" in text
    first = strict(a)
    assert first["provenance"]["package_version"] in text  # the leaderboard states the version it shows
    assert first["tasks"]["gff-markov"]["datasets"]  # every task records its datasets' hashes
    strict(b)


def mutated(path, tmp_path, change, name="changed.json"):
    data = copy.deepcopy(strict(path))
    change(data)
    out = tmp_path / name
    out.write_text(json.dumps(data))
    return out


@pytest.mark.parametrize("change, message", [
    (lambda d: d["provenance"].update(code_version="0.0.1+gdeadbeef0000"), "different code versions"),
    # a file without a recorded code version: its package version and commit stand for it
    (lambda d: [d["provenance"].pop("code_version", None), d["provenance"].update(git_commit="0" * 40)],
     "different code versions"),
    (lambda d: d["provenance"].update(division="full"), "divisions are not merged"),
    (lambda d: d["tasks"]["gff-markov"]["config"].update(n_test=99), "different grids (n_test differ)"),
    (lambda d: d["tasks"]["gff-markov"]["datasets"].update({"L8": {"train": "0", "test": "0"}}), "different datasets"),
    (lambda d: d["tasks"]["gff-markov"].update(families=["exact"]), "family 'exact' is scored in both"),
])
def test_each_kind_of_mismatch_is_refused(two_runs, tmp_path, capsys, change, message):
    a, b = two_runs
    bad = mutated(b, tmp_path, change)
    out = tmp_path / "merged.md"
    assert main(["leaderboard", str(a), str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not out.exists()
