"""The four standard MR diagnostic plots (TwoSampleMR's set): scatter, funnel, single-SNP forest, leave-one-out."""

from __future__ import annotations

import numpy as np
import pandas as pd


def scatter(h: pd.DataFrame, estimates: pd.DataFrame, ax, title: str = ""):
    """SNP-outcome vs SNP-exposure effects (oriented to positive exposure effect) with each method's line."""
    s = np.sign(h["beta_exp"])
    x, y = h["beta_exp"] * s, h["beta_out"] * s
    ax.errorbar(x, y, xerr=1.96 * h["se_exp"], yerr=1.96 * h["se_out"], fmt="o", ms=4, color="0.3", lw=0.8)
    xs = np.linspace(0, x.max() * 1.05, 10)
    for row in estimates.dropna(subset=["estimate"]).itertuples():
        icpt = getattr(row, "intercept", 0.0) if row.method == "MR-Egger" else 0.0
        icpt = 0.0 if pd.isna(icpt) else icpt
        ax.plot(xs, icpt + row.estimate * xs, label=row.method)
    ax.axhline(0, color="0.7", lw=0.6)
    ax.set_xlabel("SNP effect on exposure")
    ax.set_ylabel("SNP effect on outcome (SD)")
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=9)


def funnel(single: pd.DataFrame, ivw: float, ax, title: str = ""):
    """Single-SNP Wald ratios against their precision, with the IVW estimate."""
    ax.scatter(single["estimate"], 1 / single["se"], s=14, color="0.3")
    ax.axvline(ivw, color="C0", label="IVW")
    ax.set_xlabel("Wald ratio")
    ax.set_ylabel("1 / SE")
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=9)


def forest(rows: pd.DataFrame, ax, label: str = "snp", title: str = "", ref: float | None = None):
    """Estimates with 95% CIs, one row each (single-SNP Wald ratios or leave-one-out estimates)."""
    rows = rows.reset_index(drop=True)
    yy = np.arange(len(rows))[::-1]
    ax.errorbar(rows["estimate"], yy, xerr=1.96 * rows["se"], fmt="s", ms=3, color="0.2", lw=0.8)
    ax.set_yticks(yy, rows[label], fontsize=7)
    ax.axvline(0, color="0.7", lw=0.6)
    if ref is not None:
        ax.axvline(ref, color="C0", lw=0.8, ls="--")
    ax.set_xlabel("estimate (95% CI)")
    ax.set_title(title, fontsize=9)
