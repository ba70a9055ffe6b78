"""Methods text is written from the run: parameters and data hashes appear as they were used."""

from __future__ import annotations

import json
from pathlib import Path

from il6repro import methods

ROOT = Path(__file__).resolve().parents[1]


def test_write_appends_the_data_sentence_and_saves_for_the_site(tmp_path, monkeypatch):
    log = tmp_path / "data.jsonl"
    log.write_text(json.dumps({"id": "ahba_dk", "source": "wheel imaging-transcriptomics==1.0.3 (cached)",
                               "sha256": {"gene_expression_data.csv": "350dda8555e3" + "0" * 52}}) + "\n" +
                   json.dumps({"id": "disgenet_gmt", "source": "unavailable", "sha256": {}}) + "\n")
    monkeypatch.setenv("IL6REPRO_DATA_LOG", str(log))
    monkeypatch.setenv("IL6REPRO_METHODS_FILE", str(tmp_path / "m.md"))
    text = methods.mr_sensitivity(n_boot=200, boot_seed=7, egger_distribution="t", ivw_model="random",
                                  n_outcomes=5, n_variants=10)
    shown = methods.write(text, title="MR sensitivity")
    saved = (tmp_path / "m.md").read_text()
    assert saved.startswith("### MR sensitivity\n\n")
    assert "200 parametric bootstrap draws, seed 7" in saved and "inference: t" in saved
    assert "ahba_dk (wheel imaging-transcriptomics==1.0.3; sha256 gene_expression_data.csv 350dda8555e3)" in saved
    assert "disgenet_gmt (unavailable in this run)" in saved
    assert "Methods (written from this run)" in shown.data


def test_templates_follow_their_arguments():
    t = methods.mr_scan(n_tests=1025, n_exposures=5, n_idps=205, alpha=0.05, threshold=0.05 / 1025, m_eff=104.0,
                        ivw_model="fixed", harmonise_action=3, n_dropped=2, correction="fdr")
    assert "Benjamini-Hochberg FDR at 0.05 over the 1,025 tests" in t and "action 3: palindromic variants all dropped" in t
    w = methods.whitehall_cohort(is_twin=False, extract="/data/wh2.csv", n=100, seed=1, case_threshold=4,
                                 resolution="last", il6_cut="2.5", n_obs=50, n_persons=40, age_sex=["age", "female"],
                                 full=["age", "female", "bmi"])
    twin = methods.twin_or_extract(True, "", "Whitehall II", seed=19850101, n=10308)
    assert "(seed = 19850101, n = 10,308)" in twin  # a count thousands separated, a seed as it is typed
    assert "user's extract 'wh2.csv'" in w and "2.5 pg/mL" in w and "GHQ-30 score >= 4" in w and "for age, sex and body-mass index (fully" in w
    assert "for age and sex (age- and sex-adjusted)" in w and "female" not in w
    from il6repro.cohort import FULL, covariate_words
    assert covariate_words(FULL).count("employment grade") == 1 and "grade_2" not in covariate_words(FULL)
    assert covariate_words(["age", "my_own_col"]) == "age and my_own_col"
    a = methods.ahba_mtg(target="middletemporal", hemisphere="left", reference="cortex", rule="z", threshold=1.0,
                         n_genes=300, n_rot=100, spin_seed=3, correlation="spearman")
    assert "at least 1.0 SD above" in a and "100 rotations" in a and "Spearman correlation" in a
    assert "middle temporal region of the Desikan-Killiany atlas" in a and "middletemporal" not in a


def test_every_study_notebook_writes_its_methods():
    for p in sorted((ROOT / "notebooks").glob("0[0-8]_*.ipynb")):
        src = "".join("".join(c["source"]) for c in json.loads(p.read_text())["cells"] if c["cell_type"] == "code")
        assert "methods.write(" in src, p.name


def test_counts_read_in_the_right_number():
    from il6repro.report import counted

    assert counted(1, "linker protein") == "1 linker protein"
    assert counted(0, "variant-outcome pair") == "0 variant-outcome pairs"
    assert counted(66, "IDP has", "IDPs have") == "66 IDPs have" and counted(1.0, "claim") == "1 claim"
    assert "1 linker protein on a path" in methods.coexpression_ppi(
        n_genes=459, n_regions=68, n_perm_coexpression=1000, n_perm_ppi=1000, seed=1, coexp_min_r=0.5,
        string_min_score=0.9, n_in_string=300, max_linkers=1, string_version="STRING")


def test_instruments_are_not_all_called_cited():
    """'35 cited genetic instruments' while IL-2's and BDNF's effect sizes are illustrative."""
    kw = dict(is_twin=True, extract="", n=100, n_gmv=1, n_ct=1, n_instruments=35, exposures=["IL-6", "BDNF"],
              seed=1, calibrate_to="z", pleiotropy_sd=0.0)
    assert "statistics cited;" in methods.ukb_cohort(**kw)
    t = methods.ukb_cohort(**kw, illustrative=["IL-2", "BDNF"])
    assert "35 cited" not in t and "effect sizes of IL-2 and BDNF illustrative" in t
