"""The four standard MR diagnostic plots (TwoSampleMR's set): scatter, funnel, single-SNP forest, leave-one-out."""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Line style of each method's line in :func:`scatter` (colour-blind safe: the dashes tell them apart too).
METHOD_LINES = {"IVW": {"color": "C0", "ls": "-", "lw": 1.6}, "MR-Egger": {"color": "C3", "ls": "--", "lw": 1.3},
                "Weighted median": {"color": "C2", "ls": ":", "lw": 2.0}}


def scatter(h: pd.DataFrame, estimates: pd.DataFrame, ax, title: str = "", *, legend: bool = True,
            xlabel: str = "SNP effect on exposure"):
    """SNP-outcome vs SNP-exposure effects (oriented to positive exposure effect) with each method's line."""
    s = np.sign(h["beta_exp"])
    x, y = h["beta_exp"] * s, h["beta_out"] * s
    ax.errorbar(x, y, xerr=1.96 * h["se_exp"], yerr=1.96 * h["se_out"], fmt="o", ms=4, color="0.3", lw=0.8)
    xs = np.linspace(0, x.max() * 1.05, 10)
    for row in estimates.dropna(subset=["estimate"]).itertuples():
        icpt = getattr(row, "intercept", 0.0) if row.method == "MR-Egger" else 0.0
        icpt = 0.0 if pd.isna(icpt) else icpt
        # distinct dashes as well as colours: IVW and the weighted median often lie on top of each other
        ax.plot(xs, icpt + row.estimate * xs, label=row.method, **METHOD_LINES.get(row.method, {}))
    ax.axhline(0, color="0.7", lw=0.6)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("SNP effect on outcome (SD)")
    if legend:
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


def instrument_strength(ins: pd.DataFrame, ax=None):
    """F statistic of every instrument by exposure (log scale), F = 10 dashed; points jittered deterministically."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.2))
    f = (ins["beta"] / ins["se"]) ** 2
    from .pipeline import illustrative_effect

    # F needs the effect size and its SE: where either is illustrative (not cited), the point is drawn hollow
    illus = illustrative_effect(ins).to_numpy()
    exposures = list(dict.fromkeys(ins["exposure"]))
    for i, exp in enumerate(exposures):
        k = (ins["exposure"] == exp).to_numpy()
        vals = f[k].to_numpy()
        jitter = np.linspace(-0.18, 0.18, len(vals)) if len(vals) > 1 else np.zeros(1)
        hollow = illus[k]
        ax.scatter(i + jitter[~hollow], vals[~hollow], s=22, color=f"C{i}", edgecolor="white", linewidth=0.5)
        ax.scatter(i + jitter[hollow], vals[hollow], s=22, facecolor="white", edgecolor=f"C{i}", linewidth=1.2)
    if illus.any():
        ax.scatter([], [], s=22, facecolor="white", edgecolor="0.3", linewidth=1.2,
                   label="effect size or SE illustrative (not cited)")
        ax.legend(fontsize=7, frameon=False, loc="upper right")
    ax.axhline(10, color="0.4", ls="--", lw=0.8)
    ax.set_xticks(range(len(exposures)), exposures)
    ax.set_yscale("log")
    ax.set_ylabel("F statistic per variant (log scale)")
    ax.set_title("Instrument strength from the SNP-exposure statistics (dashed: F = 10)", fontsize=10)
    return ax.figure


def correlation_heatmap(corr: pd.DataFrame, title: str, ax=None):
    """A correlation matrix as a heat map (-1 to 1), without tick labels; matplotlib's "RdBu_r", as notebook 05's
    co-expression matrix (one colour map for correlations across the book)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4.6))
    im = ax.imshow(corr.to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
    ax.figure.colorbar(im, ax=ax, label="correlation")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=10)
    return ax.figure


def manhattan(primary: pd.DataFrame, threshold: float, published_threshold: float, ax=None):
    """-log10 P of every exposure x IDP test, grouped by exposure, with the computed and published thresholds."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3.6))
    order = primary.sort_values(["exposure", "measure", "idp"]).reset_index(drop=True)
    centres, names = [], []
    for i, (exp, sub) in enumerate(order.groupby("exposure", sort=False)):
        ax.scatter(sub.index, -np.log10(sub["p"]), s=8, color=f"C{i}")
        centres.append(float(sub.index.to_numpy().mean()))
        names.append(exp)
    from ..report import fmt_num, fmt_p

    # the thresholds as the tables write them (4.88e-5; the paper's 1.1e-4 at its own two figures)
    ax.axhline(-np.log10(threshold), color="0.2", ls="--", lw=0.8, label=f"Bonferroni {fmt_p(threshold)}")
    ax.axhline(-np.log10(published_threshold), color="C3", ls=":", lw=0.9,
               label=f"published {fmt_num(published_threshold, 2)}")
    ax.set_xlabel("exposure x IDP test, grouped by exposure")
    ax.set_ylabel("-log10 P (IVW / Wald)")
    ax.set_xticks(centres, names)  # each exposure named under its own group (no colour legend to decode)
    for tick, i in zip(ax.get_xticklabels(), range(len(names)), strict=True):
        tick.set_color(f"C{i}")
    ax.tick_params(axis="x", length=0)
    ax.legend(fontsize=7, ncol=2)
    return ax.figure


def sensitivity_panels(harmonised: dict[str, pd.DataFrame], estimates: pd.DataFrame, labels: dict[str, str], *,
                       units: str = ""):
    """One scatter panel per outcome (IVW, MR-Egger, weighted median lines); ``harmonised`` maps IDP -> table;
    ``units`` of the SNP-exposure effects (``"log CRP per allele"``) label the x axes. One legend for all panels,
    in a spare panel when there is one (above the panels otherwise), so no legend covers a panel's points."""
    import matplotlib.pyplot as plt

    n = len(harmonised)
    cols = 3
    fig, axes = plt.subplots(-(-n // cols), cols, figsize=(11, 3.3 * -(-n // cols)), squeeze=False)
    keep = ["IVW", "MR-Egger", "Weighted median"]
    xlabel = "SNP effect on exposure" + (f"\n({units})" if units else "")
    for ax, (idp, h) in zip(axes.ravel(), harmonised.items(), strict=False):
        scatter(h, estimates[(estimates.idp == idp) & estimates.method.isin(keep)], ax, title=labels.get(idp, idp),
                legend=False, xlabel=xlabel)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    handles, names = axes.ravel()[0].get_legend_handles_labels() if n else ([], [])
    if handles:
        spare = axes.ravel()[n:]
        if len(spare):
            spare[0].legend(handles, names, loc="center", fontsize=9, frameon=False,
                            title="lines: estimate of each method")
        else:
            fig.legend(handles, names, loc="upper center", ncol=len(names), fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def diagnostics(single: pd.DataFrame, loo: pd.DataFrame, ivw: float, title: str):
    """Funnel, single-SNP forest and leave-one-out forest side by side."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
    funnel(single, ivw, axes[0], title="funnel")
    forest(single, axes[1], label="snp", title="single-SNP Wald ratios", ref=ivw)
    forest(loo, axes[2], label="left_out", title="leave-one-out IVW", ref=ivw)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
