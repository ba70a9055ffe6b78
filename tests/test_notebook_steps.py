"""The steps the notebooks call (moved out of the notebooks into il6repro): each pinned on data whose answer is
known, independently of the notebook that uses it."""

from __future__ import annotations

import json
import re

import matplotlib

matplotlib.use("agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from il6repro import brain, charts, report  # noqa: E402
from il6repro import cohort as C  # noqa: E402
from il6repro import transcriptomics as TX  # noqa: E402
from il6repro.genetics import pipeline  # noqa: E402


# ------------------------------------------------------------------------------------------------ report
@pytest.mark.parametrize("p,text", [
    (8.39e-9, "8.39e-9"), (3.22e-07, "3.22e-7"), (0.00498, "4.98e-3"), (0.0499, "0.0499"), (0.372, "0.372"),
    (0.05, "0.05"), (1.0, "1"), (0.0, "< 1e-300"), (float("nan"), ""), (None, ""), (2.1e-300, "2.10e-300"),
])
def test_p_values_are_never_printed_as_zero(p, text):
    assert report.fmt_p(p) == text


def test_numbers_and_cis():
    assert report.fmt_num(20688) == "20,688"
    assert report.fmt_num(1.15234) == "1.15"
    assert report.fmt_num(-0.0947) == "-0.0947"
    assert report.fmt_ci(1.06, 1.25) == "(1.06 to 1.25)"
    assert report.fmt_ci(None, 1) == ""


@pytest.mark.parametrize("x,decimals,text", [
    (0.123456, 4, "0.1235"), (1234.5678, 3, "1,234.568"), (3.2e-5, 4, "3.2e-5"), (-4.1e-7, 4, "-4.1e-7"),
    (0.00004, 4, "4.0e-5"), (0.00005, 4, "0.0001"), (0.0, 4, "0"), (-0.0, 2, "0"), (2e-13, 2, "2.0e-13"),
    (float("nan"), 4, "—"), (None, 4, "—"), (7.0, 0, "7"), (0.3, 0, "3.0e-1"),
])
def test_fixed_decimals_never_read_zero_for_a_number_that_is_not(x, decimals, text):
    assert report.fmt_fixed(x, decimals) == text


def test_presence_reads_in_words():
    """Notebooks 00 and 04 printed 'IL6 present: False; IL6R present: True'."""
    genes = pd.Index(["IL6R", "IL6ST", "APOE"])
    assert report.presence(["IL6", "IL6R", "IL6ST"], genes) == "IL6R, IL6ST present; IL6 absent"
    assert report.presence(["IL6R"], genes) == "IL6R present" and report.presence(["X"], genes) == "X absent"


def test_never_zero_wraps_format_strings_and_functions():
    two = report.never_zero("{:.2f}")
    assert two(0.004) == "4.0e-3" and two(1.234) == "1.23" and two(0.0) == "0.00" and two(float("nan")) == "—"
    assert report.never_zero("{:.2e}")(1e-320) != "0.00e+00"  # a subnormal still is not zero
    assert report.never_zero(lambda v: f"{v:.1%}")(1e-5) == "1.0e-3%" and report.never_zero("{}")("text") == "text"


def test_notebook_03_heterogeneity_table_reads_i2_and_no_false_zeros():
    """Notebook 03's heterogeneity table printed a header 'I2' and values '0.0000' for numbers that are not zero
    (an Egger intercept of 3e-5, an I² of 2e-6): the two I²'s read as such and small numbers keep their digits."""
    het = pd.DataFrame({"Q": [12.5, 8.1], "Q_df": [9, 9], "Q_p": [0.19, 0.52], "I2": [2e-6, 0.0],
                        "intercept": [3.1e-5, -0.0123], "intercept_se": [0.0011, 0.0012], "I2_GX": [0.987, 0.991]},
                       index=pd.Index(["MTG GMV", "fusiform GMV"], name="region"))
    t = report.table(het, "t-het", p=["Q_p"], precision=4)
    html, text = t._repr_html_(), t.text
    for out in (html, text):
        assert "I²" in out and "I²GX" in out and ">I2<" not in out and " I2 " not in out
        assert "0.0000" not in out and "-0.0000" not in out
        assert "2.0e-6" in out and "3.1e-5" in out and "-0.0123" in out and "0.9870" in out
    assert report.header("I2") == "I²" and report.header("I2_GX") == "I²GX" and report.header("i2_ivw") == "I² IVW"


def test_tables_are_deterministic_and_formatted():
    df = pd.DataFrame({"est": [1.23456, -0.5], "P": [1e-12, 0.3], "n": [1000, 20000]}, index=["a", "b"])
    one, two = report.table(df, "t1", p=["P"], precision=2), report.table(df, "t1", p=["P"], precision=2)
    assert one._repr_html_() == two._repr_html_() and repr(one) == repr(two)
    assert "object at 0x" not in repr(one) and "1.00e-12" in repr(one) and "20,000" in repr(one)
    html = one._repr_html_()
    assert 'id="T_t1"' in html and "1.23" in html and "1.00e-12" in html and "1.23456" not in html


def test_counts_print_without_decimals():
    """Notebook 02's thresholds table: a number of tests reads 1,025, never 1,025.0 (an effective number of tests,
    873.4, reads 873)."""
    assert report.fmt_count(1025.0) == "1,025" and report.fmt_count(873.4) == "873" and report.fmt_count(None) == "—"
    df = pd.DataFrame({"tests": [1025.0, 873.4, 455.0], "threshold": [4.88e-5, 5.7e-5, 1.1e-4]})
    t = report.table(df, "cnt", p=["threshold"], formats={"tests": report.fmt_count})
    assert "1,025" in repr(t) and "1,025.0" not in repr(t) and "873.4" not in t._repr_html_()


def test_tables_show_words_not_nan_or_identifiers():
    """Missing values read as a dash (never NaN, nan or <NA>), long text is kept whole, snake_case names read as
    words, and P columns are found under their original names."""
    desc = "per observation: baseline to the first later GHQ examination without caseness, else the last one"
    df = pd.DataFrame({"p_spin": [0.0, np.nan], "mean_years": [6.51, np.nan], "idp": ["gmv_A", None],
                       "n_regions": pd.array([34, None], dtype="Int64"), "description": [desc, "short"]},
                      index=pd.Index(["a", "b"], name="map_name"))
    t = report.table(df, "words", p=["p_spin"], precision=2)
    html, text = t._repr_html_(), repr(t)
    for bad in ("NaN", "nan", "&lt;NA&gt;", "<NA>", "None", "p_spin", "mean_years", "n_regions", "map_name"):
        assert bad not in html.replace("T_words", ""), bad
        assert bad not in text, bad
    assert all(h in html for h in ("P (spin)", "mean (years)", "IDP", "regions", "map name"))
    assert "< 1e-300" in text and "1e-300" in html  # a P of 0 (underflow) never reads 0
    assert desc in html and desc in text  # never truncated with "..."
    assert text.count("—") == 4
    assert report.header("Q_rucker_p") == "Rucker's Q' P" and report.header("some_new_name") == "some new name"
    assert report.header("95% CI low") == "95% CI low" and report.header(3) == 3


def test_a_summary_of_mixed_values_reads_alike_in_html_and_text():
    """Notebook 05's co-expression summary (one column of counts, correlations and a formatted P) was pandas' own
    table; through report.table its numbers read as in the other tables, in the HTML and in the plain text."""
    s = pd.Series({"genes": 459, "mean r": 0.4864, "P (one-sided)": "9.99e-4", "permutations": 1000,
                   "tiny": 3.2e-6, "missing": None}, name="co-expression")
    t = report.table(s.to_frame(), "mixed", precision=4)
    cells = re.sub(r"<[^>]+>", " ", t._repr_html_().split("</style>")[1]).split()
    assert "1,000" in cells and "0.4864" in cells and "9.99e-4" in cells and "3.2e-6" in cells
    assert 'class="dataframe"' not in t._repr_html_()
    rows = {line.rsplit(None, 1)[0].strip(): line.rsplit(None, 1)[1] for line in t.text.splitlines()[1:]}
    assert rows == {"genes": "459", "mean r": "0.4864", "P (one-sided)": "9.99e-4", "permutations": "1,000",
                    "tiny": "3.2e-6", "missing": "—"}


def test_multiindex_headers_and_p_columns_survive_renaming():
    cols = pd.MultiIndex.from_tuples([("twin P", "printed_p"), ("twin z", "printed_z")])
    df = pd.DataFrame([[1e-9, 5.1]], columns=cols, index=["mtg"])
    html = report.table(df, "mi", p=[("twin P", "printed_p")], precision=2)._repr_html_()
    assert "1.00e-9" in html and "printed P" in html and "printed_p" not in html


def test_numbers_never_wrap_and_the_check_column_keeps_its_width():
    df = pd.DataFrame({"quantity": ["IL-6 -> GMV middle temporal gyrus, z"], "P": [2.16e-11],
                       "check": ["z 6.69 vs 5.76: same sign True, |diff| 0.93 (<= 2)"]})
    html = report.style_table(df, "cw", status_col=None)._repr_html_()
    ids = dict(re.findall(r'<td id="(T_cw_row0_col\d)"[^>]*>(.*?)</td>', html))
    p_cell, check_cell = (next(i for i, v in ids.items() if v.startswith(x)) for x in ("2.16e-11", "z 6.69"))
    styles = dict(re.findall(r"([^{}]+)\{([^}]*)\}", html.split("</style>")[0]))
    assert any("#" + p_cell in sel and "nowrap" in css for sel, css in styles.items())  # no "2.16e-" / "11"
    assert not any("#" + check_cell in sel and "nowrap" in css for sel, css in styles.items())  # a sentence wraps
    # notebook 09's ledger scrolled at 1280 px: short text (a claim id, "not reproduced", "does not hold") was kept on
    # one line; now only numbers are, text written as a number included
    df2 = pd.DataFrame({"claim": ["W.ukb.female_pct"], "status": ["not reproduced"], "published": ["8.39e-9"],
                        "reproduced": ["20,688"], "verdict": ["does not hold"], "z": [-5.11], "pct": ["52.3%"]})
    nw = report.style_table(df2, "nw", status_col=None)._repr_html_()
    nw_styles = dict(re.findall(r"([^{}]+)\{([^}]*)\}", nw.split("</style>")[0]))
    nowrap = {int(c) for sel, css in nw_styles.items() if "nowrap" in css for c in re.findall(r"_row0_col(\d)", sel)}
    assert nowrap == {2, 3, 5, 6}
    assert any("td.col2" in sel and "min-width: 11em" in css for sel, css in styles.items())  # check column
    # in the ledger's view the claim id breaks after its dots only (a reader's review: "W.ukb.fema / le_pct"), a
    # status never mid-word ("recover-ed"); the plain text keeps the id whole
    df = pd.DataFrame({"claim": ["W.mr.il6.ct_superiorfrontal.z"], "status": ["recovered from a planted twin"]})
    br = report.style_table(df, "br")
    shown = br._repr_html_()
    styles = dict(re.findall(r"([^{}]+)\{([^}]*)\}", shown.split("</style>")[0]))
    assert [sel.strip() for sel, css in styles.items() if "anywhere" in css] == ["#T_br td.col0"]  # only if needed
    assert "W.<wbr>mr.<wbr>il6.<wbr>ct_<wbr>superiorfrontal.<wbr>z" in shown and "W.mr.il6.ct_superiorfrontal.z" in str(br)
    assert any("td.col1" in sel and "min-width: 6.5em" in css for sel, css in styles.items())


def test_claims_rows_put_published_beside_reproduced(isolated, monkeypatch):
    from il6repro import ledger

    monkeypatch.setenv("IL6REPRO_NOTEBOOK", "07_demo")
    ledger.record("V.rr_repeated", 1.19, ci=(0.987, 1.438), kind="planted_twin")
    ledger.record("W.ahba.ppi_il6.p", 0.0099, kind="real_data")
    rows = report.claims_rows(["V.rr_repeated", "W.ahba.ppi_il6.p"]).set_index("claim")
    assert rows.loc["V.rr_repeated", "published"] == "1.21 (1.03 to 1.41)"
    assert rows.loc["V.rr_repeated", "reproduced"] == "1.19 (0.987 to 1.44)"
    assert rows.loc["W.ahba.ppi_il6.p", "published"].startswith("significant")  # a rule, not a number
    assert rows.loc["W.ahba.ppi_il6.p", "reproduced"] == "9.90e-3"
    # a twin claim without a distribution over seeds is judged on this draw, and its status says so (the ledger's
    # verdict over seeds may differ); coloured as the status it prefixes; real data not
    assert rows.loc["V.rr_repeated", "status"] == "this draw: not recovered"  # its CI includes 1
    assert rows.loc["W.ahba.ppi_il6.p", "status"] == "reproduced on real data"
    assert report.status_colour("this draw: not recovered") == report.STATUS_COLOURS["not reproduced"]
    assert report.status_colour("this draw: recovered from a planted twin") == \
        report.STATUS_COLOURS["recovered from a planted twin"]
    ledger.record("V.rr_repeated", 1.19, ci=(1.05, 1.35), kind="planted_twin")
    html = report.claims_table(["V.rr_repeated"], uuid="draw")._repr_html_()
    assert report.STATUS_COLOURS["recovered from a planted twin"] in html and "this draw: recovered" in html
    assert list(rows.columns[-2:]) == ["conclusion", "verdict"]  # not "conclusion verdict": one word narrower
    # a twin claim judged over seeds says so, so its badge is not read against the notebook's line about this draw
    assert report.seeds_status("not reproduced", 200) == "over 200 seeds: not reproduced"
    assert report.status_colour("over 200 seeds: not reproduced") == report.STATUS_COLOURS["not reproduced"]
    assert report.status_colour("over 1,000 seeds: recovered from a planted twin") == \
        report.STATUS_COLOURS["recovered from a planted twin"]
    assert not rows["quantity"].str.contains("->").any()  # typographic arrows for readers
    assert report.arrows("IL-6 -> GMV, z") == "IL-6 → GMV, z"
    with pytest.raises(ledger.LedgerError, match="unknown claim"):
        report.claims_rows(["W.no.such"])


def test_conclusion_line_says_what_kind_of_evidence():
    md = report.conclusion("low IL-6 predicts resolution", False, "RR 1.19 (0.987 to 1.44): the CI includes 1",
                           "planted_twin").data
    assert md.startswith("**What to conclude.**") and "**does not support it**" in md
    assert "sampling variation" in md and "not evidence against the finding" in md  # a planted effect missed
    md = report.conclusion("low IL-6 predicts resolution", True, "RR 1.2 (1.05 to 1.4)", "planted_twin").data
    assert "not evidence for the finding" in md
    assert "exposure → IDP" in report.conclusion("x", True, "Steiger direction exposure -> IDP", "real_data").data
    # a verdict computed from arrays is numpy's bool (notebook 08: `d["ci_high"] < 0`): the same text as Python's
    for holds in (np.False_, np.True_):
        assert (report.conclusion("IL-6 falls", holds, "-0.08 (-0.18 to 0.02)", "planted_twin").data
                == report.conclusion("IL-6 falls", bool(holds), "-0.08 (-0.18 to 0.02)", "planted_twin").data)


def test_coexpression_verdict_carries_the_floor_and_circularity_cautions():
    """Notebook 05's 'what to conclude' said 'co-expression P 9.99e-4 ... supports it' with no word that the P is the
    floor of its permutations or that the test is near-circular; only the ledger's note said so (review, stop 29)."""
    from il6repro import transcriptomics as tx

    at_floor = tx.TightnessResult(observed=0.49, null=np.full(1000, 0.01), p=1 / 1001, n_genes=287, n_regions=34)
    above = tx.TightnessResult(observed=0.49, null=np.full(1000, 0.01), p=0.02, n_genes=287, n_regions=34)
    floor, circular = tx.coexpression_cautions(at_floor, 1000)
    assert floor.startswith("P at the floor of 1,000 permutations") and "read as P < 0.001" in floor
    assert "circular" in circular and tx.coexpression_cautions(above, 1000) == [circular]
    md = report.conclusion("tight", True, "co-expression P 9.99e-4", "real_data",
                           caution=f"Co-expression: {'; '.join([floor, circular])}.").data
    assert "P 9.99e-4. Co-expression: P at the floor" in md and md.rstrip().endswith("computed from real data.")
    assert report.conclusion("tight", True, "P 0.01", "real_data").data == report.conclusion(
        "tight", True, "P 0.01", "real_data", caution="  ").data


def test_whitehall_flow_hides_small_counts_and_one_more_of_each_sum():
    """A rerunner's review: a 500-row extract published 'no later GHQ (excluded)' counts of 3, 3 and 4, each also the
    difference of two shown counts."""
    import matplotlib.pyplot as plt

    f = pd.DataFrame({"attended GHQ": [600, 500], "GHQ cases": [120, 100], "IL-6 measured": [100, 90],
                      "no IL-6 (excluded)": [20, 10], "no later GHQ (excluded)": [3, 30], "case-observations": [97, 60]},
                     index=pd.Index([3, 5], name="phase"))
    shown = C.flow_for_display(f)
    assert shown.loc[3].tolist() == [600, 120, "suppressed", "suppressed", "<10", 97]
    assert shown.loc[5].tolist() == f.loc[5].tolist()
    big = f.assign(**{"no later GHQ (excluded)": [30, 30]})
    assert C.flow_for_display(big) is big  # nothing small: the table as it was
    fig = charts.flow_diagram(shown, 157)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "- no later GHQ (<10)" in texts and "phase 3: IL-6 measured\nsuppressed" in texts
    plt.close(fig)


def test_small_cohorts_get_a_sentence_not_a_library_error():
    """A rerunner's review: notebook 08 on 500 twin participants died in its figure with KeyError: 'from phase'
    (every group under 10 people), and a 500-row real extract with LinAlgError: Singular matrix."""
    import matplotlib.pyplot as plt

    fig = charts.il6_trajectories(pd.DataFrame())
    assert "small-cell rule" in fig.axes[0].texts[0].get_text()
    plt.close(fig)
    obs = pd.DataFrame({"stno": np.arange(40), "low": [1] * 20 + [0] * 20, "age": 50.0, "female": 1.0,
                        "resolved": [1, 0] * 20, "phase": 3})
    with pytest.raises(C.CohortError, match=r"cannot be fitted on 40 case-observations \(20 exposed, 20 not\)"):
        C.risk_ratio(obs, "low", ["age", "female"])
    # a fit that runs off (separation) gave "RR 6,867,457,...,896" at n=500: refused with the numbers it reached
    rng = np.random.default_rng(1)
    sep = pd.DataFrame({"stno": np.arange(60), "low": [1] * 30 + [0] * 30, "age": rng.normal(55, 5, 60),
                        "female": rng.integers(0, 2, 60).astype(float), "resolved": [1] * 30 + [0] * 30, "phase": 3})
    with pytest.warns(Warning), pytest.raises(C.CohortError, match=r"did not converge on 60 case-observations"):
        C.risk_ratio(sep, "low", ["age", "female"])


def test_notebook_01_gives_no_small_count_back(isolated, monkeypatch, capsys):
    """A check of the fixes: Table 1 hid 6 men, but the ledger's % female (98.5) with N 400 gave them back, and the
    loader's note 'N from 397 to 400' gave 3 participants without an IDP."""
    from types import SimpleNamespace

    from il6repro import ledger
    from il6repro.genetics import pipeline

    monkeypatch.setenv("IL6REPRO_RESULTS_DIR", str(isolated["build"] / "results"))
    monkeypatch.setenv("IL6REPRO_NOTEBOOK", "01_ukb_cohort")
    ex = SimpleNamespace(n=400, table1=pd.DataFrame({"sex": [0] * 394 + [1] * 6, "age_recruitment": 55.0}))
    assert pipeline.record_cohort(ex, is_twin=False) == ["W.ukb.n", "W.ukb.mean_age"]
    assert "W.ukb.female_pct" not in ledger.load_results(isolated["build"] / "results")
    assert "small-cell rule" in capsys.readouterr().out
    ex.table1["sex"] = [0] * 200 + [1] * 200
    assert "W.ukb.female_pct" in pipeline.record_cohort(ex, is_twin=False)


# ------------------------------------------------------------------------------------------------ study W
@pytest.fixture
def scan_run():
    prim = pd.DataFrame({
        "exposure": ["IL-6", "IL-6", "BDNF", "CRP"],
        "idp": ["gmv_A", "ct_B", "gmv_A", "ct_B"], "region": ["A", "B", "A", "B"], "measure": ["gmv", "ct"] * 2,
        "primary_method": ["IVW"] * 4, "n_snp": [10, 10, 1, 8], "estimate": [0.5, -0.3, 0.01, 0.0],
        "se": [0.08, 0.09, 0.05, 0.05], "ci_low": [0.34, -0.48, -0.09, -0.1], "ci_high": [0.66, -0.12, 0.11, 0.1],
        "z": [6.25, -2.3, 0.2, 0.0], "p": [4e-10, 0.02, 0.84, 1.0]})
    prim["significant"] = prim["p"] < 0.05 / 4
    return pipeline.ScanRun(prim, None, pd.DataFrame(), 4, 0.05 / 4, 2.0, 0.05, "bonferroni", 2)


TARGETS = pd.DataFrame({"exposure": ["IL-6", "IL-6"], "claim": ["W.a", "W.b"], "region": ["A", "B"],
                        "idp": ["gmv_A", "ct_B"], "z": [5.76, -5.11], "p": [8.39e-9, 3.22e-7]})


def test_hits_table_does_not_repeat_the_bonferroni_column(scan_run):
    assert "significant (Bonferroni)" not in pipeline.hits_table(scan_run, TARGETS, 1.1e-4).columns
    scan_run.correction = "fdr"
    assert "significant (Benjamini-Hochberg FDR)" in pipeline.hits_table(scan_run, TARGETS, 1.1e-4).columns


def test_hits_table_names_each_idp_in_words_with_its_hemisphere(scan_run):
    """Notebook 02's hits table showed 'superiorfrontal' and 'ct' in two columns, without the hemisphere, and
    scrolled at 1280 px: one column of words now says region, hemisphere and measure."""
    scan_run.primary["region"] = ["Frontal Medial Cortex", "superiorfrontal"] * 2
    scan_run.primary["hemisphere"] = ["L", "R"] * 2
    hits = pipeline.hits_table(scan_run, TARGETS, 1.1e-4)
    assert "region" not in hits.columns and "measure" not in hits.columns
    assert list(hits["IDP"]) == ["Frontal Medial Cortex (left), GMV", "superior frontal (right), thickness"]
    assert pipeline.idp_label("bankssts") == "banks of the STS" and pipeline.idp_label("x", "B", "y") == "x (B), y"
    from il6repro.brain import region_words  # notebook 00's table of AHBA regions: no atlas ids shown
    assert region_words("L_pericalcarine") == "pericalcarine (left)"
    assert region_words("R_middletemporal") == "middle temporal (right)" and region_words("Lx_a") == "Lx_a"


def test_published_numbers_join_on_exposure_and_idp(scan_run):
    hits = pipeline.hits_table(scan_run, TARGETS, 1.1e-4)
    bdnf = hits[hits.exposure == "BDNF"]
    assert bdnf.empty  # BDNF on gmv_A is neither below a threshold nor published
    scan_run.primary.loc[2, "p"] = 1e-6  # now BDNF on gmv_A passes: it must not inherit IL-6's published z
    hits = pipeline.hits_table(scan_run, TARGETS, 1.1e-4).set_index("exposure")
    assert np.isnan(hits.loc["BDNF", "published z"]) and hits.loc["IL-6"].shape[0] == 2
    assert set(hits.loc["IL-6", "published z"]) == {5.76, -5.11}


def test_scan_conclusion_names_what_failed(scan_run):
    holds, ev = pipeline.scan_conclusion(scan_run, TARGETS)
    assert not holds and "1 of 2 published IL-6 associations" in ev and "not: B" in ev
    scan_run.primary.loc[1, ["p", "significant"]] = [1e-9, True]
    assert pipeline.scan_conclusion(scan_run, TARGETS)[0]


def test_calibration_readings_use_the_normal_reference():
    t = pipeline.calibration_readings(TARGETS.assign(z=[3.38, -5.11], p=[7.2e-5, 3.22e-7])).round(6)
    assert t.loc["A", "P implied by z"] == pytest.approx(7.25e-4, rel=0.01)
    assert t.loc["A", "z implied by P"] == pytest.approx(3.97, abs=0.01)
    assert t.loc["B", "z implied by P"] < 0


def test_residualise_equals_least_squares_residuals():
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"const": 1.0, "age": rng.normal(size=200), "sex": rng.integers(0, 2, 200)})
    Y = pd.DataFrame({"gmv_a": X.age * 2 + rng.normal(size=200), "ct_b": rng.normal(size=200)})
    Y.iloc[5, 0] = np.nan
    r = pipeline.residualise(Y, X)
    assert len(r) == 199 and abs(r.to_numpy().T @ X.loc[r.index].to_numpy()).max() < 1e-8
    import statsmodels.api as sm

    ols = sm.OLS(Y.loc[r.index, "gmv_a"], X.loc[r.index]).fit()
    assert np.allclose(r["gmv_a"], ols.resid)
    corr = pipeline.idp_correlation(Y, X)
    assert list(corr.columns) == ["gmv_a", "ct_b"]  # volumes first


# ------------------------------------------------------------------------------------------------ AHBA steps
@pytest.fixture
def expr():
    rng = np.random.default_rng(5)
    regions = [f"L_{r}" for r in ("middletemporal", "fusiform", "precentral", "insula", "lingual", "cuneus")]
    data = rng.uniform(0.2, 0.6, size=(len(regions), 40))
    data[0, :5] *= 2.0  # five genes clearly higher in the MTG
    df = pd.DataFrame(data, index=pd.Index(regions, name="Region"), columns=[f"G{i}" for i in range(40)])
    return df.assign(label=range(len(regions)))


def test_rule_grid_counts_equal_the_rule_and_mark_the_default(expr, monkeypatch):
    monkeypatch.setattr(TX, "cortical", lambda e, h="left": e.drop(columns="label"))
    monkeypatch.setattr(TX, "brain_regions", lambda e, h="left": e.drop(columns="label"))
    grid = TX.rule_grid(expr, "middletemporal", default=("cortex", "left", "fold", 1.2))
    stars = [(i, c) for i in grid.index for c in grid.columns if str(grid.loc[i, c]).endswith("*")]
    assert stars == [(("cortex", "left"), "fold >= 1.2")]
    n = TX.preferential_genes(expr, "middletemporal", rule="fold", threshold=1.2).selected.sum()
    assert grid.loc[("cortex", "left"), "fold >= 1.2"] == f"{n:,} *"


def test_disorder_terms_exclude_drug_response_and_pick_the_smallest_q():
    res = pd.DataFrame({"Term": ["Schizophrenia (C0036341)", "response to antipsychotic treatment in schizophrenia",
                                 "Epilepsy", "Seizures", "Autistic behavior"],
                        "library": ["DisGeNET", "GWAS", "DisGeNET", "HPO", "HPO"], "Overlap": ["9/100"] * 5,
                        "P-value": [1e-4, 1e-9, 0.01, 0.001, 0.5], "fdr": [0.01, 1e-6, 0.2, 0.04, 0.9]})
    assert list(TX.disorder_terms(res, "schizophrenia")["Term"]) == ["Schizophrenia (C0036341)"]
    # selection_sensitivity matches the terms once for all its rules: the same terms per disorder
    named = TX._disorder_term_sets({"a": {t: [] for t in res.Term[:3]}, "b": {t: [] for t in res.Term[3:]}})
    assert named == {d: set(TX.disorder_terms(res, d)["Term"]) for d in TX.DISORDERS}
    assert named["schizophrenia"] == {"Schizophrenia (C0036341)"} and named["epilepsy"] == {"Epilepsy", "Seizures"}
    sens = pd.DataFrame({f"{d} q": [0.01, 0.5] for d in TX.DISORDERS})
    table = TX.disorder_table(res, sens)
    assert table.loc["epilepsy", "best term"] == "Seizures" and table.loc["epilepsy", "FDR q"] == 0.04
    assert table.loc["epilepsy", "matching terms"] == 2
    assert table.loc["cognitive impairment", "best term"] == "(no library available)"
    assert table.loc["schizophrenia", "rules with q < 0.05"] == "1 of 2"


def test_library_table_says_why_a_library_is_missing():
    t = TX.library_table({"GO_BP_2023": {"a": ["X"]}}, {"DisGeNET": "dataset 'disgenet_gmt' is not available"})
    assert t.loc["GO_BP_2023", "sets"] == 1 and pd.isna(t.loc["DisGeNET", "sets"])
    assert "not available" in t.loc["DisGeNET", "unavailable"] and list(t.index) == list(TX.LIBRARIES)


def test_spin_null_correlations_are_the_null_spin_test_uses():
    from il6repro.data import tables as T

    labels, regions = T.load_dk_surface(), T.load_dk_regions()
    ctx = TX.cortical(T.load_ahba_dk(), "both")
    spins = brain.spin_indices(25, seed=4)
    res = brain.spin_test(ctx["IL6R"], ctx[["IL6ST"]], labels=labels, regions=regions, spins=spins)
    null = brain.spin_null_correlations(ctx["IL6R"], ctx["IL6ST"], spins, labels=labels, regions=regions)
    r = res.loc["IL6ST", "r"]
    assert res.loc["IL6ST", "p_spin"] == pytest.approx((1 + np.sum(np.abs(null) >= abs(r))) / (1 + len(null)))
    assert res.loc["IL6ST", "null_r_sd"] == pytest.approx(null.std())


# ------------------------------------------------------------------------------------------------ study V
@pytest.fixture(scope="module")
def whitehall_obs():
    from il6repro.twins import whitehall as W

    df = W.simulate(n=3000, seed=11)["table"]
    return df, C.person_observations(df)


def test_risk_ratio_table_is_the_risk_ratios(whitehall_obs):
    _, obs = whitehall_obs
    t = C.risk_ratio_table(obs, "low")
    assert list(t["model"]) == ["age and sex", "age and sex", "fully adjusted", "fully adjusted"]
    r = C.risk_ratio(obs, "low", C.FULL, method="gee")
    row = t[(t.model == "fully adjusted") & (t.method == C.METHOD_LABELS["gee"])].iloc[0]
    assert row["RR"] == pytest.approx(r["rr"]) and row["95% CI high"] == pytest.approx(r["ci_high"])
    holds, ev = C.rr_verdict(pd.Series({"RR": 1.19, "95% CI low": 0.987, "95% CI high": 1.438, "P": 0.068,
                                        "observations": 391}))
    assert not holds and "the CI includes 1" in ev


def test_trajectories_are_aggregates_of_at_least_ten(whitehall_obs):
    df, obs = whitehall_obs
    ch = C.il6_change(df, obs)
    traj = C.trajectories(df, obs, ch)
    assert (traj["case-observations"] >= 10).all() and set(traj["group"]) <= {"resolved", "still a case"}
    sub = ch[(ch.phase == 3) & (ch.resolved_at_next == 1)]
    base = obs[(obs.phase == 3) & (obs.low == 0)].set_index("stno").loc[sub.stno, "log_il6"]
    row = traj[(traj["from phase"] == 3) & (traj.group == "resolved")].iloc[0]
    assert row["baseline"] == pytest.approx(np.exp(base.mean()))
    assert len(C.trajectories(df, obs, ch, min_cell=10_000)) == 0


# ------------------------------------------------------------------------------------------------ charts
def test_charts_draw_from_tables():
    import matplotlib.pyplot as plt

    fig = charts.null_histogram(np.random.default_rng(1).normal(0, 0.01, 200), 0.49, xlabel="r",
                                observed_label="observed 0.49")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any("off the scale" in t for t in texts)  # a far-off observed value is named, not drawn off-axis
    fig2 = charts.null_histogram(np.arange(20), 10, xlabel="edges", observed_label="obs", integer=True,
                                 expected=9.5, expected_label="exp")
    assert not fig2.axes[0].texts
    rr = pd.DataFrame({"label": ["a", "b"], "RR": [1.1, 1.2], "95% CI low": [1.0, 1.05], "95% CI high": [1.2, 1.3]})
    whole = charts.rr_forest(rr, published=1.15, published_ci=(1.06, 1.25), xlabel="RR")
    # the published band behind the rows it was published for only (07: not the fully adjusted rows)
    part = charts.rr_forest(rr, published=1.15, published_ci=(1.06, 1.25), xlabel="RR", published_rows=[True, False])
    shaded = [c for c in part.axes[0].collections if type(c).__name__ in ("PolyCollection", "FillBetweenPolyCollection")]
    assert len(shaded) == 1 and shaded[0].get_paths()[0].get_extents().y0 > 0.5  # row "a" is drawn at y = 1
    assert not [c for c in whole.axes[0].collections if type(c).__name__ == "FillBetweenPolyCollection"]
    terms = pd.DataFrame({"Term": [f"term {i} " * 20 for i in range(5)], "library": ["GO"] * 5,
                          "fdr": [0.04, 0.001, 0.02, 0.5, 0.01], "P-value": [0.01, 1e-4, 1e-3, 0.2, 1e-3]})
    fig3 = charts.top_terms(terms, top_n=3, fdr_level=0.05, n_genes=10, libraries=["GO"])
    labels = [t.get_text() for t in fig3.axes[0].get_yticklabels()]
    assert labels[-1].startswith("term 1 ")  # sorted by q, most significant at the top
    # two lines at most, each short enough for 9 pt type at the book's width
    assert all(t.count("\n") <= 1 and max(map(len, t.split("\n"))) <= charts.TERM_LINE for t in labels)
    plt.close("all")


def _boxes(fig, texts):
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    return [t.get_window_extent(renderer=r) for t in texts]


def _overlapping(boxes) -> list[tuple[int, int]]:
    return [(i, j) for i in range(len(boxes)) for j in range(i + 1, len(boxes)) if boxes[i].overlaps(boxes[j])]


def test_enrichment_terms_are_legible_and_never_collide():
    """Figure 5 (06_top_terms): real-length term names at >= 9 pt, whole when they fit two lines, and no two
    names overlapping (the row height follows the number of lines)."""
    import matplotlib.pyplot as plt

    names = ["Cellular Response To Oxygen-Containing Compound (GO:1901701)", "cAMP signaling pathway",
             "Autosomal Dominant Juvenile Parkinson Disease (C0752097)", "Gap junction",
             "Anterograde Trans-Synaptic Signaling (GO:0098916)", "Regulation Of Nervous System Process (GO:0031644)"]
    terms = pd.DataFrame({"Term": names * 3, "library": (["GO", "KEGG"] * 9),
                          "fdr": np.linspace(1e-4, 0.04, 18), "P-value": np.linspace(1e-6, 1e-3, 18)})
    fig = charts.top_terms(terms, top_n=18, fdr_level=0.05, n_genes=459, libraries=["GO", "KEGG", "HPO"])
    ax = fig.axes[0]
    ticks = ax.get_yticklabels()
    assert min(t.get_fontsize() for t in ticks) >= 9
    assert {t.get_text().replace("\n", " ") for t in ticks} == set(names)  # whole names, none cut
    assert not _overlapping(_boxes(fig, ticks))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["GO", "KEGG"]  # only libraries shown
    plt.close(fig)


def test_spread_labels_keeps_a_gap_and_stays_near_the_points():
    y = np.array([4.14, 4.48, 6.58, 6.49, 8.08])
    pos = charts.spread_labels(y, 0.5)
    assert np.all(np.diff(np.sort(pos)) >= 0.5 - 1e-12)
    assert np.argsort(pos).tolist() == np.argsort(y, kind="stable").tolist()  # order kept
    assert np.abs(pos - y).max() < 0.5
    far = np.array([1.0, 5.0, 9.0])
    assert np.allclose(charts.spread_labels(far, 0.5), far)  # already apart: left where they are


def test_published_z_vs_p_names_every_point_without_overlap():
    """Notebook 09's figure: the five printed IL-6 associations, two pairs of them almost on top of each other,
    each named at >= 9 pt with no two names overlapping, and no ASCII arrow left in any text."""
    import matplotlib.pyplot as plt

    from il6repro import ledger

    claims = ledger.load_claims()
    fig = charts.published_z_vs_p(claims, claims["W.mr.threshold"].value)
    ax = fig.axes[0]
    names = [t for t in ax.texts if t.get_text()]
    assert len(names) == 5 and min(t.get_fontsize() for t in names) >= 9
    assert not _overlapping(_boxes(fig, names))
    assert {"GMV fusiform gyrus", "cortical thickness superior frontal"} <= {t.get_text() for t in names}
    every = [t.get_text() for t in fig.findobj(plt.Text)]
    assert not [t for t in every if "->" in t]
    plt.close(fig)


def test_volume_slices_say_which_side_is_left():
    """The Harvard-Oxford slices carry L and R on every slice (neurological convention) and the slice's MNI z."""
    import matplotlib.pyplot as plt

    from il6repro.data.tables import load_harvard_oxford

    names = list(load_harvard_oxford()[1]["name"])
    left = next(n for n in names if n.startswith("Left_"))
    fig = brain.plot_volume(brain.volume_map(pd.Series({left: 3.0})), vmax=4, title="IL-6 → GMV", cut_coords=(0, 20))
    texts = [t.get_text() for a in fig.axes for t in a.texts]
    assert texts.count("L") == 2 and texts.count("R") == 2  # one pair per slice
    assert {"z=0", "z=20"} <= set(texts)
    for a in fig.axes:  # L drawn left of R on each slice
        by = {t.get_text(): t.get_position()[0] for t in a.texts if t.get_text() in ("L", "R")}
        if by:
            assert by["L"] < by["R"]
    plt.close(fig)


def test_saved_figure_reports_paths_without_printing_them(tmp_path):
    import matplotlib.pyplot as plt

    from il6repro.figures import save

    fig, ax = plt.subplots()
    ax.plot([0, 1])
    saved = save(fig, "zz_demo", folder=tmp_path, show=False)
    assert saved["png"] == saved.png == tmp_path / "zz_demo.png" and saved._ipython_display_() is None
    assert json.loads(json.dumps(saved.provenance))["figure"] == "zz_demo"


@pytest.mark.parametrize("name, is_p", [("P", True), ("p", True), ("Q_p", True), ("p_spin", True),
                                        ("published P", True), ("twin P", True), ("P implied by z", True),
                                        ("z implied by P", False), ("p_replicate", False), ("z", False)])
def test_p_columns_are_recognised_by_what_they_hold(name, is_p):
    """A column named for P values is formatted as P even if a notebook does not list it; a column of z's
    derived from P ('z implied by P', notebook 02's readings table) is not (it printed '1' and '< 1e-300')."""
    assert report.is_p_name(name) is is_p


def test_readings_table_prints_z_implied_by_p_as_numbers():
    df = pd.DataFrame({"published z": [5.76, -3.59], "published P": [8.39e-9, 3.3e-5],
                       "P implied by z": [8.41e-9, 3.31e-4], "z implied by P": [5.76, -4.15]})
    text = report.table(df, "t-readings", p=["published P", "P implied by z"], formats={"z implied by P": "{:.2f}"},
                        index=False).text
    assert "5.76" in text and "-4.15" in text and "< 1e-300" not in text


def test_booleans_in_object_columns_read_yes_no():
    """Notebook 02's calibration table holds its pass / fail columns as objects (a MultiIndex frame built row by
    row): they printed True / False."""
    df = pd.DataFrame({("passes", "printed p"): pd.Series([True, False], dtype=object),
                       ("passes", "printed z"): [True, None], ("z", "printed p"): [1.25, 2.5]})
    text = report.table(df, "t-objbool").text
    assert "True" not in text and "False" not in text and "yes" in text and "no" in text


def test_equal_means_in_the_trajectory_figure_show_two_markers():
    """Figure 7 of the paper (notebook 08): two groups with the same geometric mean at the next phase drew one
    square over the other; each series is now dodged sideways, so every marker is visible."""
    traj = pd.DataFrame({"from phase": [3, 3, 5, 5], "group": ["resolved", "still a case"] * 2,
                         "baseline": [2.46, 2.62, 2.73, 2.54], "next IL-6 phase": [2.04, 2.37, 2.24, 2.24],
                         "case-observations": [121, 109, 82, 65]})
    fig = charts.il6_trajectories(traj)
    pts = {(round(x, 6), round(y, 6)) for line in fig.axes[0].lines for x, y in line.get_xydata()}
    assert len(pts) == 8  # no two markers at the same place
    lo, hi = fig.axes[0].get_xlim()
    assert lo < -0.1 and hi > 1.1  # the tick labels at 0 and 1 sit inside the axes' span
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_instrument_strength_marks_illustrative_points_and_fields_are_words():
    """01's figure drew the illustrative IL-2 and BDNF effect sizes as if cited, and its provenance table showed
    the raw field list 'eaf;n'."""
    import matplotlib.pyplot as plt

    from il6repro.genetics import plots

    ins = pd.DataFrame({"exposure": ["A", "A", "B"], "beta": [0.1, 0.2, 0.3], "se": [0.01, 0.02, 0.03],
                        "illustrative": ["n", "", "eaf;beta;se"]})
    ax = plots.instrument_strength(ins).axes[0]
    hollow = [c for c in ax.collections if len(c.get_offsets()) and (c.get_facecolor()[:, :3] == 1).all()]
    assert sum(len(c.get_offsets()) for c in hollow) == 1  # B's point only
    assert ax.get_legend() is not None and "illustrative" in ax.get_legend().get_texts()[0].get_text()
    plt.close(ax.figure)
    assert pipeline.field_words("eaf;n") == "allele frequency, N" and pipeline.field_words("") == "none"
    assert pipeline.field_words(float("nan")) == "none"


def test_sensitivity_panels_have_one_legend_off_the_data_and_labelled_units():
    """03_scatter: five panels each with a legend over its points, and an x axis without units."""
    import matplotlib.pyplot as plt

    from il6repro.genetics import plots

    h = pd.DataFrame({"beta_exp": [0.05, -0.08, 0.1], "se_exp": [0.01] * 3, "beta_out": [0.01, -0.02, 0.02],
                      "se_out": [0.01] * 3})
    est = pd.DataFrame({"idp": ["a"] * 3, "method": ["IVW", "MR-Egger", "Weighted median"],
                        "estimate": [0.2, 0.1, 0.2], "intercept": [np.nan, 0.01, np.nan]})
    fig = plots.sensitivity_panels({"a": h, "b": h}, pd.concat([est, est.assign(idp="b")]), {"a": "A"},
                                   units="log CRP per allele")
    axes = fig.axes
    assert [ax.get_legend() is not None for ax in axes] == [False, False, True]  # in the spare third panel
    assert "log CRP per allele" in axes[0].get_xlabel()
    # a reader's review: the IVW and weighted-median lines lay on top of each other in near colours
    styles = {ln.get_label(): ln.get_linestyle() for ln in axes[0].get_lines() if not ln.get_label().startswith("_")}
    assert len(set(styles.values())) == 3, styles
    plt.close(fig)


def test_scan_records_name_the_idp_in_words_then_its_id(scan_run, isolated, monkeypatch):
    """The ledger's notes read 'gmv_L_Middle_Temporal_Gyrus_posterior_division' and 'illustrative fields: eaf;n'."""
    from il6repro import ledger

    monkeypatch.setenv("IL6REPRO_RESULTS_DIR", str(isolated["build"] / "results"))
    monkeypatch.setenv("IL6REPRO_NOTEBOOK", "02_mr_scan")
    scan_run.primary["hemisphere"] = ["L", "L", "L", "L"]
    ins = pd.DataFrame({"exposure": ["IL-6", "BDNF", "CRP"], "snp": ["a", "b", "c"], "illustrative": ["n", "eaf;beta", ""]})
    tg = TARGETS.assign(claim=["W.mr.il6.gmv_mtg", "W.mr.il6.ct_superiorfrontal"])
    pipeline.record_scan(scan_run, tg, ins, "planted_twin", 1.1e-4)
    res = ledger.load_results(isolated["build"] / "results")
    assert res["W.mr.il6.gmv_mtg.z"]["note"].startswith("A (left), GMV (IDP gmv_A); IVW (10 IL6R variants; ")
    assert res["W.mr.il6.gmv_mtg.z"]["note"].endswith("instruments cited; illustrative: N)")
    assert res["W.mr.bdnf.null"]["note"].endswith("illustrative: allele frequency, effect size)")


def test_scan_records_are_unrounded_so_a_z_claims_p_equals_the_p_claim(scan_run, isolated, monkeypatch):
    """The z was recorded rounded to 2 decimals and the P to 3 figures: the z claim's conclusion then read "z 5.18:
    P 2.22e-7" beside the P claim's 2.19e-7 (from z 5.1826). The ledger records what was computed; rules round."""
    from scipy import stats

    from il6repro import ledger

    monkeypatch.setenv("IL6REPRO_RESULTS_DIR", str(isolated["build"] / "results"))
    monkeypatch.setenv("IL6REPRO_NOTEBOOK", "02_mr_scan")
    z = 5.182552597439299
    scan_run.primary.loc[0, ["z", "p"]] = [z, 2 * stats.norm.sf(z)]
    tg = TARGETS.assign(claim=["W.mr.il6.gmv_mtg", "W.mr.il6.ct_superiorfrontal"])
    pipeline.record_scan(scan_run, tg, pd.DataFrame({"exposure": ["IL-6"], "snp": ["a"], "illustrative": [""]}),
                         "planted_twin", 1.1e-4)
    res = ledger.load_results(isolated["build"] / "results")
    assert res["W.mr.il6.gmv_mtg.z"]["value"] == z and res["W.mr.il6.gmv_mtg.p"]["value"] == 2 * stats.norm.sf(z)
    table = ledger.compare(ledger.load_results(isolated["build"] / "results")).set_index("claim")
    assert "z 5.18: P 2.19e-7" in table.loc["W.mr.il6.gmv_mtg.z", "reason"]
    assert "P 2.19e-7" in table.loc["W.mr.il6.gmv_mtg.p", "reason"]


def test_ledger_status_figure_splits_not_reproduced_by_data():
    """09_ledger_status showed one red block while the book's summary split real-data from twin misses."""
    import matplotlib.pyplot as plt

    t = pd.DataFrame({"study": ["W"] * 4, "status": ["not reproduced", "not reproduced", "not reproduced",
                                                     "reproduced on real data"],
                      "kind": ["real_data", "planted_twin", "planted_twin", "real_data"]})
    fig = charts.ledger_status(t, report.STATUS_COLOURS)
    names = [x.get_text() for x in fig.axes[0].get_legend().get_texts()]
    assert "not reproduced (real data)" in names and "not reproduced (twin)" in names
    hatched = [p for p in fig.axes[0].patches if p.get_hatch()]
    assert len(hatched) == 1 and hatched[0].get_width() == 2  # the two twin misses, hatched
    plt.close(fig)
