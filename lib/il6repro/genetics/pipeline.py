"""Study W's MR stage as notebooks 01-04 call it: one function per step of the story.

Each function takes the extract (a synthetic twin or a real UK Biobank extract, :mod:`il6repro.twins.ukb`) and the
notebook's parameters and returns a tidy table; the notebooks hold the narrative, the parameters, these calls and
the figures. The estimators are :mod:`il6repro.genetics.assoc` (association), :mod:`.scan` (every exposure x IDP)
and :mod:`.onesample` (2SLS, Steiger); this module only sequences them and records the ledger's numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..brain import region_label
from ..data import opengwas
from ..governance import MIN_CELL
from . import assoc, onesample, scan

IDP_INFO = ["idp", "measure", "region", "hemisphere", "atlas", "atlas_label"]
MEASURE_WORDS = {"gmv": "GMV", "ct": "thickness"}
CORRECTION_WORDS = {"bonferroni": "Bonferroni", "fdr": "Benjamini-Hochberg FDR"}


def idp_label(region: str, hemisphere: str | None = None, measure: str | None = None) -> str:
    """An IDP for readers: region in words, hemisphere, measure (``"superiorfrontal", "L", "ct"`` ->
    ``"superior frontal (left), thickness"``; ``"Frontal Medial Cortex", "R", "gmv"`` -> ``"Frontal Medial Cortex
    (right), GMV"``). Unknown hemispheres and measures are shown as they are; missing ones are left out."""
    text = region_label(region, hemisphere)
    if isinstance(measure, str) and measure:
        text += f", {MEASURE_WORDS.get(measure, measure)}"
    return text


# ---------------------------------------------------------------------------------------------- notebook 01
def residualise(idps: pd.DataFrame, X: pd.DataFrame) -> pd.DataFrame:
    """IDPs with the covariates regressed out (OLS), on the participants complete for every IDP and covariate."""
    ok = idps.dropna().index.intersection(X.dropna().index)
    if len(ok) <= X.shape[1]:
        raise ValueError(f"residualise: {len(ok)} complete participants for {X.shape[1]} covariates: too few")
    Y = idps.loc[ok].to_numpy(float)
    Xm = X.loc[ok].to_numpy(float)
    resid = Y - Xm @ np.linalg.lstsq(Xm, Y, rcond=None)[0]
    return pd.DataFrame(resid, index=ok, columns=idps.columns)


def idp_correlation(idps: pd.DataFrame, X: pd.DataFrame) -> pd.DataFrame:
    """Correlation matrix of the covariate-adjusted IDPs, grey-matter volumes first, then thicknesses."""
    from .._corr import corr

    r = residualise(idps, X)
    order = sorted(r.columns, key=lambda c: (c.split("_")[0] != "gmv", c))
    return corr(r[order])  # = r[order].corr(), pandas' numbers on both cores


# the instrument table's fields in words (data_manifest/ukb/instruments.csv), for its "illustrative" column
FIELD_WORDS = {"effect_allele": "effect allele", "other_allele": "other allele", "eaf": "allele frequency",
               "beta": "effect size", "se": "SE", "pval": "P", "n": "N"}


def field_words(fields) -> str:
    """``"eaf;n"`` -> ``"allele frequency, N"``; empty or missing -> ``"none"``."""
    names = [f for f in str(fields).split(";") if f and f != "nan"] if isinstance(fields, str) else []
    return ", ".join(FIELD_WORDS.get(f, f) for f in names) or "none"


def illustrative_effect(ins: pd.DataFrame) -> pd.Series:
    """Per instrument: is its effect size or SE illustrative (not cited)? (What its F statistic rests on.)"""
    fields = ins["illustrative"] if "illustrative" in ins else pd.Series("", index=ins.index)
    return fields.map(lambda v: isinstance(v, str) and bool({"beta", "se"} & set(v.split(";")))).astype(bool)


def illustrative_exposures(ins: pd.DataFrame) -> list[str]:
    """Exposures with an illustrative (not cited) effect size or SE on any instrument (IL-2, BDNF today)."""
    return list(dict.fromkeys(ins.loc[illustrative_effect(ins), "exposure"]))


def instrument_provenance(ins: pd.DataFrame, ex=None) -> pd.DataFrame:
    """Per exposure: number of variants, citation, and which fields are illustrative (not cited), in words; with an
    extract ``ex`` lacking some variants, how many of each exposure's it supplies ("9 of 10")."""
    table = ins.assign(illustrative=ins["illustrative"].map(field_words)).groupby(
        "exposure", sort=False).agg(variants=("snp", "size"), source=("citation", "first"),
                                    illustrative_fields=("illustrative", "first"))
    if ex is not None:
        have = ins["snp"].isin(ex.dosages.columns).groupby(ins["exposure"]).sum().reindex(table.index)
        if (have < table["variants"]).any():  # the analysis uses only these (ex.notes names the others)
            table.insert(1, "in this extract",
                         [f"{int(h)} of {int(n)}" for h, n in zip(have, table["variants"], strict=True)])
    return table


def instrument_strength(ins: pd.DataFrame, ex=None, X: pd.DataFrame | None = None) -> pd.DataFrame:
    """F and R^2 per exposure from the cited SNP-exposure statistics; first-stage F and R^2 on individual data
    for the exposures measured in the extract (IL-6 signalling and CRP act through measured CRP, field 30710)."""
    f = (ins["beta"] / ins["se"]) ** 2
    r2 = onesample.r2_from_t(ins["beta"], ins["se"], ins["n"])
    table = ins.assign(F=f, R2=r2).groupby("exposure", sort=False).agg(
        variants=("snp", "size"), F_mean=("F", "mean"), F_min=("F", "min"), R2_total=("R2", "sum"))
    if ex is not None and X is not None and "log_crp" in ex.exposure:
        for exp in ("IL-6", "CRP"):
            Z = ex.dosages[[v for v in ins.loc[ins.exposure == exp, "snp"] if v in ex.dosages.columns]]
            if Z.shape[1] == 0:  # none of its variants in the extract (named in ex.notes)
                continue
            fs = onesample.tsls(ex.idps.iloc[:, :1], ex.exposure["log_crp"], Z, X)
            table.loc[exp, "first-stage F (individual data)"] = fs["first_stage_F"].iloc[0]
            table.loc[exp, "first-stage R2 (individual data)"] = fs["first_stage_R2"].iloc[0]
    return table


def record_cohort(ex, is_twin: bool) -> list[str]:
    """Record the cohort's size, % female and mean age in the ledger; return the claim ids."""
    from .. import ledger

    t = ex.table1
    kind = "design_input" if is_twin else "real_data"
    female_pct = 100 * float((t["sex"] == 0).mean())
    mean_age = float(t["age_recruitment"].mean()) if "age_recruitment" in t else float("nan")
    ledger.record("W.ukb.n", ex.n, kind=kind, note="twin size is a parameter" if is_twin else "")
    women = int((t["sex"] == 0).sum())
    if 0 < women < MIN_CELL or 0 < len(t) - women < MIN_CELL:  # % and N would give the small count back
        print(f"% female not recorded in the ledger: fewer than {MIN_CELL} women or men (small-cell rule)")
        ids = ["W.ukb.n"]
    else:
        ledger.record("W.ukb.female_pct", female_pct, kind=kind,
                      note="the twin has exactly round(0.523 N) women" if is_twin else "")
        ids = ["W.ukb.n", "W.ukb.female_pct"]
    ledger.record("W.ukb.mean_age", mean_age, kind=kind,
                  note="age at recruitment (field 21022, whole years)" +
                       ("; the twin's sum to exactly 55.5 N" if is_twin else ""))
    return [*ids, "W.ukb.mean_age"]


# ---------------------------------------------------------------------------------------------- notebook 02
def open_outcomes(outcomes: str, extract: str = "", **twin_params):
    """Where notebooks 02-03 take SNP-outcome effects from: ``(data, twin_path, is_twin, ledger kind)``.

    ``outcomes="twin"``: the extract (the twin unless ``extract`` names a real one, :func:`ukb.open_extract`);
    ``"opengwas"``: the real UK Biobank brain-IDP GWAS on OpenGWAS (:func:`il6repro.data.opengwas.open_outcomes`,
    its kind ``opengwas_real`` or ``recorded_fixture``). Without a token or cached copy that raises one line; the
    twin is never substituted.
    """
    from ..twins import ukb

    if outcomes == "opengwas":
        if extract:
            raise ValueError("outcomes='opengwas' replaces the extract's SNP-IDP effects: leave extract empty")
        out = opengwas.open_outcomes(ukb.instruments())
        return out, None, False, out.evidence
    ex, path, is_twin = ukb.open_extract(extract, **twin_params)
    return ex, path, is_twin, "planted_twin" if is_twin else "real_data"


@dataclass
class ScanRun:
    """The primary MR scan of notebook 02 and everything its tables need."""

    primary: pd.DataFrame  # one row per exposure x IDP, with the IDP's region, atlas label and significance
    result: scan.ScanResult
    associations: pd.DataFrame
    n_tests: int
    threshold: float  # Bonferroni alpha / n_tests
    m_eff: float  # Li & Ji effective number of IDPs
    alpha: float
    correction: str
    n_idps: int

    @property
    def n_exposures(self) -> int:
        return int(self.primary["exposure"].nunique())

    def thresholds(self, published_threshold: float) -> pd.DataFrame:
        """Bonferroni over the tests run, over the effective tests (Li & Ji), and the paper's threshold."""
        return pd.DataFrame({
            "tests": [self.n_tests, round(self.m_eff * self.n_exposures, 1), round(self.alpha / published_threshold)],
            "threshold": [self.threshold, self.alpha / (self.m_eff * self.n_exposures), published_threshold]},
            index=["Bonferroni, all tests", "Bonferroni, effective tests (Li & Ji)", "published (implied tests)"])


def primary_scan(ex, ins: pd.DataFrame, *, ivw_model: str = "fixed", alpha: float = 0.05,
                 correction: str = "bonferroni", harmonise_action: int = 2) -> ScanRun:
    """Associate every instrument with every IDP, run the IVW (or Wald) scan of every exposure x IDP, and mark
    significance under ``correction`` over all tests run. ``ex`` is an extract (the twin or a real one) or the
    :class:`~il6repro.data.opengwas.Outcomes` of OpenGWAS (its associations are used as they are)."""
    if isinstance(ex, opengwas.Outcomes):  # summary statistics: no individual IDPs, so no Li & Ji
        a, info, m_eff, n_idps = ex.assoc, ex.idp_info, float("nan"), ex.assoc["idp"].nunique()
    else:
        X = assoc.design_matrix(ex.covariates)
        a, info, n_idps = assoc.associate(ex.dosages, ex.idps, X, variants=ex.variants), ex.idp_info, ex.idps.shape[1]
        from .._corr import corr

        m_eff = scan.effective_tests(corr(residualise(ex.idps, X)).to_numpy())  # = .corr(), pandas' numbers
    res = scan.scan(ins, a, methods=("ivw",), ivw_model=ivw_model, action=harmonise_action)
    prim = res.primary.merge(info[IDP_INFO], on="idp")
    n_tests = int(prim["p"].notna().sum())
    prim["significant"] = scan.significant(prim["p"], alpha, correction).to_numpy()
    return ScanRun(prim, res, a, n_tests, scan.bonferroni(n_tests, alpha), m_eff, alpha, correction, n_idps)


def hits_table(run: ScanRun, targets: pd.DataFrame, published_threshold: float) -> pd.DataFrame:
    """Every test below either threshold, and the published associations whatever their P, with the published z
    and P beside this run's (on the published exposure and IDP only)."""
    prim = run.primary
    pub = targets[["exposure", "idp", "z", "p"]].rename(columns={"z": "published z", "p": "published P"})
    show = prim[(prim["p"] < max(run.threshold, published_threshold))
                | (prim.set_index(["exposure", "idp"]).index.isin(pub.set_index(["exposure", "idp"]).index))]
    show = show.merge(pub, on=["exposure", "idp"], how="left").sort_values("p")
    show = show.assign(**{"passes Bonferroni": show["p"] < run.threshold,
                          "passes 1.1e-4": show["p"] < published_threshold,
                          f"significant ({CORRECTION_WORDS.get(run.correction, run.correction)})": show["significant"]})
    # region, hemisphere and measure in one column of words ("superior frontal (left), thickness"): the table fits
    # a 1280 px screen and two hemispheres' hits no longer read alike
    hemi = show["hemisphere"] if "hemisphere" in show else [None] * len(show)
    show = show.assign(IDP=[idp_label(r, h, m) for r, h, m in zip(show["region"], hemi, show["measure"],
                                                                   strict=True)])
    cols = ["exposure", "IDP", "n_snp", "estimate", "se", "z", "published z", "p", "published P",
            "passes Bonferroni", "passes 1.1e-4"]
    if run.correction != "bonferroni":  # under Bonferroni this column would repeat "passes Bonferroni"
        cols.append(f"significant ({CORRECTION_WORDS.get(run.correction, run.correction)})")
    return show[cols].rename(columns={"p": "P", "n_snp": "variants", "se": "SE"}).reset_index(drop=True)


def _provenance(ins: pd.DataFrame) -> dict[str, str]:
    illus = ins.groupby("exposure")["illustrative"].agg(  # every field any instrument flags, in table order
        lambda s: ";".join(dict.fromkeys(f for v in s for f in str(v).split(";") if f and f != "nan")))
    return {e: "instruments cited" if not f else f"instruments cited; illustrative: {field_words(f)}"
            for e, f in illus.items()}


NULL_CLAIMS = {"IL-1": "W.mr.il1.null", "IL-2": "W.mr.il2.null", "CRP": "W.mr.crp.null", "BDNF": "W.mr.bdnf.null"}


def record_scan(run: ScanRun, targets: pd.DataFrame, ins: pd.DataFrame, kind: str,
                published_threshold: float, setup: dict | None = None) -> list[str]:
    """Record the threshold, the five IL-6 associations (z and P) and the other exposures' smallest P. ``setup``
    (twin only, :func:`il6repro.overseeds.ukb_setup`) lets the ledger pair the z's and P's with notebook 03's
    over-seeds distributions of the same twin and analysis."""
    from .. import ledger
    from ..report import counted, fmt_num

    prov = _provenance(ins)
    ledger.record("W.mr.threshold", float(run.threshold),  # the ledger's rule rounds it to the paper's 2 s.f.
                  kind="recorded_fixture" if kind == "recorded_fixture" else "real_data",
                  note=f"{run.alpha:g}/{run.n_tests:,} over the {run.n_exposures} exposures x {run.n_idps} UK Biobank "
                       f"IDPs; the paper's {fmt_num(published_threshold, 2)} implies ~{run.alpha / published_threshold:.0f} "
                       "tests")
    ids = ["W.mr.threshold"]
    prim = run.primary.set_index(["exposure", "idp"])
    for t in targets.itertuples():
        if (t.exposure, t.idp) not in prim.index:  # no variant for it in the outcome data: left unrecorded
            continue
        r = prim.loc[(t.exposure, t.idp)]
        extra = {"setup": setup} if setup else None
        # the IDP in words, then its UK Biobank id (what a re-runner searches for)
        idp = f"{idp_label(r.region, r.get('hemisphere'), r.measure)} (IDP {t.idp})"
        # unrounded, like every number the ledger records: its rules and pages round (a z rounded here gave the
        # z claim's conclusion a P, 2.22e-7 from 5.18, that differed from the P claim's 2.19e-7 from 5.1826)
        ledger.record(f"{t.claim}.z", float(r.z), ci=(float(r.z) - 1.96, float(r.z) + 1.96),
                      kind=kind, note=f"{idp}; IVW ({r.n_snp} IL6R variants; {prov.get(t.exposure, '')})", extra=extra)
        ledger.record(f"{t.claim}.p", float(r.p), kind=kind, note=idp, extra=extra)
        ids += [f"{t.claim}.z", f"{t.claim}.p"]
    for exp, cid in NULL_CLAIMS.items():
        sub = run.primary[run.primary.exposure == exp]
        if sub.empty:
            continue
        ledger.record(cid, float(sub["p"].min()), kind=kind,
                      note=f"smallest P of {counted(len(sub), 'test')} ({sub['primary_method'].iloc[0]}; {prov.get(exp, '')})")
        ids.append(cid)
    return ids


def planted_vs_recovered(run: ScanRun, targets: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """For each published association: the planted effect per SD of the IDP (``theta_sd``), this run's IVW
    estimate and CI, and whether the CI covers the planted value."""
    pv = targets[["exposure", "idp", "region"]].merge(truth[["exposure", "idp", "theta_sd"]],
                                                      on=["exposure", "idp"])
    pv = pv.merge(run.primary[["exposure", "idp", "estimate", "ci_low", "ci_high"]], on=["exposure", "idp"])
    pv["CI covers planted"] = (pv.ci_low <= pv.theta_sd) & (pv.theta_sd <= pv.ci_high)
    return pv.drop(columns=["exposure", "idp"]).set_index("region").rename(
        columns={"theta_sd": "planted (per SD)", "ci_low": "95% CI low", "ci_high": "95% CI high"})


def calibration_readings(targets: pd.DataFrame) -> pd.DataFrame:
    """The two readings of each published association: the printed z with the P it implies, and the printed P
    with the z it implies (three of the five printed P values are ten times smaller than their z implies)."""
    from .. import _dist

    t = targets.set_index("region")
    return pd.DataFrame({"published z": t["z"], "published P": t["p"],
                         "P implied by z": 2 * _dist.norm_sf(t["z"].abs()),
                         "z implied by P": np.sign(t["z"]) * _dist.norm_isf(t["p"] / 2)})


def calibration_comparison(targets: pd.DataFrame, ins: pd.DataFrame, *, seed: int, n: int, pleiotropy_sd: float,
                           ivw_model: str, threshold: float, published_threshold: float) -> pd.DataFrame:
    """Build the twin calibrated to the printed z's and to the printed P's (same seed), scan the five published
    associations in each, and say which pass each threshold."""
    from ..twins import ukb

    rows = []
    il6 = ins[ins.exposure == "IL-6"]
    for cal in ("z", "p"):
        ex, _, _ = ukb.open_extract("", seed=seed, n=n, calibrate_to=cal, pleiotropy_sd=pleiotropy_sd)
        a = assoc.associate(ex.dosages, ex.idps[targets["idp"].tolist()], assoc.design_matrix(ex.covariates),
                            variants=ex.variants)
        prim = scan.scan(il6, a, methods=("ivw",), ivw_model=ivw_model).primary.set_index("idp")
        for t in targets.itertuples():
            r = prim.loc[t.idp]
            rows.append({"region": t.region, "calibrated to": f"printed {cal}", "twin z": r.z, "twin P": r.p,
                         "passes 1.1e-4": r.p < published_threshold, "passes Bonferroni": r.p < threshold})
    return pd.DataFrame(rows).pivot(index="region", columns="calibrated to",
                                    values=["twin z", "twin P", "passes 1.1e-4", "passes Bonferroni"])


def scan_conclusion(run: ScanRun, targets: pd.DataFrame) -> tuple[bool, str]:
    """Does this run support the paper's conclusion (the five IL-6 associations significant, no other exposure
    significant anywhere)? Returns (holds, evidence in words)."""
    from ..report import counted, fmt_p

    prim = run.primary.set_index(["exposure", "idp"])
    sig = [(t.exposure, t.idp) in prim.index and bool(prim.loc[(t.exposure, t.idp), "significant"])
           for t in targets.itertuples()]
    others = run.primary[run.primary.exposure != "IL-6"]
    n_other = int(others["significant"].sum())
    holds = all(sig) and n_other == 0
    missed = [t.region for t, s in zip(targets.itertuples(), sig, strict=True) if not s]
    how = CORRECTION_WORDS.get(run.correction, run.correction)
    ev = (f"{sum(sig)} of {len(sig)} published IL-6 associations are significant ({how}, threshold "
          f"{fmt_p(run.threshold)} over {run.n_tests:,} tests)" + (f"; not: {', '.join(missed)}" if missed else "")
          + f"; {counted(n_other, 'significant test')} among the other exposures (smallest P "
          f"{fmt_p(others['p'].min())})")
    return holds, ev


# ---------------------------------------------------------------------------------------------- notebook 03
def sensitivity_scan(ex, ins: pd.DataFrame, targets: pd.DataFrame, *, n_boot: int, boot_seed: int,
                     egger_distribution: str, ivw_model: str):
    """Every estimator, heterogeneity, leave-one-out and Steiger for the IL-6 instruments on the published IDPs.
    Returns (scan result, associations, IL-6 instruments, region label per IDP)."""
    if isinstance(ex, opengwas.Outcomes):
        a = ex.assoc[ex.assoc["idp"].isin(targets["idp"])]
    else:
        X = assoc.design_matrix(ex.covariates)
        a = assoc.associate(ex.dosages, ex.idps[targets["idp"].tolist()], X, variants=ex.variants)
    il6 = ins[ins.exposure == "IL-6"]
    res = scan.scan(il6, a, n_boot=n_boot, seed=boot_seed, egger_distribution=egger_distribution,
                    ivw_model=ivw_model)
    return res, a, il6, dict(zip(targets["idp"], targets["region"], strict=True))


def sensitivity_conclusion(res: scan.ScanResult, targets: pd.DataFrame) -> tuple[bool, str]:
    """Do the robust estimators agree with IVW within sampling error, is there no directional pleiotropy and is the
    direction right? Returns (holds, evidence in words) for the published associations.

    A robust estimator disagrees when it points the other way *and* its 95% CI excludes 0: MR-Egger's CI is several
    times IVW's, so an opposite sign alone is sampling noise. The MR-Egger intercept is tested at 0.05 over the
    number of associations (Bonferroni): with five correlated IDPs one small P is expected now and then.
    """
    from ..report import fmt_p

    ids = list(targets["idp"])
    est = res.estimates.dropna(subset=["estimate"])
    ivw = res.primary.set_index("idp")["estimate"]
    robust = est[(est.method != "IVW") & est["idp"].isin(ids)]
    opposite = np.sign(robust["estimate"]) != np.sign(robust["idp"].map(ivw))
    excludes = (robust["ci_low"] > 0) | (robust["ci_high"] < 0)
    n_disagree = int(robust.loc[opposite & excludes, "idp"].nunique())
    n_opposite = int(robust.loc[opposite, "idp"].nunique())
    het = res.heterogeneity[res.heterogeneity["idp"].isin(ids)]
    icpt_p = float(het["intercept_p"].min()) if len(het) else float("nan")
    thr = 0.05 / max(len(ids), 1)
    steiger_ok = int(res.steiger["correct_direction"].astype(bool).sum())
    holds = n_disagree == 0 and not icpt_p < thr and steiger_ok == len(res.steiger)
    fails = []
    if n_disagree:
        fails.append(f"a robust estimate significantly the other way for {n_disagree} association(s)")
    if icpt_p < thr:
        fails.append(f"an MR-Egger intercept P below {thr:.2g} (directional pleiotropy flagged)")
    if steiger_ok < len(res.steiger):
        fails.append(f"the Steiger direction for {len(res.steiger) - steiger_ok}")
    # the reader is told first what failed, then every check (a verdict beside only passing checks reads as a slip)
    failed = "it fails on " + " and ".join(fails) + "; the checks: " if fails else ""
    return holds, failed + (f"no robust estimator points significantly the other way for {len(ids) - n_disagree} of "
                   f"{len(ids)} associations ({n_opposite} with some estimate of the opposite sign whose CI includes "
                   f"0); smallest MR-Egger intercept P {fmt_p(icpt_p)} "
                   f"({'<' if icpt_p < thr else '>='} {thr:.2g}, 0.05 over {len(ids)}); Steiger direction "
                   f"exposure -> IDP for {steiger_ok} of {len(res.steiger)}")


def tsls_versus_ivw(ex, il6: pd.DataFrame, targets: pd.DataFrame, res: scan.ScanResult) -> pd.DataFrame | None:
    """One-sample 2SLS (IDP in SD on log CRP instrumented by the IL6R variants, same covariates) beside the
    two-sample IVW estimate; None when the extract has no measured CRP (or is OpenGWAS summary statistics)."""
    if isinstance(ex, opengwas.Outcomes) or "log_crp" not in ex.exposure:
        return None
    label = dict(zip(targets["idp"], targets["region"], strict=True))
    Ys = ex.idps[targets["idp"].tolist()]
    Ys = (Ys - Ys.mean()) / Ys.std()
    Z = ex.dosages[[v for v in il6["snp"] if v in ex.dosages.columns]]  # those in the extract (see ex.notes)
    t = onesample.tsls(Ys, ex.exposure["log_crp"], Z, assoc.design_matrix(ex.covariates))
    ivw = res.primary.set_index("idp")
    t = t.assign(region=t["outcome"].map(label), **{"IVW estimate": t["outcome"].map(ivw["estimate"]),
                                                    "IVW SE": t["outcome"].map(ivw["se"])})
    return t.set_index("region")[["estimate", "se", "p", "IVW estimate", "IVW SE", "first_stage_F",
                                  "first_stage_R2", "n"]].rename(columns={"se": "SE", "p": "P"})


# ---------------------------------------------------------------------------------------------- notebook 04
def il6_thickness_zmap() -> tuple[pd.Series, str]:
    """The IL-6 -> cortical-thickness z per DK region: notebook 02's results when present, else computed the same
    way from the default twin. Returns (z by DK label, where it came from)."""
    from .._paths import upstream_result
    from ..twins import ukb

    path = upstream_result("02_mr_primary.csv")
    if path is not None:
        prim, source = pd.read_csv(path), "notebook 02 results"
    else:
        ex, _, _ = ukb.open_extract("")
        ct = ex.idp_info.loc[ex.idp_info.measure == "ct", "idp"].tolist()
        a = assoc.associate(ex.dosages, ex.idps[ct], assoc.design_matrix(ex.covariates), variants=ex.variants)
        ins = ukb.instruments()
        # fixed-effect IVW as notebook 02's default (scan()'s own default is MendelianRandomization's "default")
        prim = scan.scan(ins[ins.exposure == "IL-6"], a, methods=("ivw",), ivw_model="fixed").primary.merge(
            ex.idp_info[["idp", "measure", "atlas_label"]], on="idp")
        source = "computed here from the default twin (notebook 02 has not run)"
    z = prim[(prim.exposure == "IL-6") & (prim.measure == "ct")].set_index("atlas_label")["z"]
    return z, source
