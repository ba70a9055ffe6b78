"""What the reader sees in a results table: published beside reproduced, P values that never read 0, and a line
saying what to conclude.

Every results table of notebooks 01-08 goes through :func:`claims_table` (the ledger's rows for the claims that
notebook recorded, with the published value and CI beside this run's, the rule and the status) and ends with
:func:`conclusion` (the paper's claim, whether this run supports it, and what kind of evidence that is). The
number formats (:func:`fmt_p`, :func:`fmt_num`, :func:`fmt_ci`) are used by every table, so a P value is always in
scientific notation and never printed as ``0.000000``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

P_RULES = frozenset({"log10_window", "p_below", "not_significant"})
STATUS_COLOURS = {
    "reproduced on real data": "#d4f7d4",
    "recovered from a planted twin": "#dcecff",
    "set by design (twin input)": "#eee8ff",
    "not reproduced": "#ffd6d6",
    "not yet attempted": "#f4f4f4",
    "not checked": "#fff1c9",
    "reproduced on real public data (OpenGWAS ubm-b, N ~ 32k, overlapping but not equal to the paper's sample)":
        "#e9f7c8",
    "recorded fixture (test responses, not evidence)": "#fff1c2",
}
EVIDENCE = {
    "planted_twin": ("On the synthetic twin this shows that the pipeline recovers an effect planted at the published "
                     "size; it is not evidence for the finding."),
    "design_input": "This number is an input of the synthetic twin, echoed to show the twin is what it claims.",
    "real_data": "This is computed from real data.",
    "opengwas_real": ("This is computed from real public summary statistics (the UK Biobank brain-IDP GWAS on "
                      "OpenGWAS, ubm-b, N ~ 32k): a sample overlapping the paper's but not equal to it."),
    "recorded_fixture": ("This is computed from hand-made test responses (a recorded fixture): it tests the code "
                         "path and is not evidence."),
}


def _missing(x: Any) -> bool:
    return x is None or x == "" or (isinstance(x, float) and math.isnan(x))


def fmt_p(p: Any) -> str:
    """A P value for people, three significant figures: ``8.39e-9``, ``0.0012`` -> ``1.20e-3``, ``0.0499``,
    ``0.372``; never ``0`` (an underflow reads ``< 1e-300``)."""
    if _missing(p):
        return ""
    p = float(p)
    if p <= 0:
        return "< 1e-300"
    if p < 0.01:
        return f"{p:.2e}".replace("e-0", "e-")
    return f"{p:.3g}" if p < 1 else "1"


def fmt_num(x: Any, sig: int = 3) -> str:
    """A number with ``sig`` significant figures, thousands separated, integers as integers."""
    if _missing(x):
        return ""
    if isinstance(x, str):
        return x
    x = float(x)
    if x.is_integer() and abs(x) < 1e9:
        return f"{int(x):,}"
    if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e6):
        return f"{x:.{sig - 1}e}".replace("e-0", "e-")
    digits = max(sig - 1 - int(math.floor(math.log10(abs(x)))), 0) if x else sig - 1
    return f"{x:,.{digits}f}"


def fmt_ci(lo: Any, hi: Any, sig: int = 3) -> str:
    """``(1.06 to 1.25)``; empty when either bound is missing."""
    if _missing(lo) or _missing(hi):
        return ""
    return f"({fmt_num(lo, sig)} to {fmt_num(hi, sig)})"


def _fmt_value(x: Any, is_p: bool) -> str:
    return fmt_p(x) if is_p else fmt_num(x)


def published_text(c) -> str:
    """A published number as the paper gives it: the value with its CI, or the rule where the paper states a
    conclusion without a number ("significant", "not significant", a direction)."""
    kind = c.rule.get("kind")
    if kind == "p_below":
        return f"significant (read as P < {c.rule['threshold']:g})"
    if kind == "not_significant":
        return f"not significant (every P >= {fmt_p(c.rule['threshold'])})"
    if kind == "sign":
        return f"{'negative' if c.value < 0 else 'positive'}, CI excluding 0 (direction only)"
    return _fmt_value(c.value, kind in P_RULES) + (" " + fmt_ci(*c.ci) if c.ci else "")


def claims_rows(claim_ids: list[str], results: dict | None = None, *, with_rule: bool = False):
    """The ledger's rows for ``claim_ids`` (this run's records by default), formatted for people.

    Columns: claim, quantity, published, reproduced, status, check (the rule applied and its outcome), note,
    and any further verdict columns the ledger provides (e.g. the conclusion's verdict).
    """
    import pandas as pd

    from . import ledger
    from ._paths import results_dir

    if results is None:
        results = ledger.load_results(results_dir()) if results_dir().is_dir() else {}
    table = ledger.with_display_status(ledger.compare(results=results))
    known = set(table["claim"])
    unknown = [c for c in claim_ids if c not in known]
    if unknown:
        raise ledger.LedgerError(f"unknown claim id(s) {unknown}; see data_manifest/published_claims.yaml")
    sub = table.set_index("claim").loc[list(claim_ids)].reset_index()
    claims = ledger.load_claims()
    rows = []
    for r in sub.to_dict("records"):
        c, rec = claims[r["claim"]], results.get(r["claim"]) or {}
        is_p = c.rule.get("kind") in P_RULES
        rep_ci = rec.get("ci")
        rep = _fmt_value(rec.get("value"), is_p) + (" " + fmt_ci(*rep_ci) if rep_ci else "")
        row = {"claim": r["claim"], "quantity": r["quantity"], "published": published_text(c),
               "reproduced": rep.strip()}
        if with_rule:
            row["rule"] = r.get("rule", "")
        row.update({"status": r["status"], "check": r.get("reason", "")})
        for k, v in r.items():  # verdict columns the ledger may add (conclusion, power ...)
            if ("conclusion" in k or "power" in k) and not _missing(v):
                row[k.replace("_", " ")] = fmt_num(v) if isinstance(v, float) else v
        rows.append(row)
    return pd.DataFrame(rows)


def _yes_no(v: Any) -> str:
    return "" if _missing(v) else ("yes" if bool(v) else "no")


def _whole(v: Any) -> str:
    return "" if _missing(v) else f"{float(v):,.0f}"


class Table:
    """A formatted table for a notebook page: HTML from a pandas Styler (deterministic element ids), and a plain
    text form (no object address) so executed notebooks are byte-identical from run to run."""

    def __init__(self, styler, text: str):
        self.styler = styler
        self.text = text

    def _repr_html_(self) -> str:
        return self.styler.to_html()

    def __repr__(self) -> str:
        return self.text


def table(df, uuid: str, *, p: tuple | list = (), formats: dict | None = None, precision: int | None = None,
          index: bool = True, status_col: str | None = None) -> Table:
    """Show ``df`` for people: P-value columns ``p`` through :func:`fmt_p`, other ``formats`` (column -> format
    string or function), numbers to ``precision`` decimals, thousands separated, missing values blank, rows
    coloured by ``status_col``; ``uuid`` fixes the HTML ids (one per table on a page)."""
    fmts = {c: fmt_p for c in p if c in df.columns}
    for c in df.columns:  # booleans read as yes / no; counts held as floats (23.0) without decimals
        if c in fmts:
            continue
        if pd.api.types.is_bool_dtype(df[c]):
            fmts[c] = _yes_no
        elif pd.api.types.is_float_dtype(df[c]):
            v = df[c].to_numpy(float)
            v = v[np.isfinite(v)]
            if len(v) and (v == np.round(v)).all() and (np.abs(v) >= 2).any():
                fmts[c] = _whole
    fmts.update({k: v for k, v in (formats or {}).items() if k in df.columns})
    prec = precision if precision is not None else 3
    styler = df.style.set_uuid(uuid).format(fmts, precision=prec, thousands=",", na_rep="")
    # short cells (numbers, P values) never wrap; long text wraps normally
    styler = styler.map(lambda v: "white-space: nowrap" if len(str(v)) <= 16 else "")
    if not index:
        styler = styler.hide(axis="index")
    if status_col and status_col in df.columns:
        styler = styler.apply(lambda r: [f"background-color: {STATUS_COLOURS.get(r[status_col], '')}"] * len(r),
                              axis=1)
    styler = styler.set_table_styles([
        {"selector": "td", "props": "text-align: left; vertical-align: top; padding: 0.15em 0.6em"},
        {"selector": "th", "props": "padding: 0.15em 0.6em"}])
    plain = df.copy()
    for c in plain.columns:
        f = fmts.get(c)
        if f is None and pd.api.types.is_float_dtype(plain[c]):
            f = f"{{:,.{prec}f}}"
        elif f is None and pd.api.types.is_integer_dtype(plain[c]):
            f = "{:,}"
        if f is not None:
            plain[c] = [f(v) if callable(f) else ("" if _missing(v) else f.format(v)) for v in plain[c]]
    return Table(styler, plain.to_string(index=index))


def style_table(df, uuid: str, status_col: str | None = "status", formats: dict | None = None) -> Table:
    """A table without index, coloured by ``status_col`` (see :func:`table`)."""
    return table(df, uuid, formats=formats, index=False, status_col=status_col)


def claims_table(claim_ids: list[str], uuid: str, results: dict | None = None) -> Table:
    """Published beside reproduced for ``claim_ids``, coloured by ledger status."""
    rows = claims_rows(claim_ids, results)
    return style_table(rows.drop(columns=["claim"]), uuid)


def conclusion(paper: str, holds: bool | None, evidence: str, kind: str) -> Any:
    """The line under a results table: what the paper concluded, whether this run supports it, and what kind of
    evidence that is.

    Parameters
    ----------
    paper : str
        The paper's conclusion in one clause (e.g. "low IL-6 predicts symptom resolution").
    holds : bool or None
        Whether this run's numbers support it (None: cannot be judged here).
    evidence : str
        This run's numbers behind the verdict (e.g. "RR 1.16 (1.08 to 1.25); the CI excludes 1").
    kind : str
        ``"planted_twin"``, ``"real_data"`` or ``"design_input"``.
    """
    from IPython.display import Markdown

    verdict = {True: "**supports it**", False: "**does not support it**", None: "**cannot judge it**"}[holds]
    who = "This run's single draw of the twin" if kind == "planted_twin" else "This run"
    note = EVIDENCE.get(kind, "")
    if kind == "planted_twin":
        note += (" One twin is one draw: the ledger (notebook 09) judges twin claims over 200 twin seeds, the "
                 "twin's power for each conclusion (notebooks 03 and 08).")
    if kind == "planted_twin" and holds is False:
        note = ("The effect is planted in the synthetic twin at the published size, so a draw that misses it shows "
                "sampling variation at this sample size (see the twin's power over seeds, and the ledger), not "
                "evidence against the finding.")
    text = f"**What to conclude.** The paper: {paper}. {who} {verdict}: {evidence}. {note}"
    return Markdown(text.strip())


def p_columns(df, columns: list[str]):
    """Return a copy of ``df`` with ``columns`` formatted by :func:`fmt_p` (for plain DataFrame display)."""
    out = df.copy()
    for c in columns:
        if c in out.columns:
            out[c] = out[c].map(fmt_p)
    return out


def ledger_view(table=None, results: dict | None = None) -> Table:
    """The whole ledger for people (the runner's committed results by default): published and reproduced with
    their CIs, the rule, the status and the check, coloured by status."""
    from . import ledger

    results = ledger.load_results() if results is None else results
    claims = list(table["claim"]) if table is not None else list(ledger.load_claims())
    return style_table(claims_rows(claims, results, with_rule=True), uuid="09-ledger")
