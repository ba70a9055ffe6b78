"""Association of every instrument with every IDP, covariate-adjusted, in one vectorised pass.

For SNP ``j`` and IDP ``r`` the model is the ordinary least squares fit ``y_r ~ covariates + g_j`` (one SNP at a
time, as ``plink2 --glm`` and every GWAS of IDPs fit it). By the Frisch-Waugh-Lovell theorem its SNP coefficient
is the regression of the covariate-residualised ``y`` on the covariate-residualised ``g``; with ``Q`` an
orthonormal basis of the covariates, all ``J x R`` fits reduce to two projections and one matrix product:

    G~ = G - Q Q'G,  beta = G~'Y / diag(G~'G~)  (= G~'Y~ / diag(G~'G~), Y~ = Y - Q Q'Y),
    RSS = ||Y~||^2 - beta^2 diag(G~'G~),  ||Y~||^2 = ||Y||^2 - ||Q'Y||^2  (Y centred first),
    SE = sqrt(RSS / (n - k - 1) / diag(G~'G~))

identical to statsmodels OLS per pair (tested to 1e-8). IDPs with missing values are fitted on their complete
cases: IDPs are grouped by missingness pattern and each pattern gets its own projection.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import _dist
from .._blas import small_blas


def design_matrix(cov: pd.DataFrame, *, age_squared: bool = True, sex_by_age: bool = True) -> pd.DataFrame:
    """Covariate design: intercept, age (and age^2, age x sex), sex, imaging-centre dummies, head size, PCs."""
    need = {"age", "sex", "centre", "head_scaling"}
    missing = sorted(need - set(cov.columns))
    if missing:
        raise KeyError(f"design_matrix: missing covariate column(s) {missing}")
    X = pd.DataFrame(index=cov.index)
    X["const"] = 1.0
    age = cov["age"].astype(float)
    X["age"] = age - age.mean()
    if age_squared:
        X["age2"] = X["age"] ** 2
    X["sex"] = cov["sex"].astype(float)
    if sex_by_age:
        X["age_x_sex"] = X["age"] * X["sex"]
    centres = sorted(pd.unique(cov["centre"].dropna()))
    for c in centres[1:]:
        X[f"centre_{c}"] = (cov["centre"] == c).astype(float)
    X["head_scaling"] = cov["head_scaling"].astype(float)
    for c in cov.columns:
        if c.startswith("PC"):
            X[c] = cov[c].astype(float)
    return X


def _basis(G: np.ndarray, C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``[Q | G~]`` (Q an orthonormal basis of the covariates, G~ the covariate-residualised dosages) and
    ``diag(G~'G~)``; refuses rank-deficient covariates and variants without residual variation."""
    Q, Rm = np.linalg.qr(C)
    rank = int(np.sum(np.abs(np.diag(Rm)) > 1e-10 * np.abs(Rm).max()))
    if rank < C.shape[1]:
        raise ValueError(f"covariate matrix is rank-deficient ({rank} of {C.shape[1]} columns independent)")
    Gr = G - Q @ (Q.T @ G)
    gg = np.einsum("ij,ij->j", Gr, Gr)
    if np.any(gg <= 1e-12):
        raise ValueError("a variant has no variation after covariate adjustment (monomorphic?)")
    # [Q | G~]' in row order, copied once (a concatenation then a transposed copy took 4x as long)
    QG = np.empty((Q.shape[1] + Gr.shape[1], len(Q)))
    QG[:Q.shape[1]] = Q.T
    QG[Q.shape[1]:] = Gr.T
    return QG, gg


def _fit(QG: np.ndarray, gg: np.ndarray, Yc: np.ndarray, df: int) -> dict[str, np.ndarray]:
    """The fits of centred outcomes ``Yc`` on a :func:`_basis`: one matrix product, no residualised copy of Y.

    ``G~'Y~ = G~'Y`` (G~ is orthogonal to Q) and ``||Y~||^2 = ||Y||^2 - ||Q'Y||^2``; the intercept is among the
    covariates, so centring Y first leaves the fits unchanged and keeps that difference well conditioned.
    """
    k = QG.shape[0] - len(gg)
    M = QG @ Yc
    gy = M[k:]
    yy = np.einsum("ij,ij->j", Yc, Yc) - np.einsum("ij,ij->j", M[:k], M[:k])
    beta = gy / gg[:, None]
    rss = yy[None, :] - beta * gy
    se = np.sqrt(np.maximum(rss, 0) / df / gg[:, None])
    t = beta / se
    p = 2 * _dist.t_sf(np.abs(t), df)
    return {"beta": beta, "se": se, "t": t, "p": p, "df": df}


def ols_many(G: np.ndarray, Y: np.ndarray, C: np.ndarray) -> dict[str, np.ndarray]:
    """All single-SNP OLS fits ``Y[:, r] ~ C + G[:, j]`` at once (complete data; ``C`` includes the intercept).

    Returns ``beta, se, t, p`` as ``(J, R)`` arrays and ``df`` (residual degrees of freedom).
    """
    G = np.asarray(G, float)
    Y = np.asarray(Y, float)
    C = np.asarray(C, float)
    n = len(C)
    if not (len(G) == len(Y) == n):
        raise ValueError(f"rows differ: G {len(G)}, Y {len(Y)}, covariates {n}")
    df = n - C.shape[1] - 1
    if df <= 0:
        raise ValueError(f"too few participants ({n}) for {C.shape[1]} covariates")
    QG, gg = _basis(G, C)
    return _fit(QG, gg, Y - Y.mean(0), df)


def _columns(idps: pd.DataFrame | np.ndarray, c0, c1, rows: np.ndarray | None, copy: bool = False) -> np.ndarray:
    """IDP columns ``c0:c1`` (or the list ``c0``) at positions ``rows`` (all when None) as a column-major float64
    array; a view of the table's block where pandas holds one, so no more than those columns is ever copied."""
    if isinstance(idps, np.ndarray):
        Y = idps[:, c0:c1] if c1 is not None else idps[:, c0]
    else:
        sub = idps.iloc[:, c0:c1] if c1 is not None else idps.iloc[:, c0]
        Y = sub.to_numpy(dtype=float)
    if rows is not None:
        Y = Y[rows]
    return np.array(Y, order="F", copy=True) if copy or not Y.flags.f_contiguous else Y


def _sd_positive(Y: np.ndarray, ok: np.ndarray, have: np.ndarray) -> np.ndarray:
    """Per column: is the SD of its present values (``np.std(col[ok], ddof=1)``) finite and positive?

    A column whose present values span a range well above rounding (and are far from overflow) has a positive,
    finite SD (at least ``range / sqrt(2 (n - 1))``); only the others (almost constant, huge, under two values)
    are computed one by one, exactly as ``np.std(col[ok], ddof=1)``.
    """
    with np.errstate(invalid="ignore"):
        hi, lo = np.fmax.reduce(Y, axis=0), np.fmin.reduce(Y, axis=0)  # NaN ignored (all-NaN: NaN)
        big = np.fmax(np.abs(hi), np.abs(lo))
        sure = (have >= 2) & (hi - lo > 1e-6 * big) & (big < 1e150)
    out = sure.copy()
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for j in np.flatnonzero(~sure):
            if have[j]:
                sd = np.std(Y[ok[:, j], j], ddof=1)
                out[j] = bool(np.isfinite(sd) and sd > 0)
    return out


def fits(G: np.ndarray, C: np.ndarray, idps: pd.DataFrame | np.ndarray, pos: np.ndarray | None = None, *,
         standardize: bool = True, chunk: int = 512) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The numbers of :func:`associate` from arrays: every single-SNP fit of every IDP column on ``C`` + ``G[:, j]``.

    ``G`` (n x J dosages) and ``C`` (n x k design, intercept included) are the participants with complete
    covariates and dosages; ``idps`` holds the IDPs (NaN allowed) of all participants, its rows ``pos`` (None: all,
    in order) being those of ``G``. Returns ``(out, nobs)``: ``out`` maps beta, se, t, p, eaf to (J, R) arrays,
    ``nobs`` the complete cases per IDP. :func:`associate` is this plus the tidy table; the over-seeds draws call it
    directly (no tables per seed).
    """
    whole = pos is None
    names = idps.columns if isinstance(idps, pd.DataFrame) else [f"column {r}" for r in range(idps.shape[1])]
    J, R = G.shape[1], idps.shape[1]
    # missingness patterns and checks, `chunk` IDPs at a time (no full copy of the IDP table: it may be GBs)
    need = C.shape[1] + 3
    patterns: dict[bytes, list[int]] = {}
    few: list[tuple[str, int]] = []
    flat: list[str] = []
    for c0 in range(0, R, chunk):
        Y = _columns(idps, c0, min(R, c0 + chunk), pos)
        ok = ~np.isnan(Y)
        have = ok.sum(axis=0)
        sd = _sd_positive(Y, ok, have)
        keys = np.packbits(ok, axis=0) if (have < len(Y)).any() else None
        for j in range(Y.shape[1]):
            r = c0 + j
            if have[j] < need:
                few.append((names[r], int(have[j])))
                continue
            if not sd[j]:
                flat.append(names[r])
            patterns.setdefault(b"" if have[j] == len(Y) else keys[:, j].tobytes(), []).append(r)
    if few:
        raise ValueError(f"associate: IDP {few[0][0]!r} has {few[0][1]} participant(s) with complete data, fewer "
                         f"than the {need} the {C.shape[1]} covariates need"
                         f"{f' ({len(few) - 1} more such IDP(s))' if len(few) > 1 else ''}; drop it")
    if flat:
        raise ValueError(f"associate: IDP {flat[0]!r} has no variation or values too large to compute with"
                         f"{f' ({len(flat) - 1} more such IDP(s))' if len(flat) > 1 else ''}; drop it")
    out = {k: np.full((J, R), np.nan) for k in ("beta", "se", "t", "p", "eaf")}
    nobs = np.zeros(R, int)
    # a few GEMMs of (k + J) x n by n x R: BLAS threads cost more to start and synchronise than they save
    # below ~1 GFLOP (and spin on a busy machine), so small problems run on one thread
    flops = 2.0 * len(G) * (C.shape[1] + J) * R
    with small_blas(flops):
        for key, cols in patterns.items():
            rows = (np.ones(len(G), bool) if key == b""
                    else np.unpackbits(np.frombuffer(key, np.uint8), count=len(G)).astype(bool))
            # every row: the arrays themselves (a copy of the same C-ordered layout would give the same fits)
            Gr, Cr = ((G, C) if key == b"" and G.flags.c_contiguous and C.flags.c_contiguous
                      else (G[rows], C[rows]))
            df = len(Cr) - C.shape[1] - 1
            QG, gg = _basis(Gr, Cr)
            sel = None if whole and key == b"" else (np.flatnonzero(rows) if whole else pos[rows])
            for c0 in range(0, len(cols), chunk):  # bounded memory: `chunk` IDPs at a time
                cc = cols[c0:c0 + chunk]
                y = _columns(idps, cc, None, sel, copy=True)
                y -= y.mean(0)
                if standardize:
                    y /= np.sqrt(np.einsum("ij,ij->j", y, y) / (len(y) - 1))
                fit = _fit(QG, gg, y, df)
                for k in ("beta", "se", "t", "p"):
                    out[k][:, cc] = fit[k]
            out["eaf"][:, cols] = (Gr.mean(0) / 2)[:, None]
            nobs[cols] = rows.sum()
    return out, nobs


def associate(dosages: pd.DataFrame, idps: pd.DataFrame, covariates: pd.DataFrame, *,
              variants: pd.DataFrame | None = None, standardize: bool = True, chunk: int = 512) -> pd.DataFrame:
    """Tidy SNP x IDP association table (one row per pair), covariate-adjusted, vectorised.

    Parameters
    ----------
    dosages : DataFrame
        Participants x variants, the counted-allele dosage (index eid).
    idps : DataFrame
        Participants x IDPs (NaN allowed; each IDP uses its complete cases).
    covariates : DataFrame
        The design matrix (see :func:`design_matrix`; must include the intercept).
    variants : DataFrame, optional
        snp, counted, alt: copied into the output as effect_allele / other_allele.
    standardize : bool
        Scale each IDP to unit SD (on its complete cases) first, so betas are in IDP SD units.
    chunk : int
        IDPs fitted at a time: working memory is about ``n x chunk`` floats, whatever the number of IDPs.

    Returns
    -------
    DataFrame with snp, idp, effect_allele, other_allele, eaf, beta, se, t, p, n.
    """
    if dosages.empty or idps.empty:
        raise ValueError("associate: no dosages or no IDPs")
    idx = covariates.dropna().index.intersection(dosages.dropna().index)
    if len(idx) == 0:
        raise ValueError("associate: no participant with complete covariates and dosages")
    G = dosages.loc[idx].to_numpy(float)
    C = covariates.loc[idx].to_numpy(float)
    pos = idps.index.get_indexer(idx)
    if (pos < 0).any():
        raise ValueError("associate: participants with covariates and dosages missing from the IDP table")
    whole = len(pos) == len(idps) and bool((pos == np.arange(len(pos))).all())  # no rows to select
    out, nobs = fits(G, C, idps, None if whole else pos, standardize=standardize, chunk=chunk)
    J, R = G.shape[1], idps.shape[1]
    snps = dosages.columns.to_numpy()
    tidy = pd.DataFrame({
        "snp": np.repeat(snps, R), "idp": np.tile(idps.columns.to_numpy(), J),
        **{k: out[k].ravel() for k in ("eaf", "beta", "se", "t", "p")}, "n": np.tile(nobs, J)})
    if variants is not None:
        v = variants.set_index("snp")
        tidy.insert(2, "effect_allele", tidy["snp"].map(v["counted"]))
        tidy.insert(3, "other_allele", tidy["snp"].map(v["alt"]))
    return tidy
