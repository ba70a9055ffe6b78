"""The paper's figures other than the MR diagnostics (:mod:`il6repro.genetics.plots`) and brain maps
(:mod:`il6repro.brain`): null distributions, networks, enrichment bars, risk-ratio forests, the cohort flow and
IL-6 trajectories. Each function takes a tidy table and returns a matplotlib figure for
:func:`il6repro.figures.save`; none computes a statistic.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd


def _fig(figsize):
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=figsize)


def null_histogram(null, observed: float, *, xlabel: str, observed_label: str, null_label: str = "null",
                   expected: float | None = None, expected_label: str = "", integer: bool = False):
    """A null distribution with the observed value (and optionally an expected value) marked."""
    fig, ax = _fig((6.8, 3.1))
    null = np.asarray(null, float)
    lo, hi = float(null.min()), float(null.max())
    span = max(hi - lo, 1e-12)
    off_scale = observed > hi + 2 * span or observed < lo - 2 * span
    top = hi if off_scale else max(hi, observed)
    bins = (np.arange(lo, top + 2) - 0.5) if integer else 40
    ax.hist(null, bins=bins, color="0.72", label=null_label)
    if off_scale:  # keep the null readable and say where the observed value lies
        right = observed > hi
        ax.annotate(f"{observed_label} {'→' if right else '←'} off the scale", xy=(1.0 if right else 0.0, 0.5),
                    xycoords="axes fraction", ha="right" if right else "left", va="center", color="C3",
                    fontsize=9, weight="bold")
        ax.plot([], [], color="C3", lw=1.6, label=observed_label)
    else:
        ax.axvline(observed, color="C3", lw=1.6, label=observed_label)
    if expected is not None:
        ax.axvline(expected, color="C0", ls="--", label=expected_label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    ax.legend(fontsize=8, frameon=False, loc="upper left")
    return fig


def coexpression_matrix(expr: pd.DataFrame, nodes: pd.DataFrame, *, min_r: float, n_labels: int = 10):
    """The MTG genes' co-expression matrix ordered by Louvain module (strongest genes first within a module),
    module boundaries drawn, and the top hubs listed beside it (a dense network is read better as a matrix)."""
    import matplotlib.pyplot as plt

    order = nodes.sort_values(["module", "strength"], ascending=[True, False]).index
    r = np.corrcoef(expr[order].to_numpy(float), rowvar=False)
    fig, (ax, side) = plt.subplots(1, 2, figsize=(9.5, 6), gridspec_kw={"width_ratios": [4, 1.4]})
    im = ax.imshow(r, cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
    sizes = nodes.loc[order, "module"].value_counts(sort=False).reindex(pd.unique(nodes.loc[order, "module"]))
    edges = np.cumsum(sizes.to_numpy())[:-1] - 0.5
    for e in edges[sizes.to_numpy()[:-1] >= 5]:
        ax.axhline(e, color="black", lw=0.5)
        ax.axvline(e, color="black", lw=0.5)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.colorbar(im, ax=ax, shrink=0.7, label="Pearson r across regions")
    big = sizes[sizes >= 5]
    ax.set_title(f"{len(order)} MTG genes ordered by Louvain module ({len(big)} modules of >= 5 genes; "
                 f"edges at r >= {min_r})", fontsize=9)
    side.axis("off")
    # ranked by strength (the sum of a gene's edge weights), as the hub table: its degree is shown, not ranked by
    side.set_title("top hubs by strength\n(degree, module)", fontsize=9, loc="left")
    for i, h in enumerate(nodes.sort_values("strength", ascending=False, kind="stable").index[:n_labels], 1):
        side.text(0, 1 - i * 0.055, f"{i}. {h}  ({int(nodes.loc[h, 'degree'])}, module "
                                    f"{int(nodes.loc[h, 'module'])})", fontsize=8, va="top", transform=side.transAxes)
    return fig


def ppi_module(module, roles: pd.Series, *, seed: int):
    """The STRING module around IL6: IL6 red, MTG genes blue, linker proteins grey; every node named just above
    its marker (linkers in grey italics), so no name is printed over a node."""
    import networkx as nx

    fig, ax = _fig((7, 6))
    pos = nx.spring_layout(module, seed=seed)
    colour = {"seed": "crimson", "set": "tab:blue", "linker": "0.75"}
    nx.draw_networkx_edges(module, pos, ax=ax, alpha=0.3)
    nx.draw_networkx_nodes(module, pos, ax=ax, node_size=[160 if roles[n] == "seed" else 40 for n in module],
                           node_color=[colour[roles[n]] for n in module])
    ys = np.array([p[1] for p in pos.values()]) if len(pos) else np.zeros(1)
    lift = 0.03 * (float(ys.max() - ys.min()) or 1.0)  # a label's offset above its node, in layout units
    for n in module:
        x, y = pos[n]
        linker = roles[n] == "linker"
        # on a white backing above the edges: a linker sits where edges meet, and its name was crossed out by them
        ax.text(x, y + lift, n, ha="center", va="bottom", fontsize=5.5 if linker else 6.5,
                color="0.3" if linker else "black", style="italic" if linker else "normal", zorder=5,
                bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.85})
    ax.set_title("IL6 module in STRING (red: IL6; blue: MTG genes; grey: linker proteins)", fontsize=10)
    ax.axis("off")
    return fig


TERM_LINE = 46  # characters per line of a term name in :func:`top_terms`


def top_terms(res: pd.DataFrame, *, top_n: int, fdr_level: float, n_genes: int, libraries):
    """The ``top_n`` terms by FDR q (most significant at the top), coloured by library; names wrapped on two lines
    at most (a longer one shortened with " ..."), in 9 pt type: the figure is drawn at about the book's column
    width, so it is shown near 1:1 and not shrunk."""
    top = res.sort_values(["fdr", "P-value"]).head(top_n).iloc[::-1]
    # two lines of 46 characters at most: real GO / KEGG / DisGeNET names fit whole; a longer one ends in " ..."
    names = [textwrap.fill(textwrap.shorten(t, width=2 * TERM_LINE, placeholder=" ..."), width=TERM_LINE)
             for t in top.Term]
    row = 0.42 if any("\n" in n for n in names) else 0.3  # inches per bar: room for a two-line name at 9 pt
    fig, ax = _fig((8, row * len(top) + 1.3))
    colours = {lib: f"C{i}" for i, lib in enumerate(libraries)}
    ax.barh(np.arange(len(top)), -np.log10(top.fdr), color=[colours.get(lib, "0.5") for lib in top.library])
    ax.set_yticks(np.arange(len(top)), names, fontsize=9, linespacing=1.0)
    ax.set_ylim(-0.6, len(top) - 0.4)
    ax.axvline(-np.log10(fdr_level), color="0.3", ls="--", lw=0.8)
    ax.set_xlabel(f"−log10 FDR q (dashed: q = {fdr_level:g})", fontsize=10)
    ax.tick_params(axis="x", labelsize=9)
    shown = [lib for lib in libraries if lib in set(top.library)]
    for lib in shown:
        ax.barh([np.nan], [np.nan], color=colours[lib], label=lib)
    ax.legend(fontsize=9, loc="lower right", frameon=True, title="library", title_fontsize=9)
    ax.set_title(f"Top {len(top)} terms for the {n_genes} MTG-preferential genes", fontsize=11)
    return fig


def rr_forest(table: pd.DataFrame, *, published: float, published_ci: tuple[float, float], xlabel: str,
              published_rows=None):
    """Risk ratios with 95% CIs (rows of ``table``: label, RR, CI low, CI high), the published RR and CI shaded
    behind the rows it was published for (``published_rows``: a mask over the rows; default all)."""
    fig, ax = _fig((6.8, 0.45 * len(table) + 1.4))
    y = np.arange(len(table))[::-1]
    rr = table["RR"].to_numpy(float)
    ax.errorbar(rr, y, xerr=[rr - table["95% CI low"], table["95% CI high"] - rr], fmt="o", color="C0",
                capsize=3, label="this run")
    label = f"published {published} ({published_ci[0]}-{published_ci[1]})"
    rows = np.ones(len(table), bool) if published_rows is None else np.asarray(published_rows, bool)
    if rows.all():
        ax.axvspan(*published_ci, color="C3", alpha=0.12, label=label)
        ax.axvline(published, color="C3", lw=0.8)
    else:  # e.g. the age- and sex-adjusted rows only: the abstract gives no number for the fully adjusted model
        for k, yk in enumerate(y[rows]):
            ax.fill_betweenx([yk - 0.4, yk + 0.4], *published_ci, color="C3", alpha=0.12, lw=0,
                             label=label + " (shaded rows)" if k == 0 else None)
            ax.plot([published, published], [yk - 0.4, yk + 0.4], color="C3", lw=0.8)
        ax.set_ylim(y.min() - 0.6, y.max() + 0.6)
    ax.axvline(1.0, color="0.4", ls="--", lw=0.8)
    ax.set_yticks(y, table["label"], fontsize=9)  # legible in the paper's 740 px column
    ax.set_xlabel(xlabel)
    ax.legend(fontsize=8, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=2, frameon=False)
    return fig


def _count(v) -> str:
    """A count as the figure shows it: ``1,234``, or a suppressed cell's text (``<10``) as it is."""
    return f"{v:,}" if isinstance(v, int | np.integer) else str(v)


def flow_diagram(flow: pd.DataFrame, n_obs: int):
    """Per IL-6 phase: attended GHQ → GHQ cases → IL-6 measured → case-observations, each exclusion beside the step it leaves."""
    fig, ax = _fig((9.5, 3.8))
    ax.axis("off")
    cols = ["attended GHQ", "GHQ cases", "IL-6 measured", "case-observations"]
    for j, ph in enumerate(flow.index):
        x0 = 0.02 + 0.33 * j
        for i, c in enumerate(cols):
            y = 0.88 - 0.25 * i
            ax.text(x0, y, f"phase {ph}: {c}\n{_count(flow.loc[ph, c])}", ha="left", va="center", fontsize=8,
                    transform=ax.transAxes, bbox=dict(boxstyle="round", fc="0.95", ec="0.6"))
            if i:
                ax.annotate("", xy=(x0 + 0.05, y + 0.07), xytext=(x0 + 0.05, y + 0.17), xycoords="axes fraction",
                            textcoords="axes fraction", arrowprops=dict(arrowstyle="->", color="0.4"))
        # each exclusion beside the arrow of the step it leaves: cases without IL-6, then IL-6 without a later GHQ
        for i, (col, words) in ((2, ("no IL-6 (excluded)", "no IL-6")), (3, ("no later GHQ (excluded)", "no later GHQ"))):
            v = flow.loc[ph, col]
            ax.text(x0 + 0.08, 0.88 - 0.25 * (i - 0.5), f"- {v:,} {words}" if isinstance(v, int | np.integer)
                    else f"- {words} ({v})", fontsize=7, color="0.35",
                    va="center", transform=ax.transAxes)
    ax.set_title(f"Who enters: {n_obs:,} GHQ-case observations with IL-6 and follow-up", fontsize=10)
    return fig


def il6_trajectories(traj: pd.DataFrame):
    """Geometric mean IL-6 at baseline and the next IL-6 phase, by phase and resolution status."""
    fig, ax = _fig((6.4, 3.5))
    if traj.empty:  # every group under the small-cell limit (a small extract): say so rather than fail
        ax.text(0.5, 0.5, "no group has 10 or more case-observations:\nnothing can be shown (small-cell rule)",
                ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    groups = list(traj.groupby(["from phase", "group"]))
    # each series a little to the side of the others, so two equal means show two markers, not one over the other
    dodge = np.linspace(-0.06, 0.06, len(groups)) if len(groups) > 1 else np.zeros(len(groups))
    for dx, ((ph, g), t) in zip(dodge, groups, strict=True):
        # the phases differ by line style and marker, so the legend tells them apart even where lines overlap
        first = ph == traj["from phase"].min()
        ax.plot([dx, 1 + dx], [t["baseline"].item(), t["next IL-6 phase"].item()], marker="o" if first else "s",
                color="C0" if g == "resolved" else "C3", ls="-" if first else "--",
                label=f"phase {ph} → {ph + 2}: {g} (n={t['case-observations'].item():,})")
    ax.set_xticks([0, 1], ["baseline (high IL-6 cases)", "next IL-6 phase"])
    ax.set_xlim(-0.3, 1.3)  # room for the tick labels inside the figure
    ax.set_ylabel("geometric mean IL-6 (pg/mL)")
    ax.legend(fontsize=7, frameon=False, handlelength=4)  # long enough handles to show solid vs dashed
    ax.set_title("IL-6 among high-IL-6 cases, by whether symptoms resolved", fontsize=10)
    return fig


def ledger_status(table: pd.DataFrame, colours: dict[str, str]):
    """Number of published numbers per status, one bar per study; "not reproduced" split into real data (plain)
    and the twin (hatched), as the book's summary splits it: a twin claim missed there is mostly the twin's power or
    the paper's own numbers, not a failed reproduction on data."""
    twin = (table["status"] == "not reproduced") & (table.get("kind", pd.Series("", index=table.index))
                                                     == "planted_twin")
    status = table["status"].where(~twin, "not reproduced (twin)")
    by_study = table.assign(status=status).groupby(["study", "status"]).size().unstack(fill_value=0)
    fig, ax = _fig((7.5, 2.6))
    left = np.zeros(len(by_study))
    order = [(s, c, "") for s, c in colours.items()]
    at = next((i for i, (s, _, _) in enumerate(order) if s == "not reproduced"), len(order) - 1)
    order.insert(at + 1, ("not reproduced (twin)", colours.get("not reproduced", "#f4cccc"), "///"))
    for name, colour, hatch in order:
        if name in by_study:
            vals = by_study[name].to_numpy()
            label = "not reproduced (real data)" if name == "not reproduced" and "not reproduced (twin)" in by_study \
                else name
            ax.barh(range(len(by_study)), vals, left=left, color=colour, edgecolor="#555", hatch=hatch, label=label)
            left += vals
    ax.set_xlabel("published numbers")
    ax.set_yticks(range(len(by_study)), [{"W": "Williams 2022", "V": "Virtanen 2015"}.get(s, s)
                                         for s in by_study.index])
    ax.legend(fontsize=8, bbox_to_anchor=(1.02, 1), loc="upper left", frameon=False)
    return fig


def spread_labels(y, min_gap: float) -> np.ndarray:
    """Label positions for points at heights ``y``: as close to each point as possible, at least ``min_gap`` apart
    (a one-dimensional repel: sorted, pushed apart upwards, then the block re-centred on the points)."""
    y = np.asarray(y, float)
    order = np.argsort(y, kind="stable")
    pos = y[order].copy()
    for i in range(1, len(pos)):
        pos[i] = max(pos[i], pos[i - 1] + min_gap)
    pos -= max(0.0, float(np.mean(pos - y[order])))  # spread both ways, not only up
    for i in range(1, len(pos)):  # re-centring must not undo the gaps
        pos[i] = max(pos[i], pos[i - 1] + min_gap)
    out = np.empty_like(pos)
    out[order] = pos
    return out


def published_z_vs_p(claims: dict, threshold: float):
    """Printed P against printed |z| for study W's IL-6 associations, over the curve a normal z implies; each point
    named in a column to the right, joined by a thin line, so no two names overlap."""
    from . import _dist
    from .report import fmt_num

    z = np.linspace(3, 6.2, 200)
    fig, ax = _fig((7.2, 4.2))
    ax.plot(z, -np.log10(2 * _dist.norm_sf(z)), color="#333", label="two-sided P implied by |z|")
    pts = [(cid, c) for cid, c in claims.items() if cid.startswith("W.mr.il6.") and cid.endswith(".z")]
    xs = np.array([abs(c.value) for _, c in pts])
    ys = np.array([-np.log10(claims[cid[:-2] + ".p"].value) for cid, _ in pts])
    names = [c.quantity.split("-> ")[-1].split(",")[0] for _, c in pts]
    ax.scatter(xs, ys, color="#c0392b", zorder=3, s=36)
    ax.axhline(-np.log10(threshold), ls="--", color="#888", label=f"P = {fmt_num(threshold, 2)}")
    ax.set_xlim(2.9, 6.4)
    lo, hi = min(2.4, float(ys.min()) - 0.3), max(9.6, float(ys.max()) + 0.6)
    ax.set_ylim(lo, hi)
    label_y = spread_labels(ys, min_gap=0.075 * (hi - lo))
    for x, y, ly, name in zip(xs, ys, label_y, names, strict=True):
        ax.annotate(name, (x, y), xytext=(1.03, ly), textcoords=("axes fraction", "data"), fontsize=9,
                    va="center", annotation_clip=False,
                    arrowprops=dict(arrowstyle="-", color="#999", lw=0.6, shrinkA=2, shrinkB=4))
    ax.set_xlabel("|z| as printed", fontsize=10)
    ax.set_ylabel("−log10 P as printed", fontsize=10)
    ax.legend(fontsize=9, frameon=False, loc="upper left")
    return fig
