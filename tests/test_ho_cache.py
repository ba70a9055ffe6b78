"""harvard_oxford_labels' cache (build/cache): what it returns is exactly the computation's, and a damaged file is
recomputed, never trusted."""

from __future__ import annotations

import numpy as np
import pytest

from il6repro import _paths, brain
from il6repro._argmax import argmax_last_axis
from il6repro.data.tables import load_harvard_oxford


@pytest.fixture
def derived(tmp_path, monkeypatch):
    """The cache's folder in a temporary build folder (the data layer keeps reading the verified atlas where it is)."""
    monkeypatch.setattr(_paths, "build_dir", lambda: tmp_path / "build")
    return tmp_path / "build" / "cache"


def test_cache_written_read_back_and_equal_to_the_computation(derived):
    img, _ = load_harvard_oxford()
    lab, labels = brain.harvard_oxford_labels()
    files = sorted(derived.glob("ho-argmax-*"))
    assert [f.suffix for f in files] == [".json", ".npz"]
    again, _ = brain.harvard_oxford_labels()  # read back
    first, top = brain._ho_argmax(img, argmax_last_axis)  # computed without the cache
    assert first.dtype == np.int16
    ref = first.copy()
    ref[top < 25.0] = -1
    for got in (lab, again):
        data = np.asarray(got.dataobj)
        assert data.dtype == np.int16 and np.array_equal(data, ref) and np.array_equal(got.affine, img.affine)
    assert set(np.unique(ref)) - {-1} <= set(labels["index"])
    low, _ = brain.harvard_oxford_labels(threshold=50.0)  # another threshold from the same cached maxima
    ref50 = first.copy()
    ref50[top < 50.0] = -1
    assert np.array_equal(np.asarray(low.dataobj), ref50) and (ref50 == -1).sum() > (ref == -1).sum()


def test_damaged_cache_is_recomputed(derived):
    ref, _ = brain.harvard_oxford_labels()
    npz = next(derived.glob("ho-argmax-*.npz"))
    raw = bytearray(npz.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # one byte changed: the checksum no longer matches
    npz.write_bytes(bytes(raw))
    again, _ = brain.harvard_oxford_labels()
    assert np.array_equal(np.asarray(again.dataobj), np.asarray(ref.dataobj))
    assert brain._ho_argmax_cache(load_harvard_oxford()[0], argmax_last_axis)[0].shape == ref.shape  # rewritten


def test_voxels_equal_nibabels_reader(tmp_path):
    """brain._voxels (zlib-ng, read in place) gives nibabel's array: on the Harvard-Oxford maps, on small images of
    other types and orders, and through nibabel itself where the header scales the values or the file is not gzip."""
    import nibabel as nib

    img, _ = load_harvard_oxford()
    got = brain._voxels(img)
    assert got.shape == img.shape and np.array_equal(got, np.asarray(img.dataobj))
    rng = np.random.default_rng(0)
    cases = {"f32.nii.gz": rng.standard_normal((5, 6, 7, 3)).astype(np.float32),
             "i16.nii.gz": rng.integers(-300, 300, (4, 3, 5)).astype(np.int16),
             "plain.nii": rng.standard_normal((3, 4, 5)),
             "scaled.nii.gz": rng.integers(0, 100, (4, 4, 4)).astype(np.int16)}
    for name, data in cases.items():
        im = nib.Nifti1Image(data, np.eye(4))
        if name.startswith("scaled"):
            im.header.set_slope_inter(0.5, 2.0)
        nib.save(im, tmp_path / name)
        back = nib.load(tmp_path / name)
        got = brain._voxels(back)
        assert got.shape == data.shape and np.array_equal(got, np.asarray(back.dataobj)), name
    assert np.array_equal(brain._voxels(nib.load(tmp_path / "scaled.nii.gz")),
                          np.asarray(nib.load(tmp_path / "scaled.nii.gz").dataobj))
