"""spin_indices' cache in build/cache: what it returns is exactly the computation's, prefixes included, and a damaged
file is recomputed, never trusted."""

from __future__ import annotations

import json

import numpy as np

from il6repro import brain


def _computed(n_rot, seed):
    return brain._spin_indices(n_rot, seed, brain.sphere_coords())


def _same(a, b):
    return all(np.array_equal(a[h], b[h]) and a[h].dtype == b[h].dtype for h in brain.HEMIS)


def test_cache_written_and_read_back_exactly(isolated):
    first = brain.spin_indices(12, seed=5)  # computed, written
    files = sorted((isolated["build"] / "cache").glob("spins-*"))
    assert [f.suffix for f in files] == [".json", ".npy"]
    again = brain.spin_indices(12, seed=5)  # read back
    assert _same(first, again) and _same(again, _computed(12, 5))
    prefix = brain.spin_indices(7, seed=5)  # the first rows of the larger draw
    assert _same(prefix, _computed(7, 5))
    assert not _same(brain.spin_indices(7, seed=6), prefix)  # another seed: another key


def test_more_rotations_than_cached_are_computed(isolated):
    brain.spin_indices(5, seed=3)
    more = brain.spin_indices(9, seed=3)
    assert _same(more, _computed(9, 3))
    meta = next((isolated["build"] / "cache").glob("spins-*.json"))
    assert json.loads(meta.read_text())["n_rot"] == 9


def test_damaged_cache_is_recomputed(isolated):
    ref = brain.spin_indices(6, seed=2)
    npy = next((isolated["build"] / "cache").glob("spins-*.npy"))
    raw = bytearray(npy.read_bytes())
    raw[-1] ^= 0xFF  # one index changed: the checksum no longer matches
    npy.write_bytes(bytes(raw))
    assert _same(brain.spin_indices(6, seed=2), ref)
