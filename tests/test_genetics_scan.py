"""The association step, harmonisation, the vectorised MR scan, 2SLS and Steiger, checked against statsmodels,
linearmodels, pytwosamplemr and the per-pair estimators (themselves pinned to R MendelianRandomization)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from il6repro.genetics import assoc as A
from il6repro.genetics import harmonise as H
from il6repro.genetics import mr
from il6repro.genetics import onesample as O
from il6repro.genetics import scan as S
from il6repro.twins import ukb


@pytest.fixture(scope="module")
def small_twin(tmp_path_factory):
    path = ukb.write(tmp_path_factory.mktemp("twin") / "ukb", n=1500, seed=7, ct_missing=0.05)
    ex = ukb.load(path)
    return path, ex, A.design_matrix(ex.covariates)


def test_association_equals_statsmodels_ols(small_twin):
    _, ex, X = small_twin
    idps = ex.idps[["gmv_L_Middle_Temporal_Gyrus_posterior_division", "ct_L_superiorfrontal", "gmv_B_Brain-Stem"]]
    assert idps["ct_L_superiorfrontal"].isna().any()  # a second missingness pattern is exercised
    tab = A.associate(ex.dosages, idps, X, variants=ex.variants, standardize=False)
    checked = 0
    for snp in ex.dosages.columns[:6]:
        for idp in idps.columns:
            y = idps[idp]
            ok = y.notna()
            fit = sm.OLS(y[ok], pd.concat([X[ok], ex.dosages.loc[ok, snp]], axis=1)).fit()
            row = tab[(tab.snp == snp) & (tab.idp == idp)].iloc[0]
            assert row["beta"] == pytest.approx(fit.params[snp], rel=1e-8, abs=1e-12)
            assert row["se"] == pytest.approx(fit.bse[snp], rel=1e-8)
            assert row["p"] == pytest.approx(fit.pvalues[snp], rel=1e-6, abs=1e-300)
            assert row["n"] == fit.nobs
            checked += 1
    assert checked == 18
    assert set(tab["effect_allele"]) <= set("ACGT")


def test_standardised_association_scales_beta_and_se_together(small_twin):
    _, ex, X = small_twin
    idps = ex.idps.iloc[:, :3]
    raw = A.associate(ex.dosages, idps, X, standardize=False)
    std = A.associate(ex.dosages, idps, X, standardize=True)
    np.testing.assert_allclose(raw["t"], std["t"], rtol=1e-10)


def test_rank_deficient_covariates_are_refused(small_twin):
    _, ex, X = small_twin
    X2 = X.assign(dup=X["age"])
    with pytest.raises(ValueError, match="rank-deficient"):
        A.associate(ex.dosages, ex.idps.iloc[:, :2], X2)


def _exp(snps, ea, oa, eaf, beta=0.1):
    return pd.DataFrame({"snp": snps, "effect_allele": ea, "other_allele": oa, "eaf": eaf,
                         "beta": beta, "se": 0.01})


def test_harmonisation_rules_and_reasons():
    e = _exp(["s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8"],
             ["A", "A", "A", "A", "A", "C", "A", "G"], ["G", "G", "G", "G", "C", "G", "T", "C"],
             [0.2, 0.2, 0.2, 0.2, 0.2, 0.45, 0.1, 0.1])
    o = pd.DataFrame({"snp": ["s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8"],
                      "effect_allele": ["A", "G", "T", "C", "A", "C", "A", "G"],
                      "other_allele": ["G", "A", "C", "T", "T", "G", "T", "C"],
                      "eaf": [0.2, 0.8, 0.2, 0.8, 0.2, 0.45, 0.9, 0.1], "beta": 0.05, "se": 0.02})
    h, dropped = H.harmonise(e.assign(snp=e.snp), pd.concat([o, o.iloc[:0]]))
    got = h.set_index("snp")
    assert got.loc["s1", "beta_out"] == 0.05                                   # aligned
    assert got.loc["s2", "beta_out"] == -0.05 and got.loc["s2", "eaf_out"] == pytest.approx(0.2)  # swapped
    assert got.loc["s3", "beta_out"] == 0.05 and got.loc["s3", "strand_flipped"]  # other strand (T/C = A/G)
    assert got.loc["s4", "beta_out"] == -0.05 and got.loc["s4", "strand_flipped"]  # other strand, swapped
    assert got.loc["s7", "beta_out"] == -0.05   # palindromic A/T: frequencies say the outcome is the other strand
    assert got.loc["s8", "beta_out"] == 0.05    # palindromic G/C, frequencies agree
    reasons = dict(zip(dropped.snp, dropped.reason, strict=False))
    assert reasons["s5"] == "incompatible alleles"
    assert "intermediate allele frequency" in reasons["s6"]
    _, d3 = H.harmonise(e, o, action=3)
    assert {"s6", "s7", "s8"} <= set(d3.loc[d3.reason.str.contains("palindromic"), "snp"])
    h1, _ = H.harmonise(e, o, action=1)
    assert h1.set_index("snp").loc["s7", "beta_out"] == 0.05  # action 1 trusts the forward strand


def test_harmonisation_agrees_with_pytwosamplemr():
    ph = pytest.importorskip("pytwosamplemr.harmonise")
    rng = np.random.default_rng(3)
    alle = [("A", "G"), ("C", "T"), ("A", "C"), ("G", "T"), ("A", "T"), ("C", "G")]
    rows_e, rows_o = [], []
    for i in range(60):
        a1, a2 = alle[i % len(alle)]
        f = rng.uniform(0.05, 0.35)
        rows_e.append((f"s{i}", a1, a2, f, rng.normal(0, .1)))
        kind = i % 4
        b1, b2, fo = (a1, a2, f) if kind == 0 else (a2, a1, 1 - f) if kind == 1 else (
            H.complement(a1), H.complement(a2), f) if kind == 2 else (H.complement(a2), H.complement(a1), 1 - f)
        rows_o.append((f"s{i}", b1, b2, fo, rng.normal(0, .1)))
    e = pd.DataFrame(rows_e, columns=["snp", "effect_allele", "other_allele", "eaf", "beta"]).assign(se=0.01)
    o = pd.DataFrame(rows_o, columns=["snp", "effect_allele", "other_allele", "eaf", "beta"]).assign(se=0.02)
    ours, _ = H.harmonise(e, o)
    peer = ph.harmonise_data(e.rename(columns={"snp": "SNP"}), o.rename(columns={"snp": "SNP"}))
    peer = peer[peer["mr_keep"]].set_index("SNP")
    assert set(ours.snp) == set(peer.index)
    np.testing.assert_allclose(ours.set_index("snp").loc[peer.index, "beta_out"], peer["beta.outcome"])


def test_bad_summary_statistics_are_refused():
    e = _exp(["s1", "s2"], ["A", "A"], ["G", "G"], [0.2, 0.3])
    with pytest.raises(H.HarmonisationError, match="zero, negative or missing SE"):
        H.harmonise(e.assign(se=[0.01, 0.0]), e)
    with pytest.raises(H.HarmonisationError, match="allele codes"):
        H.harmonise(e.assign(effect_allele=["A", "X"]), e)
    with pytest.raises(H.HarmonisationError, match="no variant left"):
        H.harmonise(e, e.assign(effect_allele=["C", "C"], other_allele=["A", "A"]))


@pytest.fixture(scope="module")
def scanned(small_twin):
    _, ex, X = small_twin
    idps = ex.idps[["gmv_L_Middle_Temporal_Gyrus_posterior_division", "ct_L_superiorfrontal", "gmv_L_Frontal_Pole",
                    "ct_R_insula"]]
    a = A.associate(ex.dosages, idps, X, variants=ex.variants)
    ins = ukb.instruments()
    return ins, a, S.scan(ins, a, n_boot=300, seed=11, ivw_model="default")


@pytest.mark.parametrize("exposure", ["IL-6", "CRP", "IL-2"])
def test_scan_equals_per_pair_estimators(scanned, exposure):
    ins, a, res = scanned
    e = ins[ins.exposure == exposure].drop(columns="exposure")
    for idp in a.idp.unique():
        h, _ = H.harmonise(e, a[a.idp == idp])
        args = (h.beta_exp, h.se_exp, h.beta_out, h.se_out)
        got = res.estimates[(res.estimates.exposure == exposure) & (res.estimates.idp == idp)].set_index("method")
        ref = {"IVW": mr.ivw(*args), "MR-Egger": mr.egger(*args),
               "Weighted median": mr.weighted_median(*args, n_boot=300, seed=11),
               "Simple median": mr.simple_median(*args, n_boot=300, seed=11),
               "Weighted mode": mr.weighted_mode(*args, n_boot=300, seed=11)}
        for method, r in ref.items():
            for key in ("estimate", "se", "ci_low", "ci_high", "p"):
                assert got.loc[method, key] == pytest.approx(getattr(r, key), rel=1e-9, abs=1e-14), (method, key)
        assert got.loc["MR-Egger", "intercept"] == pytest.approx(ref["MR-Egger"].extra["intercept"], rel=1e-9)
        het = res.heterogeneity.set_index(["exposure", "idp"]).loc[(exposure, idp)]
        assert het["Q"] == pytest.approx(ref["IVW"].extra["Q"], rel=1e-9)
        assert het["Q_rucker"] == pytest.approx(ref["MR-Egger"].extra["Q_rucker"], rel=1e-9)
        assert het["I2_GX"] == pytest.approx(ref["MR-Egger"].extra["I2_GX"], rel=1e-9)
        loo = mr.leave_one_out(*args, snps=h.snp.tolist())
        mine = res.leave_one_out[(res.leave_one_out.exposure == exposure) & (res.leave_one_out.idp == idp)]
        np.testing.assert_allclose(mine.set_index("left_out").loc[loo.left_out, "estimate"], loo.estimate,
                                   rtol=1e-9)
        np.testing.assert_allclose(mine.set_index("left_out").loc[loo.left_out, "se"], loo.se, rtol=1e-9)


def test_egger_t_and_random_ivw_options_match_per_pair(small_twin):
    _, ex, X = small_twin
    a = A.associate(ex.dosages, ex.idps.iloc[:, :2], X, variants=ex.variants)
    ins = ukb.instruments()
    res = S.scan(ins[ins.exposure == "CRP"], a, methods=("ivw", "egger"), ivw_model="random",
                 egger_distribution="t", underdispersion="allow")
    idp = a.idp.iloc[0]
    h, _ = H.harmonise(ins[ins.exposure == "CRP"].drop(columns="exposure"), a[a.idp == idp])
    args = (h.beta_exp, h.se_exp, h.beta_out, h.se_out)
    got = res.estimates[res.estimates.idp == idp].set_index("method")
    assert got.loc["IVW", "se"] == pytest.approx(mr.ivw(*args, model="random", underdispersion="allow").se)
    eg = mr.egger(*args, distribution="t", underdispersion="allow")
    assert got.loc["MR-Egger", "ci_low"] == pytest.approx(eg.ci_low) and got.loc["MR-Egger", "p"] == pytest.approx(eg.p)


def test_single_variant_exposure_is_wald_ratio_and_not_applicable_elsewhere(scanned):
    _, _, res = scanned
    il1 = res.estimates[res.estimates.exposure == "IL-1"]
    wald = il1[il1.method == "Wald ratio"]
    assert wald["estimate"].notna().all()
    others = il1[il1.method != "Wald ratio"]
    assert others["estimate"].isna().all()
    assert others["note"].str.startswith("not applicable: ").all()
    assert (res.primary[res.primary.exposure == "IL-1"]["primary_method"] == "Wald ratio").all()


def test_scan_rejects_bad_parameters(scanned):
    ins, a, _ = scanned
    with pytest.raises(ValueError, match="unknown MR method"):
        S.scan(ins, a, methods=("ivw", "lasso"))
    with pytest.raises(ValueError, match="zero or negative SE"):
        S.scan(ins.assign(se=ins.se.where(ins.snp != "rs4133213", -1.0)), a)


def test_tsls_matches_linearmodels(small_twin):
    lm = pytest.importorskip("linearmodels.iv")
    _, ex, X = small_twin
    ins = ukb.instruments()
    Z = ex.dosages[ins.loc[ins.exposure == "IL-6", "snp"]]
    Y = ex.idps[["gmv_L_Middle_Temporal_Gyrus_posterior_division", "ct_L_superiorfrontal"]]
    x = ex.exposure["log_crp"]
    for cov in ("unadjusted", "robust"):
        ours = O.tsls(Y, x, Z, X, cov_type=cov).set_index("outcome")
        for col in Y.columns:
            ok = Y[col].notna()
            fit = lm.IV2SLS(Y.loc[ok, col], X[ok], x[ok], Z[ok]).fit(cov_type=cov, debiased=True)
            assert ours.loc[col, "estimate"] == pytest.approx(fit.params["log_crp"], rel=1e-8)
            assert ours.loc[col, "se"] == pytest.approx(fit.std_errors["log_crp"], rel=1e-8)
            if cov == "unadjusted":
                fs = fit.first_stage.diagnostics.loc["log_crp"]
                assert ours.loc[col, "first_stage_F"] == pytest.approx(fs["f.stat"], rel=1e-6)


def test_steiger_direction_and_formula():
    r = O.steiger([0.1, 0.08], [0.005, 0.005], 50000, [0.01, 0.005], [0.01, 0.01], 20000)
    assert r["correct_direction"] and r["r2_exposure"] > r["r2_outcome"]
    r2x = sum((b / s) ** 2 / ((b / s) ** 2 + 50000 - 2) for b, s in ((0.1, .005), (0.08, .005)))
    assert r["r2_exposure"] == pytest.approx(r2x)
    flipped = O.steiger([0.01, 0.005], [0.01, 0.01], 20000, [0.1, 0.08], [0.005, 0.005], 50000)
    assert not flipped["correct_direction"] and flipped["steiger_z"] == pytest.approx(-r["steiger_z"])


def test_effective_tests_bounds():
    assert S.effective_tests(np.eye(5)) == pytest.approx(5)
    assert S.effective_tests(np.ones((5, 5))) == pytest.approx(1)
    assert S.bonferroni(455) == pytest.approx(1.1e-4, rel=0.01)


def test_scan_convention_options_and_simple_mode_match_per_pair(small_twin):
    _, ex, X = small_twin
    a = A.associate(ex.dosages, ex.idps.iloc[:, :3], X, variants=ex.variants)
    ins = ukb.instruments()
    il6 = ins[ins.exposure == "IL-6"]
    res = S.scan(il6, a, methods=("weighted_median", "weighted_mode", "simple_mode"), n_boot=200, seed=5,
                 median_ratio_se="second", mode_ratio_se="first", phi=0.5)
    for idp in a.idp.unique():
        h, _ = H.harmonise(il6.drop(columns="exposure"), a[a.idp == idp])
        args = (h.beta_exp, h.se_exp, h.beta_out, h.se_out)
        got = res.estimates[res.estimates.idp == idp].set_index("method")
        ref = {"Weighted median": mr.weighted_median(*args, ratio_se="second", n_boot=200, seed=5),
               "Weighted mode": mr.weighted_mode(*args, ratio_se="first", phi=0.5, n_boot=200, seed=5),
               "Simple mode": mr.simple_mode(*args, ratio_se="first", phi=0.5, n_boot=200, seed=5)}
        for method, r in ref.items():
            for key in ("estimate", "se", "p"):
                assert got.loc[method, key] == pytest.approx(getattr(r, key), rel=1e-9, abs=1e-14), (method, key)


def test_scan_ivw_default_is_mr_ivw_default(scanned):
    ins, a, _ = scanned
    e = ins[ins.exposure == "IL-6"]
    res = S.scan(e, a, methods=("ivw",))
    h, _ = H.harmonise(e.drop(columns="exposure"), a[a.idp == a.idp.iloc[0]])
    ref = mr.ivw(h.beta_exp, h.se_exp, h.beta_out, h.se_out)
    got = res.estimates[res.estimates.idp == a.idp.iloc[0]].iloc[0]
    assert ref.method == f"IVW ({got['model']})" and got["se"] == pytest.approx(ref.se, rel=1e-12)


# --- issue 15's defects in the scan (each fails on the code before the fix)

def _toy(bx, idps=("y1", "y2")):
    J = len(bx)
    snps = [f"rs{i}" for i in range(J)]
    ins = pd.DataFrame({"exposure": "E", "snp": snps, "effect_allele": "A", "other_allele": "G", "eaf": 0.3,
                        "beta": bx, "se": 0.01, "n": 10000})
    rng = np.random.default_rng(0)
    assoc = pd.DataFrame([{"snp": s, "idp": y, "effect_allele": "A", "other_allele": "G", "eaf": 0.3,
                           "beta": 0.3 * b + rng.normal(0, 0.01), "se": 0.01, "n": 5000}
                          for s, b in zip(snps, bx, strict=True) for y in idps])
    return ins, assoc


def test_defect3_scan_collinear_egger_has_a_note():
    ins, assoc = _toy([0.1, -0.1, 0.1, 0.1, -0.1])
    est = S.scan(ins, assoc, n_boot=50).estimates
    eg = est[est.method == "MR-Egger"]
    assert eg["estimate"].isna().all() and eg["note"].str.startswith("not applicable").all()
    assert est.loc[est.method == "IVW", "estimate"].notna().all()


def test_defect4_scan_validates_underdispersion(scanned):
    ins, a, _ = scanned
    with pytest.raises(ValueError, match="underdispersion"):
        S.scan(ins, a, methods=("ivw",), underdispersion="flor")


def test_defect5_scan_zero_exposure_effect_is_not_applicable():
    ins, assoc = _toy([0.1, 0.0, 0.12, 0.08, -0.09])
    res = S.scan(ins, assoc, n_boot=50, methods=S.METHODS)
    assert res.estimates["estimate"].isna().all()
    assert res.estimates["note"].str.contains("zero association with the exposure").all()
    assert np.isfinite(res.single_snp["estimate"].dropna()).all()
    zero = res.single_snp[res.single_snp.snp == "rs1"]
    assert zero["estimate"].isna().all() and zero["note"].str.startswith("not applicable").all()
    loo = res.leave_one_out.set_index("left_out")
    assert loo.loc["rs1", "estimate"].notna().all() and loo.drop(index="rs1")["estimate"].isna().all()
    h, _ = H.harmonise(ins.drop(columns="exposure"), assoc[assoc.idp == "y1"])
    with pytest.raises(mr.NotApplicable, match="zero association"):
        mr.weighted_mode(h.beta_exp, h.se_exp, h.beta_out, h.se_out)


def test_sensitivity_conclusion_judges_within_sampling_error():
    """An opposite sign whose CI includes 0 is noise; a CI excluding 0 the other way, or an Egger intercept below
    0.05 over the number of associations, fails the conclusion."""
    from types import SimpleNamespace

    from il6repro.genetics.pipeline import sensitivity_conclusion

    def res(egger_a=(-0.1, -0.5, 0.3), icpt=(0.03, 0.5)):
        est = pd.DataFrame({"idp": ["a", "b", "a", "b"], "method": ["IVW", "IVW", "MR-Egger", "Weighted median"],
                            "estimate": [0.3, -0.2, egger_a[0], -0.1], "ci_low": [0.1, -0.3, egger_a[1], -0.3],
                            "ci_high": [0.5, -0.1, egger_a[2], 0.1]})
        return SimpleNamespace(estimates=est, primary=est[est.method == "IVW"],
                               heterogeneity=pd.DataFrame({"idp": ["a", "b"], "intercept_p": list(icpt)}),
                               steiger=pd.DataFrame({"correct_direction": [True, True]}))

    targets = pd.DataFrame({"idp": ["a", "b"]})
    ok, why = sensitivity_conclusion(res(), targets)
    assert ok and "for 2 of 2 associations (1 with some estimate of the opposite sign" in why and ">= 0.025" in why
    assert not sensitivity_conclusion(res(egger_a=(-0.4, -0.7, -0.1)), targets)[0]
    ok, why = sensitivity_conclusion(res(icpt=(0.01, 0.5)), targets)
    assert not ok and "< 0.025" in why
    assert why.startswith("it fails on an MR-Egger intercept P below 0.025")  # what failed comes first
    ok, why = sensitivity_conclusion(res(egger_a=(-0.4, -0.7, -0.1)), targets)
    assert why.startswith("it fails on a robust estimate significantly the other way for 1 association(s); ")
    assert not sensitivity_conclusion(res(), targets)[1].startswith("it fails")


@pytest.mark.parametrize("cov_type", ["unadjusted", "robust"])
def test_tsls_on_one_blas_thread_equals_multithreaded_blas(cov_type, monkeypatch):
    """tsls runs small problems on one BLAS thread; its numbers must be those the same code gives with BLAS on two
    threads (the teaching simulations' 5,000 x 10 instruments; three outcomes, one with its own missingness)."""
    from threadpoolctl import threadpool_limits

    from il6repro import _blas, teaching

    sim = teaching.simulate_individual(5000, 0.01, 0.2, seed=11)
    rng = np.random.default_rng(5)
    Y = pd.concat([sim["y"], sim["y"] * 2 + rng.normal(size=5000), sim["y"] - 1], axis=1, keys=["a", "b", "c"])
    Y.iloc[rng.choice(5000, 300, replace=False), 1] = np.nan
    C = pd.DataFrame({"const": 1.0, "age": rng.normal(size=5000)})
    one = O.tsls(Y, sim["x"], sim["G"], C, cov_type=cov_type)
    calls = []
    monkeypatch.setattr(_blas, "threadpool_limits", lambda limits: calls.append(limits) or threadpool_limits(2))
    two = O.tsls(Y, sim["x"], sim["G"], C, cov_type=cov_type)
    assert calls == [1, 1]  # two missingness groups, each small enough for one thread
    pd.testing.assert_frame_equal(one, two, check_exact=True)


def test_scan_layout_with_a_missing_pair_and_rows_in_any_order():
    """Outcomes sorted, variants in order of appearance, a missing variant-outcome pair left out of that outcome
    only: the same estimates as scanning each outcome on its own rows."""
    ins, assoc = _toy([0.1, -0.12, 0.15, 0.09, -0.11, 0.13], idps=("y2", "y1"))
    assoc = assoc.drop(index=assoc[(assoc.snp == "rs3") & (assoc.idp == "y2")].index)
    shuffled = assoc.sample(frac=1.0, random_state=1)
    res = S.scan(ins, shuffled, n_boot=50, methods=("ivw", "egger", "weighted_median"))
    est = res.estimates.set_index(["idp", "method"])
    assert list(dict.fromkeys(res.estimates["idp"])) == ["y1", "y2"]
    for y in ("y1", "y2"):
        one = S.scan(ins, shuffled[shuffled.idp == y], n_boot=50, methods=("ivw", "egger", "weighted_median"))
        for _, row in one.estimates.iterrows():
            got = est.loc[(y, row["method"])]
            assert got["n_snp"] == (5 if y == "y2" else 6) == row["n_snp"]
            assert got["estimate"] == pytest.approx(row["estimate"], rel=1e-12)
            assert got["se"] == pytest.approx(row["se"], rel=1e-12)
    assert res.dropped[["snp", "reason"]].values.tolist() == [
        ["rs3", "not in the outcome data of 1 of 2 outcomes (scanned without it there)"]]
    assert res.instruments["n_snp"].tolist() == [6]
    assert not ((res.single_snp.snp == "rs3") & (res.single_snp.idp == "y2")).any()


def test_scan_refuses_a_variant_listed_twice_for_one_outcome():
    ins, assoc = _toy([0.1, -0.12, 0.15, 0.09])
    twice = pd.concat([assoc, assoc.iloc[[2]]], ignore_index=True)
    with pytest.raises(ValueError, match=r"variant rs1 is listed more than once for outcome y1"):
        S.scan(ins, twice, n_boot=50)
