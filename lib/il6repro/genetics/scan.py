"""All exposures x all outcomes in one call: harmonisation and the full MR suite, vectorised over outcomes.

The per-pair estimators of :mod:`.mr` are pinned to R MendelianRandomization; this module computes the same
quantities for every outcome at once (closed forms on ``J x R`` arrays; the bootstrap estimators in compiled
kernels over outcomes x draws, see :mod:`._kernels`, with the draws of one seed shared by every outcome exactly as
a per-pair call with that seed would draw them), so a scan of 5 exposures x 205 IDPs with 1,000 bootstrap draws
takes about a second. ``tests/test_genetics_scan.py`` checks every column against the per-pair functions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import _dist
from . import mr
from .harmonise import harmonise
from .onesample import r2_from_t

METHODS = ("ivw", "egger", "weighted_median", "simple_median", "weighted_mode", "simple_mode")
MIN_SNPS = {"ivw": 2, "egger": 3, "weighted_median": 3, "simple_median": 3, "weighted_mode": 3, "simple_mode": 3}
LABELS = {"ivw": "IVW", "egger": "MR-Egger", "weighted_median": "Weighted median",
          "simple_median": "Simple median", "weighted_mode": "Weighted mode", "simple_mode": "Simple mode",
          "wald": "Wald ratio"}
ZERO_BX = "a variant has zero association with the exposure (ratio undefined)"


@dataclass
class ScanResult:
    """Tidy outputs of :func:`scan` (every table has ``exposure`` and, where per outcome, ``idp`` columns)."""

    estimates: pd.DataFrame      # one row per exposure x idp x method (note says "not applicable: ..." if so)
    primary: pd.DataFrame        # one row per exposure x idp: IVW (or Wald ratio for a single variant)
    heterogeneity: pd.DataFrame  # Cochran's Q, Rucker's Q', Egger intercept, I2_GX per exposure x idp
    single_snp: pd.DataFrame     # Wald ratio of every variant x idp
    leave_one_out: pd.DataFrame  # IVW leaving out each variant, per idp
    steiger: pd.DataFrame        # directionality per exposure x idp
    dropped: pd.DataFrame        # variants dropped in harmonisation, with the reason
    instruments: pd.DataFrame    # per exposure: variants used, mean F, R^2 of the exposure


def _norm(est, se, alpha):
    zq = _dist.norm_ppf(1 - alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = est / se
    return est - zq * se, est + zq * se, 2 * _dist.norm_sf(np.abs(z)), z


def _ivw(bx, BY, W, model, underdispersion):
    J = len(bx)
    sxx = (W * bx[:, None] ** 2).sum(0)
    sxy = (W * bx[:, None] * BY).sum(0)
    est = sxy / sxx
    se_f = 1 / np.sqrt(sxx)
    Q = (W * (BY - est * bx[:, None]) ** 2).sum(0)
    df = J - 1
    rse = np.sqrt(Q / df)
    model = ("fixed" if J <= 3 else "random") if model == "default" else model
    se = se_f if model == "fixed" else se_f * (np.maximum(1, rse) if underdispersion == "floor" else rse)
    return est, se, Q, df, rse, model


def _egger(bx, bxse, BY, BYSE, distribution, underdispersion, alpha):
    J = len(bx)
    s = np.sign(bx)[:, None]
    x = np.abs(bx)[:, None]
    y = BY * s
    w = BYSE ** -2
    Sw, Sx, Sxx = w.sum(0), (w * x).sum(0), (w * x * x).sum(0)
    Sy, Sxy = (w * y).sum(0), (w * x * y).sum(0)
    D = Sw * Sxx - Sx ** 2
    slope = (Sw * Sxy - Sx * Sy) / D
    icpt = (Sy - slope * Sx) / Sw
    qr = (w * (y - icpt - slope * x) ** 2).sum(0)
    df = J - 2
    sigma = np.sqrt(qr / df)
    scale = np.maximum(1, sigma) if underdispersion == "floor" else sigma
    se_s, se_i = np.sqrt(Sw / D) * scale, np.sqrt(Sxx / D) * scale
    # I2_GX (MendelianRandomization)
    xg = np.abs(bx)[:, None] / BYSE
    wg = (bxse[:, None] / BYSE) ** -2
    mg = (wg * xg).sum(0) / wg.sum(0)
    qg = (wg * (xg - mg) ** 2).sum(0)
    i2gx = np.where(qg > 0, np.maximum(0, (qg - (J - 1)) / np.where(qg > 0, qg, 1)), 0.0)

    def bounds(est, se):
        zq = _dist.norm_ppf(1 - alpha / 2)
        pn = 2 * _dist.norm_sf(np.abs(est / se))
        if distribution == "normal":
            return est - zq * se, est + zq * se, pn
        tq = _dist.t_ppf(1 - alpha / 2, df)
        half = np.where(sigma < 1, np.maximum(zq * se, tq * se * sigma), tq * se)
        pt_under = 2 * _dist.t_sf(np.abs(est / se / sigma), df)
        pt = 2 * _dist.t_sf(np.abs(est / se), df)
        p = np.where(sigma < 1, np.maximum(pn, pt_under), pt)
        return est - half, est + half, p

    lo, hi, p = bounds(slope, se_s)
    ilo, ihi, ip = bounds(icpt, se_i)
    return dict(estimate=slope, se=se_s, ci_low=lo, ci_high=hi, p=p, intercept=icpt, intercept_se=se_i,
                intercept_ci_low=ilo, intercept_ci_high=ihi, intercept_p=ip, residual_se=sigma, Q_rucker=qr,
                Q_rucker_df=df, Q_rucker_p=_dist.chi2_sf(qr, df), I2_GX=i2gx)


def _medians(bx, bxse, BY, BYSE, weighting, ratio_se, n_boot, seed, threads):
    ratio = np.ascontiguousarray((BY / bx[:, None]).T)                      # (R, J)
    W = np.ascontiguousarray(mr.ratio_se_weights(bx[:, None], bxse[:, None], BY, BYSE, weighting, ratio_se).T
                             * np.ones_like(ratio))
    est = mr._weighted_median(ratio, W, threads)
    boot = mr.median_boot(bx, bxse, BY.T, BYSE.T, W, n_boot, seed, threads)  # (B, R), draws shared
    return est, boot.std(0, ddof=1)


def _modes(bx, bxse, BY, BYSE, weighting, ratio_se, phi, n_boot, seed, threads):
    ratio = np.ascontiguousarray((BY / bx[:, None]).T)
    se_r = np.ascontiguousarray(mr.ratio_standard_error(bx[:, None], bxse[:, None], BY, BYSE, ratio_se).T)
    W = np.ones_like(ratio) if weighting == "simple" else se_r ** -2
    est = mr._mode(ratio, W, phi, threads)
    boot = mr.mode_boot(ratio, se_r, W, n_boot, seed, phi, threads)
    return est, mr.mad(boot, axis=0)


def _leave_one_out(exp, snps, idps, bx, BY, BYSE, zero, ivw_model, underdispersion, alpha) -> pd.DataFrame:
    """IVW leaving out each variant in turn, for every outcome (closed form: subtract its contribution)."""
    J, R = BY.shape
    W = BYSE ** -2
    a, b_, c = W * bx[:, None] ** 2, W * bx[:, None] * BY, W * BY ** 2
    sa, sb, sc = a.sum(0) - a, b_.sum(0) - b_, c.sum(0) - c
    with np.errstate(divide="ignore", invalid="ignore"):
        e_l = sb / sa
        q_l = sc - 2 * e_l * sb + e_l ** 2 * sa
        model = ("fixed" if J - 1 <= 3 else "random") if ivw_model == "default" else ivw_model
        se_l = 1 / np.sqrt(sa)
        if model == "random":
            rse = np.sqrt(q_l / (J - 2))
            se_l = se_l * (np.maximum(1, rse) if underdispersion == "floor" else rse)
    # leaving variant i out is defined only if no other variant has a zero exposure effect
    ok = (zero.sum() - zero) == 0
    e_l, se_l = np.where(ok[:, None], e_l, np.nan), np.where(ok[:, None], se_l, np.nan)
    _, _, p_, _ = _norm(e_l, se_l, alpha)
    return pd.DataFrame({"exposure": exp, "left_out": np.repeat(snps, R), "idp": np.tile(idps, J),
                         "estimate": e_l.ravel(), "se": se_l.ravel(), "p": p_.ravel(),
                         "note": np.repeat(np.where(ok, "", f"not applicable: {ZERO_BX}"), R)})


DEFAULT_METHODS = ("ivw", "egger", "weighted_median", "simple_median", "weighted_mode")


def scan(instruments: pd.DataFrame, assoc: pd.DataFrame, *, methods=DEFAULT_METHODS, ivw_model: str = "default",
         underdispersion: str = "floor", egger_distribution: str = "normal", n_boot: int = 1000,
         seed: int = 314159265, phi: float = 1.0, median_ratio_se: str = "first", mode_ratio_se: str = "second",
         action: int = 2, alpha: float = 0.05, n_outcome: int | None = None, progress: bool = False,
         threads: int | None = None) -> ScanResult:
    """Two-sample MR of every exposure in ``instruments`` on every outcome in ``assoc``.

    Parameters
    ----------
    instruments : DataFrame
        exposure, snp, effect_allele, other_allele, eaf, beta, se [, n] (SNP-exposure statistics).
    assoc : DataFrame
        SNP-outcome statistics: snp, idp, effect_allele, other_allele, eaf, beta, se, n
        (:func:`il6repro.genetics.assoc.associate`).
    methods : sequence
        Estimators from :data:`METHODS` (default :data:`DEFAULT_METHODS`); each needs :data:`MIN_SNPS`
        variants, else a "not applicable" row.
    ivw_model : {"default", "fixed", "random"}
        IVW model. ``"default"`` (fixed effect for <= 3 variants, multiplicative random effects otherwise) is
        :func:`il6repro.genetics.mr.ivw`'s default and MendelianRandomization's; with more than 3 variants it
        equals TwoSampleMR's ``mr_ivw`` too. One default for both entry points, and the random model because a
        fixed-effect SE is too small whenever the variants' ratio estimates are heterogeneous; pass ``"fixed"``
        for the fixed-effect analysis. The random model floors the residual SE at 1 unless
        ``underdispersion="allow"``.
    underdispersion : {"floor", "allow"}
    egger_distribution : {"normal", "t"}
        MR-Egger inference (MendelianRandomization default "normal"; "t" its t-dist rule).
    n_boot, seed, phi
        Bootstrap draws and seed of the median / mode SEs (one seed for every pair, the draws of a per-pair call
        with that seed), the mode's bandwidth factor.
    median_ratio_se, mode_ratio_se : {"first", "second"}
        Order of the ratio SEs in the weighted median's weights (default first order, MendelianRandomization;
        "second": TwoSampleMR) and in the mode's weights and bootstrap (default second order, both R packages'
        default; "first": NOME). See :func:`il6repro.genetics.mr.weighted_median` / ``weighted_mode``.
    action : {1, 2, 3}
        Palindromic-variant rule of the harmonisation (TwoSampleMR).
    threads : int, optional
        Threads of the bootstrap kernels (default: all cores).

    A variant with a zero SNP-exposure effect makes every estimator of its exposure "not applicable" (its
    ratio is undefined), as the per-pair functions do; a collinear MR-Egger (equal ``|bx|``) is "not
    applicable" too, with the reason in ``note``. Outcomes that lack some of an exposure's variants are scanned
    on the variants they have (each set of outcomes with the same variants on its own; ``n_snp`` per row, the gaps
    listed in ``dropped``); a variant listed twice for one outcome is refused.
    """
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown MR method(s) {unknown}; choose from {list(METHODS)}")
    if ivw_model not in ("fixed", "random", "default"):
        raise ValueError(f"ivw_model must be 'fixed', 'random' or 'default', got {ivw_model!r}")
    if egger_distribution not in ("normal", "t"):
        raise ValueError(f"egger_distribution must be 'normal' or 't', got {egger_distribution!r}")
    if underdispersion not in ("floor", "allow"):
        raise ValueError(f"underdispersion must be 'floor' or 'allow', got {underdispersion!r}")
    for name, value in (("median_ratio_se", median_ratio_se), ("mode_ratio_se", mode_ratio_se)):
        if value not in ("first", "second"):
            raise ValueError(f"{name} must be 'first' or 'second', got {value!r}")
    if n_boot < 2:
        raise ValueError(f"n_boot must be at least 2, got {n_boot}")
    need = {"exposure", "snp", "effect_allele", "other_allele", "beta", "se"}
    miss = need - set(instruments.columns)
    if miss:
        raise ValueError(f"instruments: missing column(s) {sorted(miss)}")
    if (instruments["se"] <= 0).any():
        bad = instruments.loc[instruments["se"] <= 0, "snp"].tolist()
        raise ValueError(f"instruments: zero or negative SE for {bad}")
    if (assoc["se"] <= 0).any():
        raise ValueError("outcome associations: zero or negative SE")
    est_rows, prim, het, single, loo, steig, dropped, inst = [], [], [], [], [], [], [], []
    opts = dict(methods=methods, ivw_model=ivw_model, underdispersion=underdispersion,
                egger_distribution=egger_distribution, n_boot=n_boot, seed=seed, phi=phi,
                median_ratio_se=median_ratio_se, mode_ratio_se=mode_ratio_se, action=action, alpha=alpha,
                n_outcome=n_outcome, threads=threads)
    exposures = list(dict.fromkeys(instruments["exposure"]))
    it = exposures
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(exposures, desc="MR scan", unit="exposure")
    for exp in it:
        ins = instruments[instruments["exposure"] == exp]
        if not ins["snp"].isin(assoc["snp"]).any():  # e.g. summary statistics that lack every variant
            dropped.append(pd.DataFrame({"exposure": exp, "snp": ins["snp"].to_numpy(),
                                         "reason": "not in outcome data"}))
            inst.append({"exposure": exp, "n_snp": 0, "n_dropped": len(ins), "F_mean": np.nan,
                         "R2_exposure": np.nan})
            continue
        h, dr = harmonise(ins.drop(columns=["exposure"]), assoc, action=action)
        dr.insert(0, "exposure", exp)
        dropped.append(dr)
        # variants x outcomes: variants in order of appearance, outcomes sorted (as a pivot would give them),
        # built from integer codes (a pivot of the string columns factorised them again for every value column)
        snp_code, snp_lab = pd.factorize(h["snp"])
        idp_code, idp_lab = pd.factorize(h["idp"], sort=True)
        snps, idps = snp_lab.tolist(), idp_lab.to_numpy()
        J, R = len(snps), len(idps)
        cell = snp_code * R + idp_code
        count = np.bincount(cell, minlength=J * R).reshape(J, R)
        if (count > 1).any():
            j, i = np.argwhere(count > 1)[0]
            raise ValueError(f"outcome associations: variant {snps[j]} is listed more than once for outcome "
                             f"{idps[i]}; keep one row per variant and outcome")
        BY, BYSE = np.full((J, R), np.nan), np.full((J, R), np.nan)
        BY.flat[cell] = h["beta_out"].to_numpy(float)
        BYSE.flat[cell] = h["se_out"].to_numpy(float)
        first = h.iloc[np.unique(snp_code, return_index=True)[1]]  # each variant's first row, in code order
        bx, bxse = first["beta_exp"].to_numpy(float), first["se_exp"].to_numpy(float)
        nout = (h["n"].groupby(idp_code).max().reindex(range(R)).to_numpy() if "n" in h else
                np.full(R, n_outcome or np.nan))
        inst.append({"exposure": exp, "n_snp": J, "n_dropped": len(dr),
                     "F_mean": float(np.mean((bx / bxse) ** 2)),
                     "R2_exposure": float(np.sum(r2_from_t(bx, bxse, first["n_exp"]))) if "n_exp" in first else np.nan})
        if (count == 0).any():
            # outcomes that lack some of the exposure's variants: each set of outcomes with the same variants
            # is scanned on those variants (its rows' n_snp), so one outcome's gap never voids another's estimate
            _, group = np.unique(count.T == 0, axis=0, return_inverse=True)
            subs = [scan(ins, assoc[assoc["idp"].isin(idps[group.ravel() == g])], **opts)
                    for g in range(int(group.max()) + 1)]
            for sub in subs:
                for acc, part in ((est_rows, sub.estimates), (prim, sub.primary), (het, sub.heterogeneity),
                                  (single, sub.single_snp), (loo, sub.leave_one_out), (steig, sub.steiger)):
                    if not part.empty:
                        acc.append(part)
            n_out = pd.Series(np.concatenate([np.unique(sub.dropped["snp"]) for sub in subs])).value_counts()
            n_out = n_out.drop(index=dr["snp"], errors="ignore")
            dropped.append(pd.DataFrame({"exposure": exp, "snp": n_out.index.to_numpy(),
                                         "reason": [f"not in the outcome data of {k} of {R} outcomes (scanned "
                                                    "without it there)" for k in n_out.to_numpy()]}))
            continue
        base = {"exposure": np.repeat(exp, R), "idp": idps, "n_snp": np.repeat(J, R)}

        def add(method, est, se, lo=None, hi=None, p=None, base=base, **extra):
            lo_, hi_, p_, z = _norm(est, se, alpha)
            est_rows.append(pd.DataFrame({**base, "method": LABELS[method], "estimate": est, "se": se,
                                          "ci_low": lo_ if lo is None else lo, "ci_high": hi_ if hi is None else hi,
                                          "z": z, "p": p_ if p is None else p, "note": "", **extra}))

        def not_applicable(method, reason, base=base):
            est_rows.append(pd.DataFrame({**base, "method": LABELS[method], "estimate": np.nan, "se": np.nan,
                                          "ci_low": np.nan, "ci_high": np.nan, "z": np.nan, "p": np.nan,
                                          "note": f"not applicable: {reason}"}))

        # single-SNP Wald ratios (first order), always; none for a variant with zero exposure effect
        zero = bx == 0
        with np.errstate(divide="ignore", invalid="ignore"):
            wr = np.where(zero[:, None], np.nan, BY / bx[:, None])
            wse = np.where(zero[:, None], np.nan, BYSE / np.abs(bx)[:, None])
        lo_, hi_, p_, z_ = _norm(wr, wse, alpha)
        single.append(pd.DataFrame({"exposure": exp, "snp": np.repeat(snps, R), "idp": np.tile(idps, J),
                                    "estimate": wr.ravel(), "se": wse.ravel(), "z": z_.ravel(), "p": p_.ravel(),
                                    "note": np.repeat(np.where(zero, f"not applicable: {ZERO_BX}", ""), R)}))
        if J == 1:
            if zero[0]:
                not_applicable("wald", f"{exp}: {ZERO_BX}")
            else:
                add("wald", wr[0], wse[0])
            prim.append(est_rows[-1].assign(primary_method="Wald ratio"))
        for m in methods:
            if J < MIN_SNPS[m]:
                not_applicable(m, f"{LABELS[m]} needs at least {MIN_SNPS[m]} variants, {exp} has {J}")
                continue
            if zero.any():
                not_applicable(m, f"{exp}: {ZERO_BX}")
                if m == "ivw":
                    prim.append(est_rows[-1].assign(primary_method="not applicable"))
                continue
            if m == "ivw":
                est, se, Q, df, rse, model = _ivw(bx, BY, BYSE ** -2, ivw_model, underdispersion)
                add("ivw", est, se, model=model)
                prim.append(est_rows[-1].assign(primary_method=f"IVW ({model})"))
                het.append(pd.DataFrame({**base, "Q": Q, "Q_df": df, "Q_p": _dist.chi2_sf(Q, df),
                                         "I2": np.where(Q > 0, np.maximum(0, (Q - df) / np.where(Q > 0, Q, 1)), 0),
                                         "residual_se": rse}))
            elif m == "egger":
                if np.any(mr.egger_collinear(np.abs(bx), BYSE ** -2)):
                    not_applicable("egger", mr.EGGER_COLLINEAR)
                    continue
                e = _egger(bx, bxse, BY, BYSE, egger_distribution, underdispersion, alpha)
                add("egger", e["estimate"], e["se"], e["ci_low"], e["ci_high"], e["p"],
                    intercept=e["intercept"], intercept_se=e["intercept_se"], intercept_p=e["intercept_p"])
                het.append(pd.DataFrame({**base, **{k: e[k] for k in ("intercept", "intercept_se", "intercept_p",
                                                                        "Q_rucker", "Q_rucker_df", "Q_rucker_p",
                                                                        "I2_GX")}}).assign(egger=True))
            elif m in ("weighted_median", "simple_median"):
                est, se = _medians(bx, bxse, BY, BYSE, m.split("_")[0], median_ratio_se, n_boot, seed, threads)
                add(m, est, se)
            elif m in ("weighted_mode", "simple_mode"):
                est, se = _modes(bx, bxse, BY, BYSE, m.split("_")[0], mode_ratio_se, phi, n_boot, seed, threads)
                add(m, est, se)
        # leave-one-out IVW (closed form: subtract each variant's contribution)
        if J >= 3:
            loo.append(_leave_one_out(exp, snps, idps, bx, BY, BYSE, zero, ivw_model, underdispersion, alpha))
        # Steiger directionality
        nexp = first["n_exp"].to_numpy(float) if "n_exp" in first else np.full(J, np.nan)
        r2x = float(np.sum(r2_from_t(bx, bxse, nexp)))
        r2y = r2_from_t(BY, BYSE, nout[None, :]).sum(0)
        nx = float(np.nanmean(nexp)) if np.isfinite(nexp).any() else np.nan
        zst = (np.arctanh(np.sqrt(min(r2x, 0.9999))) - np.arctanh(np.sqrt(np.minimum(r2y, 0.9999)))) / np.sqrt(
            1 / (nx - 3) + 1 / (nout - 3))
        steig.append(pd.DataFrame({**base, "r2_exposure": r2x, "r2_outcome": r2y, "correct_direction": r2x > r2y,
                                   "steiger_z": zst, "steiger_p": 2 * _dist.norm_sf(np.abs(zst)),
                                   "note": "" if np.isfinite(nx) else "not applicable: exposure sample size "
                                                                       "unknown"}))

    def cat(x):
        return pd.concat(x, ignore_index=True) if x else pd.DataFrame()

    hetero = cat(het)
    if not hetero.empty:
        hetero = hetero.groupby(["exposure", "idp"], sort=False).first().reset_index()
        hetero = hetero.drop(columns=[c for c in ("egger",) if c in hetero])
    return ScanResult(cat(est_rows), cat(prim), hetero, cat(single), cat(loo), cat(steig),
                      cat(dropped) if dropped else pd.DataFrame(columns=["exposure", "snp", "reason"]),
                      pd.DataFrame(inst))


def bonferroni(n_tests: int, alpha: float = 0.05) -> float:
    """Bonferroni threshold ``alpha / n_tests``."""
    if n_tests < 1:
        raise ValueError("n_tests must be >= 1")
    return alpha / n_tests


def effective_tests(corr: np.ndarray) -> float:
    """Effective number of independent outcomes from their correlation matrix (Li & Ji 2005)."""
    ev = np.abs(np.linalg.eigvalsh(np.asarray(corr, float)))
    return float(np.sum((ev >= 1).astype(float) + (ev - np.floor(ev))))


def significant(p, alpha: float = 0.05, correction: str = "bonferroni") -> pd.Series:
    """Which tests are significant after multiple-testing correction over all non-missing P values.

    ``correction``: ``"bonferroni"`` (P < alpha / m, the paper's rule) or ``"fdr"`` (Benjamini-Hochberg at level
    ``alpha``, statsmodels ``multipletests(method="fdr_bh")``). Missing P values are never significant.
    """
    s = pd.Series(p, dtype=float)
    ok = s.notna().to_numpy()
    out = np.zeros(len(s), dtype=bool)
    if correction == "bonferroni":
        out[ok] = s[ok].to_numpy() < alpha / max(int(ok.sum()), 1)
    elif correction == "fdr":
        if ok.any():
            from statsmodels.stats.multitest import multipletests  # imported only here: it loads scipy.stats

            out[ok] = multipletests(s[ok].to_numpy(), alpha=alpha, method="fdr_bh")[0]
    else:
        raise ValueError(f"correction must be 'bonferroni' or 'fdr', got {correction!r}")
    return pd.Series(out, index=s.index, name=f"significant_{correction}")
