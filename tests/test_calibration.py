"""Calibration statistics: exact CIs equal R, Monte-Carlo SEs by seed see clustering, verdicts can fail."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from il6repro import calibration as K


def test_clopper_pearson_equals_r():
    # R 4.2.2: binom.test(160, 200)$conf.int; binom.test(0, 10)$conf.int; binom.test(10, 10)$conf.int
    assert K.clopper_pearson(160, 200) == pytest.approx((0.7377736354, 0.8531055118), abs=1e-9)
    assert K.clopper_pearson(0, 10) == pytest.approx((0.0, 0.3084971078), abs=1e-9)
    assert K.clopper_pearson(10, 10) == pytest.approx((0.6915028922, 1.0), abs=1e-9)


def test_share_by_seed_sees_clustering():
    rng = np.random.default_rng(1)
    hits = rng.random(4000) < 0.95
    ind = K.share(pd.Series(hits), pd.Series(np.arange(4000)))
    assert ind["design_effect"] == pytest.approx(1, abs=0.1)
    assert (ind["ci_low"], ind["ci_high"]) == pytest.approx(K.clopper_pearson(hits.sum(), 4000), abs=2e-3)
    # the same 800 outcomes each repeated 5 times within a seed: 4,000 pairs worth 800
    rep = np.repeat(hits[:800], 5)
    cl = K.share(pd.Series(rep), pd.Series(np.repeat(np.arange(800), 5)))
    assert cl["design_effect"] == pytest.approx(5, rel=0.15)
    assert cl["n_eff"] == pytest.approx(800, rel=0.15)
    assert cl["ci_high"] - cl["ci_low"] > 2 * (ind["ci_high"] - ind["ci_low"])


def test_sd_of_standardised_errors_and_its_ci():
    rng = np.random.default_rng(2)
    z = pd.Series(rng.normal(0, 1, 6000))
    s = K.sd(z, pd.Series(np.arange(6000)), n_boot=500)
    assert s["ci_low"] < 1 < s["ci_high"] and K.verdict(s["ci_low"], s["ci_high"], K.SD_BAND) == "met"
    wide = K.sd(z * 1.12, pd.Series(np.arange(6000)), n_boot=500)  # an SE 12% too small
    assert K.verdict(wide["ci_low"], wide["ci_high"], K.SD_BAND) == "NOT met"


def test_a_miscalibrated_method_fails_and_a_calibrated_one_passes():
    """Coverage of estimates whose SE is 10% too small: ~93.0%, declared NOT met at 20,000 pairs; the honest SE
    passes. Too few pairs give 'undecided', never 'met' by luck of a wide band."""
    rng = np.random.default_rng(3)
    err = rng.normal(0, 1, 20000)
    seeds = pd.Series(np.arange(20000))
    good = K.share(pd.Series(np.abs(err) <= 1.96), seeds, n_boot=400)
    bad = K.share(pd.Series(np.abs(err) <= 1.96 * 0.9), seeds, n_boot=400)
    assert K.verdict(100 * good["ci_low"], 100 * good["ci_high"], K.COVERAGE_BAND) == "met"
    assert K.verdict(100 * bad["ci_low"], 100 * bad["ci_high"], K.COVERAGE_BAND) == "NOT met"
    few = K.share(pd.Series(np.abs(err[:150]) <= 1.96), seeds[:150])
    assert K.verdict(100 * few["ci_low"], 100 * few["ci_high"], K.COVERAGE_BAND) == "undecided"


def test_seeds_needed_for_a_decisive_verdict():
    assert K.prob_met(150) == 0  # the old 150-run check could not pass decisively
    assert K.prob_met(3300) == pytest.approx(0.95, abs=0.01)
    assert K.prob_met(2000) < K.prob_met(3000) < K.prob_met(4000)
    assert K.prob_met_sd(3000) > 0.93
    assert K.verdict(0.94, 0.96, (0.935, 0.965)) == "met"
    assert K.verdict(0.90, 0.93, (0.935, 0.965)) == "NOT met"
    assert K.verdict(0.93, 0.95, (0.935, 0.965)) == "undecided"
