"""Allele harmonisation of SNP-exposure and SNP-outcome statistics, TwoSampleMR's rules, every drop explained.

For each variant the outcome alleles are compared with the exposure alleles:

- same effect / other allele: kept as is;
- swapped: outcome beta sign flipped, outcome eaf -> 1 - eaf;
- neither, but the complement (other strand) matches or matches swapped: strand flip (and swap if needed);
- otherwise dropped: "incompatible alleles".

Palindromic variants (A/T, C/G) cannot reveal their strand from alleles; ``action`` chooses (TwoSampleMR):
1 = assume both on the forward strand; 2 (default) = infer the strand from allele frequencies and drop those with
minor allele frequency above ``maf_threshold`` (0.42) or without frequencies; 3 = drop all palindromic variants.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

COMPLEMENT = {"A": "T", "T": "A", "C": "G", "G": "C"}
REQUIRED = ("snp", "effect_allele", "other_allele", "beta", "se")


class HarmonisationError(ValueError):
    """Inputs cannot be harmonised (missing columns, bad allele codes, no variant in common)."""


def complement(allele: str) -> str:
    return "".join(COMPLEMENT.get(b, "?") for b in allele)


def is_palindromic(a1: str, a2: str) -> bool:
    return len(a1) == 1 and len(a2) == 1 and COMPLEMENT.get(a1) == a2


def _check(df: pd.DataFrame, what: str) -> pd.DataFrame:
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise HarmonisationError(f"{what}: missing column(s) {missing}")
    df = df.copy()
    for c in ("effect_allele", "other_allele"):
        # cleaned once per distinct code (a scan's outcome table repeats a handful of codes per variant x IDP)
        codes, uniq = pd.factorize(df[c].astype(str))
        clean = pd.Index(uniq, dtype=object).str.upper().str.strip()
        df[c] = np.asarray(clean, dtype=object)[codes]
        bad = pd.Series(~np.asarray(clean.str.fullmatch(r"[ACGT]+"), dtype=bool)[codes], index=df.index)
        if bad.any():
            raise HarmonisationError(f"{what}: allele codes must be A/C/G/T strings; "
                                     f"bad {c} for {df.loc[bad, 'snp'].tolist()[:5]}")
    same = df["effect_allele"] == df["other_allele"]
    if same.any():
        raise HarmonisationError(f"{what}: effect and other allele identical for {df.loc[same, 'snp'].tolist()[:5]}")
    if (df["se"] <= 0).any() or df["se"].isna().any():
        bad = df.loc[~(df["se"] > 0)]
        where = f"variant(s) {bad['snp'].unique().tolist()[:5]}"
        if "idp" in bad:
            where += f" on IDP(s) {bad['idp'].unique().tolist()[:5]} (no variation, or too few participants?)"
        raise HarmonisationError(f"{what}: zero, negative or missing SE for {where}")
    return df


def allele_actions(exposure: pd.DataFrame, outcome_alleles: pd.DataFrame, *, action: int = 2,
                   maf_threshold: float = 0.42) -> pd.DataFrame:
    """Per-variant decision: ``sign`` (+1 keep, -1 flip outcome) or a drop ``reason`` (one row per exposure SNP).

    ``outcome_alleles`` has one row per variant: snp, effect_allele, other_allele, eaf (optional).
    """
    if action not in (1, 2, 3):
        raise ValueError(f"action must be 1, 2 or 3 (TwoSampleMR), got {action!r}")
    out = outcome_alleles.drop_duplicates("snp").set_index("snp")
    rows = []
    for r in exposure.itertuples(index=False):
        d = {"snp": r.snp, "sign": np.nan, "strand_flipped": False, "palindromic": False, "reason": ""}
        if r.snp not in out.index:
            d["reason"] = "not in outcome data"
            rows.append(d)
            continue
        o = out.loc[r.snp]
        A1, A2, B1, B2 = r.effect_allele, r.other_allele, o["effect_allele"], o["other_allele"]
        pal = is_palindromic(A1, A2)
        d["palindromic"] = pal
        if pal:
            if action == 3:
                d["reason"] = "palindromic (action 3 drops all)"
            elif {B1, B2} != {A1, A2}:
                d["reason"] = "incompatible alleles"
            elif action == 1:
                d["sign"] = 1.0 if (B1, B2) == (A1, A2) else -1.0
            else:
                fe = getattr(r, "eaf", np.nan)
                fo = o.get("eaf", np.nan)
                if not (np.isfinite(fe) and np.isfinite(fo)):
                    d["reason"] = "palindromic without allele frequencies"
                elif min(fe, 1 - fe) > maf_threshold:
                    d["reason"] = f"palindromic with intermediate allele frequency (MAF > {maf_threshold})"
                else:
                    fo_aligned = fo if (B1, B2) == (A1, A2) else 1 - fo
                    same_strand = (fe < 0.5) == (fo_aligned < 0.5)
                    base = 1.0 if (B1, B2) == (A1, A2) else -1.0
                    d["sign"] = base if same_strand else -base
                    d["strand_flipped"] = not same_strand
            rows.append(d)
            continue
        if (B1, B2) == (A1, A2):
            d["sign"] = 1.0
        elif (B1, B2) == (A2, A1):
            d["sign"] = -1.0
        elif (complement(B1), complement(B2)) == (A1, A2):
            d["sign"], d["strand_flipped"] = 1.0, True
        elif (complement(B1), complement(B2)) == (A2, A1):
            d["sign"], d["strand_flipped"] = -1.0, True
        else:
            d["reason"] = "incompatible alleles"
        rows.append(d)
    return pd.DataFrame(rows)


def harmonise(exposure: pd.DataFrame, outcome: pd.DataFrame, *, action: int = 2,
              maf_threshold: float = 0.42) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Align outcome effects to the exposure's effect allele.

    Parameters
    ----------
    exposure : DataFrame
        snp, effect_allele, other_allele, beta, se [, eaf, exposure, ...] (one row per variant).
    outcome : DataFrame
        snp, effect_allele, other_allele, beta, se [, eaf, idp, ...]: one or many rows per variant (e.g. one per
        IDP); the allele decision is made once per variant.

    Returns
    -------
    (harmonised, dropped)
        ``harmonised`` has ``beta_exp, se_exp, eaf_exp, beta_out, se_out, eaf_out`` (outcome aligned) plus the
        outcome's other columns; ``dropped`` lists every exposure variant left out with its ``reason``.
    """
    e = _check(exposure, "exposure")
    o = _check(outcome, "outcome")
    if e["snp"].duplicated().any():
        raise HarmonisationError(f"exposure: variant listed twice: {e.loc[e['snp'].duplicated(), 'snp'].tolist()}")
    alle = o[["snp", "effect_allele", "other_allele"] + (["eaf"] if "eaf" in o else [])].drop_duplicates("snp")
    act = allele_actions(e, alle, action=action, maf_threshold=maf_threshold)
    keep = act[act["reason"] == ""].set_index("snp")
    dropped = act.loc[act["reason"] != "", ["snp", "reason"]].reset_index(drop=True)
    if keep.empty:
        raise HarmonisationError(f"no variant left after harmonisation ({len(dropped)} dropped: "
                                 f"{dropped['reason'].value_counts().to_dict()})")
    ecols = {"beta": "beta_exp", "se": "se_exp", "eaf": "eaf_exp", "n": "n_exp", "pval": "pval_exp"}
    ee = e[e["snp"].isin(keep.index)].rename(columns=ecols)
    oo = o[o["snp"].isin(keep.index)].drop(columns=["effect_allele", "other_allele"]).rename(
        columns={"beta": "beta_out", "se": "se_out", "eaf": "eaf_out"})
    sign = oo["snp"].map(keep["sign"])
    oo["beta_out"] = oo["beta_out"] * sign
    if "eaf_out" in oo:
        oo["eaf_out"] = np.where(sign < 0, 1 - oo["eaf_out"], oo["eaf_out"])
    oo["strand_flipped"] = oo["snp"].map(keep["strand_flipped"]).astype(bool)
    oo["allele_swapped"] = sign < 0
    h = ee.merge(oo, on="snp", how="inner")
    return h.reset_index(drop=True), dropped
