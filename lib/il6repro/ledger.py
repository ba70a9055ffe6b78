"""The reproduction ledger: published numbers, reproduced numbers, and an honest status for each.

Notebooks call :func:`record` for each headline number; the runner moves the notebook's results file into
``build/results/`` only when the notebook succeeds. :func:`compare` joins the records with
``data_manifest/published_claims.yaml`` and gives every claim one status:

``reproduced on real data``
    the number was computed from real (public) data and meets its rule.
``reproduced on real public data (OpenGWAS ubm-b, ...)``
    computed from real public summary statistics -- the UK Biobank brain-IDP GWAS on OpenGWAS (batch ubm-b,
    N ~ 32k) -- and meets its rule: real data, but a sample that overlaps the paper's without being equal to it.
``recovered from a planted twin``
    computed from a synthetic twin whose planted truth was calibrated to the published figure: this shows the
    pipeline recovers what was planted, it is *not* independent evidence for the published finding.
``set by design (twin input)``
    the twin was built with this number as an input (e.g. N); echoed, not estimated.
``recorded fixture (test responses, not evidence)``
    computed from hand-made API responses served offline to test the pipeline: never evidence, whatever the
    value, never accepted into the baseline.
``not reproduced``
    a value was recorded and fails the claim's rule.
``not yet attempted``
    no notebook has recorded this claim.

**Two verdicts.** A claim that carries a *conclusion* (significant at the paper's threshold with its sign, a CI
that excludes 1, a direction, enriched at q < 0.05) has a second rule, ``conclusion`` in the claims file (or
``conclusion: rule`` when the claim's rule is the conclusion itself). A claim passes only when its number meets
its rule *and* its conclusion holds; the table shows both verdicts.

**Judged over seeds.** A twin's number is one draw of a noisy process. When the notebooks record a claim's
distribution over many twin seeds (:func:`record_distribution`, from :mod:`il6repro.overseeds`), a planted-twin claim
is judged on it: the number by the claim's rule applied to the median over seeds, the conclusion by the twin's
*power*, the share of seeds where it holds: reliable when the exact 95% CI of the power lies at or above
:data:`POWER_RELIABLE` (80%), so that a conclusion with power near 80% is not decided by which seeds were drawn
(200 seeds show powers above about 86%). The run's own draw is shown as such beside it. The status wording comes from one table, :data:`KINDS` (kind of evidence -> status).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from . import _yaml
from ._paths import build_dir, repo_root, results_dir

KINDS = {
    "real_data": "reproduced on real data",
    "opengwas_real": "reproduced on real public data (OpenGWAS ubm-b, N ~ 32k, overlapping but not equal to the "
                     "paper's sample)",
    "planted_twin": "recovered from a planted twin",
    "design_input": "set by design (twin input)",
    "recorded_fixture": "recorded fixture (test responses, not evidence)",
}
NOT_EVIDENCE = frozenset({"recorded_fixture"})  # kinds whose status never depends on the rule and never passes
NOT_REPRODUCED = "not reproduced"
NOT_ATTEMPTED = "not yet attempted"
RULES = ("exact", "abs_tol", "round_sig", "z_window", "log10_window", "within_ci", "not_significant", "p_below",
         "sign")
# rules that state a conclusion (usable as a claim's `conclusion`)
CONCLUSION_RULES = ("significant", "ci_excludes", "p_below", "not_significant", "sign")
POWER_RELIABLE = 0.80  # a twin "shows" a conclusion when the exact 95% CI of its power lies at or above this


class LedgerError(ValueError):
    """Bad claim id, bad kind, or malformed claims file."""


@dataclass(frozen=True)
class Claim:
    id: str
    study: str
    quantity: str
    source: str
    value: float
    ci: tuple[float, float] | None
    rule: dict
    notebook: str
    conclusion: dict | None = None  # a rule of CONCLUSION_RULES, plus "text"; "same": the rule is the conclusion
    published_as: str | None = None  # what the abstract printed, where its value is only the rule's reference


def claims_path() -> Path:
    return repo_root() / "data_manifest" / "published_claims.yaml"


def load_claims(path: Path | None = None) -> dict[str, Claim]:
    """Read and validate the published claims file."""
    path = Path(path) if path else claims_path()
    raw = _yaml.load(path.read_text())
    out: dict[str, Claim] = {}
    for i, c in enumerate(raw.get("claims", [])):
        missing = {"id", "study", "quantity", "source", "value", "rule"} - set(c)
        if missing:
            raise LedgerError(f"{path.name}: claim #{i} lacks {sorted(missing)}")
        if c["rule"].get("kind") not in RULES:
            raise LedgerError(f"{path.name}: claim {c['id']}: rule kind {c['rule'].get('kind')!r} not in {RULES}")
        if c["rule"]["kind"] == "within_ci" and not c.get("ci"):
            raise LedgerError(f"{path.name}: claim {c['id']}: within_ci needs a published ci")
        if c["id"] in out:
            raise LedgerError(f"{path.name}: duplicate claim id {c['id']}")
        concl = c.get("conclusion")
        if concl == "rule" or (isinstance(concl, dict) and concl.get("kind") == "rule"):
            if c["rule"]["kind"] not in CONCLUSION_RULES:
                raise LedgerError(f"{path.name}: claim {c['id']}: 'conclusion: rule' needs a conclusion rule "
                                  f"{CONCLUSION_RULES}, not {c['rule']['kind']!r}")
            text = concl.get("text") if isinstance(concl, dict) else None
            concl = dict(c["rule"], same=True, **({"text": text} if text else {}))
        elif concl is not None:
            if not isinstance(concl, dict) or concl.get("kind") not in CONCLUSION_RULES:
                raise LedgerError(f"{path.name}: claim {c['id']}: conclusion kind {concl!r} not in {CONCLUSION_RULES}")
            if concl["kind"] == "ci_excludes" and concl.get("side", "either") not in ("above", "below", "either"):
                raise LedgerError(f"{path.name}: claim {c['id']}: ci_excludes side must be above, below or either")
        ci = tuple(float(x) for x in c["ci"]) if c.get("ci") else None
        out[c["id"]] = Claim(c["id"], c["study"], c["quantity"], c["source"], float(c["value"]), ci, c["rule"],
                             str(c.get("notebook", "")), concl, c.get("published_as"))
    if not out:
        raise LedgerError(f"{path.name}: no claims")
    return out


def _jsonable(x: Any) -> Any:
    if hasattr(x, "item"):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return x


def record(claim_id: str, value: float, ci: tuple[float, float] | None = None, *, kind: str,
           note: str = "", extra: dict | None = None, withheld: str | None = None) -> dict:
    """Record a reproduced number for a published claim.

    Parameters
    ----------
    claim_id : str
        An id of ``data_manifest/published_claims.yaml`` (unknown ids are an error, so typos cannot hide).
    value : float
        The reproduced value, in the claim's units.
    ci : (float, float), optional
        Its 95% confidence interval.
    kind : {"real_data", "opengwas_real", "planted_twin", "design_input", "recorded_fixture"}
        Where the number comes from; decides the status wording (see module docstring).
    note : str
        Caveats a reader needs (e.g. "IL6 not measured in AHBA; IL6R used").
    """
    claims = load_claims()
    if claim_id not in claims:
        raise LedgerError(f"unknown claim id {claim_id!r}; see data_manifest/published_claims.yaml")
    if kind not in KINDS:
        raise LedgerError(f"kind must be one of {sorted(KINDS)}, got {kind!r}")
    value = float(value)
    if ci is not None:
        ci = (float(ci[0]), float(ci[1]))
        if ci[0] > ci[1]:
            raise LedgerError(f"{claim_id}: ci lower bound {ci[0]} exceeds upper {ci[1]}")
    nb = os.environ.get("IL6REPRO_NOTEBOOK", "interactive")
    folder = results_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{nb}.json"
    data = json.loads(path.read_text()) if path.is_file() else {"notebook": nb, "records": {}}
    rec = {"value": _jsonable(value), "ci": list(ci) if ci else None, "kind": kind, "note": note}
    if withheld:
        ok, _ = evaluate(claims[claim_id], value, ci)
        rec.update(value=None, ci=None, withheld={"why": withheld, "passes": bool(ok)})
    cell = _calling_cell()
    if cell is not None:
        rec["cell"] = cell
    if extra:
        rec["extra"] = {k: _jsonable(v) for k, v in extra.items()}
    data["records"][claim_id] = rec
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
    os.replace(tmp, path)
    return rec


class MixedSourcesError(LedgerError):
    """Notebooks of one cohort analysed different data (e.g. after a partly failed run on a real extract)."""


def _read_build_json(p: Path, what: str, fix: str) -> dict:
    try:
        data = json.loads(p.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LedgerError(f"{p}: unreadable {what} ({type(exc).__name__}); {fix}") from None
    if not isinstance(data, dict):
        raise LedgerError(f"{p}: not a {what} (a JSON object is expected); {fix}")
    return data


def _rerun(p: Path) -> str:
    return f"rerun its notebook: python -m il6repro run --only {p.stem.split('_', 1)[0]} --force"


def _calling_cell() -> int | None:
    """Execution count of the notebook cell running now (so the book links a number to the cell that made it).

    IPython hands its display hook the result object of the cell being executed; its ``execution_count`` is the
    number the executed notebook shows for that cell. ``None`` outside IPython.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency of the kernel
        return None
    shell = get_ipython()
    result = getattr(getattr(shell, "displayhook", None), "exec_result", None)
    count = getattr(result, "execution_count", None)
    return int(count) if isinstance(count, int) and count > 0 else None


def load_results(folder: Path | None = None) -> dict[str, dict]:
    """All records in ``build/results/*.json`` (the runner's committed results), keyed by claim id."""
    folder = Path(folder) if folder else build_dir() / "results"
    out: dict[str, dict] = {}
    for p in sorted(folder.glob("*.json")):
        data = _read_build_json(p, "results file", _rerun(p))
        for cid, rec in data.get("records", {}).items():
            out[cid] = dict(rec, notebook=data.get("notebook", p.stem))
    return out


def _sig(x: float, sig: int) -> str:
    """``x`` to ``sig`` significant figures, a small or large number in exponent form as the report writes P values
    (``4.878e-5``, ``1.1e-4``; not ``0.00011`` beside ``4.9e-05``), any other as ``g`` does (``53.5``)."""
    if x and (abs(x) < 1e-3 or abs(x) >= 1e6):
        from .report import short_exponents

        mant, exp = f"{x:.{max(sig - 1, 0)}e}".split("e")
        return short_exponents(f"{mant.rstrip('0').rstrip('.') if '.' in mant else mant}e{exp}")  # g's zeros rule
    return f"{x:.{sig}g}"


def _p(x: float) -> str:
    """A P value (or q) in a reason as the report's tables write it (``4.00e-4``, ``0.498``)."""
    from .report import fmt_p

    return fmt_p(x)


def evaluate(claim: Claim, value: float, ci: tuple[float, float] | None) -> tuple[bool, str]:
    """Apply a claim's rule to a reproduced value; return (passes, reason)."""
    r, v, kind = claim.rule, claim.value, claim.rule["kind"]
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False, "no value"
    if kind == "exact":
        ok = abs(value - v) <= 1e-9 * max(1.0, abs(v))
        return ok, f"{value:,.10g} {'equals' if ok else 'differs from'} {v:,.10g}"
    if kind == "abs_tol":
        d = abs(value - v)
        return d <= r["tol"], f"|{value:.4g} - {v:g}| = {d:.3g} {'<=' if d <= r['tol'] else '>'} {r['tol']}"
    if kind == "round_sig":
        rounded = float(f"{value:.{r['sig']}g}")
        ok = math.isclose(rounded, v, rel_tol=1e-9)
        return ok, f"{_sig(value, 4)} rounds to {_sig(rounded, r['sig'])} ({'=' if ok else '!='} {_sig(v, r['sig'])})"
    if kind == "z_window":
        d = abs(value - v)
        ok = math.copysign(1, value) == math.copysign(1, v) and d <= r["tol"]
        same = math.copysign(1, value) == math.copysign(1, v)
        return ok, (f"z {value:.2f} vs {v:.2f}: {'same sign' if same else 'opposite sign'}, |difference| {d:.2f} "
                    f"({'<=' if d <= r['tol'] else '>'} {r['tol']})")
    if kind == "log10_window":
        if value <= 0:
            return False, f"P {value:g} is not positive"
        d = abs(math.log10(value) - math.log10(v))
        return d <= r["tol"], f"|log10 P diff| = {d:.2f} ({'<=' if d <= r['tol'] else '>'} {r['tol']})"
    if kind == "within_ci":
        lo, hi = claim.ci
        ok = lo <= value <= hi
        return ok, f"{value:.3f} {'inside' if ok else 'outside'} published CI {lo}-{hi}"
    if kind == "not_significant":
        ok = value >= r["threshold"]
        return ok, f"smallest P {_p(value)} {'>=' if ok else '<'} {_sig(r['threshold'], 2)}"
    if kind == "p_below":  # `symbol`: what the number is (an FDR q is not a P)
        ok = value < r["threshold"]
        return ok, f"{r.get('symbol', 'P')} {_p(value)} {'<' if ok else '>='} {_sig(r['threshold'], 2)}"
    if kind == "sign":
        same = math.copysign(1, value) == math.copysign(1, v)
        excl = ci is not None and (ci[0] > 0 or ci[1] < 0)
        return same and excl, f"estimate {value:.3g}, sign {'as expected' if same else 'opposite'}, {'no CI recorded' if ci is None else 'CI excludes 0' if excl else 'CI includes 0'}"
    raise LedgerError(f"unknown rule {kind}")  # pragma: no cover


def mixed_sources(receipts_dir: Path | None = None) -> list[str]:
    """Cohorts whose notebooks analysed different data, one line each (empty when every cohort is consistent).

    Each receipt names the individual-level data set its notebook analysed (``cohorts``: the twin, by its files'
    sha256, or a real extract, by its files' sha256; a notebook that reads another's result table inherits that
    notebook's). A partly failed run can leave 01 on a real extract beside 02 still on the twin: the ledger and
    the site refuse such a set rather than mix them. Compared are the notebooks whose data the reader chooses (an
    ``extract`` parameter: the twin or a real extract) and those that inherit it through a table; a teaching
    unit that draws a twin of its own is not part of the set.
    """
    folder = Path(receipts_dir) if receipts_dir else build_dir() / "receipts"
    seen: dict[str, dict[str, list[str]]] = {}
    label: dict[tuple[str, str], str] = {}
    for p in sorted(folder.glob("*.json")):
        rec = _read_build_json(p, "run receipt", _rerun(p))
        chooses = "extract" in (rec.get("parameters") or {})
        for cohort, info in (rec.get("cohorts") or {}).items():
            if not (chooses or info.get("via")):
                continue
            ident = json.dumps([info.get("sha256")], sort_keys=True)
            seen.setdefault(cohort, {}).setdefault(ident, []).append(p.stem)
            label[(cohort, ident)] = info.get("source", "?")
    out = []
    for cohort, by in seen.items():
        if len(by) > 1:
            parts = "; ".join(f"{', '.join(stems)} on {label[(cohort, ident)]} (sha256 "
                              f"{next(iter(json.loads(ident)[0].values()), '')[:12]})" for ident, stems in by.items())
            stems = sorted({s.split('_', 1)[0] for v in by.values() for s in v})
            out.append(f"the {cohort} notebooks analysed different data ({parts}): run them again together, "
                       f"e.g. python -m il6repro run --only {','.join(stems)} with the same -p ukb.extract=... or "
                       "-p whitehall.extract=... (and twin "
                       "parameters), so the ledger and the site show one data set")
    return out


def evaluate_conclusion(claim: Claim, value: float, ci: tuple[float, float] | None) -> tuple[bool | None, str]:
    """Apply a claim's conclusion rule to a reproduced value; ``(None, "")`` when the claim carries no conclusion."""
    r = claim.conclusion
    if r is None:
        return None, ""
    if r.get("same"):
        return evaluate(claim, value, ci)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False, "no value"
    kind = r["kind"]
    if kind == "significant":  # value is a z statistic: two-sided normal P below the threshold, published sign
        from . import _dist

        p = float(2 * _dist.norm_sf(abs(value)))
        same = math.copysign(1, value) == math.copysign(1, claim.value)
        ok = p < r["threshold"] and same
        return ok, (f"z {value:.2f}: P {_p(p)} {'<' if p < r['threshold'] else '>='} {_sig(r['threshold'], 2)}, sign "
                    f"{'as published' if same else 'opposite'}")
    if kind == "ci_excludes":
        null, side = float(r.get("at", 0)), r.get("side", "either")
        if ci is None:
            return False, "no CI recorded"
        above, below = ci[0] > null, ci[1] < null
        ok = above if side == "above" else below if side == "below" else (above or below)
        where = "above" if above else "below" if below else "includes"
        return ok, f"CI {ci[0]:.3g}-{ci[1]:.3g} {where} {null:g}" + ("" if where == "includes" else f" ({where})")
    if kind == "p_below":
        ok = value < r["threshold"]
        return ok, f"{r.get('symbol', 'P')} {_p(value)} {'<' if ok else '>='} {_sig(r['threshold'], 2)}"
    if kind == "not_significant":
        ok = value >= r["threshold"]
        return ok, f"smallest P {_p(value)} {'>=' if ok else '<'} {_sig(r['threshold'], 2)}"
    if kind == "sign":
        same = math.copysign(1, value) == math.copysign(1, claim.value)
        excl = ci is not None and (ci[0] > 0 or ci[1] < 0)
        return same and excl, f"sign {'as expected' if same else 'opposite'}, CI {'excludes' if excl else 'includes'} 0"
    raise LedgerError(f"unknown conclusion rule {kind}")  # pragma: no cover


def printed_supports_conclusion(cid: str, claims: dict) -> bool | None:
    """Whether the paper's own printed number meets the paper's conclusion for ``cid`` (None: no conclusion). A P
    claim with a z beside it (``W.mr.il6.gmv_itc.p``) is judged by that z, from which the twin's P is computed: a
    printed z of 3.38 gives P 7.2e-4, which misses the paper's 1.1e-4 although its printed P (7.2e-5) does not."""
    c = claims.get(cid)
    if c is None:
        return None
    z = claims.get(cid[:-2] + ".z") if cid.endswith(".p") else None
    c = z if z is not None and z.conclusion is not None else c
    return evaluate_conclusion(c, c.value, c.ci)[0]


def conclusion_text(claim: Claim) -> str:
    """What the conclusion says, in words (from the claims file, or composed from the rule)."""
    r = claim.conclusion
    if r is None:
        return ""
    if r.get("text"):
        return str(r["text"])
    kind = r["kind"]
    if kind == "significant":
        return f"significant at P < {r['threshold']:g}, published sign"
    if kind == "ci_excludes":
        return f"95% CI {dict(above='above', below='below').get(r.get('side'), 'excludes')} {r.get('at', 0):g}"
    if kind == "p_below":
        return f"P < {r['threshold']:g}"
    if kind == "not_significant":
        return f"nothing significant (smallest P >= {r['threshold']:g})"
    return "published direction, CI excludes 0"


def exact_ci(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) confidence interval of a binomial proportion ``k / n``."""
    from scipy import stats

    if n == 0:
        return (float("nan"), float("nan"))
    ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=level, method="exact")
    return (float(ci.low), float(ci.high))


def distribution(claim_id: str, values, cis=None, *, seeds=None, params: dict | None = None,
                 claims: dict[str, Claim] | None = None) -> dict:
    """Summary of a claim's reproduced value over twin seeds: median, central 95% range, the share of seeds where
    the number meets its rule, and the share where the conclusion holds (the twin's power for it, with its exact
    95% CI). ``values`` and ``cis`` (a sequence of (low, high) or None) are one entry per seed."""
    import numpy as np

    claims = claims or load_claims()
    if claim_id not in claims:
        raise LedgerError(f"unknown claim id {claim_id!r}; see data_manifest/published_claims.yaml")
    c = claims[claim_id]
    v = np.asarray(values, float)
    cis = [None] * len(v) if cis is None else [None if x is None else (float(x[0]), float(x[1])) for x in cis]
    if len(v) == 0 or len(cis) != len(v):
        raise LedgerError(f"{claim_id}: need one value (and CI) per seed, got {len(v)} values and {len(cis)} CIs")
    rule_ok = [evaluate(c, float(x), ci)[0] for x, ci in zip(v, cis, strict=True)]
    out = {"n_seeds": int(len(v)), "median": float(np.median(v)), "q025": float(np.quantile(v, 0.025)),
           "q975": float(np.quantile(v, 0.975)), "rule_share": float(np.mean(rule_ok)),
           "seeds": f"{int(min(seeds))}-{int(max(seeds))}" if seeds is not None and len(seeds) else "",
           "params": {k: _jsonable(x) for k, x in (params or {}).items()}}
    if c.conclusion is not None:
        held = [bool(evaluate_conclusion(c, float(x), ci)[0]) for x, ci in zip(v, cis, strict=True)]
        k = int(sum(held))
        out.update(power=k / len(v), power_ci=list(exact_ci(k, len(v))))
    return out


def record_distribution(claim_id: str, summary: dict) -> dict:
    """Store a claim's over-seeds summary (:func:`distribution`) in this notebook's results file."""
    claims = load_claims()
    if claim_id not in claims:
        raise LedgerError(f"unknown claim id {claim_id!r}; see data_manifest/published_claims.yaml")
    nb = os.environ.get("IL6REPRO_NOTEBOOK", "interactive")
    folder = results_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{nb}.json"
    data = json.loads(path.read_text()) if path.is_file() else {"notebook": nb, "records": {}}
    data.setdefault("distributions", {})[claim_id] = summary
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
    os.replace(tmp, path)
    return summary


def load_distributions(folder: Path | None = None) -> dict[str, dict]:
    """All over-seeds summaries in ``build/results/*.json``, keyed by claim id."""
    folder = Path(folder) if folder else build_dir() / "results"
    out: dict[str, dict] = {}
    for p in sorted(folder.glob("*.json")):
        data = json.loads(p.read_text())
        for cid, d in (data.get("distributions") or {}).items():
            out[cid] = dict(d, notebook=data.get("notebook", p.stem))
    return out


def _fmt(x: float) -> str:
    """A summary over seeds in a reason: three significant figures; 1,000 or more whole and thousands separated
    (a median of 2,419 case-observations, not 2.42e+03)."""
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def _usable(dist: dict | None, rec: dict) -> tuple[bool, str]:
    """A distribution is used for a record when both describe the same twin and analysis (the record's
    ``extra["setup"]`` against the distribution's ``params``, the seed aside); a record without a setup is paired
    with any distribution."""
    if not dist:
        return False, ""
    mine = (rec.get("extra") or {}).get("setup")
    if isinstance(mine, str):
        mine = json.loads(mine)
    theirs = dict(dist.get("params") or {})
    if mine and theirs:
        a = {k: v for k, v in mine.items() if k != "seed"}
        b = {k: v for k, v in theirs.items() if k != "seed"}
        if a != b:
            diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            return False, (f"over-seeds distribution not used: drawn with other parameters ({', '.join(diff)}) "
                           "than this run")
    return True, ""


def compare(results: dict[str, dict] | None = None, claims: dict[str, Claim] | None = None,
            distributions: dict[str, dict] | None = None):
    """Join published claims with reproduced records; one row per claim with both verdicts, the over-seeds
    distribution and the twin's power where recorded, the status and the reason. ``distributions`` default to
    those recorded in ``build/results`` (pass ``{}`` to judge every twin claim on its single draw).

    Without ``results`` the committed ``build/results`` are read; a build whose notebooks of one cohort analysed
    different data raises :class:`MixedSourcesError` (see :func:`mixed_sources`).
    """
    import pandas as pd

    from . import report

    claims = claims or load_claims()
    if results is None:
        mixed = mixed_sources()
        if mixed:
            raise MixedSourcesError(mixed[0])
        results = load_results()
    if distributions is None:
        distributions = load_distributions()
        here = results_dir()
        if here.is_dir() and here.resolve() != (build_dir() / "results").resolve():
            distributions.update(load_distributions(here))  # a notebook's own, not yet committed
    rows = []
    unknown = sorted((set(results) | set(distributions)) - set(claims))
    if unknown:
        raise LedgerError(f"results record unknown claim id(s) {unknown}")
    for c in claims.values():
        rec = results.get(c.id)
        row = {"claim": c.id, "study": c.study, "quantity": c.quantity, "published": c.value,
               "published_ci": f"{c.ci[0]:g}-{c.ci[1]:g}" if c.ci else "", "rule": c.rule["kind"],
               "conclusion": conclusion_text(c), "notebook": c.notebook, "source": c.source,
               "over_seeds": "", "power": None, "power_low": None, "seeds_median": None, "n_seeds": None,
               "seeds_q025": None, "seeds_q975": None}
        if rec is None:
            row.update(reproduced=None, reproduced_ci="", kind="", value_verdict="", conclusion_verdict="",
                       status=NOT_ATTEMPTED, reason=f"no notebook has recorded it yet (planned: {c.notebook or '?'})",
                       note="")
            rows.append(row)
            continue
        ci = tuple(rec["ci"]) if rec.get("ci") else None
        if rec.get("withheld"):  # disclosure control: only the verdict was kept (see record())
            w = rec["withheld"]
            value, ok_v, ok_c, why_c = None, w["passes"], None, ""
            why_v = (f"{'equals' if w['passes'] else 'differs from'} the published value under the rule "
                     f"({c.rule['kind']}); the value itself is withheld: {w['why']}")
        else:
            value = float(rec["value"])
            ok_v, why_v = evaluate(c, value, ci)
            ok_c, why_c = evaluate_conclusion(c, value, ci)
        dist = distributions.get(c.id)
        use, why_not = _usable(dist, rec) if rec["kind"] == "planted_twin" else (False, "")
        reasons = []
        if use:
            d = dist
            ok_med, why_med = evaluate(c, d["median"], None)
            row["seeds_median"], row["n_seeds"] = d["median"], d["n_seeds"]  # what the status was judged on
            row["seeds_q025"], row["seeds_q975"] = d["q025"], d["q975"]  # where this draw lies among the seeds
            row["over_seeds"] = (f"median {_fmt(d['median'])}, 95% of seeds {_fmt(d['q025'])} to {_fmt(d['q975'])}; "
                                 f"rule met in {report.fmt_share(d['rule_share'])} of {d['n_seeds']} seeds "
                                 "(for information: the number is judged on the median)")
            # the conclusion's own check, unless the rule is the conclusion (then it would repeat the number's)
            draw = f"this run's draw: {why_v}" + (f"; conclusion {why_c}" if c.conclusion is not None
                                                  and not c.conclusion.get("same") else "")
            if c.conclusion is not None and "power" in d:
                pw, (lo, hi) = d["power"], d["power_ci"]
                row["power"], row["power_low"] = pw, lo
                ok_c = lo >= POWER_RELIABLE
                conc = (f"conclusion holds in {report.fmt_share(pw)} of {d['n_seeds']} seeds (exact 95% CI "
                        f"{report.fmt_share(lo, hi)}; reliable when the CI lies at or above "
                        f"{100 * POWER_RELIABLE:.0f}%)")
            else:
                conc = ""
            if c.conclusion is not None and c.conclusion.get("same"):
                ok_v = ok_c  # the rule is the conclusion: both judged by the power
                reasons = [conc, draw]
            else:
                ok_v = ok_med
                reasons = [f"over seeds: {why_med}", conc, draw]
        else:
            reasons = [why_v, f"conclusion: {why_c}" if c.conclusion is not None and not c.conclusion.get("same")
                       else "", why_not]
        passed = ok_v and (ok_c is None or ok_c)
        if ok_c is None:
            cverdict = ""
        elif row["power"] is not None:
            cverdict = (f"holds in {report.fmt_share(row['power'])} of seeds" if ok_c else
                        f"holds in only {report.fmt_share(row['power'])} of seeds")
        else:
            cverdict = "holds" if ok_c else "does not hold"
        status = KINDS[rec["kind"]] if passed else NOT_REPRODUCED
        reason = report.math_symbols(report.short_exponents("; ".join(r for r in reasons if r)))
        if rec["kind"] in NOT_EVIDENCE:
            status, reason = KINDS[rec["kind"]], f"not evidence; the rule on this value: {reason}"
        row.update(reproduced=rec["value"], reproduced_ci=f"{ci[0]:.4g}-{ci[1]:.4g}" if ci else "", kind=rec["kind"],
                   value_verdict="yes" if ok_v else "no", conclusion_verdict=cverdict, status=status, reason=reason,
                   note=rec.get("note", ""), notebook=rec.get("notebook", c.notebook))
        rows.append(row)
    return pd.DataFrame(rows)


PASSING = frozenset(v for k, v in KINDS.items() if k not in NOT_EVIDENCE)


def baseline_path() -> Path:
    return repo_root() / "data_manifest" / "ledger_baseline.yaml"


def load_baseline(path: Path | None = None) -> dict[str, dict]:
    """The accepted status of every claim (``data_manifest/ledger_baseline.yaml``): claim id -> {status, why}."""
    path = Path(path) if path else baseline_path()
    if not path.is_file():
        raise LedgerError(f"no ledger baseline at {path}; write one with `python -m il6repro ledger --update-baseline`")
    raw = _yaml.load(path.read_text()) or {}
    out = {}
    valid = PASSING | {NOT_REPRODUCED, NOT_ATTEMPTED}
    for cid, entry in (raw.get("claims") or {}).items():
        entry = {"status": entry} if isinstance(entry, str) else dict(entry)
        if entry.get("status") not in valid:
            raise LedgerError(f"{path.name}: {cid}: status {entry.get('status')!r} is not one of {sorted(valid)}")
        out[cid] = entry
    return out


def unavailable_data(receipts_dir: Path | None = None) -> dict[str, list[str]]:
    """Notebook number -> datasets its last run could not resolve (from the run receipts)."""
    folder = Path(receipts_dir) if receipts_dir else build_dir() / "receipts"
    out: dict[str, list[str]] = {}
    for p in sorted(folder.glob("*.json")):
        rec = _read_build_json(p, "run receipt", _rerun(p))
        if rec.get("datasets_unavailable"):
            out[p.stem.split("_", 1)[0]] = sorted(rec["datasets_unavailable"])
    return out


def check_against_baseline(table, baseline: dict[str, dict],
                           unavailable: dict[str, list[str]] | None = None) -> tuple[list[str], list[str]]:
    """Compare a ledger table with the accepted baseline.

    A *regression* (returned first) is a claim that passed in the baseline and now has any other status (not
    reproduced, not recorded, or a different kind of evidence, e.g. real data -> planted twin), a claim that was
    recorded and is no longer, or a claim the baseline does not know. An *improvement* (returned second) is a claim
    the baseline accepted as not reproduced / not attempted that now passes: report it and update the baseline.

    ``unavailable`` (notebook number -> datasets, see :func:`unavailable_data`): a claim that is not recorded because
    its notebook ran without a dataset (e.g. a mirror-only gene-set library on a machine without the mirror) is
    reported among the second list as skipped, not counted as a regression: the environment lacks the data, the
    code did not change.
    """
    regressions, improvements = [], []
    unavailable = unavailable or {}
    for row in table.itertuples():
        base = baseline.get(row.claim)
        if base is None:
            regressions.append(f"{row.claim}: not in the baseline (now {row.status!r}); review and run "
                               "`ledger --update-baseline`")
            continue
        was, now = base["status"], row.status
        if was == now:
            continue
        nb = str(row.notebook).split("_", 1)[0]
        if now == NOT_ATTEMPTED and unavailable.get(nb):
            improvements.append(f"{row.claim}: not checked: notebook {nb} ran without {', '.join(unavailable[nb])}")
            continue
        if was in PASSING:
            regressions.append(f"{row.claim}: was {was!r}, now {now!r} ({row.reason})")
        elif was == NOT_REPRODUCED and now == NOT_ATTEMPTED:
            regressions.append(f"{row.claim}: was recorded (not reproduced), now not recorded at all")
        elif now in PASSING:
            improvements.append(f"{row.claim}: was {was!r}, now {now!r} ({row.reason})")
        elif was == NOT_ATTEMPTED and now == NOT_REPRODUCED:
            regressions.append(f"{row.claim}: newly recorded and not reproduced ({row.reason})")
    stale = sorted(set(baseline) - set(table["claim"]))
    regressions += [f"{c}: in the baseline but not a claim any more" for c in stale]
    return regressions, improvements


def write_baseline(table, path: Path | None = None) -> Path:
    """Write the current statuses as the accepted baseline, keeping the 'why' of claims whose status is unchanged."""
    path = Path(path) if path else baseline_path()
    fixtures = [c for c, k in zip(table["claim"], table["kind"], strict=True) if k in NOT_EVIDENCE]
    if fixtures:
        raise LedgerError(f"{len(fixtures)} claim(s) come from recorded fixtures (e.g. {fixtures[0]}): a fixture is "
                          "never accepted into the baseline; rerun on the twin or real data first")
    old = load_baseline(path) if path.is_file() else {}
    claims = {}
    for row in table.itertuples():
        entry = {"status": row.status}
        prev = old.get(row.claim, {})
        if row.status not in PASSING:
            entry["why"] = prev.get("why") if prev.get("status") == row.status and prev.get("why") else row.reason
        claims[row.claim] = entry
    header = ("# The accepted status of every published claim: `python -m il6repro ledger --check` fails when a claim\n"
              "# that passed here no longer does (a regression). Claims accepted as not reproduced say why.\n"
              "# Regenerate after a reviewed change with `python -m il6repro ledger --update-baseline`.\n")
    path.write_text(header + yaml.safe_dump({"claims": claims}, sort_keys=False, width=110, allow_unicode=True))
    return path


NOT_CHECKED = "not checked"


def with_display_status(table, receipts_dir: Path | None = None):
    """``table`` (from :func:`compare`) with each claim that is *not yet attempted* because its notebook ran without
    a dataset marked *not checked*, the reason naming the notebook and the dataset (from the run receipts), as the
    book's ledger page shows it. The environment lacked the data; the code did not fail."""
    from .data import default_catalog

    folder = Path(receipts_dir) if receipts_dir else build_dir() / "receipts"
    missing: dict[str, dict] = {}
    for p in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            rec = json.loads(p.read_text())
        except (OSError, ValueError):
            continue
        if rec.get("datasets_unavailable"):
            missing[p.stem.split("_", 1)[0]] = rec["datasets_unavailable"]
    out = table.copy()
    if not missing:
        return out
    titles = {m.id: m.title.split(" (")[0] for m in default_catalog().manifests.values()}
    for i, r in out.iterrows():
        nb = str(r.get("notebook") or "").split("_", 1)[0]
        if r["status"] == NOT_ATTEMPTED and nb in missing:
            out.at[i, "status"] = NOT_CHECKED
            out.at[i, "reason"] = (f"not checked: {nb} ran without "
                                   f"{', '.join(titles.get(d, d) for d in sorted(missing[nb]))}")
    return out


def summary_counts(table) -> dict[str, int]:
    """Number of claims per status."""
    return {k: int(v) for k, v in table["status"].value_counts().items()}


def consistency_checks(claims: dict[str, Claim] | None = None):
    """Check the published statistics against each other (no reproduction needed).

    - study W: each printed two-sided P against the P its printed z implies (normal reference);
    - study W: the number of tests the Bonferroni threshold implies (0.05 / threshold), with the range that
      rounding to two significant figures allows;
    - study V: each RR against its 95% CI on the log scale (a CI from exp(log RR +/- 1.96 SE) is symmetric there),
      and the SE, z and P the CI implies.

    Returns a DataFrame: check, published, implied, ratio_or_gap, verdict.
    """
    import pandas as pd

    from . import _dist, report

    claims = claims or load_claims()
    rows = []
    for c in claims.values():
        if c.id.startswith("W.mr.il6.") and c.id.endswith(".z"):
            pc = claims[c.id[:-2] + ".p"]
            implied = float(2 * _dist.norm_sf(abs(c.value)))
            ratio = pc.value / implied
            verdict = "consistent" if abs(math.log10(ratio)) < 0.05 else (
                f"printed P is {1 / ratio:.1f}x smaller than z implies" if ratio < 1 else
                f"printed P is {ratio:.1f}x larger than z implies")
            rows.append({"check": f"{c.quantity.rsplit(',', 1)[0]}: P from z = {c.value:+.2f}",
                         "published": report.short_exponents(f"P = {pc.value:.3g}"),
                         "implied": f"P = {report.fmt_p(implied)}",  # as the tables write P
                         "ratio_or_gap": round(ratio, 3), "verdict": verdict})
    thr = claims.get("W.mr.threshold")
    if thr:
        lo, hi = 0.05 / (thr.value + 0.05e-4), 0.05 / (thr.value - 0.05e-4)
        rows.append({"check": "Bonferroni: tests implied by 0.05 / threshold", "published": _sig(thr.value, 2),
                     "implied": f"{0.05 / thr.value:.0f} tests (rounding allows {math.ceil(lo)}-{math.floor(hi)})",
                     "ratio_or_gap": round(0.05 / thr.value, 1),
                     "verdict": "notebook 02 compares this with the number of tests it runs"})
    for c in claims.values():
        if c.study == "V" and c.ci and c.id != "V.rr_low_vs_high.full":
            l_lo, l_hi, l_rr = math.log(c.ci[0]), math.log(c.ci[1]), math.log(c.value)
            mid = math.exp((l_lo + l_hi) / 2)
            se = (l_hi - l_lo) / (2 * 1.959964)
            z = l_rr / se
            p = float(2 * _dist.norm_sf(abs(z)))
            gap = l_rr - (l_lo + l_hi) / 2
            verdict = "consistent" if abs(gap) < 0.01 else f"RR off the CI's log-midpoint by {gap:+.3f}"
            rows.append({"check": f"{c.quantity}: RR vs CI on log scale", "published": f"{c.value} ({c.ci[0]}-{c.ci[1]})",
                         "implied": f"log-midpoint {mid:.3f}; SE(log RR) {se:.3f}; z {z:.2f}; P {p:.2g}",
                         "ratio_or_gap": round(gap, 4), "verdict": verdict})
    out = pd.DataFrame(rows)
    if len(out):
        out["check"] = out["check"].map(report.arrows)  # "IL-6 → GMV", as the claims tables write it
    return out
