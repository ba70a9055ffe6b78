"""Ledger: the claims file holds every number of both abstracts; rules can fail; statuses are honest."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from il6repro import ledger, report
from il6repro.__main__ import main

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT.parent / "shared" / "seeds"


@pytest.fixture
def claims():
    return ledger.load_claims()


def test_claims_cover_the_abstract_numbers(claims):
    values = {c.value for c in claims.values()}
    # study W abstract
    for v in (20688, 52.3, 55.5, 1.1e-4, 5.76, 8.39e-9, 3.38, 7.20e-5, 4.70, 2.60e-7, -3.59, 3.30e-5, -5.11,
              3.22e-7, 6, 5, 42.5):
        assert v in values, v
    # study V abstract
    for v in (2419, 39, 72, 3, 5, 6.5, 1.15, 1.21):
        assert v in values, v
    cis = {c.ci for c in claims.values() if c.ci}
    assert (1.06, 1.25) in cis and (1.03, 1.41) in cis
    nulls = [c for c in claims.values() if c.rule["kind"] == "not_significant"]
    assert {c.id for c in nulls} == {"W.mr.il1.null", "W.mr.il2.null", "W.mr.crp.null", "W.mr.bdnf.null"}


def test_claim_sources_are_quoted_from_the_seeds(claims):
    if not SEEDS.is_dir():
        pytest.skip("seeds not on this machine")
    text = " ".join(p.read_text() for p in SEEDS.glob("*.txt"))
    norm = lambda s: re.sub(r"[^a-z0-9]", "", s.lower())  # noqa: E731 - punctuation/typography differ
    haystack = norm(text.replace("×", "x").replace("−", "-"))
    for c in claims.values():
        quote = c.source.removeprefix("(news summary) ")
        fragment = norm(quote.split("(z =")[0].split("(RR")[0])[:60]
        assert fragment in haystack, f"{c.id}: source sentence not found in the seeds"


@pytest.mark.parametrize("cid, value, ci, ok", [
    ("W.ukb.n", 20688, None, True), ("W.ukb.n", 20687, None, False),
    ("W.ukb.female_pct", 52.3, None, True), ("W.ukb.female_pct", 52.26, None, True),
    ("W.ukb.female_pct", 52.4, None, False), ("W.ukb.mean_age", 55.54, None, True),
    ("W.ukb.mean_age", 55.6, None, False), ("V.followup_mean", 6.5, None, True), ("V.followup_mean", 5.64, None, False),
    ("W.mr.threshold", 1.07e-4, None, True), ("W.mr.threshold", 1.0e-4, None, False),
    ("W.mr.il6.gmv_mtg.z", 4.0, None, True), ("W.mr.il6.gmv_mtg.z", 3.5, None, False),
    ("W.mr.il6.gmv_frontal.z", -2.0, None, True), ("W.mr.il6.gmv_frontal.z", 1.0, None, False),
    ("W.mr.il6.gmv_mtg.p", 1e-7, None, True), ("W.mr.il6.gmv_mtg.p", 1e-4, None, False),
    ("W.mr.crp.null", 0.003, None, True), ("W.mr.crp.null", 1e-5, None, False),
    ("V.rr_low_vs_high.agesex", 1.10, (1.02, 1.19), True), ("V.rr_low_vs_high.agesex", 1.30, None, False),
    ("W.ahba.ppi_il6.p", 0.01, None, True), ("W.ahba.ppi_il6.p", 0.2, None, False),
    ("V.il6_change_with_resolution", -0.2, (-0.3, -0.1), True),
    ("V.il6_change_with_resolution", -0.2, (-0.3, 0.1), False),
    ("V.il6_change_with_resolution", 0.2, (0.1, 0.3), False),
])
def test_rules_pass_and_fail(claims, cid, value, ci, ok):
    passed, reason = ledger.evaluate(claims[cid], value, ci)
    assert passed is ok, reason
    assert reason


def test_every_claim_with_a_conclusion_has_a_conclusion_rule(claims):
    """Significant at the threshold, CI excludes 1, direction, enriched: each such claim carries a second rule."""
    for c in claims.values():
        if c.id.startswith("W.mr.il6.") or c.id.endswith(".null") or c.id.endswith(".q") or c.id.endswith(".p") \
                or c.rule["kind"] in ("within_ci", "sign") and c.study == "V":
            assert c.conclusion is not None, c.id
            assert ledger.conclusion_text(c), c.id
    assert claims["V.rr_repeated"].conclusion["kind"] == "ci_excludes"
    assert claims["W.mr.il6.gmv_itc.z"].conclusion == {"kind": "significant", "threshold": 1.1e-4,
                                                        "text": "significant at the paper's P < 1.1e-4, published sign"}
    for cid in ("W.ukb.n", "V.n_cases", "V.followup_mean", "W.ahba.n_donors", "W.mr.threshold"):
        assert claims[cid].conclusion is None, cid


@pytest.mark.parametrize("cid, value, ci, ok", [
    ("V.rr_repeated", 1.191, (0.987, 1.438), False),  # the case: inside the published CI, CI includes 1
    ("V.rr_repeated", 1.21, (1.03, 1.41), True),
    ("V.rr_low_vs_high.agesex", 0.87, (0.80, 0.95), False),  # CI excludes 1 on the wrong side
    ("W.mr.il6.gmv_itc.z", 3.38, None, False),  # the printed z gives P 7.2e-4, above the paper's 1.1e-4
    ("W.mr.il6.gmv_itc.z", 4.0, None, True), ("W.mr.il6.gmv_frontal.z", 4.0, None, False),  # sign
    ("W.mr.il6.gmv_itc.p", 7.2e-5, None, True), ("W.mr.il6.gmv_itc.p", 7.2e-4, None, False),
    ("W.ahba.enrich_asd.q", 0.37, None, False), ("W.mr.crp.null", 0.003, None, True),
    ("V.il6_change_with_resolution", -0.2, (-0.3, -0.1), True),
])
def test_conclusion_rules_pass_and_fail(claims, cid, value, ci, ok):
    held, reason = ledger.evaluate_conclusion(claims[cid], value, ci)
    assert held is ok, reason
    assert reason


def test_both_verdicts_and_the_status_need_both(isolated, monkeypatch):
    monkeypatch.setenv("IL6REPRO_RESULTS_DIR", str(isolated["build"] / "results"))
    monkeypatch.setenv("IL6REPRO_NOTEBOOK", "99_test")
    ledger.record("V.rr_repeated", 1.191, ci=(0.987, 1.438), kind="planted_twin")
    ledger.record("W.mr.il6.gmv_mtg.z", 6.0, ci=(4.04, 7.96), kind="planted_twin")
    t = ledger.compare().set_index("claim")
    r = t.loc["V.rr_repeated"]
    assert (r.value_verdict, r.conclusion_verdict, r.status) == ("yes", "does not hold", ledger.NOT_REPRODUCED)
    assert "CI 0.987-1.44 includes 1" in r.reason
    m = t.loc["W.mr.il6.gmv_mtg.z"]
    assert (m.value_verdict, m.conclusion_verdict, m.status) == ("yes", "holds", "recovered from a planted twin")
    assert t.loc["W.ukb.n", "conclusion_verdict"] == ""


def test_exact_binomial_ci():
    # R 4.2.2 binom.test(k, n)$conf.int (Clopper-Pearson): 0/10 -> 0-0.3084971078; 160/200 -> 0.7377736354-0.8531055118
    lo, hi = ledger.exact_ci(0, 10)
    assert lo == 0 and hi == pytest.approx(0.3084971078, abs=1e-9)
    lo, hi = ledger.exact_ci(160, 200)
    assert lo == pytest.approx(0.7377736354, abs=1e-9) and hi == pytest.approx(0.8531055118, abs=1e-9)


def test_twin_claims_are_judged_over_seeds(isolated, monkeypatch):
    """One unlucky draw does not decide; the distribution does, with the draw shown as such, and a conclusion the
    twin shows in too few seeds fails with its power beside it."""
    monkeypatch.setenv("IL6REPRO_RESULTS_DIR", str(isolated["build"] / "results"))
    monkeypatch.setenv("IL6REPRO_NOTEBOOK", "99_test")
    twin = {"n": 20688, "calibrate_to": "z"}
    ledger.record("W.mr.il6.gmv_mtg.p", 2.2e-11, kind="planted_twin", extra={"setup": twin})  # z 6.69: P fails
    ledger.record("V.rr_repeated", 1.191, ci=(0.987, 1.438), kind="planted_twin")
    rng = __import__("numpy").random.default_rng(1)
    z = 5.76 + rng.normal(0, 1, 200)
    from scipy import stats

    p = 2 * stats.norm.sf(abs(z))
    ledger.record_distribution("W.mr.il6.gmv_mtg.p", ledger.distribution("W.mr.il6.gmv_mtg.p", p, seeds=range(1, 201),
                                                                          params=twin))
    rr = 1.21 * __import__("numpy").exp(rng.normal(0, 0.09, 200))
    cis = [(x * 0.84, x * 1.19) for x in rr]
    ledger.record_distribution("V.rr_repeated", ledger.distribution("V.rr_repeated", rr, cis, seeds=range(1, 201)))
    t = ledger.compare().set_index("claim")
    m = t.loc["W.mr.il6.gmv_mtg.p"]
    assert m.status == "recovered from a planted twin" and m.value_verdict == "yes"
    assert "this run's draw" in m.reason and "outside" not in m.reason and m.power > 0.9
    assert m.over_seeds.startswith("median ")
    assert m.n_seeds == 200 and m.seeds_median == pytest.approx(float(__import__("numpy").median(p)))
    r = t.loc["V.rr_repeated"]
    assert r.status == ledger.NOT_REPRODUCED and r.conclusion_verdict.startswith("holds in only ")
    assert 0.3 < r.power < 0.8 and "seeds (exact 95% CI" in r.reason
    assert m.conclusion_verdict.startswith("holds in ") and "only" not in m.conclusion_verdict
    # a distribution of another twin is not used for this run
    ledger.record("W.mr.il6.gmv_mtg.p", 2.2e-11, kind="planted_twin", extra={"setup": dict(twin, n=10000)})
    m = ledger.compare().set_index("claim").loc["W.mr.il6.gmv_mtg.p"]
    assert m.status == ledger.NOT_REPRODUCED and "not used: drawn with other parameters (n)" in m.reason


def test_record_rejects_unknown_claim_and_kind(isolated):
    with pytest.raises(ledger.LedgerError, match="unknown claim id"):
        ledger.record("W.no.such", 1.0, kind="real_data")
    with pytest.raises(ledger.LedgerError, match="kind must be one of"):
        ledger.record("W.ukb.n", 1.0, kind="made_up")
    with pytest.raises(ledger.LedgerError, match="exceeds upper"):
        ledger.record("V.rr_repeated", 1.2, ci=(1.3, 1.1), kind="planted_twin")


def test_statuses_say_where_a_number_came_from(isolated, monkeypatch):
    res = isolated["build"] / "results"
    monkeypatch.setenv("IL6REPRO_RESULTS_DIR", str(res))
    monkeypatch.setenv("IL6REPRO_NOTEBOOK", "99_test")
    ledger.record("W.ahba.n_donors", 6, kind="real_data")
    ledger.record("V.rr_repeated", 1.19, ci=(1.02, 1.39), kind="planted_twin")
    ledger.record("W.ukb.n", 20688, kind="design_input")
    ledger.record("V.rr_low_vs_high.agesex", 0.95, ci=(0.88, 1.03), kind="planted_twin")
    table = ledger.compare().set_index("claim")
    assert table.loc["W.ahba.n_donors", "status"] == "reproduced on real data"
    assert table.loc["V.rr_repeated", "status"] == "recovered from a planted twin"
    assert table.loc["W.ukb.n", "status"] == "set by design (twin input)"
    assert table.loc["V.rr_low_vs_high.agesex", "status"] == "not reproduced"
    assert table.loc["V.followup_mean", "status"] == "not yet attempted"
    data = json.loads((res / "99_test.json").read_text())
    assert set(data["records"]) == {"W.ahba.n_donors", "V.rr_repeated", "W.ukb.n", "V.rr_low_vs_high.agesex"}


def _baseline(tmp_path, statuses):
    import yaml

    claims = {cid: {"status": statuses.get(cid, ledger.NOT_ATTEMPTED)} for cid in ledger.load_claims()}
    path = tmp_path / "baseline.yaml"
    path.write_text(yaml.safe_dump({"claims": claims}))
    return str(path)


def test_ledger_check_fails_on_regressions_only(isolated, monkeypatch, capsys, tmp_path):
    res = isolated["build"] / "results"
    monkeypatch.setenv("IL6REPRO_RESULTS_DIR", str(res))
    monkeypatch.setenv("IL6REPRO_NOTEBOOK", "99_test")
    base = _baseline(tmp_path, {"W.ahba.n_donors": "reproduced on real data", "W.ahba.n_male": "reproduced on real data",
                                "V.n_cases": ledger.NOT_REPRODUCED})
    ledger.record("W.ahba.n_donors", 6, kind="real_data")
    ledger.record("W.ahba.n_male", 5, kind="real_data")
    ledger.record("V.n_cases", 2400, kind="design_input")  # accepted as not reproduced: no failure
    assert main(["ledger", "--check", "--baseline", base, "--csv", str(tmp_path / "l.csv")]) == 0
    assert (tmp_path / "l.csv").read_text().startswith("claim,")
    ledger.record("V.n_cases", 2419, kind="design_input")  # an improvement is reported, not a failure
    assert main(["ledger", "--check", "--baseline", base]) == 0
    assert "improved: V.n_cases" in capsys.readouterr().out
    ledger.record("W.ahba.n_male", 4, kind="real_data")  # a passing claim now fails: regression
    assert main(["ledger", "--check", "--baseline", base]) == 1
    err = capsys.readouterr().err
    assert "W.ahba.n_male: was 'reproduced on real data', now 'not reproduced'" in err
    ledger.record("W.ahba.n_male", 5, kind="planted_twin")  # same value, weaker evidence: also a regression
    assert main(["ledger", "--check", "--baseline", base]) == 1
    assert "now 'recovered from a planted twin'" in capsys.readouterr().err
    ledger.record("W.ahba.n_male", 5, kind="real_data")
    ledger.record("W.ahba.mean_age", 10.0, kind="real_data")  # newly recorded and failing
    assert main(["ledger", "--check", "--baseline", base]) == 1
    assert "W.ahba.mean_age: newly recorded and not reproduced" in capsys.readouterr().err
    assert main(["ledger", "--check", "--baseline", str(tmp_path / "none.yaml")]) == 2


def test_baseline_roundtrip_keeps_reasons(isolated, monkeypatch, tmp_path):
    monkeypatch.setenv("IL6REPRO_RESULTS_DIR", str(isolated["build"] / "results"))
    monkeypatch.setenv("IL6REPRO_NOTEBOOK", "99_test")
    ledger.record("V.n_cases", 2400, kind="design_input")
    path = tmp_path / "b.yaml"
    ledger.write_baseline(ledger.compare(), path)
    assert "2,400 differs from 2,419" in path.read_text()
    path.write_text(path.read_text().replace("2,400 differs from 2,419", "drawn, not fixed"))
    ledger.write_baseline(ledger.compare(), path)  # unchanged status: the hand-written reason survives
    b = ledger.load_baseline(path)
    assert b["V.n_cases"] == {"status": ledger.NOT_REPRODUCED, "why": "drawn, not fixed"}
    regressions, _ = ledger.check_against_baseline(ledger.compare(), b)
    assert regressions == []


def test_committed_baseline_accepts_failures_only_with_a_reason():
    b = ledger.load_baseline()
    assert set(b) == set(ledger.load_claims())
    for cid, entry in b.items():
        if entry["status"] == ledger.NOT_REPRODUCED:
            assert len(entry.get("why", "")) > 40, cid


def test_results_with_unknown_claim_are_an_error(isolated):
    with pytest.raises(ledger.LedgerError, match="unknown claim"):
        ledger.compare(results={"W.bogus": {"value": 1, "kind": "real_data"}})


def test_consistency_checks_find_the_tenfold_p_values():
    checks = ledger.consistency_checks()
    pz = checks[checks["check"].str.contains("P from z")]
    assert len(pz) == 5
    off = pz[pz["verdict"].str.contains("10.")]
    names = sorted(off["check"].str.extract(r"GMV ([a-z ]+):")[0])
    assert names == ["frontal cortex", "fusiform gyrus", "inferior temporal cortex"]
    assert (pz[~pz.index.isin(off.index)]["verdict"] == "consistent").all()
    bonf = checks[checks["check"].str.startswith("Bonferroni")].iloc[0]
    assert bonf["ratio_or_gap"] == pytest.approx(454.5, abs=0.1)
    assert bonf["published"] == "1.1e-4"  # as the claims tables write it, not 0.00011
    assert not checks["check"].str.contains("->").any() and pz["check"].str.startswith("IL-6 → ").all()
    rr = checks[checks["check"].str.contains("RR vs CI")]
    assert len(rr) == 2 and (rr["verdict"] == "consistent").all()


def test_consistency_check_flags_an_inconsistent_ci():
    claims = ledger.load_claims()
    c = claims["V.rr_repeated"]
    claims["V.rr_repeated"] = ledger.Claim(c.id, c.study, c.quantity, c.source, 1.35, c.ci, c.rule, c.notebook)
    checks = ledger.consistency_checks(claims)
    row = checks[checks["check"].str.contains("repeated")].iloc[0]
    assert row["verdict"].startswith("RR off the CI's log-midpoint")


def test_claims_skipped_for_unavailable_data_are_not_regressions(isolated, monkeypatch, tmp_path, capsys):
    """Without the mirror, notebook 06 cannot test the disease libraries: that is the environment, not a regression."""
    base = _baseline(tmp_path, {"W.ahba.enrich_scz.q": "reproduced on real data",
                                "W.ahba.enrich_asd.q": ledger.NOT_REPRODUCED})
    table = ledger.compare(results={})
    regressions, notes = ledger.check_against_baseline(table, ledger.load_baseline(base), {"06": ["disgenet_gmt"]})
    assert regressions == [] and len(notes) == 2 and "ran without disgenet_gmt" in notes[0]
    regressions, _ = ledger.check_against_baseline(table, ledger.load_baseline(base), {})
    assert len(regressions) == 2
    receipts = isolated["build"] / "receipts"
    receipts.mkdir(parents=True)
    (receipts / "06_enrichment.json").write_text(json.dumps({"datasets_unavailable": {"disgenet_gmt": "unavailable"}}))
    assert ledger.unavailable_data() == {"06": ["disgenet_gmt"]}
    assert main(["ledger", "--check", "--baseline", base]) == 0
    assert "note: W.ahba.enrich_scz.q: not checked" in capsys.readouterr().out


def test_claims_of_a_notebook_without_its_dataset_read_not_checked(isolated):
    """Notebook 09 and every claims table say 'not checked' (naming the dataset), as the book does, where a
    notebook ran without a dataset; claims of other notebooks stay 'not yet attempted'."""
    from il6repro import report

    receipts = isolated["build"] / "receipts"
    receipts.mkdir(parents=True)
    (receipts / "06_enrichment.json").write_text(json.dumps({"datasets_unavailable": {"disgenet_gmt": "no source"}}))
    table = ledger.with_display_status(ledger.compare(results={}))
    row = table.set_index("claim").loc["W.ahba.enrich_scz.q"]
    assert row["status"] == "not checked" and row["reason"] == "not checked: 06 ran without DisGeNET disease gene sets"
    assert table.set_index("claim").loc["W.ukb.n", "status"] == ledger.NOT_ATTEMPTED
    assert report.claims_rows(["W.ahba.enrich_scz.q"], {}).loc[0, "status"] == "not checked"
    assert ledger.compare(results={}).set_index("claim").loc["W.ahba.enrich_scz.q", "status"] == ledger.NOT_ATTEMPTED


def test_reasons_write_exponents_as_the_report_does(isolated, monkeypatch):
    """'4.9e-05 rounds to 4.9e-05' and 'P = 8.39e-09' sat beside '4.9 x 10^-5' and '8.39e-9' elsewhere."""
    assert report.short_exponents("4.9e-05 rounds to 4.9e-05 (!= 0.00011); 1e+06; 1e-10") == (
        "4.9e-5 rounds to 4.9e-5 (!= 0.00011); 1e+6; 1e-10")
    assert not ledger.consistency_checks()[["published", "implied"]].stack().str.contains(r"e-0\d").any()
    monkeypatch.setenv("IL6REPRO_RESULTS_DIR", str(isolated["build"] / "results"))
    monkeypatch.setenv("IL6REPRO_NOTEBOOK", "02_mr_scan")
    ledger.record("W.mr.threshold", 4.9e-05, kind="real_data")
    reason = ledger.compare().set_index("claim").loc["W.mr.threshold", "reason"]
    assert "4.9e-5" in reason and "e-05" not in reason


def test_counts_in_reasons_and_notes_are_thousands_separated(isolated, monkeypatch):
    """Running text of the ledger: a median over seeds of 2,419 read '2.42e+03', and notebook 05's notes 'in 1000
    expression-matched random sets'; P values and small numbers keep their three significant figures."""
    import numpy as np

    from il6repro import transcriptomics as tx

    assert ledger._fmt(2419.0) == "2,419" and ledger._fmt(1.1462) == "1.15" and ledger._fmt(0.000123) == "0.000123"
    monkeypatch.setenv("IL6REPRO_RESULTS_DIR", str(isolated["build"] / "results"))
    monkeypatch.setenv("IL6REPRO_NOTEBOOK", "05_coexpression_ppi")
    tight = tx.TightnessResult(observed=0.486, null=np.full(1000, 0.009), p=1 / 1001, n_genes=1459, n_regions=34)
    tx.record_coexpression(tight, rule={"rule": "fold", "threshold": 1.2, "reference": "cortex"}, n_perm=1000,
                           hemisphere="left")
    note = ledger.load_results(isolated["build"] / "results")["W.ahba.mtg_coexpression.p"]["note"]
    assert note.startswith("1,459 MTG genes") and "in 1,000 expression-matched random sets" in note
    # a P at the permutation floor is read as a bound, and the near-circularity of the test is said (review, stop 29)
    assert "P at the floor of 1,000 permutations (1 / 1,001): read as P < 0.001" in note and "circular" in note


def test_an_fdr_claim_reads_q_not_p():
    """The ledger said 'P < 0.05' and 'P 0.498 >= 0.05' for the enrichment claims, whose number is an FDR q."""
    from il6repro import report
    from il6repro.site import rule_text

    claims = ledger.load_claims()
    c = claims["W.ahba.enrich_cognition.q"]
    assert rule_text(c.rule) == "q < 0.05"
    assert ledger.evaluate(c, 0.498, None) == (False, "q 0.498 >= 0.05")
    assert report.published_text(c) == "enriched (read as q < 0.05)"
    p = claims["W.ahba.ppi_il6.p"]  # a P stays a P
    assert rule_text(p.rule) == "P < 0.05" and ledger.evaluate(p, 0.01, None)[1] == "P 0.01 < 0.05"


def test_a_twin_reason_does_not_repeat_the_draw_when_the_rule_is_the_conclusion():
    """The ledger read 'this run's draw: estimate -0.082, sign as expected, CI includes 0; conclusion estimate
    -0.082, sign as expected, ...' for the direction-only claim, whose rule is its conclusion."""
    import numpy as np

    cid = "V.il6_change_with_resolution"
    res = {cid: {"value": -0.082, "ci": [-0.184, 0.019], "kind": "planted_twin"}}
    d = -0.2 + 0.05 * np.random.default_rng(1).standard_normal(200)
    dist = {cid: ledger.distribution(cid, d, [(x - 0.1, x + 0.1) for x in d], seeds=range(1, 201))}
    reason = ledger.compare(results=res, distributions=dist).set_index("claim").loc[cid, "reason"]
    assert reason.count("-0.082") == 1 and "this run's draw: estimate -0.082" in reason


def test_a_rounded_threshold_reads_as_one_number_in_one_form():
    """Notebook 02 showed the threshold as 4.90e-5 in its claims table (recorded pre-rounded to 2 s.f., printed at
    3), 4.88e-5 in its conclusion and '4.9e-5 rounds to 4.9e-5 (!= 0.00011)' in the check: the ledger records the
    number as computed and its rule rounds it, every number of the check in the same exponent form."""
    claim = ledger.load_claims()["W.mr.threshold"]
    ok, reason = ledger.evaluate(claim, 0.05 / 1025, None)
    assert not ok and reason == "4.878e-5 rounds to 4.9e-5 (!= 1.1e-4)"
    ok, reason = ledger.evaluate(claim, 1.07e-4, None)
    assert ok and reason == "1.07e-4 rounds to 1.1e-4 (= 1.1e-4)"
    assert ledger._sig(53.46, 3) == "53.5" and ledger._sig(2.5e6, 2) == "2.5e+6"
    assert report.published_text(claim) == "1.1e-4"  # the paper's figures, not 1.10e-4
    claims = ledger.load_claims()
    assert report.published_text(claims["W.mr.il6.gmv_itc.p"]) == "7.2e-5"  # as printed, not 7.20e-5
    assert report.published_text(claims["W.mr.il6.gmv_mtg.p"]) == "8.39e-9"
    assert report.published_text(claims["W.mr.crp.null"]) == "not significant (every P ≥ 1.1e-4)"
    # a reader's review: the fully adjusted RR read "published 1.15 (1.06-1.25)", a number the abstract never gave
    full = claims["V.rr_low_vs_high.full"]
    from il6repro.site import claim_display

    assert report.published_text(full) == claim_display(full, {})[0] == "“little effect” (no number)"
    assert full.value == 1.15 and full.ci == (1.06, 1.25)  # still the rule's reference


def test_reasons_read_as_text_for_people(isolated, monkeypatch):
    """The ledger's reasons wrote 'P 0.0004 >= 0.00011' beside tables writing 4.00e-4 and 1.1e-4: P values as the
    tables write them, thresholds at the paper's figures, comparisons as symbols."""
    claim = ledger.load_claims()["W.mr.il6.gmv_itc.z"]  # conclusion: significant at P < 1.1e-4
    ok, text = ledger.evaluate_conclusion(claim, 3.5, None)
    assert not ok and text == "z 3.50: P 4.65e-4 >= 1.1e-4, sign as published"
    monkeypatch.setenv("IL6REPRO_RESULTS_DIR", str(isolated["build"] / "results"))
    monkeypatch.setenv("IL6REPRO_NOTEBOOK", "02_mr_scan")
    ledger.record("W.mr.threshold", 0.05 / 1025, kind="real_data")
    reason = ledger.compare().set_index("claim").loc["W.mr.threshold", "reason"]
    assert reason == "4.878e-5 rounds to 4.9e-5 (≠ 1.1e-4)"
    assert report.math_symbols("min_size>=5; P 0.5 >= 0.05") == "min_size>=5; P 0.5 ≥ 0.05"


def test_a_withheld_extreme_keeps_its_verdict_and_not_its_value(isolated, monkeypatch):
    """A real extract's youngest/oldest age is one participant's unless >= 10 share it: the record keeps only
    whether it matches the paper, and neither the results file nor any table shows the age."""
    import numpy as np
    import pandas as pd

    from il6repro import cohort

    res = isolated["build"] / "results"
    monkeypatch.setenv("IL6REPRO_RESULTS_DIR", str(res))
    monkeypatch.setenv("IL6REPRO_NOTEBOOK", "99_test")
    rng = np.random.default_rng(1)
    # ages 45-64 with 30 participants each, plus one participant aged 39 (matches the paper) and one aged 77
    ages = np.r_[np.repeat(np.arange(45, 65), 30) + rng.uniform(0, 0.9, 600), 39.4, 77.2]
    obs = pd.DataFrame({"stno": np.arange(len(ages)), "age": ages, "followup_years": 5.0})
    cohort.record_design(obs, is_twin=False, resolution="previous", n_il6_phases=3, n_ghq_phases=5)
    raw = (res / "99_test.json").read_text()
    recs = json.loads(raw)["records"]
    assert recs["V.age_min"]["value"] is None and recs["V.age_max"]["value"] is None
    assert "39" not in raw and "77" not in raw
    table = ledger.compare().set_index("claim")
    assert table.loc["V.age_min", "status"] == "reproduced on real data"
    assert table.loc["V.age_max", "status"] == "not reproduced"
    assert "withheld" in table.loc["V.age_max", "reason"] and "77" not in table.loc["V.age_max", "reason"]
    rows = report.claims_rows(["V.age_min", "V.age_max"]).set_index("claim")
    assert list(rows["reproduced"]) == ["withheld", "withheld"] and "77" not in rows.to_string()
    assert cohort.age_span(obs) == "aged 45-64 (5th-95th percentile, whole years)"
    # the same ages shared by 10 or more participants are shown and judged as values
    crowd = pd.DataFrame({"stno": np.arange(640), "age": np.r_[ages[:600], np.full(20, 39.5), np.full(20, 72.1)],
                          "followup_years": 5.0})
    cohort.record_design(crowd, is_twin=False, resolution="previous", n_il6_phases=3, n_ghq_phases=5)
    table = ledger.compare().set_index("claim")
    assert table.loc["V.age_min", "reproduced"] == 39 and table.loc["V.age_max", "reproduced"] == 72
    assert cohort.age_span(crowd) == "aged 39-72 (whole years)"
