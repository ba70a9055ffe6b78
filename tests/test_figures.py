"""Figures carry their provenance and are byte-for-byte reproducible."""

from __future__ import annotations

import matplotlib

matplotlib.use("agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
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


def test_a_figure_made_from_a_twin_says_so_in_its_caption(tmp_path, monkeypatch):
    """Figures of twin results (02's maps, 07's forest plot) had captions that read as real cohorts' results."""
    from il6repro.data import log_cohort

    log = tmp_path / "data.jsonl"
    monkeypatch.setenv("IL6REPRO_DATA_LOG", str(log))
    assert read_provenance(save(_fig(), "a", caption="Risk ratios.", folder=tmp_path)["png"])["caption"] == \
        "Risk ratios."  # no cohort read: real data
    log_cohort("whitehall", "extract /secure/wide.csv", {"wide.csv": "0" * 64})  # a real extract: unchanged
    assert read_provenance(save(_fig(), "b", caption="Risk ratios.", folder=tmp_path)["png"])["caption"] == \
        "Risk ratios."
    from il6repro.data import _log_use
    from il6repro.figures import twin_note

    # an upstream table made from a twin (05 reading 04's gene list): not this figure's data unless the notebook says
    _log_use("ukb", "twin ukb-abc", {"p.csv": "2" * 64}, kind="cohort", via="04_ahba_mtg")
    assert read_provenance(save(_fig(), "v", caption="Genes.", folder=tmp_path)["png"])["caption"] == "Genes."
    assert twin_note(via=True) == "Synthetic data (UK Biobank twin), not real participants."
    up = read_provenance(save(_fig(), "u", caption="Spin null.", folder=tmp_path, upstream_twin=True)["png"])
    assert up["caption"] == "Spin null. Synthetic data (UK Biobank twin), not real participants."
    assert up["synthetic_data"] == "Synthetic data (UK Biobank twin), not real participants."
    log_cohort("whitehall", "twin whitehall-13f6f5272597", {"wide.csv": "1" * 64})
    log_cohort("ukb", "twin ukb-abc", {"p.csv": "2" * 64})
    out = save(_fig(), "c", caption="Risk ratios.", folder=tmp_path)
    # a second copy of a cohort read later (02's twin calibrated to P) does not replace the first in the provenance
    assert read_provenance(out["png"])["data_sha256"]["whitehall"] == {"wide.csv": "0" * 16}
    assert read_provenance(out["png"])["data_sha256"]["whitehall (also read)"] == {"wide.csv": "1" * 16}
    assert read_provenance(out["svg"])["caption"] == \
        "Risk ratios. Synthetic data (UK Biobank twin and Whitehall II twin), not real participants."
    assert read_provenance(save(_fig(), "d", folder=tmp_path)["png"])["caption"] == ""  # no caption, none added
    # a figure of cited public statistics in a notebook that read a twin (01's instrument strength) is not synthetic
    cited = read_provenance(save(_fig(), "e", caption="F per variant.", folder=tmp_path, cohort_data=False)["png"])
    assert cited["caption"] == "F per variant." and "synthetic_data" not in cited


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


def _plain_save(fig, like, folder):
    """What :func:`save` wrote before it was made faster: two plain tight ``savefig`` calls, same metadata."""
    import json

    import matplotlib as mpl

    from il6repro.figures import PROVENANCE_KEY, _rasterize_heavy

    text = json.dumps(read_provenance(like.png), sort_keys=True)
    folder.mkdir(parents=True)
    _rasterize_heavy(fig)
    with mpl.rc_context({"svg.hashsalt": "il6repro"}):
        fig.savefig(folder / "plain.png", format="png", metadata={PROVENANCE_KEY: text, "Software": "il6repro"})
        fig.savefig(folder / "plain.svg", format="svg", metadata={"Description": text, "Date": None,
                                                                    "Creator": "il6repro"})
    return (folder / "plain.png").read_bytes(), (folder / "plain.svg").read_bytes()


def _colorbar_fig():
    import numpy as np

    set_style()
    fig, ax = plt.subplots()
    im = ax.imshow(np.arange(120.0).reshape(10, 12), cmap="RdBu_r")
    fig.colorbar(im, ax=ax, label="IVW z")  # matplotlib rasterizes the colour bar's mesh in vector formats
    ax.set_title("a heat map with a colour bar")
    return fig


@pytest.mark.parametrize("make", [_mesh_fig, _colorbar_fig, _fig])
def test_bytes_equal_plain_tight_savefig(tmp_path, make):
    """PNG and SVG byte-identical to two plain ``savefig(bbox_inches="tight")`` calls (the SVG of a mesh figure gets
    its box measured by :func:`il6repro.figures._svg_tight_bbox`, the others the plain "tight")."""
    out = save(make(), "fig", folder=tmp_path / "fast")
    png, svg = _plain_save(make(), out, tmp_path / "plain")
    assert out.png.read_bytes() == png
    assert out.svg.read_bytes() == svg


def test_mesh_svg_box_is_measured_by_the_fast_path(tmp_path):
    from il6repro.figures import _svg_tight_bbox

    assert _svg_tight_bbox(_colorbar_fig()) is None and _svg_tight_bbox(_fig()) is None
    fig = _mesh_fig()
    from il6repro.figures import _rasterize_heavy

    _rasterize_heavy(fig)
    box = _svg_tight_bbox(fig)
    assert box is not None and 0 < box.width < 5.5 and 0 < box.height < 3
    assert all(c.get_rasterized() for ax in fig.axes for c in ax.collections)  # flags restored
    assert type(fig.canvas).__name__ != "FigureCanvasSVG" and fig.dpi == 100  # canvas and dpi restored


def test_each_mesh_is_projected_and_rasterized_once_per_save(tmp_path, monkeypatch):
    """matplotlib draws a figure four times for the two tight saves (per format: measure, then render). Plain, each
    draw projects every mesh again and both SVG draws render each rasterized mesh; here each mesh is projected once
    and rendered once for the SVG (the PNG renders it once as well)."""
    from matplotlib.backends.backend_mixed import MixedModeRenderer
    from mpl_toolkits.mplot3d import Axes3D
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    counts = {"draw": 0, "project": 0, "rasterize": 0}
    draw, project, rasterize = Axes3D.draw, Poly3DCollection.do_3d_projection, MixedModeRenderer.start_rasterizing

    def counting(key, method):
        def wrapper(self, *args):
            counts[key] += 1
            return method(self, *args)
        return wrapper

    monkeypatch.setattr(Axes3D, "draw", counting("draw", draw))
    monkeypatch.setattr(Poly3DCollection, "do_3d_projection", counting("project", project))
    monkeypatch.setattr(MixedModeRenderer, "start_rasterizing", counting("rasterize", rasterize))
    fig = _mesh_fig(n_axes=3)
    out = save(fig, "mesh", folder=tmp_path)
    assert counts == {"draw": 4 * 3, "project": 3, "rasterize": 3}
    assert all("do_3d_projection" not in vars(c) for ax in fig.axes for c in ax.collections)  # unwrapped after
    counts.update(draw=0, project=0, rasterize=0)
    _plain_save(_mesh_fig(n_axes=3), out, tmp_path / "plain")
    assert counts == {"draw": 4 * 3, "project": 4 * 3, "rasterize": 2 * 3}


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


def test_surface_plots_leave_the_cached_mesh_as_read():
    """nilearn centres a mesh's coordinates in place; plot_surface gives it a copy, so the in-memory fsaverage5 stays
    equal to nilearn's files however many figures are drawn."""
    import matplotlib.pyplot as plt
    from nilearn import datasets

    from il6repro import brain

    mesh, _ = brain.fsaverage5()
    want = {h: np.asarray(p.coordinates) for h, p in datasets.load_fsaverage("fsaverage5")["inflated"].parts.items()}
    data = {h: np.arange(len(want[h]), dtype=float) for h in brain.HEMIS}
    for _ in range(2):
        plt.close(brain.plot_surface(data, hemis=("left", "right")))
    for h in brain.HEMIS:
        assert np.array_equal(mesh["inflated"].parts[h].coordinates, want[h])


def test_surface_views_draw_only_front_faces_and_the_same_image(monkeypatch):
    """plot_surface hands nilearn only the faces turned to the viewer (and those touching them): under 2 in 3 of each
    view's faces, and the rendered figure (a continuous map and a parcellation, one hemisphere as notebook 00 draws
    them and both as 02 and 04 do, at the saving resolution) equal to the byte to one drawn with every face. Fails
    if a front face is dropped, if a face turned away that shows on the outline is dropped (notebook 00's
    parcellation differed in one pixel), or if the sulcal greys are scaled over fewer faces."""
    import io

    import matplotlib.pyplot as plt

    from il6repro import brain
    from il6repro.data import tables

    set_style()
    labels = tables.load_dk_surface()
    rng = np.random.default_rng(3)
    stat = {h: rng.normal(size=len(labels[h])) for h in brain.HEMIS}
    roi = brain.parcellation_map(labels)
    cases = [(k, d, hemis) for k, d in (("stat", stat), ("roi", roi)) for hemis in (("left",), ("left", "right"))]

    def pixels(kind, data, hemis):
        fig = brain.plot_surface(data, kind=kind, hemis=hemis, cmap="RdBu_r" if kind == "stat" else None)
        buf = io.BytesIO()
        fig.savefig(buf, format="rgba")
        drawn = [len(c.get_paths()) for ax in fig.axes for c in ax.collections if hasattr(c, "do_3d_projection")]
        plt.close(fig)
        return buf.getvalue(), drawn

    culled = [pixels(*c) for c in cases]
    monkeypatch.setattr(brain, "_front_faces", lambda coords, faces, proj: np.ones(len(faces), bool))
    full = [pixels(*c) for c in cases]
    n_faces = len(brain.fsaverage5()[0]["inflated"].parts["left"].faces)
    for (kind, _, hemis), (got, n_got), (want, n_want) in zip(cases, culled, full, strict=True):
        assert got == want, (kind, hemis)
        assert n_want == [n_faces] * 2 * len(hemis)
        assert len(n_got) == 2 * len(hemis) and all(n < 2 * n_faces / 3 for n in n_got), n_got


_DUMP = """
import json, matplotlib as mpl
mpl.use("agg")
{setup}
rc = {{k: repr(v) for k, v in mpl.rcParams.items()}}
codes = {{c: list(mpl.colors.to_rgb(c)) for c in "bgrmyck"}}
import sys
print(json.dumps({{"rc": rc, "codes": codes, "seaborn": "seaborn" in sys.modules, "stats": "scipy.stats" in sys.modules}}))
"""


def _style_state(setup: str) -> dict:
    import json
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _DUMP.format(setup=setup)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_set_style_equals_seaborn_theme_without_importing_seaborn():
    """set_style() writes seaborn's theme out as matplotlib settings: every rcParam and colour code must equal what
    seaborn's own set_theme() (then the project's settings) leaves, but for the colour map seaborn names by default
    ("rocket", which exists only with seaborn imported); and neither seaborn nor scipy.stats is imported."""
    ours = _style_state("from il6repro.figures import set_style\nset_style()")
    theirs = _style_state(
        "import seaborn as sns\n"
        "sns.set_theme(context='notebook', style='ticks', palette='colorblind')\n"
        "mpl.rcParams.update({'figure.dpi': 100, 'savefig.dpi': 150, 'savefig.bbox': 'tight',"
        " 'axes.spines.top': False, 'axes.spines.right': False, 'svg.hashsalt': 'il6repro',"
        " 'svg.fonttype': 'path', 'font.family': 'DejaVu Sans', 'image.cmap': 'viridis'})")
    assert theirs["seaborn"] and not ours["seaborn"] and not ours["stats"]
    diff = {k: (ours["rc"].get(k), v) for k, v in theirs["rc"].items() if ours["rc"].get(k) != v}
    assert diff == {}
    assert ours["codes"] == theirs["codes"]
    assert ours["codes"]["r"] != [1.0, 0.0, 0.0]  # the codes did change from matplotlib's
