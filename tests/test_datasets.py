"""Datasets: provenance, hashes, atomic writes, cache regeneration."""

import json

import numpy as np
import pytest

from phasebench.lattice_models import datasets, make_model
from phasebench.lattice_models.provenance import sha256_array


def test_roundtrip_with_metadata(tmp_path):
    ds = datasets.generate(make_model("gff", m=0.5), 5, 8, seed=3)
    path = tmp_path / "d.npz"
    datasets.save(ds, path)
    back = datasets.load(path)
    np.testing.assert_array_equal(back.samples, ds.samples)
    meta = back.metadata
    for key in ("model", "params", "L", "n", "seed", "sampler", "diagnostics", "version", "sha256"):
        assert key in meta
    assert meta["sha256"] == sha256_array(ds.samples)
    assert list(tmp_path.iterdir()) == [path]  # no temporary files left behind


def test_corrupted_file_is_rejected(tmp_path):
    ds = datasets.generate(make_model("gff", m=0.5), 3, 4, seed=0)
    ds.metadata["sha256"] = "0" * 64
    path = tmp_path / "bad.npz"
    datasets.save(ds, path)
    with pytest.raises(ValueError, match="hash mismatch"):
        datasets.load(path)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a phasebench dataset"):
        datasets.load(tmp_path / "junk.npz")


def test_cache_hit_and_corrupted_entry_regenerated(tmp_path, monkeypatch):
    monkeypatch.setenv("PHASEBENCH_CACHE", str(tmp_path))
    m = make_model("gff", m=0.5)
    a = datasets.load_or_generate(m, 4, 8, seed=1)
    files = list(tmp_path.glob("*.npz"))
    assert len(files) == 1
    b = datasets.load_or_generate(m, 4, 8, seed=1)
    assert b.sha256 == a.sha256
    # corrupt the entry: flip a stored sample, keep the stored hash
    with np.load(files[0]) as f:
        samples, meta = f["samples"].copy(), str(f["metadata"])
    samples[0, 0, 0, 0] += 1.0
    np.savez(files[0], samples=samples, metadata=np.array(meta))
    c = datasets.load_or_generate(m, 4, 8, seed=1)
    assert c.sha256 == a.sha256
    np.testing.assert_array_equal(c.samples, a.samples)
    assert json.loads(str(np.load(files[0])["metadata"]))["sha256"] == a.sha256


def test_failed_write_leaves_no_file(tmp_path):
    ds = datasets.generate(make_model("gff", m=0.5), 2, 4, seed=0)
    ds.metadata["bad"] = object()  # not serialisable: save must fail before creating the file
    with pytest.raises(TypeError):
        datasets.save(ds, tmp_path / "x.npz")
    assert list(tmp_path.iterdir()) == []


def test_atomic_writes_get_the_permissions_of_a_plain_open(tmp_path):
    """``mkstemp`` creates its file private to the owner; the renamed output must not stay so."""
    from phasebench.lattice_models.provenance import write_json_atomic

    (tmp_path / "plain.json").write_text("{}")
    write_json_atomic(tmp_path / "atomic.json", {"a": 1})
    datasets.save(datasets.generate(make_model("gff", m=0.5), 2, 4, seed=0), tmp_path / "x.npz")
    plain = (tmp_path / "plain.json").stat().st_mode & 0o777
    assert (tmp_path / "atomic.json").stat().st_mode & 0o777 == plain
    assert (tmp_path / "x.npz").stat().st_mode & 0o777 == plain
