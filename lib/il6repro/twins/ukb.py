"""The UK Biobank imaging-genetics twin of study W, and the loader that reads it or a real extract.

The twin is a synthetic cohort written in the on-disk layout of a real UK Biobank extract:

- ``ukb_participants.csv``: one row per participant keyed by ``eid``, ukbconv-style ``<field>-<instance>.<array>``
  columns (sex 31, age 21022/21003, imaging centre 54, head-size scaling 25000, genetic PCs 22009, CRP 30710,
  the 139 FAST grey-matter volume IDPs 25782-25920 and the 66 Desikan-Killiany thickness IDPs), as mapped by
  ``data_manifest/ukb/columns.yaml`` and ``data_manifest/ukb/idps.csv``;
- ``ukb_instruments.raw``: the instrument dosages as ``plink2 --export A include-alt`` writes them;
- ``truth/``: what was planted (causal effect of every exposure on every IDP, the target z's, parameters).

How it is generated (all from one seed): independent variants at the cited allele frequencies
(``data_manifest/ukb/instruments.csv``); covariates with UK Biobank-like distributions; IDPs = covariate effects
(age, sex, head size, centre, PCs) + a global and a measure-specific shared factor (so regions correlate) + unique
noise + the planted genetic effects. An exposure k acts on IDP r through its genetic score
``sum_j beta_kj * dosage_j`` (the cited SNP-exposure betas, so a two-sample MR of the twin estimates the planted
``theta_kr`` in IDP residual-SD units per exposure unit; ``theta_sd`` in the truth file is the same effect per SD of
the IDP as measured in the twin, the units of ``associate(standardize=True)``, and what estimates are checked
against). ``theta`` is set so that the *expected* fixed-effect IVW z at the published N = 20,688 equals the
published z (``calibrate_to="z"``) or the z implied by the published P (``calibrate_to="p"``, same sign). The
effects are fixed, so a twin of another size has the z's that size implies (``expected_z`` in the truth file).
Optional balanced pleiotropy adds SNP-specific direct effects.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import _dist, _yaml, governance
from .._csv import write_csv
from .._paths import manifest_dir
from ._checks import MIN_PARTICIPANTS, numeric_column, read_csv, read_numeric_csv, rows
from ._store import _sha256, atomic_directory, cached, recorded_hashes

PARTICIPANTS = "ukb_participants.csv"
RAW = "ukb_instruments.raw"
#: The exposure of the paper's findings: an extract without any of its variants cannot reproduce them.
REPORTED_EXPOSURE = "IL-6"
TRUTH = "truth"
CENTRES = {11025: 0.6, 11026: 0.2, 11027: 0.2}  # Cheadle, Reading, Newcastle (imaging centres)
PUBLISHED_N = 20688  # UK Biobank participants in Williams et al. 2022
DEFAULTS = dict(n=20688, seed=20220101, calibrate_to="z", pleiotropy_sd=0.0, pleiotropy_mean=0.0,
                female_frac=0.523, mean_age=55.5, ct_missing=0.015)


class ExtractError(ValueError):
    """A participant table or dosage file is not a usable extract (the message names the problem)."""


# ------------------------------------------------------------------------------------------ reference tables
def instruments() -> pd.DataFrame:
    """The instrument table: exposure, snp, alleles, eaf, beta, se, pval, n, source, citation, illustrative."""
    df = pd.read_csv(manifest_dir() / "ukb" / "instruments.csv")
    df["illustrative"] = df["illustrative"].fillna("")
    return df


def idp_table() -> pd.DataFrame:
    """The 205 IDPs: field, ukbconv column, short ``idp`` name, measure (gmv/ct), atlas and atlas label."""
    return pd.read_csv(manifest_dir() / "ukb" / "idps.csv")


def column_mapping(path: str | Path | None = None) -> dict:
    """The role -> column mapping (``data_manifest/ukb/columns.yaml`` unless ``path`` is given)."""
    p = Path(path) if path else manifest_dir() / "ukb" / "columns.yaml"
    return _yaml.load(p.read_text())


_ROLE_WORDS = {"eid": "participant id (one row each; the dosages' IID)",
               "pcs": "genetic principal components 1-10 (covariates)"}
_IDP_WORDS = {("gmv", "harvard_oxford"): "grey-matter volume (FAST), Harvard-Oxford cortical and subcortical regions",
              ("gmv", "cerebellum"): "grey-matter volume (FAST), cerebellar regions",
              ("ct", "desikan_killiany"): "mean cortical thickness (FreeSurfer aparc), Desikan-Killiany regions"}


def _column_comments(path: Path) -> dict[str, str]:
    """``role: value  # what it is`` -> {role: what it is}: the mapping file's comments describe its columns."""
    import re

    out = {}
    for line in path.read_text().splitlines():
        m = re.match(r"^(\w+):[^#]*#\s*(.+)$", line)
        if m:
            out[m.group(1)] = m.group(2).strip()
    return out


def _runs(fields) -> str:
    """Field numbers as ranges of consecutive ones: ``26756-26788, 26857-26889``."""
    fields = sorted(int(f) for f in fields)
    runs, start = [], fields[0]
    for a, b in zip(fields, fields[1:] + [None], strict=True):
        if b != a + 1:
            runs.append(f"{start}-{a}" if a != start else str(a))
            start = b
    return ", ".join(runs)


def layout() -> pd.DataFrame:
    """A real extract's layout for people (the book's data page): one row per file and column (or group of
    columns), the ``columns.yaml`` key that maps it (``key``, empty for the IDPs and dosages) and what it holds,
    from ``columns.yaml`` (its comments describe the columns), ``idps.csv`` and ``instruments.csv``, the files the
    loader reads. No data: names of files and UK Biobank fields only."""
    path = manifest_dir() / "ukb" / "columns.yaml"
    mapping, words = column_mapping(path), _column_comments(path)
    rows = []
    for key, col in mapping.items():
        cols = [str(c) for c in (col if isinstance(col, list) else [col])]
        shown = ", ".join(cols) if len(cols) <= 3 else f"{cols[0]} ... {cols[-1]}"
        what = words.get(key) or _ROLE_WORDS.get(key) or key.replace("_", " ")
        what = what.replace("; optional", "") + (" (optional)" if "optional" in what else "")
        rows.append({"file": PARTICIPANTS, "columns": shown, "key": key,
                     "holds": what + (f"; {len(cols)} columns" if len(cols) > 3 else "")})
    idps = idp_table()
    for (measure, atlas), g in idps.groupby(["measure", "atlas"], sort=False):
        rows.append({"file": PARTICIPANTS, "columns": f"{g['column'].iloc[0]} ... {g['column'].iloc[-1]}", "key": "",
                     "holds": f"{_IDP_WORDS.get((measure, atlas), f'{measure}, {atlas}')}, imaging visit; "
                              f"{len(g)} columns, fields {_runs(g['field'])}"})
    ins = instruments()
    per = ", ".join(f"{e} {n}" for e, n in ins.groupby("exposure", sort=False).size().items())
    rows.append({"file": RAW, "columns": "FID, IID, PAT, MAT, SEX, PHENOTYPE", "key": "",
                 "holds": "plink2's --export A header columns; IID is the participant's eid"})
    rows.append({"file": RAW, "columns": "<rsid>_<counted allele>(/<other allele>)", "key": "",
                 "holds": f"dosage of the counted allele, 0-2, of each of the {len(ins)} instrument variants of "
                          f"instruments.csv ({per})"})
    return pd.DataFrame(rows)


def targets() -> pd.DataFrame:
    """Published IL-6 associations and the IDP each is planted on (``data_manifest/ukb/twin_targets.yaml``)."""
    doc = _yaml.load((manifest_dir() / "ukb" / "twin_targets.yaml").read_text())
    df = pd.DataFrame(doc["targets"])
    df.insert(0, "exposure", doc["exposure"])
    return df


_REF_MEMO: dict = {}


def _reference_tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]:
    """instruments(), idp_table(), targets(), column_mapping(), read once per version of the files (the over-seeds
    draws call :func:`simulate` hundreds of times); copies, so a caller cannot alter the memo."""
    files = [manifest_dir() / "ukb" / f for f in ("instruments.csv", "idps.csv", "twin_targets.yaml", "columns.yaml")]
    stamp = tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files)
    if _REF_MEMO.get("stamp") != stamp:
        _REF_MEMO.update(stamp=stamp, tables=(instruments(), idp_table(), targets(), column_mapping()))
    ins, idps, tg, cols = _REF_MEMO["tables"]
    return ins.copy(), idps.copy(), tg.copy(), json.loads(json.dumps(cols))


# ----------------------------------------------------------------------------------------------- planting
def expected_ivw_se(ins: pd.DataFrame, n: int, resid_sd: float = 1.0) -> float:
    """Expected fixed-effect IVW SE at sample size ``n`` for outcome residual SD ``resid_sd``.

    Each SNP-outcome SE is ``resid_sd / sqrt(n * 2f(1-f))``; the IVW SE is ``1/sqrt(sum(bx^2 / se_y^2))``.
    """
    f = ins["eaf"].to_numpy(float)
    bx = ins["beta"].to_numpy(float)
    return float(resid_sd / np.sqrt(n * np.sum(bx ** 2 * 2 * f * (1 - f))))


def planted_effects(n: int, calibrate_to: str = "z", ins: pd.DataFrame | None = None,
                    calibrate_n: int | None = None, *, idps: pd.DataFrame | None = None,
                    tg: pd.DataFrame | None = None) -> pd.DataFrame:
    """Causal effect ``theta`` of every exposure on every IDP: the targets' values, zero elsewhere.

    ``theta`` is set so that the expected IVW z at ``calibrate_n`` participants (default: the published 20,688)
    equals the target z; it is a fixed effect, so a twin of another size ``n`` has expected z
    ``target_z * sqrt(n / calibrate_n)`` (``expected_z`` column), which is what a power analysis needs.
    """
    if calibrate_to not in ("z", "p"):
        raise ValueError(f"calibrate_to must be 'z' or 'p', got {calibrate_to!r}")
    ins = instruments() if ins is None else ins
    idps = idp_table() if idps is None else idps
    tg = targets() if tg is None else tg
    unknown = set(tg["idp"]) - set(idps["idp"])
    if unknown:
        raise ValueError(f"targets name IDPs not in idps.csv: {sorted(unknown)}")
    rows = []
    cal_n = int(calibrate_n or PUBLISHED_N)
    hits = {(t.exposure, t.idp): t for t in tg.itertuples()}
    for exp, sub in ins.groupby("exposure", sort=False):
        se_cal = expected_ivw_se(sub, cal_n)
        se = expected_ivw_se(sub, n)
        for idp in idps["idp"]:
            h = hits.get((exp, idp))
            if h is not None:
                z = float(h.z) if calibrate_to == "z" else float(np.sign(h.z) * _dist.norm_isf(h.p / 2))
                rows.append(dict(exposure=exp, idp=idp, theta=z * se_cal, target_z=z, expected_z=z * se_cal / se,
                                 expected_se=se, calibrate_n=cal_n, claim=h.claim, published_z=float(h.z),
                                 published_p=float(h.p)))
            else:
                rows.append(dict(exposure=exp, idp=idp, theta=0.0, target_z=0.0, expected_z=0.0,
                                 expected_se=se, calibrate_n=cal_n, claim="", published_z=np.nan, published_p=np.nan))
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------- generation
def _params(**kw) -> dict:
    unknown = set(kw) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"unknown twin parameter(s) {sorted(unknown)}; known: {sorted(DEFAULTS)}")
    p = dict(DEFAULTS, **kw)
    if int(p["n"]) < 100:
        raise ValueError(f"n={p['n']}: the twin needs at least 100 participants")
    if p["calibrate_to"] not in ("z", "p"):
        raise ValueError(f"calibrate_to must be 'z' or 'p', got {p['calibrate_to']!r}")
    if not 0 <= float(p["ct_missing"]) < 0.5:
        raise ValueError(f"ct_missing={p['ct_missing']} must be in [0, 0.5)")
    p["n"] = int(p["n"])
    p["seed"] = int(p["seed"])
    return p


def _exact_count(rng, n: int, share: float) -> np.ndarray:
    """A boolean of length ``n`` with exactly ``round(share * n)`` True, at uniformly random positions (the law of
    independent Bernoulli draws conditioned on their total)."""
    k = int(round(share * n))
    out = np.zeros(n, bool)
    out[rng.choice(n, size=k, replace=False)] = True
    return out


def _smallest(x: np.ndarray, m: int) -> np.ndarray:
    """``np.argsort(x, kind="stable")[:m]`` for ``x`` without NaN, without sorting all of ``x``: the values up to the
    m-th smallest (found by a partition), in index order, then sorted stably (ties keep index order, as the full
    stable sort)."""
    if m <= 0:
        return np.zeros(0, np.intp)
    if m >= len(x):
        return np.argsort(x, kind="stable")
    cut = np.partition(x, m - 1)[m - 1]
    cand = np.flatnonzero(x <= cut)
    return cand[np.argsort(x[cand], kind="stable")[:m]]


def _ages_with_exact_mean(rng, n: int, mean: float, sd: float = 7.4, lo: int = 40, hi: int = 70):
    """Age at recruitment: a continuous draw and its whole years (UK Biobank field 21022 is whole years), whose sum
    is exactly ``round(mean * n)``: the whole-year value of the participants nearest a rounding boundary is taken
    on the other side of it (each changes by one year, staying within one year of the continuous age)."""
    cont = np.clip(rng.normal(mean, sd, n), lo, hi)
    whole = np.round(cont).astype(int)
    for _ in range(4):  # one pass suffices unless n is tiny
        diff = int(round(mean * n)) - int(whole.sum())
        if diff == 0:
            break
        step = 1 if diff > 0 else -1
        room = (whole + step >= lo) & (whole + step <= hi)
        # distance to the boundary in the needed direction: smallest first
        dist = np.where(room, step * (whole - cont) + 0.5, np.inf)
        order = _smallest(dist, abs(diff))
        whole[order[np.isfinite(dist[order])]] += step
    return cont, whole


def _inversion_counts(U: np.ndarray, trials: int, pc: np.ndarray) -> tuple[np.ndarray, bool]:
    """numpy's binomial inversion (``random_binomial_inversion`` of numpy/random/src/distributions) for every
    element of ``U`` (rows x columns, one uniform each; overwritten) with column success probabilities ``pc`` (<= 0.5): the
    counts and whether any element would have needed a second uniform (numpy restarts past its bound).

    numpy walks ``X = 0, 1, ...`` subtracting ``px`` from ``U`` while ``U > px``; ``px`` depends on ``X`` and the
    column only, so it is computed once per column here (numpy recomputes its set-up, two logarithms, an exponential
    and a square root, for every element when ``p`` changes from one element to the next), with numpy's own
    arithmetic in its order (IEEE, libm's ``exp``/``log`` through :mod:`math`); ``U`` minus the running ``px`` are
    numpy's own subtractions. Once ``U <= px`` holds it holds for every later ``X`` (``px >= 0``), so the count is
    the number of steps where it fails.
    """
    import math

    n = int(trials)
    bounds, table = [], []
    for p in pc.tolist():
        q = 1.0 - p
        px = math.exp(n * math.log(q))
        npq = n * p
        bound = int(min(float(n), npq + 10.0 * math.sqrt(npq * q + 1)))
        col = [px]
        for x in range(1, bound + 1):
            px = ((n - x + 1) * p * px) / (x * q)
            col.append(px)
        bounds.append(bound)
        table.append(col)
    top = max(bounds)
    PX = np.full((top + 1, len(pc)), np.inf)  # past a column's bound: never counted (a restart is caught below)
    for j, col in enumerate(table):
        PX[:len(col), j] = col
    X = np.zeros(U.shape, np.int8 if top < 100 else np.int64)
    rem = U  # the caller's fresh uniforms, used up in place
    for x in range(top + 1):
        X += rem > PX[x]
        if x < top:
            rem -= PX[x]
    restart = bool((X > np.asarray(bounds, X.dtype)).any())
    return X, restart


def _binomial(rng: np.random.Generator, trials: int, p: np.ndarray, rows: int) -> np.ndarray:
    """``rng.binomial(trials, p, size=(rows, len(p)))`` as float64, the very same integers and the generator left in
    the very same state, ~5x faster for few trials (the twin's dosages: 2 trials, 35 frequencies).

    numpy draws one uniform per element (``next_double`` of the bit generator, in C order, as ``rng.random``) when
    ``min(p, 1 - p) * trials <= 30`` and ``p > 0`` and returns ``trials - X`` for ``p > 0.5``; otherwise (BTPE, ``p
    == 0`` drawing nothing, bad input), or when an element would need a second uniform, numpy itself is called from
    the state the generator had (tested equal, state included, over seeds, sizes and frequencies).
    """
    p = np.asarray(p, float)
    n = int(trials)
    flip = p > 0.5
    pc = np.where(flip, 1.0 - p, p)
    if not (p.ndim == 1 and n > 0 and n == trials and np.all((pc > 0) & (pc <= 0.5)) and np.all(pc * n <= 30.0)):
        return rng.binomial(trials, p, size=(rows, len(p))).astype(float)
    state = rng.bit_generator.state
    X, restart = _inversion_counts(rng.random((rows, len(p))), n, pc)
    if restart:  # numpy would have drawn again for these: let it draw everything
        rng.bit_generator.state = state
        return rng.binomial(trials, p, size=(rows, len(p))).astype(float)
    G = X.astype(float)
    G[:, flip] = n - G[:, flip]
    return G


def _draw(p: dict, rows: np.ndarray, ins: pd.DataFrame, all_idps: pd.DataFrame, th: pd.DataFrame, *,
          ids: bool = True) -> dict:
    """The twin's arrays (unrounded), as :func:`simulate` draws them for the IDPs at ``rows`` of ``idps.csv``:
    what :func:`simulate` writes into its tables, and what the over-seeds draws use without building them
    (``ids=False``: no participant ids). ``th``: the planted ``theta``, exposures x IDPs."""
    n = p["n"]
    rng = np.random.default_rng(p["seed"])
    R = len(rows)
    # covariates (design inputs exact: the count of women, the mean whole-year age)
    female = _exact_count(rng, n, p["female_frac"])
    age_cont, age_whole = _ages_with_exact_mean(rng, n, p["mean_age"])
    age_img = age_cont + np.clip(rng.normal(8.8, 1.7, n), 4, 14)
    centre = rng.choice(list(CENTRES), size=n, p=list(CENTRES.values()))
    scaling = rng.normal(np.where(female, 1.36, 1.22), 0.085)
    pcs = rng.normal(0, 1, (n, 10)) * np.linspace(6, 1.5, 10)
    # genotypes: independent variants, HWE at the cited frequency; counted allele = ALT (alternating by variant)
    f = ins["eaf"].to_numpy(float)
    G = _binomial(rng, 2, f, n)  # effect-allele dosage (= rng.binomial(2, f, (n, len(f))), faster)
    expo, beta, labels = ins["exposure"].to_numpy(), ins["beta"].to_numpy(float), ins.index.to_numpy()
    score: dict = {}

    def gscore(exp):  # an exposure's genetic score, computed when first used (most exposures plant nothing)
        if exp not in score:
            at = expo == exp
            score[exp] = G[:, labels[at]] @ beta[at]
        return score[exp]

    # measured CRP: IL6R-driven and CRP-locus genetic scores on the log scale, age/sex and noise
    il6_crp = gscore("IL-6") if "IL-6" in expo else 0.0
    log_crp = 0.3 + il6_crp + (gscore("CRP") if "CRP" in expo else 0.0) + 0.012 * (age_cont - 55) + 0.15 * female \
        + rng.normal(0, 1.05, n)
    # person-level shared factors and thickness missingness
    g_glob = rng.normal(0, 1, n)
    g_meas = rng.normal(0, 1, (n, 2))
    miss = rng.random(n) < p["ct_missing"]
    # participant ids: the last draw of the shared stream (the IDPs' streams are their own), skipped when unused
    eid = 1000000 + rng.choice(9000000, size=n, replace=False) if ids else None
    z_age = (age_img - 64.0) / 7.5
    z_scale = (scaling - scaling.mean()) / scaling.std()
    pcz = pcs / pcs.std(0)
    pleio_on = bool(p["pleiotropy_sd"] or p["pleiotropy_mean"])
    se_y = 1.0 / np.sqrt(n * 2 * f * (1 - f))
    # IDPs: standardised latent = covariates + shared factors + unique + planted genetic effects, each IDP from a
    # stream of its own
    thv, tcol = th.to_numpy(float), {name: k for k, name in enumerate(th.columns)}
    Y = np.empty((n, R))
    direct = np.zeros((len(f), len(all_idps)))
    latent_sd = np.empty(R)
    for j, r in enumerate(rows):
        ri = np.random.default_rng([p["seed"], 1729, int(r)])
        is_ct = all_idps["measure"].iat[r] == "ct"
        a = ri.normal(-0.30 if is_ct else -0.40, 0.08)
        s_ = ri.normal(-0.05 if is_ct else 0.15, 0.05)
        h = ri.normal(0.0, 0.03) if is_ct else ri.normal(-0.45, 0.08)
        c = {k: ri.normal(0, 0.06) for k in CENTRES}
        pc_eff = ri.normal(0, 0.01, 10)
        lat = a * z_age - 0.05 * z_age ** 2 + s_ * ~female + h * z_scale + pcz @ pc_eff
        for k, v in c.items():
            lat = lat + v * (centre == k)
        lat = lat + np.sqrt(0.30) * g_glob + np.sqrt(0.20) * g_meas[:, int(is_ct)] + np.sqrt(0.50) * ri.normal(0, 1, n)
        name = all_idps["idp"].iat[r]
        for e, exp in enumerate(th.index):
            t = thv[e, tcol[name]]
            if t:
                lat = lat + gscore(exp) * t
        if pleio_on:  # direct SNP -> IDP effects, in units of each SNP's expected outcome SE
            direct[:, r] = (p["pleiotropy_mean"] + p["pleiotropy_sd"] * ri.normal(0, 1, len(f))) * se_y
            lat = lat + G @ direct[:, r]
        latent_sd[j] = lat.std(ddof=1)
        mean = ri.uniform(2.2, 3.2) if is_ct else ri.uniform(1500, 18000)
        sd = ri.uniform(0.10, 0.20) if is_ct else mean * ri.uniform(0.08, 0.14)
        Y[:, j] = mean + sd * lat
        if is_ct:  # thickness missing for a share of participants (no FreeSurfer output)
            Y[miss, j] = np.nan
    return dict(female=female, age_whole=age_whole, age_img=age_img, centre=centre, scaling=scaling, pcs=pcs, G=G,
                log_crp=log_crp, eid=eid, Y=Y, latent_sd=latent_sd, direct=direct, f=f, miss=miss)


def simulate(*, idps: list[str] | None = None, **kw) -> dict:
    """Draw the twin in memory: participants table, dosage matrix, variant table, planted truth.

    Parameters are those of :data:`DEFAULTS` (``n``, ``seed``, ``calibrate_to``, ``pleiotropy_sd`` - SD of
    SNP-specific direct effects in units of the expected SNP-outcome SE, ``pleiotropy_mean`` - their mean in the
    same units (directional pleiotropy), ``female_frac``, ``mean_age``, ``ct_missing`` - share of participants
    without FreeSurfer thickness outputs).

    Design inputs are exact at every seed: ``n`` participants, exactly ``round(female_frac * n)`` women, and
    whole-year ages at recruitment summing to ``round(mean_age * n)`` (so the published 20,688 / 52.3% / 55.5 are
    met to the printed digit, not "within 0.5").

    ``idps`` (optional): draw only these IDPs (names of ``idps.csv``). Each IDP's own draws come from a random
    stream of its own (seeded by the twin seed and the IDP's row), so the columns drawn are *identical* to the
    same columns of the full twin: the over-seeds distributions (:mod:`il6repro.overseeds`) draw only the planted
    IDPs, cheaply, from the very twin the notebooks analyse.
    """
    p = _params(**kw)
    n = p["n"]
    ins, all_idps, tg, cols = _reference_tables()
    truth = planted_effects(n, p["calibrate_to"], ins, idps=all_idps, tg=tg)
    if idps is None:
        rows = np.arange(len(all_idps))
    else:
        unknown = sorted(set(idps) - set(all_idps["idp"]))
        if unknown:
            raise ValueError(f"unknown IDP(s) {unknown}; see data_manifest/ukb/idps.csv")
        rows = np.flatnonzero(all_idps["idp"].isin(idps).to_numpy())
    idp_info = all_idps.iloc[rows].reset_index(drop=True)

    d = _draw(p, rows, ins, all_idps, truth.pivot(index="exposure", columns="idp", values="theta"))
    female, age_whole, age_img, centre, scaling, pcs, G, log_crp, eid, Y, latent_sd, direct, f = (
        d[k] for k in ("female", "age_whole", "age_img", "centre", "scaling", "pcs", "G", "log_crp", "eid", "Y",
                       "latent_sd", "direct", "f"))
    # the planted effect in the units a standardised analysis estimates (per SD of the IDP as measured here)
    truth = truth[truth["idp"].isin(idp_info["idp"])].reset_index(drop=True)
    truth["idp_sd"] = truth["idp"].map(pd.Series(latent_sd, index=idp_info["idp"].to_numpy()))
    truth["theta_sd"] = truth["theta"] / truth["idp_sd"]

    part = pd.DataFrame({cols["eid"]: eid, cols["sex"]: (~female).astype(int),
                         cols["age_recruitment"]: age_whole, cols["age_imaging"]: np.round(age_img, 1),
                         cols["centre"]: centre, cols["head_scaling"]: np.round(scaling, 5)})
    for k, col in enumerate(cols["pcs"]):
        part[col] = np.round(pcs[:, k], 4)
    part[cols["crp"]] = np.round(np.exp(log_crp), 2)
    part[cols["genetic_grouping"]] = 1
    idp_vals = pd.DataFrame(np.round(Y, 4), columns=idp_info["column"].tolist())
    part = pd.concat([part, idp_vals], axis=1)

    flip = np.arange(len(f)) % 2 == 1  # counted allele = other allele for every second variant
    counted = np.where(flip, ins["other_allele"], ins["effect_allele"])
    alt = np.where(flip, ins["effect_allele"], ins["other_allele"])
    dos = np.where(flip[None, :], 2 - G, G)
    variants = pd.DataFrame({"snp": ins["snp"], "counted": counted, "alt": alt})
    pleio = pd.DataFrame(direct[:, rows], index=ins["snp"], columns=idp_info["idp"])
    return dict(participants=part, dosages=dos, variants=variants, truth=truth, pleiotropy=pleio, params=p,
                sex=(~female).astype(int))


def to_extract(tw: dict) -> Extract:
    """The :class:`Extract` that :func:`load` gives for a written twin, built from the in-memory draw of
    :func:`simulate` (no disk round trip; tested equal to ``load(write(...))``)."""
    _, info, _, cols = _reference_tables()  # column_mapping(), idp_table(), memoised (over-seeds: once per seed)
    part = tw["participants"]
    info = info[info["column"].isin(part.columns)].reset_index(drop=True)
    idx = pd.Index(part[cols["eid"]].astype(str), name="eid")
    cov = pd.DataFrame(index=idx)
    cov["age"] = part[cols["age_imaging"]].astype(float).to_numpy()
    cov["sex"] = part[cols["sex"]].astype(float).to_numpy()
    cov["centre"] = part[cols["centre"]].to_numpy()
    cov["head_scaling"] = part[cols["head_scaling"]].astype(float).to_numpy()
    for k, c in enumerate(cols["pcs"], 1):
        cov[f"PC{k}"] = part[c].astype(float).to_numpy()
    exposure = pd.DataFrame({"log_crp": np.log(part[cols["crp"]].where(part[cols["crp"]] > 0)).to_numpy()}, index=idx)
    idps = pd.DataFrame(part[info["column"]].to_numpy(float), index=idx, columns=info["idp"].tolist())
    dos = pd.DataFrame(tw["dosages"], index=idx, columns=tw["variants"]["snp"].tolist())
    table1 = pd.DataFrame({"sex": part[cols["sex"]].to_numpy(), "age_recruitment": part[cols["age_recruitment"]].to_numpy(),
                           "age_imaging": part[cols["age_imaging"]].to_numpy(), "centre": part[cols["centre"]].to_numpy()},
                          index=idx)
    return Extract(cov, idps, dos, tw["variants"].copy(), info, exposure, table1, [])


def _write_raw(path: Path, eid: np.ndarray, sex: np.ndarray, dos: np.ndarray, variants: pd.DataFrame) -> None:
    head = ["FID", "IID", "PAT", "MAT", "SEX", "PHENOTYPE"] + [
        f"{s}_{c}(/{a})" for s, c, a in zip(variants["snp"], variants["counted"], variants["alt"], strict=False)]
    plink_sex = np.where(sex == 1, 1, 2)  # plink: 1 = male, 2 = female
    df = pd.DataFrame(dos.astype(int) if np.all(dos == np.round(dos)) else np.round(dos, 3),
                      columns=head[6:])
    df.insert(0, "PHENOTYPE", -9)
    df.insert(0, "SEX", plink_sex)
    df.insert(0, "MAT", 0)
    df.insert(0, "PAT", 0)
    df.insert(0, "IID", eid)
    df.insert(0, "FID", eid)
    df.to_csv(path, sep=" ", index=False)


def params_key(**kw) -> str:
    """Short hash identifying a twin by its parameters and the reference tables it is drawn from."""
    p = _params(**kw)
    h = hashlib.sha256(json.dumps(p, sort_keys=True).encode())
    for name in ("instruments.csv", "idps.csv", "twin_targets.yaml", "columns.yaml"):
        h.update((manifest_dir() / "ukb" / name).read_bytes())
    h.update(Path(__file__).read_bytes())
    return h.hexdigest()[:12]


def write(outdir: str | Path, **kw) -> Path:
    """Generate the twin and write it to ``outdir`` (atomically: a failed run leaves no partial directory)."""
    tw = simulate(**kw)
    with atomic_directory(outdir) as tmp:
        write_csv(tw["participants"], tmp / PARTICIPANTS)  # = .to_csv(index=False), byte for byte, compiled
        eid = tw["participants"][column_mapping()["eid"]].to_numpy()
        _write_raw(tmp / RAW, eid, tw["sex"], tw["dosages"], tw["variants"])
        (tmp / TRUTH).mkdir()
        tw["truth"].to_csv(tmp / TRUTH / "planted_effects.csv", index=False)
        if np.any(tw["pleiotropy"].to_numpy()):
            tw["pleiotropy"].to_csv(tmp / TRUTH / "pleiotropic_effects.csv")
        meta = {"generator": "il6repro.twins.ukb", "params": tw["params"], "key": params_key(**kw),
                "files": {f: _sha256(tmp / f) for f in (PARTICIPANTS, RAW)},
                "instruments_sha256": _sha256(manifest_dir() / "ukb" / "instruments.csv"),
                "note": "synthetic twin: no real participant is represented; effects planted as in "
                        "planted_effects.csv (theta in IDP residual-SD units per exposure unit; theta_sd per SD "
                        "of the IDP as measured, the units of a standardised analysis)"}
        (tmp / TRUTH / "twin.json").write_text(json.dumps(meta, indent=1, default=str))
    return Path(outdir)


def build(cache: str | Path | None = None, **kw) -> Path:
    """Path of the twin with these parameters, generating it once into ``build/twins/ukb-<key>/``."""
    return cached("ukb", params_key(**kw), lambda out: write(out, **kw), cache)


def truth(path: str | Path) -> pd.DataFrame:
    """The planted effects saved beside a twin."""
    return pd.read_csv(Path(path) / TRUTH / "planted_effects.csv")


# ----------------------------------------------------------------------------------------------- loading
@dataclass
class Extract:
    """A loaded extract: covariates, IDPs and dosages aligned on ``eid`` (index), plus their descriptions."""

    covariates: pd.DataFrame
    idps: pd.DataFrame
    dosages: pd.DataFrame
    variants: pd.DataFrame
    idp_info: pd.DataFrame
    exposure: pd.DataFrame
    table1: pd.DataFrame = field(repr=False)
    notes: list = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.covariates)


def parse_raw_header(columns) -> pd.DataFrame:
    """Variant id, counted allele and (if written with ``include-alt``) the other allele of each ``.raw`` column."""
    rows = []
    for col in columns:
        name, alt = col, None
        if col.endswith(")") and "(/" in col:
            name, alt = col[:-1].split("(/")
        snp, _, counted = name.rpartition("_")
        if not snp or not counted:
            raise ExtractError(f".raw column {col!r} is not '<variant>_<counted allele>' as plink --export A writes")
        rows.append({"column": col, "snp": snp, "counted": counted.upper(), "alt": alt.upper() if alt else None})
    return pd.DataFrame(rows)


def read_raw(path: str | Path, alleles: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read a plink ``--export A`` file: dosages (index IID) and the variant table (snp, counted, alt).

    Without ``include-alt`` the other allele is not in the header; pass ``alleles`` (columns snp, alt).
    Errors name the file, the column, counts and row numbers, never a participant id.
    """
    name = Path(path).name
    df = read_numeric_csv(Path(path), ExtractError, text=["FID", "IID"], whitespace=True)
    need = ["FID", "IID", "PAT", "MAT", "SEX", "PHENOTYPE"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise ExtractError(f"{name}: not a plink .raw file (missing columns {missing}); make it with "
                           "'plink2 --export A include-alt' (space-separated)")
    var = parse_raw_header(df.columns[6:])
    if len(var) == 0:
        raise ExtractError(f"{name}: no variant columns")
    if var["alt"].isna().any():
        if alleles is None:
            raise ExtractError(f"{name}: written without 'include-alt' - pass alleles= (snp, alt) "
                               "or re-export with 'plink2 --export A include-alt'")
        amap = dict(zip(alleles["snp"], alleles["alt"].str.upper(), strict=False))
        var["alt"] = var["alt"].fillna(var["snp"].map(amap))
        if var["alt"].isna().any():
            raise ExtractError(f"no other allele for {var.loc[var['alt'].isna(), 'snp'].tolist()}")
    dos = df.iloc[:, 6:].copy()
    for col in dos.columns:
        if not pd.api.types.is_numeric_dtype(dos[col]):
            conv = pd.to_numeric(dos[col], errors="coerce")
            bad = dos[col][conv.isna() & dos[col].notna() & (dos[col].astype(str) != "NA")]
            if len(bad):
                raise ExtractError(f"{name}: non-numeric dosage in column {col!r} "
                                   f"({len(bad)} value(s), {rows(dos[col].index.isin(bad.index))}); dosages are "
                                   "numbers in [0, 2] or NA")
            dos[col] = conv
    out_of_range = ((dos < 0) | (dos > 2)).any(axis=1)
    if out_of_range.any():
        raise ExtractError(f"{name}: dosages must lie in [0, 2]; {int(out_of_range.sum())} row(s) have one outside "
                           f"({rows(out_of_range)})")
    dup = df["IID"].duplicated(keep=False)
    if dup.any():
        raise ExtractError(f"{name}: {int(df.loc[dup, 'IID'].nunique())} IID(s) appear more than once "
                           f"({int(dup.sum())} rows: {rows(dup)}); one row per participant is required")
    dos.columns = var["snp"].tolist()
    dos.index = pd.Index(df["IID"].astype(str), name="eid")
    if dos.columns.duplicated().any():
        raise ExtractError(f"{name}: variant(s) {sorted(set(dos.columns[dos.columns.duplicated()]))} appear twice")
    return dos, var[["snp", "counted", "alt"]]


def check_allele_frequencies(dos: pd.DataFrame, var: pd.DataFrame, name: str, ins: pd.DataFrame | None = None,
                             *, off: float = 0.2) -> None:
    """Stop when a ``.raw`` column's counted allele looks swapped: its frequency in the extract (mean dosage / 2)
    is more than ``off`` from the instruments table's frequency of that allele and nearer its complement.

    A header whose allele labels are swapped (``rs16835819_T(/C)`` for the C dosage) passes every allele check and
    flips every MR estimate's sign; the frequency shows it for all but near-50% variants. Variants whose frequency
    in the instruments table is illustrative (``illustrative`` lists ``eaf``: today the CRP, IL-2 and BDNF ones, 24
    of 35) are not checked, so a swap confined to them is not caught. Only frequencies (aggregates) are named.
    """
    ins = instruments() if ins is None else ins
    ref = ins[~ins["illustrative"].astype(str).str.contains("eaf")].drop_duplicates("snp").set_index("snp")
    bad = []
    for snp, counted in var[["snp", "counted"]].itertuples(index=False):
        if snp not in ref.index or snp not in dos.columns:
            continue
        r = ref.loc[snp]
        ea, oa, eaf = str(r["effect_allele"]).upper(), str(r["other_allele"]).upper(), float(r["eaf"])
        c = str(counted).upper()
        expect = eaf if c == ea else (1 - eaf if c == oa else None)
        f = float(np.nanmean(dos[snp].to_numpy(float))) / 2
        if expect is None or not np.isfinite(f):
            continue
        if abs(f - expect) > off and abs(f - (1 - expect)) < abs(f - expect) - 0.1:
            bad.append(f"{snp}: {c} counted at frequency {f:.3f}, the instruments give {c} {expect:.3f}")
    if bad:
        raise ExtractError(f"{name}: the counted allele of {len(bad)} variant(s) has the other allele's frequency "
                           f"({'; '.join(bad[:3])}{'; ...' if len(bad) > 3 else ''}): the column names' alleles look "
                           "swapped, which would flip every MR estimate; export again with 'plink2 --export A "
                           "include-alt' (the column name's first allele is the one counted)")


def check_variants(var: pd.DataFrame, name: str, ins: pd.DataFrame | None = None) -> str:
    """Which instrument variants the ``.raw`` lacks: a stop when it has none of an exposure the paper reports on
    (IL-6), naming them and the export that makes them; otherwise a note for ``Extract.notes`` ("" when none is
    missing): the missing variants are left out of every analysis, as harmonisation drops a variant absent from the
    outcome, and an exposure left without variants is not analysed."""
    ins = instruments() if ins is None else ins
    have = set(var["snp"])
    gone = ins[~ins["snp"].isin(have)]
    if gone.empty:
        return ""
    per = ins.groupby("exposure", sort=False)["snp"]
    empty = [e for e, snps in per if not snps.isin(have).any()]
    hint = ("export them with 'plink2 --extract' on the snp column of data_manifest/ukb/instruments.csv (variant "
            "ids as rsids; a variant missing from the imputed data needs a proxy, not provided here)")
    if REPORTED_EXPOSURE in empty:
        snps = per.get_group(REPORTED_EXPOSURE).tolist()
        raise ExtractError(f"{name}: none of the {len(snps)} {REPORTED_EXPOSURE} instrument variants is in it "
                           f"({', '.join(snps[:3])}, ...), and the paper's findings are about {REPORTED_EXPOSURE}: "
                           + hint)
    listed = "; ".join(f"{e} {', '.join(s)}" for e, s in gone.groupby("exposure", sort=False)["snp"])
    one = len(gone) == 1
    note = (f"{len(gone)} of the {len(ins)} instrument variants {'is' if one else 'are'} not in {name} and "
            f"{'was' if one else 'were'} left out of every analysis ({listed})")
    if empty:
        note += f"; {', '.join(empty)} {'has' if len(empty) == 1 else 'have'} no variant left and is not analysed"
    return f"{note}; to include them, {hint}"


def _finite_numeric(df: pd.DataFrame, cols: list[str]) -> set[str]:
    """The columns of ``cols`` that :func:`numeric_column` passes without a word: numeric (not boolean), every
    present value far from overflow when squared (``|x| < 1e154``). A column scan without copies; the others
    (text, booleans, huge or infinite values) go through :func:`numeric_column` itself."""
    out = set()
    with np.errstate(invalid="ignore"):
        for c in cols:
            s = df[c]
            if not (isinstance(s.dtype, np.dtype) and s.dtype.kind in "iuf"):
                continue
            x = s.to_numpy()  # NaN ignored below; an all-missing column is left to numeric_column
            if len(x) == 0 or max(abs(np.fmax.reduce(x)), abs(np.fmin.reduce(x))) < 1e154:
                out.add(c)
    return out


def _float_block(df: pd.DataFrame, cols: list[str]) -> np.ndarray:
    """``df[cols]`` as one float64 array (participants x cols), column-major; no copy when it is one such block."""
    A = df[cols].to_numpy(dtype=float)
    return A if A.flags.f_contiguous else np.asfortranarray(A)


def load(participants: str | Path, raw: str | Path | None = None, *, mapping: str | Path | dict | None = None,
         alleles: pd.DataFrame | None = None) -> Extract:
    """Load a UK Biobank-layout extract (the twin or a real one) for the association step.

    Missing values (the policy, as ``plink2 --glm`` applies it): participants missing any covariate (age at
    imaging, sex, imaging centre, head-size scaling, a genetic PC) or any instrument dosage are set aside, and
    each IDP is then analysed on the participants who have it (complete cases per IDP); the counts set aside are
    in ``Extract.notes`` and the association table's ``n`` gives each IDP's N.

    Parameters
    ----------
    participants : path
        ukbconv-style CSV keyed by ``eid`` (or a twin directory, then ``raw`` defaults to its ``.raw``).
    raw : path
        plink ``--export A [include-alt]`` dosage file keyed by IID = eid.
    mapping : path or dict
        Column roles (default ``data_manifest/ukb/columns.yaml``).

    Raises
    ------
    ExtractError
        One line naming the file, column and what to do: an empty, unreadable or not comma-separated file;
        missing covariate or IDP columns; duplicated eids; text where a number belongs (e.g. sex as 'Female');
        infinite or overflowing values; an IDP with (almost) no values or the same value for everyone; fewer than
        :data:`MIN_PARTICIPANTS` complete participants; non-numeric dosages; no overlap between the files.
    """
    participants = Path(participants)
    if participants.is_dir():
        raw = raw or participants / RAW
        participants = participants / PARTICIPANTS
    if raw is None:
        raise ExtractError("no dosage file: pass raw= (plink --export A output)")
    cols = mapping if isinstance(mapping, dict) else column_mapping(mapping)
    fname = participants.name
    head = read_csv(participants, ExtractError, nrows=0).columns
    roles = {k: cols[k] for k in ("eid", "sex", "age_imaging", "centre", "head_scaling")}
    missing = [f"{role} ({col})" for role, col in roles.items() if col not in head]
    missing += [f"genetic PC ({c})" for c in cols["pcs"] if c not in head]
    if missing:
        raise ExtractError(f"{fname}: missing covariate column(s): {', '.join(missing)} (mapping: "
                           "data_manifest/ukb/columns.yaml)")
    info = idp_table()
    absent = info[~info["column"].isin(head)]
    info = info[info["column"].isin(head)].reset_index(drop=True)
    if info.empty:
        raise ExtractError(f"{fname}: none of the {len(idp_table())} IDP columns of idps.csv found")
    if len(absent):
        # an IDP the paper reports on must be analysed: a renamed column would drop a finding without a word
        wanted = absent[absent["idp"].isin(set(targets()["idp"]))]
        if len(wanted):
            raise ExtractError(
                f"{fname}: no column for {len(wanted)} IDP(s) the paper reports on: "
                + ", ".join(f"{c} (field {f}, {i})" for c, f, i in wanted[["column", "field", "idp"]].head(5)
                            .itertuples(index=False)) + "; export these fields under the column names ukbconv writes "
                "(data_manifest/ukb/idps.csv lists each one's)")
    absent_note = (f"{len(absent)} of the {len(absent) + len(info)} IDPs of idps.csv are not in {fname} and were left "
                   f"out, so the scan makes fewer tests: {', '.join(absent['column'].head(5))}"
                   + (f" (+{len(absent) - 5} more)" if len(absent) > 5 else "")) if len(absent) else ""
    optional = [cols[k] for k in ("crp", "age_recruitment", "genetic_grouping") if cols.get(k) in head]
    use = list(roles.values()) + list(cols["pcs"]) + optional + info["column"].tolist()
    df = read_numeric_csv(participants, ExtractError, text=[cols["eid"]], usecols=use)
    if df.empty:
        raise ExtractError(f"{fname}: no participants (a header row only)")
    dup = df[cols["eid"]].duplicated(keep=False)
    if dup.any():
        raise ExtractError(f"{fname}: duplicated eid ({int(dup.sum())} rows: {rows(dup)}); one row per "
                           "participant is required")
    if df[cols["eid"]].isna().any():
        raise ExtractError(f"{fname}: {int(df[cols['eid']].isna().sum())} row(s) without an eid "
                           f"({rows(df[cols['eid']].isna())})")
    # every value used as a number must be one (text such as 'Female', '<0.1', a decimal comma, inf, 1e308)
    num = {}
    labels = {cols["sex"]: "sex", cols["age_imaging"]: "age at imaging", cols["centre"]: "imaging centre",
              cols["head_scaling"]: "head-size scaling", **{c: "genetic PC" for c in cols["pcs"]},
              **{cols[k]: k.replace("_", " ") for k in ("crp", "age_recruitment", "genetic_grouping")
                 if cols.get(k) in head},
              **dict(zip(info["column"], "IDP " + info["idp"], strict=True))}
    checked = _finite_numeric(df, list(labels))  # numeric columns without inf/overflow: nothing to say
    for col, what in labels.items():
        if col in checked:
            continue
        advice = "UK Biobank codes sex (field 31) as 0 = female, 1 = male" if what == "sex" else ""
        v = numeric_column(df, col, fname, what, ExtractError, advice)
        if not pd.api.types.is_numeric_dtype(df[col]):  # numbers written as text (quoted, blanks): parsed
            num[col] = v
    sex = num.get(cols["sex"], df[cols["sex"]])
    bad_sex = sex.notna() & ~sex.isin([0, 1])
    if bad_sex.any():
        raise ExtractError(f"{fname}: column {cols['sex']!r} (sex) has {int(bad_sex.sum())} value(s) other than 0 "
                           f"(female) and 1 (male) ({rows(bad_sex)}); recode them or set them empty (missing)")
    crp_col = cols.get("crp")
    if crp_col in df.columns and num.get(crp_col, df[crp_col]).isna().all():  # as if absent: no CRP analyses
        df = df.drop(columns=crp_col)
        num.pop(crp_col, None)
        absent_note = "; ".join(filter(None, [absent_note, f"the CRP column ({crp_col}) is empty in {fname}: left out "
                                                           "as if absent (no CRP first stage)"]))
    df = df.assign(**num).set_index(cols["eid"])
    df.index = df.index.astype(str).str.strip()
    governance.register_ids(df.index)
    df.index.name = "eid"
    dos, var = read_raw(raw, alleles)
    check_allele_frequencies(dos, var, Path(raw).name)
    notes = [absent_note] if absent_note else []
    variants_note = check_variants(var, Path(raw).name)
    if variants_note:
        notes.append(variants_note)
    common = df.index.intersection(dos.index)
    if len(common) == 0:
        raise ExtractError(f"no eid in common between {fname} and {Path(raw).name} (the .raw's IID must be the "
                           "eid)")
    if len(common) < len(df) or len(common) < len(dos):
        notes.append(f"{len(df) - len(common)} participant(s) without dosages and {len(dos) - len(common)} "
                     "dosage row(s) without participant data were set aside")
    if not common.equals(df.index):
        df = df.loc[common]
    if not common.equals(dos.index):
        dos = dos.loc[common]
    # complete cases for covariates and dosages (plink2 --glm drops samples missing a covariate)
    cov_cols = {"age at imaging": cols["age_imaging"], "sex": cols["sex"], "imaging centre": cols["centre"],
                "head-size scaling": cols["head_scaling"], "genetic PCs": list(cols["pcs"])}
    lacking = {k: int(df[v].isna().any(axis=1).sum() if isinstance(v, list) else df[v].isna().sum())
               for k, v in cov_cols.items()}
    no_dos = dos.isna().any(axis=1)
    keep = ~(df[[c for v in cov_cols.values() for c in (v if isinstance(v, list) else [v])]].isna().any(axis=1)
             | no_dos)
    if not keep.all():
        parts = [f"{k} {n}" for k, n in lacking.items() if n] + ([f"a dosage {int(no_dos.sum())}"]
                                                                  if no_dos.any() else [])
        notes.append(f"{int((~keep).sum())} participant(s) missing a covariate or dosage were set aside (complete "
                     f"cases, as plink2 --glm; missing: {', '.join(parts)})")
        df, dos = df.loc[keep], dos.loc[keep]
    if len(df) < MIN_PARTICIPANTS:
        raise ExtractError(f"{fname}: {len(df)} participant(s) with complete covariates and dosages; the analysis "
                           f"needs at least {MIN_PARTICIPANTS} (is this the whole extract?)")
    Y = _float_block(df, info["column"].tolist())  # participants x IDPs, one float64 block
    n_have = pd.Series(len(Y) - np.isnan(Y).sum(axis=0), index=info["column"].to_numpy())
    few = n_have[n_have < MIN_PARTICIPANTS]
    if len(few):
        col = few.index[0]
        raise ExtractError(f"{fname}: IDP column {col!r} ({info.set_index('column').loc[col, 'idp']}) has values "
                           f"for {int(few.iloc[0])} of {len(df)} participants"
                           f"{f' ({len(few) - 1} more such column(s))' if len(few) > 1 else ''}; at least "
                           f"{MIN_PARTICIPANTS} are needed: drop the column from the extract (IDPs absent from the "
                           "file are left out) or export it again")
    with np.errstate(invalid="ignore"):  # = nunique() <= 1: one distinct value among those present
        const = pd.Series(np.fmin.reduce(Y, axis=0) == np.fmax.reduce(Y, axis=0), index=n_have.index)
    if const.any():
        col = const.index[const.to_numpy()][0]
        raise ExtractError(f"{fname}: IDP column {col!r} ({info.set_index('column').loc[col, 'idp']}) has the same "
                           f"value for all {int(n_have[col])} participants who have it"
                           f"{f' ({int(const.sum()) - 1} more such column(s))' if const.sum() > 1 else ''}; an "
                           "IDP without variation cannot be analysed: drop the column or export it again")
    n_missing = int((n_have < len(df)).sum())
    if n_missing:
        from ..report import counted

        lo, hi = int(n_have.min()), int(n_have.max())
        span = (f"N from {lo:,} to {hi:,}" if not 0 < len(df) - lo < 10 else  # a count under 10 by subtraction
                f"N from all but <10 of the {len(df):,} to {hi:,}")
        notes.append(f"{counted(n_missing, 'IDP has', 'IDPs have')} missing values; each is analysed on the "
                     f"participants who have it ({span})")
    cov = pd.DataFrame(index=df.index)
    cov["age"] = df[cols["age_imaging"]].astype(float)
    cov["sex"] = df[cols["sex"]].astype(float)
    centre = df[cols["centre"]]
    cov["centre"] = centre.astype(int) if (centre % 1 == 0).all() else centre  # codes such as 11025, not 11025.0
    cov["head_scaling"] = df[cols["head_scaling"]].astype(float)
    for k, c in enumerate(cols["pcs"], 1):
        cov[f"PC{k}"] = df[c].astype(float)
    exposure = pd.DataFrame(index=df.index)
    if cols.get("crp") in df.columns:
        exposure["log_crp"] = np.log(df[cols["crp"]].where(df[cols["crp"]] > 0))
    idps = pd.DataFrame(Y, index=df.index, columns=info["idp"].tolist(), copy=False)
    table1 = df[[c for c in (cols["sex"], cols.get("age_recruitment"), cols["age_imaging"], cols["centre"])
                 if c in df.columns]].rename(columns={cols["sex"]: "sex", cols.get("age_recruitment"):
                                                     "age_recruitment", cols["age_imaging"]: "age_imaging",
                                                     cols["centre"]: "centre"})
    return Extract(cov, idps, dos, var, info, exposure, table1, notes)


def describe(ex: Extract, min_cell: int = 10) -> pd.DataFrame:
    """Table 1 of an extract, aggregated: cells under ``min_cell`` people suppressed, and as many others as it
    takes that none can be recovered from the total by subtraction (:func:`il6repro.governance.suppressed_categories`)."""
    t = ex.table1
    n = len(t)
    rows = [("Participants", f"{n:,}")]
    fem = int((t["sex"] == 0).sum())
    rows.append(("Female, n (%)", f"<{min_cell}" if 0 < fem < min_cell else  # men = the total minus women
                 f"all but <{min_cell}" if 0 < n - fem < min_cell else f"{fem:,} ({100 * fem / n:.1f})"))
    for col, lab in (("age_recruitment", "Age at recruitment, mean (SD)"),
                     ("age_imaging", "Age at imaging, mean (SD)")):
        if col in t:
            rows.append((lab, f"{t[col].mean():.1f} ({t[col].std():.1f})"))
    centres = t["centre"].value_counts().sort_index()
    hide = governance.suppressed_categories(centres, min_cell)
    for k, v in centres.items():
        name = {11025: "Cheadle", 11026: "Reading", 11027: "Newcastle"}.get(int(k), str(k))
        rows.append((f"Imaging centre {name}, n (%)", f"{v:,} ({100 * v / n:.1f})" if not hide[k] else
                     f"<{min_cell}" if v < min_cell else "suppressed (another centre has fewer than "
                     f"{min_cell})"))
    if "log_crp" in ex.exposure:
        crp = np.exp(ex.exposure["log_crp"])
        rows.append(("CRP (mg/L), median (IQR)", f"{crp.median():.2f} ({crp.quantile(.25):.2f}-"
                                                 f"{crp.quantile(.75):.2f})"))
    n_ct = int(ex.idps.filter(like="ct_").notna().all(axis=1).sum())
    rows.append(("With cortical thickness IDPs, n", f"all but <{min_cell}" if 0 < n - n_ct < min_cell else
                 f"<{min_cell}" if 0 < n_ct < min_cell else f"{n_ct:,}"))
    return pd.DataFrame(rows, columns=["characteristic", "value"]).set_index("characteristic")


def extract_files(extract: str) -> tuple[Path, Path]:
    """The participants CSV and ``.raw`` of a real extract given as the notebooks' ``extract`` parameter: a folder
    holding :data:`PARTICIPANTS` and :data:`RAW`, or ``"<participants.csv>:<dosages.raw>"``."""
    if ":" in extract and not Path(extract).exists():
        part, raw = (Path(x) for x in extract.split(":", 1))
        return part, raw
    p = Path(extract)
    if not p.exists():
        raise ExtractError(f"extract {extract!r} not found (give the folder holding {PARTICIPANTS} and {RAW}, or "
                           "'participants.csv:dosages.raw')")
    if p.is_file():
        raise ExtractError(f"extract {extract!r} is a file: give the folder holding {PARTICIPANTS} and {RAW}, "
                           "or 'participants.csv:dosages.raw'")
    return p / PARTICIPANTS, p / RAW


def open_extract(extract: str = "", **twin_params) -> tuple[Extract, Path | None, bool]:
    """The notebooks' entry point: the twin with ``twin_params`` (``extract=""``), or a real extract.

    ``extract`` is a directory holding ``ukb_participants.csv`` and ``ukb_instruments.raw`` (the layout above), or
    ``"<participants.csv>:<dosages.raw>"``. Returns ``(extract, twin_path_or_None, is_twin)``. The data set
    analysed (twin key, or the extract files' sha256) goes to the run's data log, so the receipts say which
    data each notebook ran on and the site refuses to mix them.
    """
    from ..data import log_cohort, sha256_file

    if not extract:
        path = build(**twin_params)
        ex = load(path)
        sums = recorded_hashes(path)
        log_cohort("ukb", f"twin {path.name}", {f: sums[f] for f in (PARTICIPANTS, RAW) if f in sums})
        return ex, path, True
    part, raw = extract_files(extract)
    ex = load(part, raw)
    log_cohort("ukb", "extract", {"participants": sha256_file(part), "dosages": sha256_file(raw)})
    return ex, None, False
