"""What the reader sees in a results table: published beside reproduced, P values that never read 0, and a line
saying what to conclude.

Every results table of notebooks 01-08 goes through :func:`claims_table` (the ledger's rows for the claims that
notebook recorded, with the published value and CI beside this run's, the rule and the status) and ends with
:func:`conclusion` (the paper's claim, whether this run supports it, and what kind of evidence that is). The
number formats (:func:`fmt_p`, :func:`fmt_num`, :func:`fmt_ci`) are used by every table, so a P value is always in
scientific notation and never printed as ``0.000000``; :func:`fmt_fixed` and :func:`never_zero` keep any
other number that is not zero from reading as zero in a table.
"""

from __future__ import annotations

import functools
import html
import math
import re
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
    if x is None or (isinstance(x, str) and x == ""):
        return True
    if isinstance(x, float):
        return math.isnan(x)
    return x is pd.NA or x is pd.NaT or (isinstance(x, np.floating) and bool(np.isnan(x)))


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


def short_exponents(text: str) -> str:
    """Exponents in running text as the tables write them: ``4.9e-05`` -> ``4.9e-5`` (Python's ``g`` format pads
    them to two digits)."""
    return re.sub(r"(?<=\d)e([-+])0+(?=\d)", r"e\1", text)


def math_symbols(text: str) -> str:
    """Comparisons in running text for readers: ``P 4.00e-4 >= 1.1e-4`` -> ``P 4.00e-4 ≥ 1.1e-4`` (also ``<=`` and
    ``!=``); only between spaces or before a space, so code such as ``min_size>=5`` is left alone."""
    return re.sub(r"(?<=[\s(])(<=|>=|!=)(?=\s)", lambda m: {"<=": "≤", ">=": "≥", "!=": "≠"}[m.group(1)], text)


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


_ZERO_TEXT = re.compile(r"^[-+]?0*(?:[.,]0*)?(?:e[-+]?\d+)?%?$")


def _reads_zero(text: str) -> bool:
    """Whether a formatted number reads as zero (``0.0000``, ``-0.00``, ``0,000.0``, ``0.00e+00``)."""
    return bool(_ZERO_TEXT.match(text.replace(",", "").strip())) and any(ch == "0" for ch in text)


def fmt_fixed(x: Any, decimals: int = 3) -> str:
    """A number to ``decimals`` decimals, thousands separated (``1234.5678`` -> ``1,234.568``), except that a
    number which is not zero never reads as zero: one that would round to ``0.000`` shows two significant figures
    in scientific notation (``3.2e-5``, ``-4.1e-7``); an exact zero reads ``0``; missing values the table's dash."""
    if _missing(x):
        return MISSING
    if isinstance(x, str):
        return x
    x = float(x)
    if x == 0:
        return "0"
    if not math.isfinite(x):
        return str(x)
    text = f"{x:,.{max(int(decimals), 0)}f}"
    return _small(x) if _reads_zero(text) else text


def _small(x: float) -> str:
    """A number too small for the column's decimals: two significant figures, scientific (``3.2e-5``)."""
    return f"{x:.1e}".replace("e-0", "e-").replace("e+0", "e")


def never_zero(fmt: Any):
    """Wrap a cell format (a format string such as ``"{:.2f}"``, or a function) so that a number which is not zero
    is never shown as zero (``0.00``, ``0.00e+00``): such a value reads with two significant figures instead
    (:func:`fmt_fixed`), a percentage as a percentage. Exact zeros, text and missing values are passed to ``fmt``
    unchanged."""
    def cell(v: Any) -> str:
        text = fmt(v) if callable(fmt) else (MISSING if _missing(v) else fmt.format(v))
        if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_)) \
                and not _missing(v) and float(v) != 0 and math.isfinite(float(v)) and _reads_zero(str(text)):
            # a percentage stays one ("0.0%" -> "1.0e-3%")
            return _small(100 * float(v)) + "%" if str(text).strip().endswith("%") else _small(float(v))
        return text
    return cell


def presence(names: list[str] | tuple[str, ...], pool) -> str:
    """Which of ``names`` are in ``pool``, in words: ``"IL6R, IL6ST present; IL6 absent"`` (never ``True`` /
    ``False``)."""
    have = [n for n in names if n in pool]
    lack = [n for n in names if n not in pool]
    parts = ([f"{', '.join(have)} present"] if have else []) + ([f"{', '.join(lack)} absent"] if lack else [])
    return "; ".join(parts)


def fmt_share(x: Any, hi: Any = None) -> str:
    """A share of seeds (or a range of shares) as a percentage to one decimal: 200 seeds step by 0.5%, so ``0.965``
    reads ``96.5%`` and ``0.78`` ``78.0%`` everywhere (the ledger once said 96% and 78%, notebook 03 96.5% and 78.0%,
    the ledger's details 0.965); ``fmt_share(0.929, 0.986)`` reads ``92.9-98.6%``."""
    vals = [f"{100 * float(v):.1f}" for v in ((x,) if hi is None else (x, hi)) if not _missing(v)]
    if len(vals) < (1 if hi is None else 2):
        return MISSING
    return "-".join(vals) + "%"  # one decimal always, as notebook 03's power table prints it (78.0, not 78)


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
    if getattr(c, "published_as", None):  # words only, e.g. "little effect": the value is the rule's reference
        return c.published_as
    if kind == "p_below":
        sym = c.rule.get("symbol", "P")
        return f"{'enriched' if sym == 'q' else 'significant'} (read as {sym} < {c.rule['threshold']:g})"
    if kind == "not_significant":
        return f"not significant (every P ≥ {fmt_num(c.rule['threshold'], 2)})"
    if kind == "sign":
        return f"{'negative' if c.value < 0 else 'positive'}, CI excluding 0 (direction only)"
    if kind == "round_sig" and not c.ci:  # at the figures the paper prints: 1.1e-4, not 1.10e-4
        return fmt_num(c.value, sig=int(c.rule["sig"]))
    if kind in P_RULES and not c.ci and isinstance(c.value, float) and 0 < c.value < 1e-3:
        # a printed P at the paper's own figures (7.2e-5, not 7.20e-5), as the reproduced P beside it is at three
        return fmt_num(c.value, sig=len(repr(c.value).split("e")[0].replace(".", "").lstrip("0")))
    return _fmt_value(c.value, kind in P_RULES) + (" " + fmt_ci(*c.ci) if c.ci else "")


#: A notebook's status for a twin claim judged on this run's draw alone (no over-seeds distribution yet): "this
#: draw: recovered from a planted twin" or "this draw: not recovered" (a planted effect one draw misses).
DRAW_PREFIX = "this draw: "
DRAW_WORDS = {"not reproduced": "not recovered"}


#: A notebook's status for a twin claim the ledger judged over seeds: "over 200 seeds: not reproduced", so it is not
#: read against the notebook's "what to conclude" line, which speaks of this run's single draw.
_SEEDS_PREFIX = re.compile(r"^over [\d,]+ seeds: ")


def seeds_status(status: str, n_seeds) -> str:
    """``status`` as judged over ``n_seeds`` twin seeds: ``"over 200 seeds: not reproduced"``."""
    return f"over {int(n_seeds):,} seeds: {status}"


def status_colour(status) -> str:
    """The background of a row with ``status`` (a draw-only or over-seeds status as the status it stands for;
    unknown: none)."""
    s = _SEEDS_PREFIX.sub("", str(status))
    if s.startswith(DRAW_PREFIX):
        s = s.removeprefix(DRAW_PREFIX)
        s = next((k for k, v in DRAW_WORDS.items() if v == s), s)
    return STATUS_COLOURS.get(s, "")


def claims_rows(claim_ids: list[str], results: dict | None = None, *, with_rule: bool = False):
    """The ledger's rows for ``claim_ids`` (this run's records by default), formatted for people.

    Columns: claim, quantity, published, reproduced, status, check (the rule applied and its outcome), and the
    conclusion columns the ledger provides (the conclusion; its verdict over twin seeds, with the power's lower 95%
    bound, headed "verdict").
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
        if rec.get("withheld"):
            rep = "withheld"  # disclosure control: the record keeps the verdict only (ledger.record)
        row = {"claim": r["claim"], "quantity": arrows(r["quantity"]), "published": published_text(c),
               "reproduced": rep.strip()}
        if with_rule:
            row["rule"] = r.get("rule", "")
        row.update({"status": r["status"], "check": r.get("reason", "")})
        if r.get("kind") == "planted_twin" and not r.get("over_seeds"):
            # no distribution over seeds recorded (yet): the status is this one draw's, which the ledger may judge
            # differently once the over-seeds runs (notebooks 03, 08) are in; the status itself says so, so a
            # badge here is never read as the ledger's verdict on the same claim (coloured as that status)
            row["status"] = DRAW_PREFIX + DRAW_WORDS.get(row["status"], str(row["status"]))
        elif r.get("kind") == "planted_twin" and not _missing(r.get("n_seeds")):
            row["status"] = seeds_status(row["status"], r["n_seeds"])
        for k, v in r.items():  # verdict columns the ledger may add (conclusion, its verdict over seeds)
            if "conclusion" in k and not _missing(v):
                # "verdict" beside "conclusion" (the header "conclusion verdict" widened the ledger by a word)
                name = "verdict" if k == "conclusion_verdict" else k.replace("_", " ")
                row[name] = fmt_num(v) if isinstance(v, float) else v
        # the twin's power is in the verdict ("holds in 96.5% of seeds"): its lower 95% bound joins it there rather
        # than taking two more columns
        if row.get("verdict") and not _missing(r.get("power_low")):
            row["verdict"] += f" (95% CI from {fmt_share(r['power_low'])})"
        rows.append(row)
    return pd.DataFrame(rows)


def counted(n: int, one: str, many: str | None = None) -> str:
    """A count with its noun in the right number: ``1 linker protein``, ``0 variant-outcome pairs``, ``2 IDPs``
    (``many``: an irregular plural, e.g. ``counted(n, "IDP has", "IDPs have")``)."""
    return f"{int(n):,} {one if int(n) == 1 else (many or one + 's')}"


def fmt_count(x: Any) -> str:
    """A count for people: a whole number, thousands separated (``1025.0`` -> ``1,025``; an effective number of
    tests such as ``873.4`` -> ``873``); missing -> the table's dash."""
    if _missing(x):
        return MISSING
    return f"{round(float(x)):,}"


MISSING = "—"  # what a table shows for a missing value (an em dash), never NaN or <NA>

# column names of the lib's tables as readers should see them (an identifier is for code, a header for people)
HEADERS = {
    "idp": "IDP", "se": "SE", "rr": "RR", "p": "P", "sd": "SD", "r2": "R²", "n_snp": "variants",
    "ci_low": "95% CI low", "ci_high": "95% CI high", "ci_lo": "95% CI low", "ci_hi": "95% CI high",
    "F_mean": "mean F", "F_min": "min F", "R2_total": "total R²", "illustrative_fields": "illustrative fields",
    "Q_df": "Q df", "Q_p": "Q P", "Q_rucker": "Rucker's Q'", "Q_rucker_p": "Rucker's Q' P",
    "intercept_se": "intercept SE", "intercept_p": "intercept P",
    # two different I²'s: Higgins' I² of Cochran's Q (heterogeneity of the IVW ratios), and Bowden's I²GX of the
    # variant-exposure effects (no measurement error assumption of MR-Egger)
    "I2": "I²", "I2_GX": "I²GX",
    "r2_exposure": "R² exposure", "r2_outcome": "R² outcome", "correct_direction": "correct direction",
    "steiger_p": "Steiger P", "first_stage_F": "first-stage F", "first_stage_R2": "first-stage R²",
    "mean_others": "mean, other regions", "sd_others": "SD, other regions", "p_parametric": "P (parametric)",
    "p_spin": "P (spin)", "p_naive": "P (naive)", "null_r_sd": "SD of null r", "n_regions": "regions",
    "n_rot": "rotations", "ratio_or_gap": "ratio or gap", "tsls_median": "2SLS median", "ols_mean": "OLS mean",
    "published_z": "published z", "p_replicate": "probability of passing again", "p_ahba": "P (AHBA background)",
    "p_genome": "P (genome background)", "p_gseapy": "P (GSEApy)", "q_synaptic": "q (synaptic)",
    "low_usual": "low (usual)", "low_1": "low (one measure)", "low_mean": "low (mean of measures)",
    "mean_years": "mean (years)", "followup_years": "follow-up (years)",
}
_TOKENS = {"p": "P", "se": "SE", "sd": "SD", "ci": "CI", "rr": "RR", "idp": "IDP", "r2": "R²", "i2": "I²",
           "ols": "OLS", "tsls": "2SLS", "fdr": "FDR", "ivw": "IVW", "mtg": "MTG", "il6": "IL-6", "ghq": "GHQ", "n": "n"}


def header(name: Any) -> Any:
    """A column name as a header for people: ``"p_spin"`` -> ``"P (spin)"``, ``"idp"`` -> ``"IDP"``,
    ``"mean_years"`` -> ``"mean (years)"``; any other ``snake_case`` identifier reads as words
    (``"n_cases_total"`` -> ``"n cases total"``). Names already in words (``"95% CI low"``) are kept."""
    if not isinstance(name, str):
        return name
    if name in HEADERS:
        return HEADERS[name]
    if "_" in name and " " not in name:
        return " ".join(_TOKENS.get(t.lower(), t) for t in name.split("_") if t)
    return name


def arrows(text: Any) -> Any:
    """Typographic arrows for readers: ``"IL-6 -> GMV"`` -> ``"IL-6 → GMV"`` (``<-`` -> ``←``)."""
    if not isinstance(text, str):
        return text
    return text.replace("->", "→").replace("<-", "←")


def _yes_no(v: Any) -> str:
    return MISSING if _missing(v) else ("yes" if bool(v) else "no")


def _whole(v: Any) -> str:
    return MISSING if _missing(v) else f"{float(v):,.0f}"


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


def is_p_name(name: Any) -> bool:
    """Whether a column name says it holds P values (``P``, ``p``, ``Q_p``, ``p_spin``, ``published P``, ``P (spin)``,
    ``twin P``, ``P implied by z``; not ``p_replicate``, a probability, nor ``z implied by P``)."""
    last = name[-1] if isinstance(name, tuple) else name
    if not isinstance(last, str):
        return False
    words = [w for w in re.split(r"[\s(),]+", header(last)) if w]
    if not words:
        return False
    if words[0] in ("P", "P-value"):
        return True
    # "... P" holds P's ("twin P", "Q P"), unless P is the object of a preposition ("z implied by P")
    return words[-1] == "P" and not (len(words) >= 2 and words[-2] in ("by", "from", "of", "for", "to", "on", "at"))


def _holds_booleans(col) -> bool:
    """A boolean column, or an object column of booleans and missing values (e.g. a table built row by row)."""
    if pd.api.types.is_bool_dtype(col):
        return True
    present = [v for v in col if not _missing(v)] if col.dtype == object else []
    return bool(present) and all(isinstance(v, (bool, np.bool_)) for v in present)


_NUMBER_TEXT = re.compile(r"^[<>≤≥~]?\s?[-+−]?[\d,]*\.?\d+(?:e[-+−]?\d+)?\s?%?$")


def _wrap_style(v: Any) -> str:
    """The cell style for a value: numbers (and text that is one number) never wrap; other text may."""
    if isinstance(v, str):
        return "white-space: nowrap" if _NUMBER_TEXT.match(v.strip()) else ""
    return "white-space: nowrap"


def _p_cell(v: Any) -> str:
    return MISSING if _missing(v) else fmt_p(v)


def _headers(df):
    """``df`` with its column and index names as headers for people (:func:`header`), and the old -> new map."""
    if isinstance(df.columns, pd.MultiIndex):
        mapping = {c: tuple(header(x) for x in c) for c in df.columns}
        out = df.copy()
        out.columns = pd.MultiIndex.from_tuples([mapping[c] for c in df.columns], names=df.columns.names)
    else:
        mapping = {c: header(c) for c in df.columns}
        if len(set(mapping.values())) < len(mapping):  # two names reading alike: keep them as they are
            mapping = {c: c for c in df.columns}
        out = df.rename(columns=mapping)
    out.index = out.index.set_names([header(n) for n in out.index.names])
    out.columns = out.columns.set_names([header(n) for n in out.columns.names])
    return out, mapping


def table(df, uuid: str, *, p: tuple | list = (), formats: dict | None = None, precision: int | None = None,
          index: bool = True, status_col: str | None = None, widths: dict | None = None,
          breakable: tuple | list = ()) -> Table:
    """Show ``df`` for people: P-value columns ``p`` through :func:`fmt_p`, other ``formats`` (column -> format
    string or function), numbers to ``precision`` decimals (:func:`fmt_fixed`: a number that is not zero never reads ``0.000``; the
    same holds for ``formats``, :func:`never_zero`), thousands separated, missing values as a dash (never
    NaN), column names as words (:func:`header`: ``p_spin`` reads "P (spin)"), long text wrapped, rows coloured
    by ``status_col``, ``widths`` (column -> minimum width in em) for columns of sentences, ``breakable`` columns
    of long identifiers (``W.mr.il6.ct_superiorfrontal.z``) that may break anywhere; ``uuid`` fixes the HTML ids
    (one per table on a page). ``p``, ``formats``, ``status_col``, ``widths`` and ``breakable`` name the columns
    of ``df`` as they are."""
    fmts = {c: _p_cell for c in p if c in df.columns}
    for c in df.columns:  # booleans read as yes / no; counts held as floats (23.0) without decimals
        if c in fmts:
            continue
        if is_p_name(c) and pd.api.types.is_float_dtype(df[c]):  # a P column not listed in ``p``: never 0.000
            fmts[c] = _p_cell
            continue
        if _holds_booleans(df[c]):
            fmts[c] = _yes_no
        elif pd.api.types.is_float_dtype(df[c]):
            v = df[c].to_numpy(float)
            v = v[np.isfinite(v)]
            if len(v) and (v == np.round(v)).all() and (np.abs(v) >= 2).any():
                fmts[c] = _whole
    fmts.update({k: v for k, v in (formats or {}).items() if k in df.columns})
    prec = precision if precision is not None else 3
    for c in df.columns:  # numbers to ``prec`` decimals, but a number that is not zero never reads 0.000
        if c not in fmts and pd.api.types.is_float_dtype(df[c]):
            fmts[c] = functools.partial(fmt_fixed, decimals=prec)
        elif c not in fmts and df[c].dtype == object and any(_is_number(v) for v in df[c]):
            # a column of mixed values (a labelled summary: counts, correlations, a formatted P)
            fmts[c] = functools.partial(_plain_cell, decimals=prec)
        elif c in fmts and fmts[c] is not _p_cell:
            fmts[c] = never_zero(fmts[c])
    shown, names = _headers(df)
    fmts = {names[k]: v for k, v in fmts.items()}
    status = names.get(status_col) if status_col else None
    styler = shown.style.set_uuid(uuid).format(fmts, precision=prec, thousands=",", na_rep=MISSING)
    # numbers and P values never wrap (no "2.16e-" / "11"), nor text that is a number ("8.39e-9", "20,688");
    # other text wraps between words when the table must fit its column (a claim id, a status, "does not hold":
    # kept on one line they widened the ledger's table past a 1280 px screen)
    styler = styler.map(_wrap_style)
    if not index:
        styler = styler.hide(axis="index")
    if status is not None:
        styler = styler.apply(lambda r: [f"background-color: {status_colour(r[status])}"] * len(r), axis=1)
    styler = styler.set_table_styles([
        {"selector": "td", "props": "text-align: left; vertical-align: top; padding: 0.15em 0.6em"},
        {"selector": "th", "props": "padding: 0.15em 0.6em"}])
    props = {names[c]: [f"min-width: {w}em"] for c, w in (widths or {}).items() if c in names}
    for c in breakable:  # an identifier without spaces breaks after a dot or underscore ("W.ukb.<br>female_pct"),
        if c in names:  # inside a word only where a part is wider than the column, rather than widen the table
            styler = styler.format(lambda v: re.sub(r"([._])", r"\1<wbr>", html.escape(str(v))), subset=[names[c]])
            props.setdefault(names[c], []).append("overflow-wrap: anywhere")  # <wbr> is not copied with the text
    if props:  # columns of sentences keep a readable width instead of being squeezed to a word per line
        styler = styler.set_table_styles({c: [{"selector": "td", "props": "; ".join(v)}] for c, v in props.items()},
                                         overwrite=False)
    plain = shown.copy()
    for c in plain.columns:
        f = fmts.get(c)
        if f is None and pd.api.types.is_integer_dtype(plain[c]):
            f = "{:,}"
        if f is not None:
            plain[c] = [f(v) if callable(f) else (MISSING if _missing(v) else f.format(v)) for v in plain[c]]
        else:
            plain[c] = [MISSING if _missing_cell(v) else v for v in plain[c]]
    return Table(styler, plain.to_string(index=index))


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def _plain_cell(v: Any, decimals: int) -> Any:
    """A cell of a column of mixed values: integers thousands separated, other numbers to ``decimals`` (never
    reading 0 when they are not: :func:`fmt_fixed`), booleans yes / no, missing values a dash, text as it is."""
    if _missing_cell(v):
        return MISSING
    if isinstance(v, (bool, np.bool_)):
        return _yes_no(v)
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, (float, np.floating)):
        return fmt_fixed(v, decimals)
    return v


def _missing_cell(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):  # lists, arrays
        return False


# minimum widths (em) of the claims tables' sentence columns: the check ("z 6.69 vs 5.76: same sign, |diff| 0.93
# (<= 2)") and the quantity stay readable beside the short number columns, and a claim id, which may break
# anywhere, keeps a few characters a line (W.mr.il6.gmv / _mtg.z, not W.mr.i / l6.gm / ...); measured on notebook 09's
# ledger, the widest claims table, at 1280 px
CLAIM_WIDTHS = {"check": 11, "quantity": 9, "rule": 6, "status": 6.5, "claim": 6.5}


def style_table(df, uuid: str, status_col: str | None = "status", formats: dict | None = None,
                widths: dict | None = None) -> Table:
    """A table without index, coloured by ``status_col`` (see :func:`table`); the claims tables' sentence columns
    (:data:`CLAIM_WIDTHS`) keep a readable width unless ``widths`` says otherwise."""
    return table(df, uuid, formats=formats, index=False, status_col=status_col,
                 widths=CLAIM_WIDTHS if widths is None else widths, breakable=("claim",))


def claims_table(claim_ids: list[str], uuid: str, results: dict | None = None) -> Table:
    """Published beside reproduced for ``claim_ids``, coloured by ledger status."""
    rows = claims_rows(claim_ids, results)
    return style_table(rows.drop(columns=["claim"]), uuid)


def conclusion(paper: str, holds: bool | None, evidence: str, kind: str, caution: str = "") -> Any:
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
    caution : str, optional
        How to read the evidence (e.g. a P at its permutation floor), one or more sentences after the verdict.
    """
    from IPython.display import Markdown

    holds = None if holds is None else bool(holds)  # numpy's False is not `False`: a verdict from arrays counts too
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
    caution = f" {caution.strip()}" if caution.strip() else ""
    text = f"**What to conclude.** The paper: {paper}. {who} {verdict}: {arrows(evidence)}.{caution} {note}"
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
    their CIs, the status and the check (which names the rule and its outcome), coloured by status. The rule's
    identifier (``log10_window`` ...) is left to the book's ledger page, so the table fits a notebook page."""
    from . import ledger

    results = ledger.load_results() if results is None else results
    claims = list(table["claim"]) if table is not None else list(ledger.load_claims())
    return style_table(claims_rows(claims, results), uuid="09-ledger")
