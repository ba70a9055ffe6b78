"""MR estimators pinned to R MendelianRandomization's documented example, and their bad-input behaviour."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from il6repro.genetics import mr
from references import mendelianrandomization_lipids_chd as R

DATA = (R.ldlc, R.ldlcse, R.chdlodds, R.chdloddsse)


def close(value, ref):
    """Within half a unit of the last printed digit (R prints rounded values)."""
    printed, digits = ref
    return abs(value - printed) <= 0.5 * 10 ** -digits + 1e-12


def test_ivw_matches_mendelianrandomization():
    r = mr.ivw(*DATA)
    assert r.method == "IVW (random)" and r.n_snp == 28
    for key in ("estimate", "se", "ci_low", "ci_high"):
        assert close(getattr(r, key), R.IVW[key]), key
    assert close(r.extra["residual_se"], R.IVW["residual_se"])
    assert close(r.extra["Q"], R.IVW["Q"]) and r.extra["Q_df"] == R.IVW["Q_df"]
    assert close(100 * r.extra["I2"], R.IVW["I2_percent"])
    assert close(r.extra["F_mean"], R.IVW["F"])


def test_ivw_equals_weighted_least_squares_through_origin():
    bx, _, by, byse = map(np.asarray, DATA)
    fit = sm.WLS(by, bx, weights=byse ** -2).fit()
    r_fixed = mr.ivw(*DATA, model="fixed")
    assert r_fixed.estimate == pytest.approx(fit.params[0], rel=1e-12)
    # statsmodels' SE scales by the residual SE; the random-effects IVW with under-dispersion allowed equals it
    r_allow = mr.ivw(*DATA, model="random", underdispersion="allow")
    assert r_allow.se == pytest.approx(fit.bse[0], rel=1e-10)
    assert r_fixed.se == pytest.approx(fit.bse[0] / np.sqrt(fit.scale), rel=1e-10)


def test_egger_matches_mendelianrandomization():
    r = mr.egger(*DATA)
    for key in ("estimate", "se", "ci_low", "ci_high"):
        assert close(getattr(r, key), R.EGGER[key]), key
    for key in ("intercept", "intercept_se", "intercept_ci_low", "intercept_ci_high", "intercept_p",
                "residual_se", "Q_rucker"):
        assert close(r.extra[key], R.EGGER[key]), key
    assert r.extra["Q_rucker_df"] == 26
    assert close(100 * r.extra["I2_GX"], R.EGGER["I2_GX_percent"])


def test_egger_equals_statsmodels_wls():
    bx, _, by, byse = map(np.asarray, DATA)
    fit = sm.WLS(by * np.sign(bx), sm.add_constant(np.abs(bx)), weights=byse ** -2).fit()
    r = mr.egger(*DATA)
    assert r.estimate == pytest.approx(fit.params[1], rel=1e-10)
    assert r.extra["intercept"] == pytest.approx(fit.params[0], rel=1e-10)
    assert r.se == pytest.approx(fit.bse[1], rel=1e-10)  # residual SE > 1 here, so no flooring


def test_egger_t_distribution_is_wider():
    n, t = mr.egger(*DATA), mr.egger(*DATA, distribution="t")
    assert t.estimate == n.estimate and (t.ci_high - t.ci_low) > (n.ci_high - n.ci_low) and t.p > n.p


def test_medians_match_mendelianrandomization():
    wm = mr.weighted_median(*DATA, n_boot=10000)
    sm_ = mr.simple_median(*DATA, n_boot=10000)
    assert close(wm.estimate, R.WEIGHTED_MEDIAN["estimate"])
    assert close(sm_.estimate, R.SIMPLE_MEDIAN["estimate"])
    # bootstrap SEs: R's and numpy's random streams differ; 10,000 draws give a Monte-Carlo SD of about 0.7%
    assert wm.se == pytest.approx(R.WEIGHTED_MEDIAN["se"][0], rel=0.03)
    assert sm_.se == pytest.approx(R.SIMPLE_MEDIAN["se"][0], rel=0.03)


def test_median_bootstrap_is_seeded():
    a = mr.weighted_median(*DATA, n_boot=200, seed=1)
    b = mr.weighted_median(*DATA, n_boot=200, seed=1)
    c = mr.weighted_median(*DATA, n_boot=200, seed=2)
    assert a.se == b.se and a.se != c.se


def test_weighted_mode_estimate_matches_mbe():
    r = mr.weighted_mode(*DATA, n_boot=200)
    # the kernel-density mode is found on a 512-point grid, as R's density(); compare to 0.01
    assert r.estimate == pytest.approx(R.MBE["estimate"][0], abs=0.01)


def test_wald_ratio_orders():
    r1 = mr.wald_ratio([0.1], [0.01], [0.05], [0.02])
    r2 = mr.wald_ratio([0.1], [0.01], [0.05], [0.02], order=2)
    assert r1.estimate == pytest.approx(0.5) and r1.se == pytest.approx(0.2)
    assert r2.se == pytest.approx(np.sqrt(0.02 ** 2 / 0.01 + 0.05 ** 2 * 0.01 ** 2 / 0.1 ** 4))


def test_single_snp_and_leave_one_out():
    ss = mr.single_snp(*DATA)
    assert len(ss) == 28 and ss["estimate"].iloc[0] == pytest.approx(0.0677 / 0.026)
    loo = mr.leave_one_out(*DATA)
    assert len(loo) == 28 and (loo["n_snp"] == 27).all()
    full = mr.ivw(*DATA).estimate
    assert loo["estimate"].between(full - 1, full + 1).all()


def test_too_few_snps_is_not_applicable_not_a_number():
    three = [x[:2] for x in DATA]
    with pytest.raises(mr.NotApplicable, match="at least 3"):
        mr.egger(*three)
    table = mr.mr_all(*three)
    egger_row = table[table["method"] == "egger"].iloc[0]
    assert egger_row["note"].startswith("not applicable") and pd.isna(egger_row.get("estimate"))
    one = mr.mr_all(*[x[:1] for x in DATA])
    assert one["method"].tolist() == ["Wald ratio"] and "single variant" in one["note"].iloc[0]


@pytest.mark.parametrize("edit, message", [
    (lambda d: (d[0], [0.0] + d[1][1:], d[2], d[3]), "standard errors must be positive"),
    (lambda d: (d[0], d[1], d[2], [-0.1] + d[3][1:]), "standard errors must be positive"),
    (lambda d: (d[0][:-1], d[1], d[2], d[3]), "same length"),
    (lambda d: ([np.nan] + d[0][1:], d[1], d[2], d[3]), "non-finite"),
])
def test_bad_inputs_are_clear_errors(edit, message):
    with pytest.raises(ValueError, match=message):
        mr.ivw(*edit(list(map(list, DATA))))


def test_zero_exposure_effect_not_applicable():
    d = list(map(list, DATA))
    d[0][0] = 0.0
    with pytest.raises(mr.NotApplicable, match="zero association"):
        mr.ivw(*d)


def test_mr_all_tidy_table_shape():
    t = mr.mr_all(*DATA, n_boot=100)
    assert t["method"].tolist() == ["IVW (random)", "MR-Egger", "Weighted median", "Weighted mode"]
    assert {"estimate", "se", "ci_low", "ci_high", "p", "n_snp", "z", "note"} <= set(t.columns)
    with pytest.raises(ValueError, match="unknown MR method"):
        mr.mr_all(*DATA, methods=("ivw", "magic"))
