"""The command line: listings, sampling, bad input (one line on stderr, exit 2, no output file)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from phasebench.suites.cli import main

ROOT = Path(__file__).resolve().parent.parent


def run_cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_models_and_denoisers_listings(capsys):
    code, out, _ = run_cli(capsys, "models")
    assert code == 0 and "gff" in out and "param m in [0, inf]" in out
    code, out, _ = run_cli(capsys, "models", "--json")
    assert any(m["name"] == "gff" for m in json.loads(out))
    code, out, _ = run_cli(capsys, "denoisers")
    assert code == 0 and "linear" in out and "exact" in out and "trainable" in out
    code, out, _ = run_cli(capsys, "tasks")
    assert code == 0 and "gff-markov" in out and "np." not in out  # numbers formatted for people, not numpy reprs


def test_sample_writes_dataset_and_summary(capsys, tmp_path):
    out_file = tmp_path / "g.npz"
    code, out, _ = run_cli(capsys, "sample", "gff", "-p", "m=0.5", "--L", "8", "--n", "20", "--seed", "1", "--out", str(out_file))
    assert code == 0 and out_file.exists()
    assert "sha256" in out and "x2" in out and "exact" in out


BAD = [
    (["sample", "nosuchmodel", "--L", "8", "--n", "2", "--out", "{out}"], "unknown model"),
    (["sample", "gff", "-p", "m=-1", "--L", "8", "--n", "2", "--out", "{out}"], "'m'"),
    (["sample", "gff", "--L", "1", "--n", "2", "--out", "{out}"], "L must be"),
    (["sample", "gff", "--L", "8", "--n", "0", "--out", "{out}"], "n must be"),
    (["sample", "gff", "-p", "mass", "--L", "8", "--n", "2", "--out", "{out}"], "NAME=VALUE"),
    (["run", "--task", "nosuchtask", "--out", "{dir}"], "unknown task"),
    (["run", "--task", "gff-markov", "--family", "nosuchfamily", "--out", "{dir}"], "unknown denoiser family"),
    (["run", "--task", "gff-markov", "--levels", "0", "--out", "{dir}"], "lambda"),
    (["run", "--task", "gff-markov", "--levels", "-1", "--out", "{dir}"], "lambda"),
    (["run", "--task", "gff-markov", "--radii", "-1", "--out", "{dir}"], "radius"),
    (["run", "--task", "gff-markov", "--L", "1", "--out", "{dir}"], "L must be"),
    (["run", "--division", "huge", "--out", "{dir}"], "division"),
    (["leaderboard", "{missing}"], "no such file"),
    (["leaderboard", "{junk}"], "not readable JSON"),
    (["leaderboard", "{foreign}"], "neither"),
    (["frobnicate"], "invalid choice"),
    (["sample", "ising", "-p", "T=0", "--L", "8", "--n", "2", "--out", "{out}"], "'T'"),
    (["sample", "ising", "-p", "T=-1", "--L", "8", "--n", "2", "--out", "{out}"], "'T'"),
    (["sample", "ising", "--sampler-option", "algorithm=metropolis", "--L", "7", "--n", "2", "--out", "{out}"], "even"),
    (["sample", "ising", "--sampler-option", "algorithm=heatbath", "--L", "8", "--n", "2", "--out", "{out}"], "algorithm"),
    (["run", "--task", "ising-speciation", "--L", "14", "--out", "{dir}"], "L <= 12"),
    (["run", "--task", "ising-temperature", "--L", "8", "--out", "{dir}"], "L = 2 mod 4"),
    (["run", "--task", "gff-markov", "--budget", "-1", "--out", "{dir}"], "budget"),
    (["run", "--task", "gff-markov", "--budget", "nan", "--out", "{dir}"], "budget"),
    (["run", "--task", "gff-markov", "--seed", "-1", "--out", "{dir}"], "seed"),
    (["sample", "toric_loops", "-p", "x=0", "--L", "4", "--n", "2", "--out", "{out}"], "'x'"),
    (["sample", "toric_loops", "-p", "x=1.5", "--L", "4", "--n", "2", "--out", "{out}"], "'x'"),
    (["run", "--task", "toric-bitflip", "--levels", "0.6", "--out", "{dir}"], "[0, 0.5]"),
    (["run", "--task", "toric-bitflip", "--L", "16", "--radii", "8", "--out", "{dir}"], "window"),
    (["run", "--task", "toric-bitflip", "--family-option", "cnn.bach=3", "--out", "{dir}"], "has no hyperparameter 'bach'"),
    (["run", "--task", "toric-bitflip", "--family-option", "cnn.batch=0", "--out", "{dir}"], "batch"),
    (["run", "--task", "toric-bitflip", "--family-option", "cnn=3", "--out", "{dir}"], "FAMILY.NAME=VALUE"),
    (["run", "--task", "toric-bitflip", "--family-option", "nope.batch=3", "--out", "{dir}"], "unknown denoiser family"),
    # outputs that cannot be written are refused before any work
    (["run", "--task", "gff-markov", "--out", "{junk}"], "exists and is not a directory"),
    (["run", "--task", "gff-markov", "--out", "{junk}/run"], "is a file, not a directory"),
    (["leaderboard", "{foreign}", "--out", "{junk}/leaderboard.md"], "is a file, not a directory"),
    (["leaderboard", "{foreign}", "--out", "{tmp}"], "exists and is not a file"),
]


def test_family_options_from_the_command_line_merge_over_the_task_s():
    from phasebench.suites.cli import parse_family_options
    from phasebench.suites.runner import apply_overrides
    from phasebench.suites.tasks import get_task

    opts = parse_family_options(["cnn.batch=32", "cnn.lr=1e-3", "cnn.output=linear"])
    assert opts == {"cnn": {"batch": 32, "lr": 1e-3, "output": "linear"}}
    task = get_task("toric-gaussian")
    own = task.config("full").family_options["cnn"]
    assert own["batch"] == 2 and own["lr_final"] == 1e-4
    cfg = apply_overrides(task, task.config("full"), {"family_options": opts})
    assert cfg.family_options["cnn"] == {**own, **opts["cnn"]}  # batch and lr replaced, lr_final kept


def test_seed_override_reseeds_the_task():
    from phasebench.suites.runner import apply_overrides
    from phasebench.suites.tasks import get_task

    task = get_task("toric-bitflip")
    assert apply_overrides(task, task.config("quick"), {"seed": 7}).seed == 7


@pytest.mark.parametrize("args,needle", BAD)
def test_bad_input_one_line_exit_2_no_output(capsys, tmp_path, args, needle):
    (tmp_path / "junk.json").write_text("{not json")
    (tmp_path / "foreign.json").write_text(json.dumps({"hello": 1}))
    subs = {"out": str(tmp_path / "o.npz"), "dir": str(tmp_path / "run"), "missing": str(tmp_path / "none.json"),
            "junk": str(tmp_path / "junk.json"), "foreign": str(tmp_path / "foreign.json"), "tmp": str(tmp_path)}
    code, out, err = run_cli(capsys, *[a.format(**subs) for a in args])
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and needle in err, err
    assert "Traceback" not in err
    assert not (tmp_path / "o.npz").exists() and not (tmp_path / "run").exists()


def test_bitflip_p_out_of_range_is_rejected():
    from phasebench.lattice_models import BitFlipChannel
    from phasebench.suites.runner import apply_overrides
    from phasebench.suites.tasks import TaskConfig

    class FakeTask:
        def model(self):
            from phasebench.lattice_models import make_model

            return make_model("gff")

        def channel(self):
            return BitFlipChannel()

    cfg = TaskConfig(L=(8,), levels=(0.1,), radii=(0,), n_train=1, n_test=1)
    for p in (-0.1, 0.6):
        with pytest.raises(ValueError, match=r"\[0, 0.5\]"):
            apply_overrides(FakeTask(), cfg, {"levels": [p]})


def test_console_script_exit_status_without_traceback(tmp_path):
    env = dict(os.environ)
    proc = subprocess.run([sys.executable, "-m", "phasebench.suites.cli", "sample", "gff", "-p", "m=-2", "--L", "8", "--n", "2",
                           "--out", str(tmp_path / "x.npz")], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
    assert not (tmp_path / "x.npz").exists()


def test_inspect_validates_datasets(capsys, tmp_path):
    import numpy as np

    from phasebench.lattice_models import datasets, make_model
    from phasebench.lattice_models.provenance import sha256_array

    good = tmp_path / "loops.npz"
    assert main(["sample", "toric_loops", "--L", "4", "--n", "5", "--out", str(good)]) == 0
    code, out, _ = run_cli(capsys, "inspect", str(good))
    assert code == 0 and "toric_loops" in out and "sha256" in out
    ds = datasets.load(good)
    broken = ds.samples.copy()
    broken[0, 0, 0, 0] ^= 1  # one flipped edge: odd parity at two vertices
    ds.samples = broken
    ds.metadata["sha256"] = sha256_array(broken)  # a well-formed file whose content is invalid
    datasets.save(ds, tmp_path / "broken.npz")
    code, _, err = run_cli(capsys, "inspect", str(tmp_path / "broken.npz"))
    assert code == 2 and "parity" in err and len(err.strip().splitlines()) == 1


def test_closed_pipe_stops_quietly():
    """``phasebench tasks | head -1``: the reader is gone; no traceback, status 141 (128 + SIGPIPE)."""
    read_end, write_end = os.pipe()
    proc = subprocess.Popen([sys.executable, "-m", "phasebench.suites.cli", "tasks"], stdout=write_end,
                            stderr=subprocess.PIPE)
    os.close(write_end)
    os.close(read_end)  # closed before the listing is written: its first write meets a broken pipe
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141 and "Traceback" not in err, err
