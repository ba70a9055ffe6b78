"""Figures carry their provenance and are byte-for-byte reproducible."""

from __future__ import annotations

import matplotlib

matplotlib.use("agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from il6repro.figures import read_provenance, save, set_style  # noqa: E402


def _fig():
    set_style()
    fig, ax = plt.subplots()
    ax.scatter([1, 2, 3], [3, 1, 2])
    ax.set_title("test")
    return fig


def test_provenance_in_png_and_svg(tmp_path, monkeypatch):
    monkeypatch.setenv("IL6REPRO_NOTEBOOK", "05_network")
    monkeypatch.setenv("IL6REPRO_PARAMS_HASH", "abc123")
    out = save(_fig(), "05_demo", caption="a demo", extra={"gene": "IL6R"}, folder=tmp_path)
    for key in ("png", "svg"):
        prov = read_provenance(out[key])
        assert prov["notebook"] == "05_network" and prov["parameters_sha256"] == "abc123"
        assert prov["gene"] == "IL6R" and prov["caption"] == "a demo" and prov["git_commit"]
        assert "data_sha256" in prov


def test_bytes_are_deterministic(tmp_path):
    a = save(_fig(), "same", folder=tmp_path / "a")
    b = save(_fig(), "same", folder=tmp_path / "b")
    assert a["png"].read_bytes() == b["png"].read_bytes()
    assert a["svg"].read_bytes() == b["svg"].read_bytes()


def test_bad_name_rejected(tmp_path):
    with pytest.raises(ValueError, match="figure name"):
        save(_fig(), "../escape", folder=tmp_path)


def test_missing_provenance_is_an_error(tmp_path):
    p = tmp_path / "plain.png"
    _fig().savefig(p)
    with pytest.raises(ValueError, match="no il6repro provenance"):
        read_provenance(p)


# ------------------------------------------------------------------ 3D meshes: projected once per save
def _mesh_fig(n_axes: int = 2):
    """A small stand-in for a nilearn surface figure: triangulated spheres on 3D axes, one colour per face."""
    import numpy as np

    set_style()
    u, v = np.meshgrid(np.linspace(0, 2 * np.pi, 24), np.linspace(0.1, np.pi - 0.1, 12))
    x, y, z = (np.cos(u) * np.sin(v)).ravel(), (np.sin(u) * np.sin(v)).ravel(), np.cos(v).ravel()
    fig, axes = plt.subplots(1, n_axes, subplot_kw={"projection": "3d"}, figsize=(2.5 * n_axes, 2.5))
    for k, ax in enumerate(np.atleast_1d(axes)):
        surf = ax.plot_trisurf(x, y, z, linewidth=0.1, antialiased=False)
        surf.set_facecolors(plt.cm.viridis(np.linspace(0, 1, len(surf.get_paths()) or 1)))
        ax.view_init(elev=10 + 20 * k, azim=30 * k)
        ax.set_axis_off()
        ax.set_title(f"view {k}")
    fig.suptitle("mesh")
    return fig


class _NoCache:
    """``_projected_once`` switched off: every draw projects again (the plain matplotlib behaviour)."""

    def __init__(self, fig):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None


def test_mesh_figure_bytes_equal_without_the_projection_cache(tmp_path, monkeypatch):
    import il6repro.figures as figures

    cached = save(_mesh_fig(), "mesh", folder=tmp_path / "cached")
    monkeypatch.setattr(figures, "_projected_once", _NoCache)
    plain = save(_mesh_fig(), "mesh", folder=tmp_path / "plain")
    assert cached.png.read_bytes() == plain.png.read_bytes()
    assert cached.svg.read_bytes() == plain.svg.read_bytes()
    assert b"<image" in cached.svg.read_bytes()  # the mesh is rasterized in the SVG, axes text stays vector


def test_each_mesh_is_projected_once_per_save(tmp_path, monkeypatch):
    """matplotlib draws a figure four times per save here (two formats x "tight": measure, then render); without the
    cache each draw projects every mesh again, with it each mesh is projected once."""
    from mpl_toolkits.mplot3d import Axes3D
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    import il6repro.figures as figures

    counts = {"draw": 0, "project": 0}
    draw, project = Axes3D.draw, Poly3DCollection.do_3d_projection

    def counting_draw(self, renderer):
        counts["draw"] += 1
        return draw(self, renderer)

    def counting_project(self):
        counts["project"] += 1
        return project(self)

    monkeypatch.setattr(Axes3D, "draw", counting_draw)
    monkeypatch.setattr(Poly3DCollection, "do_3d_projection", counting_project)
    fig = _mesh_fig(n_axes=3)
    save(fig, "mesh", folder=tmp_path)
    assert counts == {"draw": 4 * 3, "project": 3}
    assert all("do_3d_projection" not in vars(c) for ax in fig.axes for c in ax.collections)  # unwrapped after
    counts.update(draw=0, project=0)
    monkeypatch.setattr(figures, "_projected_once", _NoCache)
    save(_mesh_fig(n_axes=3), "mesh", folder=tmp_path / "plain")
    assert counts == {"draw": 4 * 3, "project": 4 * 3}


def test_a_view_changed_within_the_block_is_projected_anew(tmp_path):
    from il6repro.figures import _projected_once

    def png(fig, path, turn):
        with _projected_once(fig):
            fig.savefig(tmp_path / "first.png")
            if turn:
                fig.axes[0].view_init(elev=60, azim=120)
            fig.savefig(path)
        return path.read_bytes()

    turned = png(_mesh_fig(), tmp_path / "turned.png", turn=True)
    fig = _mesh_fig()
    fig.axes[0].view_init(elev=60, azim=120)
    fig.savefig(tmp_path / "plain.png")
    assert turned == (tmp_path / "plain.png").read_bytes()
    assert turned != png(_mesh_fig(), tmp_path / "unturned.png", turn=False)
