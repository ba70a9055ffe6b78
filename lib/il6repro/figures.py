"""Saving figures with provenance, and the one plotting style shared by every notebook.

:func:`save` writes ``<figures>/<name>.png`` and ``.svg`` with a provenance record (notebook, parameters
hash, git commit, data hashes) in the file metadata: a PNG ``tEXt`` chunk ``il6repro:provenance`` and the SVG
``<dc:description>``. :func:`read_provenance` reads it back (used by the site's gallery). Output bytes are
deterministic: no timestamps, a fixed SVG hash salt.

In a notebook, :func:`save` also shows the figure where the reader looks: the saved PNG itself (the very bytes the
gallery publishes) followed by its caption, then closes the figure so it is not drawn twice. Run by hand (plain
papermill, nbconvert, JupyterLab) it writes to ``build/scratch/figures``; only the runner publishes figures.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ._paths import figure_save_dir, repo_root

PROVENANCE_KEY = "il6repro:provenance"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


# seaborn 0.13's ``set_theme(context="notebook", style="ticks", palette="colorblind")`` written out as the matplotlib
# settings it makes, so that a notebook's style costs no seaborn import (about a second with the scipy.stats it pulls
# in, in every notebook). tests/test_figures.py checks, against seaborn itself, that set_style() leaves matplotlib
# exactly as set_theme() did (every rcParam and the colour codes), so a seaborn update that changes its theme fails
# there. One difference on purpose: ``image.cmap`` stays matplotlib's default (seaborn sets "rocket", a colour map that
# exists only once seaborn is imported; every figure here names its colour map).
_COLORBLIND = ("#0173B2", "#DE8F05", "#029E73", "#D55E00", "#CC78BC", "#CA9161", "#FBAFE4", "#949494", "#ECE133",
               "#56B4E9")
_SEABORN_TICKS_NOTEBOOK = {
    "axes.axisbelow": True, "axes.edgecolor": ".15", "axes.labelcolor": ".15", "axes.labelsize": 12.0,
    "axes.linewidth": 1.25, "axes.titlesize": 12.0,
    "font.sans-serif": ["Arial", "DejaVu Sans", "Liberation Sans", "Bitstream Vera Sans", "sans-serif"],
    "font.size": 12.0, "grid.color": ".8", "grid.linewidth": 1.0, "legend.fontsize": 11.0,
    "legend.title_fontsize": 12.0, "lines.solid_capstyle": "round", "patch.edgecolor": "w",
    "patch.force_edgecolor": True, "text.color": ".15",
    "xtick.color": ".15", "xtick.labelsize": 11.0, "xtick.major.size": 6.0, "xtick.major.width": 1.25,
    "xtick.minor.size": 4.0, "xtick.minor.width": 1.0,
    "ytick.color": ".15", "ytick.labelsize": 11.0, "ytick.major.size": 6.0, "ytick.major.width": 1.25,
    "ytick.minor.size": 4.0, "ytick.minor.width": 1.0,
}
# seaborn's set_color_codes("colorblind"): the one-letter colours "b", "g", "r", "m", "y", "c", "k" of the palette
_COLOR_CODES = dict(zip("bgrmyck", ("#0173B2", "#029E73", "#D55E00", "#CC78BC", "#ECE133", "#56B4E9", (0.1, 0.1, 0.1)), strict=True))


def set_style() -> None:
    """Apply the project's plotting style (call once at the top of a notebook): seaborn's "ticks" style, "notebook"
    context and "colorblind" palette, as matplotlib settings (no seaborn import), then the project's own."""
    import matplotlib as mpl
    from cycler import cycler

    mpl.rcParams.update(_SEABORN_TICKS_NOTEBOOK)
    mpl.rcParams["axes.prop_cycle"] = cycler(color=[mpl.colors.to_rgb(c) for c in _COLORBLIND])
    for code, color in _COLOR_CODES.items():
        mpl.colors.colorConverter.colors[code] = mpl.colors.to_rgb(color)
    mpl.rcParams.update({
        "figure.dpi": 100, "savefig.dpi": 150, "savefig.bbox": "tight",
        "axes.spines.top": False, "axes.spines.right": False,
        "svg.hashsalt": "il6repro", "svg.fonttype": "path",
        "font.family": "DejaVu Sans",
    })


def git_commit(root: Path | None = None) -> str:
    """Current commit of the project checkout (``"unknown"`` outside git), ``+dirty`` if modified."""
    root = root or repo_root()
    try:
        proc = subprocess.run(["git", "rev-parse", "--verify", "-q", "HEAD"], cwd=root, capture_output=True,
                              text=True, timeout=10)
        sha = proc.stdout.strip() if proc.returncode == 0 else ""
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (sha or "unknown") + ("+dirty" if sha and dirty else "")


def _data_hashes() -> dict[str, dict[str, str]]:
    """The data the notebook has read so far, by dataset id: the first copy of each (the notebook's own data, as
    its receipt counts it); a different copy read later (02's twin calibrated to P, for a comparison) is listed
    under ``"<id> (also read)"`` instead of replacing it."""
    from .data import read_data_log

    out: dict[str, dict[str, str]] = {}
    for rec in read_data_log():
        sums = {k: v[:16] for k, v in rec["sha256"].items()}
        key = rec["id"]
        if key in out and out[key] != sums:
            key = f"{rec['id']} (also read)"
        out.setdefault(key, sums)
    return out


_COHORT_NAMES = {"ukb": "UK Biobank", "whitehall": "Whitehall II"}


def twin_note(*, via: bool = False) -> str:
    """What a caption adds when the run's data log shows the figure's notebook read a synthetic twin: a copied
    figure never passes for real participants' results. Empty outside the runner (no data log) or on real data.

    :func:`save` adds it for the notebook's own reads. ``via=True`` (``save(..., upstream_twin=True)``) also counts
    an upstream notebook's table made from a twin (logged with ``via``), for a figure drawn from such a table (04's
    spin null of 02's z-map); a table read for something else (05-06 read 04's gene list, whose receipt carries
    02's twin) says nothing about the figure."""
    from .data import read_data_log

    twins = sorted({rec["id"] for rec in read_data_log()
                    if rec.get("kind") == "cohort" and str(rec.get("source", "")).startswith("twin")
                    and (via or not rec.get("via"))})
    if not twins:
        return ""
    names = " and ".join(f"{_COHORT_NAMES.get(t, t)} twin" for t in twins)
    return f"Synthetic data ({names}), not real participants."


def provenance(extra: dict | None = None) -> dict:
    """The provenance record stamped into a figure."""
    rec = {
        "notebook": os.environ.get("IL6REPRO_NOTEBOOK", "interactive"),
        "parameters_sha256": os.environ.get("IL6REPRO_PARAMS_HASH", "n/a"),
        "git_commit": os.environ.get("IL6REPRO_GIT_COMMIT") or git_commit(),
        "data_sha256": _data_hashes(),
    }
    if extra:
        rec.update(extra)
    return rec


@dataclass
class SavedFigure:
    """What :func:`save` wrote. Shows nothing when it is a cell's last expression (the figure is already shown)."""

    png: Path
    svg: Path
    provenance: dict = field(default_factory=dict)

    def __getitem__(self, key: str):  # the mapping interface of earlier versions: saved["png"]
        return getattr(self, key)

    def _ipython_display_(self) -> None:
        return None


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency of the notebooks
        return False
    ip = get_ipython()
    return ip is not None and hasattr(ip, "kernel")


_SHOWN: list[str] = []  # the figures shown in this kernel (one notebook), numbered in order


def _show_inline(png: Path, name: str, caption: str) -> None:
    from IPython.display import Image, Markdown, display

    display(Image(data=png.read_bytes(), format="png"), metadata={"il6repro": {"figure": name}})
    if name not in _SHOWN:
        _SHOWN.append(name)
    if caption:  # numbered for the reader; the file name (figures/NAME.png, the gallery's) after the caption
        display(Markdown(f"*Figure {_SHOWN.index(name) + 1}.* {caption} <small>(`{name}`)</small>"))


def save(fig, name: str, *, caption: str = "", extra: dict | None = None, folder: Path | None = None,
         show: bool | None = None, upstream_twin: bool = False, cohort_data: bool = True) -> SavedFigure:
    """Save ``fig`` as PNG and SVG with provenance, and show it inline when running in a notebook.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure (nilearn plotting functions return one too).
    name : str
        File stem, conventionally prefixed with the notebook number (``"00_dk_parcellation"``).
    caption : str
        One sentence saying what the figure shows (shown in the site's gallery).
    extra : dict, optional
        More provenance fields (e.g. the gene plotted).
    folder : Path, optional
        Where to write (default: the runner's staging folder, or ``build/scratch/figures`` outside the runner).
    show : bool, optional
        Display the saved PNG and its caption and close the figure (default: when running in a Jupyter kernel).
    upstream_twin : bool
        The figure is drawn from an upstream notebook's table: a twin that notebook read counts too
        (:func:`twin_note` ``via=True``; 04's spin null of 02's z-map).
    cohort_data : bool
        ``False`` for a figure that draws no individual-level cohort data although its notebook reads a twin
        (01's instrument strength, from the cited SNP-exposure statistics): no twin note is added.

    A figure the notebook made from a synthetic twin records :func:`twin_note` as ``synthetic_data`` in its
    provenance and ends its caption with it.

    Returns
    -------
    SavedFigure
        The PNG and SVG paths and the provenance record.
    """
    if not _NAME.match(name):
        raise ValueError(f"figure name {name!r}: use letters, digits, '_', '-', '.' only")
    folder = Path(folder) if folder else figure_save_dir()
    folder.mkdir(parents=True, exist_ok=True)
    prov = provenance(extra)
    prov["figure"] = name
    caption = caption.strip()
    note = twin_note(via=upstream_twin) if cohort_data else ""
    if note:
        prov["synthetic_data"] = note  # what the book's captions (the paper's own included) add
        if caption and note not in caption:
            caption = f"{caption} {note}"
    prov["caption"] = caption
    text = json.dumps(prov, sort_keys=True)
    png, svg = folder / f"{name}.png", folder / f"{name}.svg"
    _rasterize_heavy(fig)
    import matplotlib as mpl

    # deterministic bytes whether or not set_style() ran: a fixed SVG id salt, no dates, no version strings.
    # A "tight" savefig draws the figure twice (a measuring draw, then the rendering one). A 3D mesh is projected
    # once for all draws, and the SVG's box is measured without rendering its rasterized meshes (tests: the bytes
    # equal those of plain tight saves; one projection per mesh; no mesh rendered for measuring).
    with mpl.rc_context({"svg.hashsalt": "il6repro"}), _projected_once(fig):
        fig.savefig(png, format="png", metadata={PROVENANCE_KEY: text, "Software": "il6repro"})
        fig.savefig(svg, format="svg", bbox_inches=_svg_tight_bbox(fig),
                    metadata={"Description": text, "Date": None, "Creator": "il6repro"})
    if _in_kernel() if show is None else show:
        _show_inline(png, name, caption)
        import matplotlib.pyplot as plt

        plt.close(fig)
    return SavedFigure(png, svg, prov)


def _svg_tight_bbox(fig):
    """What ``bbox_inches`` an SVG save of ``fig`` should get: the "tight" box measured without rasterizing, or
    ``None`` (savefig's own rule) when that would save nothing.

    To measure the tight box, ``savefig`` draws the figure once with nothing rendered, except that in vector formats
    the artists marked rasterized are rendered all the same (the mixed-mode renderer hands them to an Agg renderer
    the measuring draw does not switch off): for a surface figure, one full render of every mesh, thrown away. Here
    that measuring draw is made the same way (an SVG canvas at ``savefig.dpi``, :meth:`~matplotlib.figure.Figure.
    draw_without_rendering`, :meth:`~matplotlib.figure.Figure.get_tightbbox`, padded by ``savefig.pad_inches``) with
    those artists briefly not rasterized, which changes no extent. Used only for figures holding a rasterized 3D
    mesh (where the thrown-away render is what costs), when ``savefig.bbox`` is "tight" and no layout engine is set
    (which makes savefig measure anyway). Tests check the SVG of a mesh figure equals a plain tight save byte for
    byte. (Not used for other figures: an explicit box is not always byte-identical to "tight" in SVG, e.g. a
    nilearn volume's colour bar, rasterized by matplotlib, gives ``-0`` for ``0`` in one path; and there the
    measuring render is cheap.)
    """
    import matplotlib as mpl
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    pad, dpi = mpl.rcParams["savefig.pad_inches"], mpl.rcParams["savefig.dpi"]
    if (mpl.rcParams["savefig.bbox"] != "tight" or fig.get_layout_engine() is not None
            or not isinstance(pad, int | float) or dpi == "figure"
            or not any(isinstance(c, Poly3DCollection) and c.get_rasterized() for ax in fig.axes
                       for c in ax.collections)):
        return None
    # the rasterized artists of the axes (meshes, a colour bar's): one left rasterized would only be rendered, in
    # vain, by the measuring draw (rasterizing changes no extent); Figure.findobj would be slower (it makes ticks)
    raster = [a for a in [*fig.get_children(), *(c for ax in fig.axes for c in ax.get_children())]
              if a.get_rasterized()]
    canvas, old_dpi = fig.canvas, fig.dpi
    try:
        FigureCanvasSVG(fig)  # as savefig: a fresh SVG canvas (no window manager) for the figure
        fig.dpi = dpi
        for a in raster:
            a.set_rasterized(False)
        fig.draw_without_rendering()
        box = fig.get_tightbbox()
    finally:
        for a in raster:
            a.set_rasterized(True)
        fig.dpi = old_dpi
        fig.set_canvas(canvas)
    return box.padded(pad, pad)


class _projected_once:
    """Within the block, each 3D polygon mesh of ``fig`` is projected once per view instead of once per draw.

    :meth:`mpl_toolkits.mplot3d.art3d.Poly3DCollection.do_3d_projection` recomputes the 2D polygons of a mesh
    (one ``Path`` per face) at every draw of the figure although, while a figure is being saved, nothing it depends
    on changes: the faces, colours and the axes' projection matrix ``axes.M`` are the same for the measuring draw
    and each format. Here each mesh's method is wrapped, for the duration of the block only, by one that reruns the
    projection only when ``axes.M`` differs from the last call (else it returns the last depth, and the 2D polygons
    of the last projection stay in place). Tests check the saved bytes equal those without it, that each mesh is
    projected once per save, and that a view changed within the block is projected anew.
    """

    def __init__(self, fig):
        from mpl_toolkits.mplot3d.art3d import Poly3DCollection

        self.meshes = [c for ax in fig.axes for c in ax.collections
                       if isinstance(c, Poly3DCollection) and "do_3d_projection" not in vars(c)]

    @staticmethod
    def _once(coll):
        project, last = coll.do_3d_projection, {}

        def do_3d_projection():
            M = getattr(coll.axes, "M", None)
            key = None if M is None else M.tobytes()
            if key is None or last.get("key") != key:
                last["depth"], last["key"] = project(), key
            return last["depth"]

        return do_3d_projection

    def __enter__(self):
        for coll in self.meshes:
            coll.do_3d_projection = self._once(coll)
        return self

    def __exit__(self, *exc) -> None:
        for coll in self.meshes:
            vars(coll).pop("do_3d_projection", None)


def _rasterize_heavy(fig, max_paths: int = 2000) -> None:
    """Rasterize artists with thousands of paths (surface meshes) so SVGs stay small; axes and text stay vector."""
    for ax in fig.axes:
        for coll in ax.collections:
            try:
                n = len(coll.get_paths()) if hasattr(coll, "get_paths") else 0
            except Exception:  # noqa: BLE001 - 3D collections may not expose paths before drawing
                n = 0
            if n > max_paths or type(coll).__name__ == "Poly3DCollection":
                coll.set_rasterized(True)


def read_provenance(path: Path) -> dict:
    """Read the provenance record back from a PNG or SVG written by :func:`save`."""
    path = Path(path)
    if path.suffix == ".png":
        from PIL import Image

        with Image.open(path) as im:
            text = im.info.get(PROVENANCE_KEY) or im.text.get(PROVENANCE_KEY)  # type: ignore[attr-defined]
    else:
        m = re.search(r"<dc:description>(.*?)</dc:description>", path.read_text(), re.S)
        import html

        text = html.unescape(m.group(1)) if m else None
    if not text:
        raise ValueError(f"{path} has no il6repro provenance")
    return json.loads(text)
