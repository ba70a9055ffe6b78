"""MR estimators pinned to R MendelianRandomization's documented example and to TwoSampleMR's 79-SNP test data
(full-precision R output), the compiled bootstrap kernels against their R-literal references, the defects of
issue 15, and bad-input behaviour."""

from __future__ import annotations

import json
from pathlib import Path

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
    # mr_mbe() defaults: weighted, delta (second-order) standard errors, phi = 1; R's density() grid reproduced
    r = mr.weighted_mode(*DATA, n_boot=200)
    assert close(r.estimate, R.MBE["estimate"])


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


# --- TwoSampleMR 0.7.9 on its own 79-SNP BMI -> CHD test data (tests/references/twosamplemr_bmi_chd/README.md)
REF = Path(__file__).parent / "references" / "twosamplemr_bmi_chd"
TSMR = json.loads((REF / "r_outputs.json").read_text())
_bmi = pd.read_csv(REF / "bmi_chd_79snps.csv")
BMI = tuple(_bmi[c].to_numpy(float) for c in ("beta.exposure", "se.exposure", "beta.outcome", "se.outcome"))
MODES = TSMR["mr_mode_seed1234_nboot1000"]
MODE_OPTIONS = {"Weighted mode": {}, "Simple mode": {"weighting": "simple"},
                "Simple mode (NOME)": {"weighting": "simple", "ratio_se": "first"},
                "Weighted mode (NOME)": {"ratio_se": "first"}}


def test_closed_forms_match_twosamplemr_full_precision():
    ivw_r, ivw_f, eg = mr.ivw(*BMI, model="random"), mr.ivw(*BMI, model="fixed"), mr.egger(*BMI)
    assert ivw_r.estimate == pytest.approx(TSMR["ivw_mre"]["b"], abs=1e-11)
    assert ivw_r.se == pytest.approx(TSMR["ivw_mre"]["se"], abs=1e-11)
    assert ivw_f.se == pytest.approx(TSMR["ivw_fe"]["se"], abs=1e-11)
    assert ivw_r.extra["Q"] == pytest.approx(TSMR["ivw_mre"]["Q"], rel=1e-11)
    assert eg.estimate == pytest.approx(TSMR["egger"]["b"], abs=1e-11)
    assert eg.extra["intercept"] == pytest.approx(TSMR["egger"]["b_i"], abs=1e-11)
    assert eg.extra["Q_rucker"] == pytest.approx(TSMR["egger"]["Q"], rel=1e-11)


def test_weighted_median_both_weightings_match_r_to_1e10():
    first = mr.weighted_median(*BMI, n_boot=10)                      # MendelianRandomization's weights
    second = mr.weighted_median(*BMI, ratio_se="second", n_boot=10)  # TwoSampleMR's mr_weighted_median
    simple = mr.simple_median(*BMI, n_boot=10)
    assert abs(first.estimate - TSMR["weighted_median_first_order_weights"]["b"]) <= 1e-10
    assert abs(second.estimate - TSMR["weighted_median_second_order_weights"]["b"]) <= 1e-10
    assert abs(simple.estimate - TSMR["simple_median"]["b"]) <= 1e-10
    assert first.estimate != second.estimate  # the two conventions differ on these data


def _grid_step(ratio, phi=1.0):
    h = mr.hartwig_bandwidth(ratio, phi)
    return (ratio.max() - ratio.min() + 6 * h) / 511


@pytest.mark.parametrize("name", list(MODE_OPTIONS))
def test_mode_estimates_match_r_density_mode(name):
    r = mr.weighted_mode(*BMI, n_boot=10, **MODE_OPTIONS[name])
    ratio = BMI[2] / BMI[0]
    # within one step of R's density() grid (the acceptance); in fact the same grid point, to rounding
    assert abs(r.estimate - MODES[name]["b"]) <= _grid_step(ratio)
    assert abs(r.estimate - MODES[name]["b"]) <= 1e-10
    assert r.method == ("Simple mode" if "Simple" in name else "Weighted mode")


def _within_mc(ours: list[float], r_value: float, r_draws: int, our_draws: int) -> tuple[bool, float, float]:
    """|mean of our SEs - R's SE| within 3.5 Monte-Carlo SDs (ours: spread over seeds; R's: the same spread
    scaled to its number of draws)."""
    sd = float(np.std(ours, ddof=1))
    tol = 3.5 * np.sqrt(sd ** 2 / len(ours) + sd ** 2 * our_draws / r_draws)
    return abs(np.mean(ours) - r_value) <= tol, float(np.mean(ours)), tol


@pytest.mark.parametrize("name", list(MODE_OPTIONS))
def test_mode_se_within_monte_carlo_error_of_r(name):
    ses = [mr.weighted_mode(*BMI, n_boot=1000, seed=s, **MODE_OPTIONS[name]).se for s in range(12)]
    ok, mean, tol = _within_mc(ses, MODES[name]["se"], 1000, 1000)
    assert ok, (name, mean, MODES[name]["se"], tol)


def test_median_se_within_monte_carlo_error_of_r():
    ses = [mr.weighted_median(*BMI, ratio_se="second", n_boot=1000, seed=s).se for s in range(12)]
    ok, mean, tol = _within_mc(ses, TSMR["weighted_median_second_order_weights"]["se_seed1234_nboot1000"],
                               1000, 1000)
    assert ok, (mean, tol)
    ses = [mr.weighted_median(*BMI, n_boot=2000, seed=s).se for s in range(8)]
    ok, mean, tol = _within_mc(ses, TSMR["weighted_median_first_order_weights"]["se_seed1234_nboot10000"],
                               10000, 2000)
    assert ok, (mean, tol)
    ses = [mr.simple_median(*BMI, n_boot=1000, seed=s).se for s in range(12)]
    assert _within_mc(ses, TSMR["simple_median"]["se_seed1234_nboot1000"], 1000, 1000)[0]


def test_median_bootstrap_draws_follow_rs_loop_order():
    """Draw i takes J normals for bx then J for by (R's weighted.median.boot.se loop): the SE equals the one
    computed from explicit per-draw redraws with the same generator."""
    rng = np.random.default_rng(7)
    bx, bxse, by, byse = (np.asarray(a) for a in DATA)
    w = (bx / byse) ** 2
    meds = []
    for _ in range(300):
        bxb, byb = rng.normal(bx, bxse), rng.normal(by, byse)
        meds.append(mr.weighted_median_r(byb / bxb, w))
    assert mr.weighted_median(*DATA, n_boot=300, seed=7).se == pytest.approx(np.std(meds, ddof=1), rel=1e-12)


def _random_rows(n_rows=600, seed=0):
    rng = np.random.default_rng(seed)
    for i in range(n_rows):
        J = int(rng.integers(3, 90))
        x = rng.standard_normal(J) * rng.choice([1e-3, 1.0, 50.0])
        if i % 4 == 0:
            x[0] = rng.choice([-1, 1]) * 1e4 * abs(x).max()       # one far outlier
        if i % 7 == 0:
            x[: J // 2] = x[0]                                        # ties (MAD 0 -> bandwidth floor)
        w = np.ones(J) if i % 5 == 0 else rng.uniform(0.01, 10, J)
        yield x, w


def test_mode_kernel_equals_r_literal_density_mode():
    for x, w in _random_rows():
        fast, ref = mr._mode(x, w, 1.0)[0], mr.mode_r(x, w, 1.0)
        assert abs(fast - ref) <= 1e-9 * _grid_step(x), (x, w, fast, ref)


def test_mode_kernel_branch_and_bound_on_multimodal_draws():
    """The pruned search (only the knots that can hold the maximum are convolved) selects the grid point of the
    full convolution also when several clusters of nearly equal height compete: 79-SNP-sized rows of 2-4
    clusters, through the bootstrap kernel (sorted rows) and the point-estimate kernel."""
    from il6repro.genetics import _kernels as K

    rng = np.random.default_rng(15)
    X, W = [], []
    for _ in range(300):
        k = int(rng.integers(2, 5))
        centres = rng.uniform(-3, 3, k)
        X.append(centres[rng.integers(0, k, 79)] + rng.choice([0.05, 0.2, 0.5]) * rng.standard_normal(79))
        W.append(rng.uniform(0.1, 10, 79))
    X, W = np.array(X), np.array(W)
    out = np.empty(len(X))
    K.mode_sorted_rows(X, np.sort(X, axis=1), np.ones(79), 1.0, out)
    point = mr._mode(X, W, 1.0)
    for i in range(len(X)):
        step = _grid_step(X[i])
        assert abs(out[i] - mr.mode_r(X[i], np.ones(79))) <= 1e-9 * step, i
        assert abs(point[i] - mr.mode_r(X[i], W[i])) <= 1e-9 * step, i


def test_mode_pruned_search_equals_convolving_every_knot():
    """The branch and bound selects exactly the grid point that convolving every knot selects (bit for bit):
    79-SNP bootstrap draws at three noise levels, weighted and simple, and three-cluster rows."""
    from il6repro.genetics import _kernels as K

    bx, bxse, by, byse = (np.asarray(a) for a in BMI)
    ratio, se = by / bx, mr.ratio_standard_error(bx, bxse, by, byse, "second")
    rng = np.random.default_rng(2026)
    for rep in range(8):
        X = ratio + [1, 3, 10][rep % 3] * se * rng.standard_normal((400, len(bx)))
        if rep % 4 == 3:
            X = rng.uniform(-1, 1, 3)[rng.integers(0, 3, X.shape)] + 0.1 * rng.standard_normal(X.shape)
        XS = np.sort(X, axis=1)
        for w in (se ** -2, np.ones_like(se)):
            pruned, full = np.empty(len(X)), np.empty(len(X))
            K.mode_sorted_rows(X, XS, w, 1.0, pruned)
            K.mode_sorted_rows(X, XS, w, 1.0, full, False)
            assert np.array_equal(pruned, full), rep


def test_mode_kernel_table_equals_exp_to_1e13():
    """The Gaussian kernel table (chained products, five exponentials) equals c0 exp(-a d^2) to a relative 1e-13
    at every entry, symmetric, for kernel SDs of 0.5 to 60 knots and table lengths up to the kernel's longest
    (10 SDs, at most 511; restarts every 16 entries); entries beyond L are left untouched."""
    from il6repro.genetics import _kernels as K

    ng = K.NGRID
    for sig in (0.5, 1.0, 2.5, 7.0, 18.0, 41.0, 60.0):
        a = 0.5 / sig ** 2
        top = min(ng - 1, int(np.ceil(10 * sig)) + 1)  # the longest table the kernel builds for this SD
        for L in sorted({x for x in (0, 1, 6, 7, 8, 9, 15, 16, 17, 63, 255, 256, 257, 263, top) if x <= top}):
            gs = np.full(2 * ng - 1, -1.0)
            K._kernel_table(gs, a, 0.3, L)
            d = np.arange(-L, L + 1)
            exact = 0.3 * np.exp(-a * d.astype(float) ** 2)
            got = gs[ng - 1 - L: ng + L]
            assert np.all(np.abs(got / exact - 1) < 1e-13), (sig, L)
            assert np.array_equal(got, got[::-1]), (sig, L)
            assert (gs[: ng - 1 - L] == -1).all() and (gs[ng + L:] == -1).all(), (sig, L)


def test_weighted_median_kernel_equals_r_literal():
    for x, w in _random_rows(seed=1):
        fast, ref = mr._weighted_median(x, w)[0], mr.weighted_median_r(x, w)
        assert fast == pytest.approx(ref, rel=1e-12, abs=1e-15 * np.abs(x).max())


def test_bootstrap_se_equals_exact_path():
    """The kernels' bootstrap SEs equal the R-literal estimators applied draw by draw (the exact path)."""
    bx, bxse, by, byse = (np.asarray(a) for a in DATA)
    ratio, se2 = by / bx, mr.ratio_standard_error(bx, bxse, by, byse, "second")
    z = np.random.default_rng(3).standard_normal((200, len(bx)))
    exact = [mr.mode_r(ratio + se2 * z[i], se2 ** -2) for i in range(200)]
    assert mr.weighted_mode(*DATA, n_boot=200, seed=3).se == pytest.approx(mr.mad(np.array(exact)), rel=1e-12)


# --- issue 15's defects: each test fails on the code before the fix (see the issue's report)

def _far_outlier():
    rng = np.random.default_rng(5)
    J = 30
    ratio = np.r_[100.0, 0.4 + 0.05 * rng.standard_normal(J - 1)]
    bx, bxse = np.full(J, 0.1), np.full(J, 0.001)
    return bx, bxse, ratio * bx, np.r_[1.0, np.full(J - 1, 0.005)]


def test_defect1_far_outlier_does_not_capture_the_bootstrap_mode():
    # the old float32 coarse pass returned the outlier (~100) for most draws: SE 0.126 instead of 0.047
    r = mr.weighted_mode(*_far_outlier(), n_boot=200)
    assert 0.3 < r.estimate < 0.5 and r.se < 0.08
    row = np.r_[100, 0.4 + 0.05 * np.random.default_rng(0).standard_normal(29)]
    assert mr._mode(row, np.ones(30), 1.0)[0] == pytest.approx(mr.mode_r(row, np.ones(30)), abs=1e-12)
    assert mr._mode(row, np.ones(30), 1.0)[0] < 1


def test_defect2_mode_resamples_ratio_estimates_and_simple_mode_exists():
    # NOME: the ratios are redrawn with SE byse/|bx|, so bxse plays no part (the old code redrew bx)
    bx, bxse, by, byse = (np.asarray(a) for a in DATA)
    a = mr.weighted_mode(bx, bxse, by, byse, ratio_se="first", n_boot=300)
    b = mr.weighted_mode(bx, 5 * bxse, by, byse, ratio_se="first", n_boot=300)
    assert a.se == b.se and a.estimate == b.estimate
    s = mr.simple_mode(bx, bxse, by, byse, n_boot=300)
    assert s.method == "Simple mode" and s.extra["ratio_se"] == "second"
    assert "simple_mode" in mr.METHODS


def test_defect3_collinear_egger_is_not_applicable():
    bx = np.array([0.1, -0.1, 0.1, 0.1, -0.1])  # equal |bx|: slope and intercept not separable
    args = (bx, np.full(5, 0.01), np.array([0.03, -0.02, 0.05, 0.01, -0.04]), np.full(5, 0.02))
    with pytest.raises(mr.NotApplicable, match="same"):
        mr.egger(*args)
    t = mr.mr_all(*args, methods=("ivw", "egger"))
    row = t[t["method"] == "egger"].iloc[0]
    assert row["note"].startswith("not applicable") and pd.isna(row.get("estimate"))


def test_defect4_underdispersion_is_validated():
    with pytest.raises(ValueError, match="underdispersion"):
        mr.egger(*DATA, underdispersion="flor")
    with pytest.raises(ValueError, match="underdispersion"):
        mr.ivw(*DATA, underdispersion="flor")


def test_defect6_single_snp_takes_filtered_series():
    s = [pd.Series(np.asarray(a), index=np.arange(100, 128)) for a in DATA]
    kept = [x[x.index % 2 == 1] for x in s]       # labels 101, 103, ... : no label 0
    got = mr.single_snp(*kept)
    ref = mr.single_snp(*[x.to_numpy() for x in kept])
    assert len(got) == 14 and np.allclose(got["estimate"], ref["estimate"])
    assert got["estimate"].iloc[0] == pytest.approx(DATA[2][1] / DATA[0][1])


def test_density_mode_is_compiled_once_for_both_callers():
    """mode_rows called _density_mode without its ``prune`` argument and mode_sorted_rows with it: two signatures,
    so the largest kernel was compiled twice on a fresh machine (03's sensitivity scan with an empty numba cache:
    23.3 / 24.0 -> 17.0 / 20.4 s, interleaved, on the development machine). Checked on the source (numba records a
    callee's signatures only when it compiles, not when it loads the callers from its cache): every call passes
    every argument."""
    import ast
    import inspect

    from il6repro.genetics import _kernels as K

    n_params = len(inspect.signature(K._density_mode.py_func).parameters)
    calls = [node for node in ast.walk(ast.parse(inspect.getsource(K)))
             if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "_density_mode"]
    assert len(calls) == 2
    assert all(len(c.args) + len(c.keywords) == n_params for c in calls), [len(c.args) for c in calls]
