"""The grid nearest-vertex search behind the spin permutations gives cKDTree's exact answers."""

import numpy as np
import pytest
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from il6repro import brain
from il6repro._nearest import Grid


@pytest.mark.parametrize("hemi", ["left", "right"])
def test_rotated_spheres_equal_ckdtree(hemi):
    xyz = brain.sphere_coords()[hemi]
    rots = Rotation.random(40, random_state=np.random.default_rng(2022)).as_matrix()
    pts = np.concatenate([xyz @ r for r in rots])
    assert np.array_equal(Grid(xyz).nearest(pts), cKDTree(xyz).query(pts, k=1)[1])


def test_points_off_the_sphere_and_outside_the_grid():
    xyz = brain.sphere_coords()["left"]
    rng = np.random.default_rng(0)
    pts = np.concatenate([rng.normal(0, 60, (150, 3)),  # inside the sphere, far from any vertex
                          rng.normal(0, 400, (150, 3)),  # mostly outside the grid's box
                          xyz[rng.integers(0, len(xyz), 200)] * 1.001])
    assert np.array_equal(Grid(xyz).nearest(pts), cKDTree(xyz).query(pts, k=1)[1])
    for cell in (2.0, 7.0, 40.0):  # the answer does not depend on the cell size
        assert np.array_equal(Grid(xyz, cell=cell).nearest(pts), cKDTree(xyz).query(pts, k=1)[1])


def test_ties_go_to_the_lowest_index_and_a_vertex_finds_itself():
    xyz = np.array([[0.0, 0, 0], [2.0, 0, 0], [1.0, 5, 0], [2.0, 0, 0]])  # vertices 1 and 3 coincide
    got = Grid(xyz, cell=1.0).nearest(np.array([[1.0, 0, 0], [2.0, 0, 0], [1.0, 5, 0], [1.9, 0.1, 0]]))
    assert got.tolist() == [0, 1, 2, 1]  # (1,0,0) is as far from 0 as from 1: the lower index


def test_spin_indices_are_independent_of_the_thread_count(monkeypatch):
    coords = brain.sphere_coords()
    many = brain._spin_indices(9, 3, coords)
    monkeypatch.setattr(brain.os, "cpu_count", lambda: 1)
    one = brain._spin_indices(9, 3, coords)
    assert all(np.array_equal(many[h], one[h]) for h in brain.HEMIS)


def test_bad_vertices_refused():
    with pytest.raises(ValueError, match=r"\(V, 3\)"):
        Grid(np.zeros((4, 2)))
