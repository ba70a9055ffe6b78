"""The UK Biobank twin: deterministic, in the real extract's layout, planted as documented; the loader's errors;
and the acceptance of the default run (the five IL-6 z's near the published ones, nothing for the other four)."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from il6repro.genetics import assoc as A
from il6repro.genetics import scan as S
from il6repro.twins import ukb


def test_twin_is_deterministic_and_keeps_its_truth(tmp_path):
    a = ukb.write(tmp_path / "a", n=400, seed=3)
    b = ukb.write(tmp_path / "b", n=400, seed=3)
    c = ukb.write(tmp_path / "c", n=400, seed=4)
    ja, jb, jc = (json.loads((p / "truth" / "twin.json").read_text()) for p in (a, b, c))
    assert ja["files"] == jb["files"] and ja["files"] != jc["files"]
    t = ukb.truth(a)
    planted = t[t.theta != 0]
    assert len(planted) == 5 and set(planted.exposure) == {"IL-6"}
    assert set(planted.idp) == set(ukb.targets().idp)


def test_extract_layout_matches_a_real_ukb_extract(tmp_path):
    p = ukb.write(tmp_path / "t", n=300, seed=1)
    head = pd.read_csv(p / ukb.PARTICIPANTS, nrows=2)
    assert head.columns[0] == "eid"
    assert {"31-0.0", "21003-2.0", "54-2.0", "25000-2.0", "22009-0.1", "30710-0.0", "25782-2.0",
            "26782-2.0"} <= set(head.columns)
    first = open(p / ukb.RAW).readline().split()
    assert first[:6] == ["FID", "IID", "PAT", "MAT", "SEX", "PHENOTYPE"]
    assert all("(/" in c for c in first[6:])  # plink2 --export A include-alt
    ex = ukb.load(p)
    assert ex.n == 300 and ex.idps.shape[1] == 205 and ex.dosages.shape[1] == len(ukb.instruments())


def test_expected_z_is_planted_at_the_published_value():
    for cal in ("z", "p"):
        t = ukb.planted_effects(20688, cal)
        hits = t[t.claim.astype(str).str.len() > 0]
        assert np.allclose(hits.theta / hits.expected_se, hits.target_z)
    tz = ukb.planted_effects(20688, "z").set_index("idp")
    tp = ukb.planted_effects(20688, "p").set_index("idp")
    itc = "gmv_L_Inferior_Temporal_Gyrus_posterior_division"
    assert tz.loc[(tz.exposure == "IL-6") & (tz.index == itc), "target_z"].item() == 3.38
    assert tp.loc[(tp.exposure == "IL-6") & (tp.index == itc), "target_z"].item() == pytest.approx(3.97, abs=0.01)


def test_planted_effects_are_fixed_across_twin_sizes():
    """theta is calibrated at the published N; a 4x larger twin doubles the expected z (power grows with N)."""
    a = ukb.planted_effects(20688, "z").set_index(["exposure", "idp"])
    b = ukb.planted_effects(4 * 20688, "z").set_index(["exposure", "idp"])
    assert np.allclose(a.theta, b.theta)
    hit = a.theta != 0
    assert np.allclose(b.expected_z[hit], 2 * a.target_z[hit], rtol=1e-12)


def test_unknown_or_bad_twin_parameters_are_refused(tmp_path):
    with pytest.raises(TypeError, match="unknown twin parameter"):
        ukb.simulate(n=200, sample_size=5)
    with pytest.raises(ValueError, match="calibrate_to"):
        ukb.simulate(n=200, calibrate_to="q")
    with pytest.raises(ValueError, match="at least 100"):
        ukb.simulate(n=5)


@pytest.mark.parametrize("seed", [20220101, 1, 2, 3, 4])
def test_design_inputs_are_exact_at_every_seed(seed):
    """N, % female and mean age at recruitment exactly as published (to the printed digit), not 'within 0.5'."""
    tw = ukb.simulate(seed=seed, idps=["ct_L_superiorfrontal"])  # the design does not depend on the IDPs drawn
    part = tw["participants"]
    assert len(part) == 20688
    female = (part["31-0.0"] == 0).sum()
    assert female == round(0.523 * 20688) and round(100 * female / 20688, 1) == 52.3
    age = part["21022-0.0"]
    assert age.dtype.kind == "i" and age.sum() == round(55.5 * 20688) and age.mean() == 55.5
    assert age.between(40, 70).all()
    assert 6.8 < age.std() < 7.4  # SD 7.4 before clipping to 40-70; only roundings near a boundary moved


def test_a_subset_of_idps_is_the_same_draw_as_the_full_twin():
    """Each IDP has a random stream of its own: drawing only some IDPs gives exactly the full twin's columns (what
    makes the over-seeds distributions cheap and still of this twin)."""
    full = ukb.simulate(n=600, seed=5)
    planted = list(ukb.targets().idp)
    sub = ukb.simulate(n=600, seed=5, idps=planted)
    info = ukb.idp_table().set_index("idp")
    cols = [info.loc[i, "column"] for i in planted]
    pd.testing.assert_frame_equal(sub["participants"][cols], full["participants"][cols])
    fixed = [c for c in full["participants"].columns if c not in set(info["column"])]
    pd.testing.assert_frame_equal(sub["participants"][fixed], full["participants"][fixed])
    assert np.array_equal(sub["dosages"], full["dosages"])
    t_full = full["truth"].set_index(["exposure", "idp"]).loc[sub["truth"].set_index(["exposure", "idp"]).index]
    assert np.allclose(sub["truth"]["theta_sd"].to_numpy(), t_full["theta_sd"].to_numpy())
    with pytest.raises(ValueError, match="unknown IDP"):
        ukb.simulate(n=200, idps=["no_such_idp"])


def test_in_memory_extract_equals_the_loaded_files(tmp_path):
    tw = ukb.simulate(n=400, seed=8)
    ex = ukb.load(ukb.write(tmp_path / "t", n=400, seed=8))
    mem = ukb.to_extract(tw)
    pd.testing.assert_frame_equal(mem.covariates, ex.covariates, check_dtype=False)
    pd.testing.assert_frame_equal(mem.idps, ex.idps)
    pd.testing.assert_frame_equal(mem.dosages.astype(float), ex.dosages.astype(float))
    assert mem.variants.astype(str).values.tolist() == ex.variants.astype(str).values.tolist()


@pytest.fixture
def twin_files(tmp_path):
    p = ukb.write(tmp_path / "t", n=200, seed=2)
    return p, pd.read_csv(p / ukb.PARTICIPANTS), open(p / ukb.RAW).read()


def test_missing_covariate_column_is_named(twin_files, tmp_path):
    p, part, _ = twin_files
    part.drop(columns=["25000-2.0"]).to_csv(tmp_path / "x.csv", index=False)
    with pytest.raises(ukb.ExtractError, match=r"head_scaling \(25000-2.0\)"):
        ukb.load(tmp_path / "x.csv", p / ukb.RAW)


def test_duplicated_eid_is_refused(twin_files, tmp_path):
    p, part, _ = twin_files
    pd.concat([part, part.iloc[:1]]).to_csv(tmp_path / "x.csv", index=False)
    with pytest.raises(ukb.ExtractError, match="duplicated eid"):
        ukb.load(tmp_path / "x.csv", p / ukb.RAW)


def test_non_numeric_dosage_is_named(twin_files, tmp_path):
    p, _, raw = twin_files
    lines = raw.splitlines()
    cells = lines[3].split(" ")
    cells[8] = "two"
    lines[3] = " ".join(cells)
    (tmp_path / "bad.raw").write_text("\n".join(lines) + "\n")
    col = lines[0].split(" ")[8]
    with pytest.raises(ukb.ExtractError, match="non-numeric dosage in column " + re.escape(repr(col))):
        ukb.load(p / ukb.PARTICIPANTS, tmp_path / "bad.raw")


def test_raw_without_alt_alleles_needs_an_allele_table(twin_files, tmp_path):
    p, _, raw = twin_files
    head, rest = raw.split("\n", 1)
    plain = " ".join(c.split("(/")[0] for c in head.split(" "))
    (tmp_path / "plain.raw").write_text(plain + "\n" + rest)
    with pytest.raises(ukb.ExtractError, match="include-alt"):
        ukb.load(p / ukb.PARTICIPANTS, tmp_path / "plain.raw")
    var = ukb.load(p).variants
    ex = ukb.load(p / ukb.PARTICIPANTS, tmp_path / "plain.raw", alleles=var[["snp", "alt"]])
    assert ex.variants.astype(str).values.tolist() == var.astype(str).values.tolist()


def test_allele_mismatch_drops_the_variant_with_its_reason(twin_files):
    p, _, _ = twin_files
    ex = ukb.load(p)
    a = A.associate(ex.dosages, ex.idps.iloc[:, :2], A.design_matrix(ex.covariates), variants=ex.variants)
    ins = ukb.instruments()
    bad = ins.copy()
    i = bad.index[bad.snp == "rs4133213"][0]
    bad.loc[i, ["effect_allele", "other_allele"]] = ["G", "A"]  # the real variant is A/C
    res = S.scan(bad[bad.exposure == "IL-6"], a, n_boot=20)
    assert res.dropped.set_index("snp").loc["rs4133213", "reason"] == "incompatible alleles"
    assert (res.primary.n_snp == 9).all()


@pytest.mark.slow
def test_default_run_meets_the_acceptance(tmp_path):
    """Default twin (N = 20,688, default seed): each IL-6 z has the published sign and lies within 2 of it;
    no IL-1, IL-2, CRP or BDNF test reaches P < 1.1e-4."""
    ex = ukb.load(ukb.write(tmp_path / "d"))
    assert ex.n == 20688
    a = A.associate(ex.dosages, ex.idps, A.design_matrix(ex.covariates), variants=ex.variants)
    res = S.scan(ukb.instruments(), a, methods=("ivw",))
    prim = res.primary.set_index(["exposure", "idp"])
    for t in ukb.targets().itertuples():
        z = prim.loc[("IL-6", t.idp), "z"]
        assert np.sign(z) == np.sign(t.z) and abs(z - t.z) <= 2, (t.idp, z, t.z)
    # the estimates sit on the planted effect in the units the standardised analysis estimates (theta_sd),
    # not on theta (residual-SD units, ~15% larger for volumes, whose covariates explain part of the variance)
    tr = ukb.truth(tmp_path / "d").set_index(["exposure", "idp"])
    hit = prim.loc[[("IL-6", i) for i in ukb.targets().idp]]
    dev = (hit["estimate"] - tr.loc[hit.index, "theta_sd"]) / hit["se"]
    assert dev.abs().max() < 3.5, dev
    assert (tr.loc[hit.index, "idp_sd"] > 1).all()
    others = res.primary[res.primary.exposure != "IL-6"]
    assert others["p"].min() >= 1.1e-4
    # and nothing planted-null among the IL-6 tests passes either
    nulls = res.primary[(res.primary.exposure == "IL-6") & ~res.primary.idp.isin(ukb.targets().idp)]
    assert nulls["p"].min() >= 1.1e-4


# ------------------------------------------------------------------ the dosages' binomial draw (twins.ukb._binomial)
FREQS = ukb.instruments()["eaf"].to_numpy(float)


@pytest.mark.parametrize("trials,p,rows", [
    (2, FREQS, 20688), (2, FREQS, 7),  # the twin's draw
    (2, np.r_[FREQS, 1 - FREQS, 0.5, 1.0, 1e-300, 0.999999, np.nextafter(0.5, 1)], 3000),  # p > 0.5: trials - X
    (1, np.r_[0.3, 0.7, 0.5], 2000), (5, np.r_[0.01, 0.2, 0.5, 0.9], 2000), (20, np.r_[0.01, 0.2, 0.5, 0.9], 1000),
    (60, np.r_[0.01, 0.2, 0.4], 500),  # 60 x 0.4 <= 30: inversion; 60 x 0.5 would not be
    (100, np.r_[0.01, 0.2], 300), (40, np.r_[0.9, 0.2], 300),  # BTPE for one column: numpy for all
    (2, np.r_[0.0, 0.3], 100),  # p = 0 draws nothing: numpy
])
def test_binomial_is_numpys_draw_and_leaves_the_generator_where_numpy_does(trials, p, rows):
    """The same integers as ``rng.binomial(trials, p, size=(rows, len(p)))``, and the generator in the same state
    after (the twin's later draws are the same), over seeds."""
    for seed in range(40):
        a, b = np.random.default_rng(seed), np.random.default_rng(seed)
        want = a.binomial(trials, p, size=(rows, len(p))).astype(float)
        got = ukb._binomial(b, trials, p, rows)
        assert got.dtype == want.dtype and np.array_equal(got, want), (seed, trials)
        assert a.bit_generator.state == b.bit_generator.state
        assert np.array_equal(a.random(5), b.random(5))


def test_binomial_lets_numpy_draw_when_an_element_needs_a_second_uniform(monkeypatch):
    """numpy restarts an element past its bound with a new uniform (chance ~1e-16 per element): the draw is then
    numpy's own, from the state the generator had."""
    real = ukb._inversion_counts
    monkeypatch.setattr(ukb, "_inversion_counts", lambda U, n, pc: (real(U, n, pc)[0], True))
    a, b = np.random.default_rng(5), np.random.default_rng(5)
    assert np.array_equal(ukb._binomial(b, 2, FREQS, 1000), a.binomial(2, FREQS, size=(1000, len(FREQS))))
    assert a.bit_generator.state == b.bit_generator.state


@pytest.mark.parametrize("kw", [dict(n=2000, seed=1), dict(n=1500, seed=20220101, pleiotropy_sd=0.5)])
def test_twin_with_the_fast_binomial_is_the_twin_drawn_by_numpy(kw, monkeypatch):
    """The whole twin (tables, dosages, truth) is the one drawn with ``rng.binomial`` itself."""
    fast = ukb.simulate(**kw)
    monkeypatch.setattr(ukb, "_binomial", lambda rng, trials, p, rows: rng.binomial(
        trials, p, size=(rows, len(p))).astype(float))
    ref = ukb.simulate(**kw)
    assert fast.keys() == ref.keys()
    for k in fast:
        if isinstance(fast[k], pd.DataFrame):
            pd.testing.assert_frame_equal(fast[k], ref[k], check_exact=True)
        elif isinstance(fast[k], np.ndarray):
            assert np.array_equal(fast[k], ref[k], equal_nan=True), k


def test_smallest_is_the_head_of_the_stable_argsort():
    """The age adjustment's partial selection: the first m of ``np.argsort(kind="stable")``, ties and infinities
    included."""
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(1, 400))
        x = rng.integers(0, 6, n).astype(float) / 4  # many ties
        x[rng.random(n) < 0.2] = np.inf
        for m in (0, 1, int(rng.integers(0, n + 1)), n - 1, n, n + 3):
            assert np.array_equal(ukb._smallest(x, m), np.argsort(x, kind="stable")[:max(m, 0)]), (n, m)


@pytest.mark.parametrize("content, says", [
    (b"", r"empty\.raw: the file is empty \(0 bytes\); export the table again \(space-separated text with a header "
          r"row, as `plink2 --export A` writes it\)$"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe\x00binary", r"empty\.raw: not text \(a \.bed/\.pgen or compressed file\?\); "
                                                     r"export it as space-separated text"),
    # random bytes decode as latin-1-ish text often enough: pandas called it a tokenizing error (a review)
    (bytes(np.random.default_rng(3).integers(0, 256, 4096, dtype=np.uint8)), r"empty\.raw: not text \(a \.bed/\.pgen"),
])
def test_an_empty_or_binary_raw_is_told_how_a_raw_is_made(twin_files, tmp_path, content, says):
    """A review: an empty or binary .raw was told to be saved as "a comma-separated CSV" (a .raw is space-separated,
    written by plink2)."""
    p, _, _ = twin_files
    (tmp_path / "empty.raw").write_bytes(content)
    with pytest.raises(ukb.ExtractError, match=says) as err:
        ukb.load(p / ukb.PARTICIPANTS, tmp_path / "empty.raw")
    assert "CSV" not in str(err.value)
