"""Third-party plugins through entry points: a tiny distribution is installed on sys.path."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PLUGIN = textwrap.dedent('''
    import numpy as np
    from phasebench.lattice_models import LatticeModel, Param
    from phasebench.denoisers import DenoiserFamily

    class Checkerboard(LatticeModel):
        description = "tiny plugin model: a random global sign times a checkerboard"
        params = (Param("bias", 0.5, low=0.0, high=1.0, doc="probability of +1"),)
        variable_type = "spin"
        sampler_name = "exact"

        def _sample(self, n, L, seed, **opts):
            rng = np.random.default_rng(seed)
            sign = np.where(rng.random(n) < self.bias, 1, -1)
            board = 1 - 2 * ((np.arange(L)[:, None] + np.arange(L)[None, :]) % 2)
            return (sign[:, None, None, None] * board[None, None]).astype(np.int8), {}

    class Identity(DenoiserFamily):
        description = "tiny plugin family: returns its input"
        trainable = False

        def _fit(self, *args):
            pass

        def _denoise(self, y, level):
            return np.asarray(y, dtype=float)
''')


def make_plugin(tmp_path):
    (tmp_path / "tinyplugin.py").write_text(PLUGIN)
    dist = tmp_path / "tinyplugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: tinyplugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[phasebench.lattice_models]\ncheckerboard = tinyplugin:Checkerboard\n\n"
        "[phasebench.denoisers]\nidentity = tinyplugin:Identity\n"
    )
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))}


def cli(env, *args):
    return subprocess.run([sys.executable, "-m", "phasebench.suites.cli", *args], capture_output=True, text=True, env=env)


def test_plugin_is_listed_and_usable(tmp_path):
    env = make_plugin(tmp_path)
    models = cli(env, "models")
    assert models.returncode == 0 and "checkerboard" in models.stdout and "bias in [0, 1]" in models.stdout
    fams = cli(env, "denoisers")
    assert "identity" in fams.stdout
    out = tmp_path / "c.npz"
    sample = cli(env, "sample", "checkerboard", "-p", "bias=0.25", "--L", "4", "--n", "10", "--out", str(out))
    assert sample.returncode == 0, sample.stderr
    bad = cli(env, "sample", "checkerboard", "-p", "bias=2", "--L", "4", "--n", "10", "--out", str(out) + "x")
    assert bad.returncode == 2 and "bias" in bad.stderr
    use = subprocess.run([sys.executable, "-c", (
        "import numpy as np; from phasebench.lattice_models import datasets, GaussianChannel; from phasebench.denoisers import make_family;"
        f"ds = datasets.load({str(out)!r}); f = make_family('identity', 0).fit(ds.samples, GaussianChannel(), [1.0]);"
        "print(f.denoise(ds.samples, 1.0).shape)")], capture_output=True, text=True, env=env)
    assert use.returncode == 0 and "(10, 1, 4, 4)" in use.stdout, use.stderr
