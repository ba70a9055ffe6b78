"""Planted associations and conclusions over many twin seeds: the distribution one notebook draw comes from.

A twin's estimate is one draw of a noisy process: the MTG association planted at z = 5.76 comes out at 6.69 on
the default seed, the superior-frontal one at -4.10 against -5.11. This module re-draws the twins over seeds
``first_seed .. first_seed + n_seeds - 1`` and runs the notebooks' own analysis code on each draw, giving one row per
seed and claim (:func:`ukb_draws`, :func:`whitehall_draws`); :func:`summarise` turns them into the distribution of
each planted number (median, central 95% range) and the twin's *power* for each conclusion (the share of seeds
where it holds, with its exact binomial CI), using the ledger's own rules; :func:`record` stores the summaries for
the ledger, which then judges twin claims on the distribution rather than on the one draw.

How it stays cheap and honest:

* **UK Biobank**: each seed draws only the five planted IDPs (``ukb.simulate(idps=...)``: every IDP has a random
  stream of its own, so these columns are identical to the full twin's, a tested property), with every participant
  covariate and instrument, then the association step and the IVW scan as notebook 02 runs them, on arrays rather
  than the twin's tables (:func:`_ukb_fast`: the same arithmetic, tested equal to the bit to the tables' pipeline
  :func:`_ukb_one`; ~55 ms CPU per seed). The four null exposures need all 205 IDPs per seed and are not redrawn.
* **Whitehall II**: each seed is the full twin (it is small) and notebooks 07-08's estimators (~45 ms CPU per seed).
* **Cached** under ``build/overseeds/<name>-<key>.csv``, the key hashing the twin and analysis parameters, the seeds
  and the source of every module involved (twins, cohort, genetics, this module) and the UK Biobank reference
  tables: a rerun with the same inputs reads the file; any change recomputes it. ``IL6REPRO_OVERSEEDS`` points
  the cache elsewhere.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from . import progress
from ._paths import build_dir, manifest_dir
from .twins import COHORTS

N_SEEDS = 200  # enough for a power's exact 95% CI of about +-6 points at 80% (see summarise)
_CODE = ("twins/ukb.py", "twins/whitehall.py", "cohort.py", "genetics/assoc.py", "genetics/scan.py",
         "genetics/mr.py", "genetics/harmonise.py", "overseeds.py")
_UKB_TABLES = ("instruments.csv", "idps.csv", "twin_targets.yaml", "columns.yaml")


class OverseedsError(ValueError):
    """Bad seeds or parameters (the message names them)."""


def cache_folder() -> Path:
    env = os.environ.get("IL6REPRO_OVERSEEDS")
    return Path(env) if env else build_dir() / "overseeds"


def _key(name: str, params: dict, seeds: list[int]) -> str:
    h = hashlib.sha256(json.dumps({"name": name, "params": params, "seeds": [seeds[0], seeds[-1], len(seeds)]},
                                  sort_keys=True, default=str).encode())
    here = Path(__file__).parent
    for rel in _CODE:
        h.update((here / rel).read_bytes())
    for t in _UKB_TABLES:
        h.update((manifest_dir() / "ukb" / t).read_bytes())
    return h.hexdigest()[:12]


def _seeds(n_seeds: int, first_seed: int) -> list[int]:
    if int(n_seeds) < 2:
        raise OverseedsError(f"n_seeds={n_seeds}: at least 2 seeds are needed for a distribution")
    if int(first_seed) < 0:
        raise OverseedsError(f"first_seed={first_seed}: seeds are non-negative integers")
    return list(range(int(first_seed), int(first_seed) + int(n_seeds)))


_DONE = None  # the count of seeds drawn so far, shared with the worker processes (see _run)


def _share_count(counter) -> None:
    global _DONE
    _DONE = counter


def _drew_one() -> None:
    if _DONE is not None:
        with _DONE.get_lock():
            _DONE.value += 1


def _single_threaded(many, seeds: list[int], params: dict) -> list[list[dict]]:
    # one BLAS thread per process, set once (not per fit): the per-seed problems are small, and threads fighting
    # over a shared machine's cores made them 2-4x slower than one thread (measured)
    from ._blas import one_thread

    with one_thread():
        return many(seeds, params)


def _plain(d: dict) -> dict:
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in sorted(d.items())}


def ukb_setup(*, ivw_model: str = "fixed", harmonise_action: int = 2, **twin) -> dict:
    """The parameters an over-seeds distribution of the UK Biobank twin depends on (the seed aside), normalised as
    :func:`ukb_draws` uses them; notebooks record it with the claim (``extra={"setup": ...}``) so the ledger pairs a
    draw with the distribution of the same twin and analysis only."""
    from .twins import ukb

    twin.pop("seed", None)
    p = ukb._params(**twin)
    p.pop("seed")
    return _plain(dict(p, ivw_model=ivw_model, harmonise_action=int(harmonise_action)))


def whitehall_setup(*, case_threshold: int = 5, resolution: str = "next", il6_cut: str | float = "median",
                    vcov: str = "HC1", **twin) -> dict:
    """As :func:`ukb_setup`, for the Whitehall twin and the study-V analysis."""
    from .twins import whitehall as W

    twin.pop("seed", None)
    p = W._params(**twin)
    p.pop("seed")
    return _plain(dict(p, case_threshold=int(case_threshold), resolution=resolution, il6_cut=il6_cut, vcov=vcov))


def _run(name: str, many, params: dict, seeds: list[int], jobs: int | None, cache: bool) -> pd.DataFrame:
    path = cache_folder() / f"{name}-{_key(name, params, seeds)}.csv"
    if cache and path.is_file():
        out = pd.read_csv(path)
        out.attrs["setup"] = dict(params)
        return out
    jobs = max(1, min(int(jobs or min(2, os.cpu_count() or 1)), len(seeds)))
    counter = multiprocessing.Value("i", 0)
    stop = threading.Event()
    watcher = threading.Thread(target=_watch, args=(counter, stop, f"over-seeds ({COHORTS[name]})", len(seeds)),
                               daemon=True)
    watcher.start()
    try:
        if jobs == 1:
            _share_count(counter)
            try:
                parts = _single_threaded(many, seeds, params)
            finally:
                _share_count(None)
        else:
            chunks = [seeds[i::jobs] for i in range(jobs)]
            with ProcessPoolExecutor(jobs, initializer=_share_count, initargs=(counter,)) as pool:
                parts = [r for part in pool.map(_single_threaded, [many] * jobs, chunks, [params] * jobs)
                         for r in part]
    finally:
        stop.set()
        watcher.join()
    out = pd.DataFrame([r for part in parts for r in part])
    out.attrs["setup"] = dict(params)
    if cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        out.to_csv(tmp, index=False)
        os.replace(tmp, path)
    return out


def _watch(counter, stop: threading.Event, label: str, total: int) -> None:
    """Report the seeds drawn to the runner's progress bar (:mod:`il6repro.progress`) until ``stop``."""
    while not stop.wait(0.5):
        progress.report(label, counter.value, total, "seeds", every=0)
    progress.report(label, counter.value, total, "seeds", every=0)


# ------------------------------------------------------------------------------------------- UK Biobank
def _ukb_one(seed: int, params: dict) -> list[dict]:
    """One seed the way notebook 02 runs it: the twin's tables, :func:`~il6repro.genetics.assoc.associate`,
    :func:`~il6repro.genetics.scan.scan` (the reference the fast path :func:`_ukb_fast` is tested equal to)."""
    from .genetics import assoc, scan
    from .twins import ukb

    twin = {k: v for k, v in params.items() if k in ukb.DEFAULTS}
    twin["seed"] = seed
    ins, _, tg, _ = ukb._reference_tables()  # instruments(), targets(), read once per process (not per seed)
    ex = ukb.to_extract(ukb.simulate(idps=list(tg["idp"]), **twin))
    a = assoc.associate(ex.dosages, ex.idps, assoc.design_matrix(ex.covariates), variants=ex.variants)
    res = scan.scan(ins[ins["exposure"] == "IL-6"], a, methods=("ivw",), ivw_model=params["ivw_model"],
                    action=params["harmonise_action"])
    prim = res.primary.set_index("idp")
    rows = []
    for t in tg.itertuples():
        r = prim.loc[t.idp]
        z, p = float(r["z"]), float(r["p"])
        rows.append({"seed": seed, "claim": f"{t.claim}.z", "value": z, "ci_low": z - 1.96, "ci_high": z + 1.96})
        rows.append({"seed": seed, "claim": f"{t.claim}.p", "value": p, "ci_low": np.nan, "ci_high": np.nan})
    return rows


def _ukb_prepare(params: dict) -> dict | None:
    """What every seed shares (planted effects, IDP rows, the design's layout, the harmonisation of the IL-6
    instruments with the twin's alleles), or None when the fast path does not apply and each seed takes
    :func:`_ukb_one`: when a palindromic variant makes the harmonisation depend on the seed's allele frequencies
    (``harmonise_action=2``), or fewer than two IL-6 variants remain (a Wald ratio, not IVW)."""
    from .genetics import harmonise
    from .twins import ukb

    p = ukb._params(**{k: v for k, v in params.items() if k in ukb.DEFAULTS})
    ins, all_idps, tg, cols = ukb._reference_tables()
    truth = ukb.planted_effects(p["n"], p["calibrate_to"], ins, idps=all_idps, tg=tg)
    rows = np.flatnonzero(all_idps["idp"].isin(list(tg["idp"])).to_numpy())
    names = all_idps["idp"].to_numpy()[rows]
    flip = np.arange(len(ins)) % 2 == 1  # the twin's counted allele (ukb.simulate)
    variants = pd.DataFrame({"snp": ins["snp"], "effect_allele": np.where(flip, ins["other_allele"],
                                                                          ins["effect_allele"]),
                             "other_allele": np.where(flip, ins["effect_allele"], ins["other_allele"])})
    il6 = ins[ins["exposure"] == "IL-6"]
    if any(harmonise.is_palindromic(a, b) for a, b in zip(il6["effect_allele"], il6["other_allele"], strict=True)) \
            and params["harmonise_action"] == 2:
        return None
    act = harmonise.allele_actions(il6, variants, action=params["harmonise_action"])
    keep = act[act["reason"] == ""]
    if len(keep) < 2:
        return None
    pos = np.flatnonzero((ins["exposure"] == "IL-6").to_numpy() & ins["snp"].isin(keep["snp"]).to_numpy())
    bx = il6.set_index("snp").loc[keep["snp"], "beta"].to_numpy(float)
    if (bx == 0).any():
        return None
    return dict(p=p, ins=ins, all_idps=all_idps, rows=rows, names=names, flipped=flip[pos],
                claims=list(tg["claim"]),
                targets=list(tg["idp"]), th=truth.pivot(index="exposure", columns="idp", values="theta"),
                pos=pos,
                sign=keep["sign"].to_numpy(float), bx=bx, order=np.argsort(names, kind="stable"))


def _ukb_fast(seed: int, params: dict, prep: dict) -> list[dict]:
    """:func:`_ukb_one`'s numbers without its tables: the twin's arrays (:func:`il6repro.twins.ukb._draw`),
    rounded as the participants table stores them, the design of ``assoc.design_matrix``, the fits of
    ``assoc.fits`` and the IVW of ``scan`` on the harmonisation :func:`_ukb_prepare` made once. The same
    arithmetic in the same order, so the same numbers to the last bit (tested); only the IL-6 instruments are
    fitted (10 of the 35 variants), as each variant's fit involves no other variant."""
    from .genetics import assoc, scan
    from .twins import ukb

    p = dict(prep["p"], seed=int(seed))
    d = ukb._draw(p, prep["rows"], prep["ins"], prep["all_idps"], prep["th"], ids=False)
    # the participants table's rounding (ukb.simulate), read back as ukb.to_extract does
    age = np.round(d["age_img"], 1)
    age = age - age.mean()
    sex = (~d["female"]).astype(int).astype(float)
    centre = d["centre"]
    pcs = np.round(d["pcs"], 4)
    C = np.column_stack([np.ones(len(age)), age, age ** 2, sex, age * sex]
                        + [(centre == c).astype(float) for c in sorted(pd.unique(centre))[1:]]
                        + [np.round(d["scaling"], 5)] + [pcs[:, k] for k in range(pcs.shape[1])])
    G = d["G"][:, prep["pos"]]  # only the IL-6 instruments are fitted (each variant's fit is its own)
    G[:, prep["flipped"]] = 2.0 - G[:, prep["flipped"]]  # the counted allele's dosage
    out, _ = assoc.fits(G, C, np.round(d["Y"], 4))
    order, sign = prep["order"], prep["sign"]
    # C order, as scan's variants x outcomes arrays (a sum over variants adds in memory order)
    BY = np.ascontiguousarray(out["beta"][:, order]) * sign[:, None]
    BYSE = np.ascontiguousarray(out["se"][:, order])
    est, se, *_ = scan._ivw(prep["bx"], BY, BYSE ** -2, params["ivw_model"], "floor")
    _, _, pv, zv = scan._norm(est, se, 0.05)
    at = {name: k for k, name in enumerate(prep["names"][order])}
    rows = []
    for claim, idp in zip(prep["claims"], prep["targets"], strict=True):
        z, pval = float(zv[at[idp]]), float(pv[at[idp]])
        rows.append({"seed": seed, "claim": f"{claim}.z", "value": z, "ci_low": z - 1.96, "ci_high": z + 1.96})
        rows.append({"seed": seed, "claim": f"{claim}.p", "value": pval, "ci_low": np.nan, "ci_high": np.nan})
    return rows


def _ukb_many(seeds: list[int], params: dict) -> list[list[dict]]:
    prep = _ukb_prepare(params)
    out = []
    for s in seeds:
        out.append(_ukb_one(s, params) if prep is None else _ukb_fast(s, params, prep))
        _drew_one()
    return out


def ukb_draws(n_seeds: int = N_SEEDS, first_seed: int = 1, *, jobs: int | None = None, cache: bool = True,
              ivw_model: str = "fixed", harmonise_action: int = 2, **twin) -> pd.DataFrame:
    """The five planted IL-6 associations (z and P of the primary IVW, as notebook 02) over twin seeds.

    ``twin``: UK Biobank twin parameters other than the seed (``n``, ``calibrate_to``, ``pleiotropy_sd``, ...).
    Returns one row per seed and claim: seed, claim, value, ci_low, ci_high (the z claims carry z +- 1.96, as the
    notebook records them); ``.attrs["setup"]`` is the flat :func:`ukb_setup`. ``jobs``: worker processes (default
    up to 2).
    """
    params = ukb_setup(ivw_model=ivw_model, harmonise_action=harmonise_action, **twin)
    return _run("ukb", _ukb_many, params, _seeds(n_seeds, first_seed), jobs, cache)


# ------------------------------------------------------------------------------------------- Whitehall II
def _whitehall_one(seed: int, params: dict) -> list[dict]:
    from . import cohort as C
    from .twins import whitehall as W

    df = W.simulate(**{k: v for k, v in params.items() if k in W.DEFAULTS}, seed=seed)["table"]
    obs = C.person_observations(df, case_threshold=params["case_threshold"], resolution=params["resolution"],
                                il6_cut=params["il6_cut"])
    # only the case threshold is read downstream (il6_change); pandas deep-copies .attrs (the flow table) into
    # every frame derived from obs, ~10 ms a draw
    obs.attrs = {"case_threshold": obs.attrs["case_threshold"]}
    rows = []
    for cid, data, expo, covs in (("V.rr_low_vs_high.agesex", obs, "low", C.AGE_SEX),
                                  ("V.rr_low_vs_high.full", obs, "low", C.FULL),
                                  ("V.rr_repeated", C.repeated_exposure(obs), "repeated_low", C.AGE_SEX)):
        r = C.risk_ratio(data, expo, covs, vcov=params["vcov"])
        rows.append({"seed": seed, "claim": cid, "value": r["rr"], "ci_low": r["ci_low"], "ci_high": r["ci_high"]})
    d = C.change_difference(C.il6_change(df, obs))
    rows.append({"seed": seed, "claim": "V.il6_change_with_resolution", "value": d["difference"],
                 "ci_low": d["ci_low"], "ci_high": d["ci_high"]})
    return rows


def _whitehall_many(seeds: list[int], params: dict) -> list[list[dict]]:
    out = []
    for s in seeds:
        out.append(_whitehall_one(s, params))
        _drew_one()
    return out


def whitehall_draws(n_seeds: int = N_SEEDS, first_seed: int = 1, *, jobs: int | None = None, cache: bool = True,
                    case_threshold: int = 5, resolution: str = "next", il6_cut: str | float = "median",
                    vcov: str = "HC1", **twin) -> pd.DataFrame:
    """The study-V risk ratios and the IL-6 change (as notebooks 07-08 record them) over Whitehall twin seeds.

    ``twin``: Whitehall twin parameters other than the seed. Returns one row per seed and claim: seed, claim,
    value, ci_low, ci_high; ``.attrs["setup"]`` is the flat :func:`whitehall_setup`.
    """
    params = whitehall_setup(case_threshold=case_threshold, resolution=resolution, il6_cut=il6_cut, vcov=vcov,
                             **twin)
    return _run("whitehall", _whitehall_many, params, _seeds(n_seeds, first_seed), jobs, cache)


# ------------------------------------------------------------------------------------------- summaries
def summarise(draws: pd.DataFrame) -> pd.DataFrame:
    """One row per claim: the planted/published value, the distribution over seeds (median, central 95% range),
    the share of seeds meeting the claim's rule, and the power for its conclusion with the exact 95% CI."""
    from . import ledger

    claims = ledger.load_claims()
    rows = []
    for cid, g in draws.groupby("claim", sort=False):
        cis = [None if np.isnan(lo) else (lo, hi) for lo, hi in zip(g["ci_low"], g["ci_high"], strict=True)]
        d = ledger.distribution(cid, g["value"].to_numpy(float), cis, seeds=g["seed"].tolist(), claims=claims)
        c = claims[cid]
        rows.append({"claim": cid, "quantity": c.quantity, "published": c.value, "seeds": d["n_seeds"],
                     "median": d["median"], "2.5%": d["q025"], "97.5%": d["q975"],
                     "rule met (%)": 100 * d["rule_share"], "conclusion": ledger.conclusion_text(c),
                     "conclusion holds (%)": 100 * d["power"] if "power" in d else np.nan,
                     "95% CI low (%)": 100 * d["power_ci"][0] if "power" in d else np.nan,
                     "95% CI high (%)": 100 * d["power_ci"][1] if "power" in d else np.nan})
    return pd.DataFrame(rows)


def record(draws: pd.DataFrame) -> pd.DataFrame:
    """Store every claim's over-seeds summary for the ledger (:func:`il6repro.ledger.record_distribution`), with
    the setup it was drawn under (``draws.attrs["setup"]``) so the ledger uses it only for a run of the same twin
    and analysis. Returns :func:`summarise`'s table."""
    from . import ledger

    claims = ledger.load_claims()
    twin = dict(draws.attrs.get("setup") or {})
    for cid, g in draws.groupby("claim", sort=False):
        cis = [None if np.isnan(lo) else (lo, hi) for lo, hi in zip(g["ci_low"], g["ci_high"], strict=True)]
        ledger.record_distribution(cid, ledger.distribution(cid, g["value"].to_numpy(float), cis,
                                                            seeds=g["seed"].tolist(), params=twin, claims=claims))
    return summarise(draws)


def formatted(summary: pd.DataFrame) -> pd.DataFrame:
    """:func:`summarise`'s table for reading: values to 3 significant figures (P values stay legible), shares to a
    tenth of a percent, the power with its exact CI in one cell."""
    from .ledger import load_claims
    from .report import P_RULES, fmt_num, fmt_p

    claims = load_claims()

    def number(cid, v):  # a P claim's numbers as P values (8.39e-9, 1.61e-3), any other to 3 significant figures
        c = claims.get(cid)
        return fmt_p(v) if c is not None and c.rule.get("kind") in P_RULES else fmt_num(v)

    def published(cid, v):  # a direction-only claim (the abstract gives no number) reads as its direction
        c = claims.get(cid)
        if c is not None and c.published_as:  # words only ("little effect"): the value is the rule's reference
            return c.published_as
        if c is not None and c.rule.get("kind") == "sign" and not c.ci:
            return "negative (direction only)" if v < 0 else "positive (direction only)"
        return number(cid, v)

    out = pd.DataFrame({"claim": summary["claim"],
                        "published": [published(c, v) for c, v in zip(summary["claim"], summary["published"],
                                                                      strict=True)]})
    for c in ("median", "2.5%", "97.5%"):
        out[c] = [number(cid, v) for cid, v in zip(summary["claim"], summary[c], strict=True)]
    out["rule met"] = summary["rule met (%)"].map("{:.1f}%".format)
    out["conclusion"] = summary["conclusion"]
    out["conclusion holds (exact 95% CI)"] = [
        "" if np.isnan(p) else f"{p:.1f}% ({lo:.1f}-{hi:.1f}%)"
        for p, lo, hi in zip(summary["conclusion holds (%)"], summary["95% CI low (%)"], summary["95% CI high (%)"],
                             strict=True)]
    return out.set_index("claim")


def table(summary: pd.DataFrame, uuid: str):
    """:func:`formatted` as a notebook table (every cell whole, fixed element ids: see :func:`il6repro.report.table`),
    each row named by its quantity in words ("IL-6 → GMV middle temporal gyrus, z"), not its claim id."""
    from .report import arrows
    from .report import table as _table

    out = formatted(summary)
    words = dict(zip(summary["claim"], summary["quantity"], strict=True))
    out.index = pd.Index([arrows(words.get(c, c)) for c in out.index], name="quantity")
    return _table(out, uuid)
