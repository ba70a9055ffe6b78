"""OpenGWAS ubm-b source, offline: a local stub server serves hand-made answers in the API's JSON shape
(``tests/fixtures/opengwas``); every failure class of the API has a test, and fixtures are never real data."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from il6repro import ledger
from il6repro.data import opengwas as og
from il6repro.data import read_data_log
from il6repro.genetics import harmonise, scan
from il6repro.twins import ukb
from opengwas_stub import FIXTURES, Stub, make_token

ROOT = Path(__file__).resolve().parents[1]
TARGET_IDPS = ukb.targets()["idp"].tolist()  # the five findings' IDPs: ubm-b-48, -54, -102, -74, -1047


@pytest.fixture
def env(tmp_path, monkeypatch, httpserver):
    """Isolated cache and data log, a valid token, and the stub API."""
    monkeypatch.setenv("IL6REPRO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("IL6REPRO_DATA_LOG", str(tmp_path / "data.jsonl"))
    monkeypatch.delenv("OPENGWAS_API_URL", raising=False)
    monkeypatch.setenv("OPENGWAS_JWT_FILE", str(tmp_path / "no_token_file"))
    token = make_token(exp=time.time() + 86400)
    monkeypatch.setenv("OPENGWAS_JWT", token)
    stub = Stub(httpserver, token)
    sleeps: list[float] = []
    return {"stub": stub, "token": token, "sleeps": sleeps, "tmp": tmp_path, "monkeypatch": monkeypatch,
            "open": lambda ins, **kw: og.open_outcomes(ins, **{"idps": TARGET_IDPS, "base_url": stub.url,
                                                                "progress": False, "sleep": sleeps.append, **kw})}


def il6():
    ins = ukb.instruments()
    return ins[ins.exposure == "IL-6"]


def cache_entries(tmp):
    return sorted(p.parent for p in (tmp / "cache" / "opengwas").glob("*/*/meta.json"))


# ------------------------------------------------------------------------------------------ batching
def test_batches_stay_within_64_pairs_cover_every_pair_once_and_are_fewest():
    rsids = [f"rs{i}" for i in range(35)]
    ids = [f"ubm-b-{i}" for i in range(205)]
    plan = og.plan_batches(rsids, ids)
    assert all(len(r) * len(i) <= og.MAX_PAIRS for r, i in plan)
    pairs = [(a, b) for r, i in plan for a in r for b in i]
    assert len(pairs) == len(set(pairs)) == 35 * 205
    # no split of the form (v variants x i ids) needs fewer requests
    best = min(-(-35 // v) * -(-205 // min(205, 64 // v)) for v in range(1, 36))
    assert len(plan) == best == 115
    assert og.plan_batches(["rs1"], ["a-b-1"]) == [(["rs1"], ["a-b-1"])]
    assert og.allowance_cost(9, 7, proxies=False) == 45 and og.allowance_cost(9, 7, proxies=True) == 9


# ------------------------------------------------------------------------------------------ tokens
def test_no_token_one_clear_line_and_no_request(env, monkeypatch):
    monkeypatch.delenv("OPENGWAS_JWT")
    with pytest.raises(og.TokenError) as exc:
        env["open"](il6())
    msg = str(exc.value)
    assert "\n" not in msg and "OPENGWAS_JWT" in msg and og.TOKEN_URL in msg
    assert env["stub"].requests == [] and cache_entries(env["tmp"]) == []


def test_token_from_a_file(env, monkeypatch):
    monkeypatch.delenv("OPENGWAS_JWT")
    (env["tmp"] / "tok").write_text(env["token"] + "\n")
    monkeypatch.setenv("OPENGWAS_JWT_FILE", str(env["tmp"] / "tok"))
    assert og.read_token() == env["token"]
    assert len(env["open"](il6()).assoc) > 0


def test_expired_token_is_caught_before_any_request(env, monkeypatch):
    monkeypatch.setenv("OPENGWAS_JWT", make_token(exp=time.time() - 3600))
    with pytest.raises(og.TokenError, match="expired on .* UTC"):
        env["open"](il6())
    assert env["stub"].requests == []


def test_token_the_server_rejects_401(env):
    env["stub"].fail(401)  # e.g. a token regenerated elsewhere: the server says "Please generate a new token."
    with pytest.raises(og.TokenError) as exc:
        env["open"](il6())
    assert "HTTP 401: Please generate a new token." in str(exc.value) and env["token"] not in str(exc.value)
    assert env["sleeps"] == [] and cache_entries(env["tmp"]) == []


def test_wrong_token_401_from_the_auth_check(env):
    with pytest.raises(og.TokenError, match="Invalid JWT header or payload"):
        env["open"](il6(), token=make_token(exp=time.time() + 60, sub="someone@else.org"))


# ------------------------------------------------------------------------------------------ retries
def test_rate_limit_429_is_waited_out_then_succeeds(env):
    env["stub"].fail(429, retry_after=2)
    out = env["open"](il6())
    assert env["sleeps"] == [2.0]  # exactly the server's Retry-After
    assert out.n_requests == len(env["stub"].requests) + 1  # + GET status
    assert len(out.assoc) == 5 * 4


def test_server_errors_back_off_exponentially(env):
    env["stub"].fail(503, times=3)
    out = env["open"](il6())
    assert env["sleeps"] == [1.0, 2.0, 4.0]
    assert len(out.assoc) == 20


def test_429_longer_than_we_wait_stops_with_the_reset_time(env):
    env["stub"].fail(429, retry_after=3600)
    with pytest.raises(og.RateLimitError, match="resets in about 60 min"):
        env["open"](il6())
    assert env["sleeps"] == [] and cache_entries(env["tmp"]) == []


def test_partial_failure_caches_nothing(env):
    ins = ukb.instruments()  # 35 variants x 5 ids: several requests
    stub = env["stub"]
    stub.failures = []
    # the first request succeeds, then the server fails for good (5 tries)
    orig = stub._assoc

    def flaky(request, calls=[0]):  # noqa: B006 - a counter
        calls[0] += 1
        if calls[0] >= 2:
            return stub._json({"message": "Unable to retrieve associations."}, 503)
        return orig(request)

    stub.server.clear()
    stub.server.expect_request("/associations", method="POST").respond_with_handler(flaky)
    stub.server.expect_request("/status", method="GET").respond_with_handler(stub._status)
    with pytest.raises(og.OpenGWASError, match="did not answer after 5 tries"):
        env["open"](ins)
    root = env["tmp"] / "cache" / "opengwas"
    assert cache_entries(env["tmp"]) == []
    assert not list(root.rglob("*.json"))  # no half-written entry, no temporary folder left
    # once the server is back, the same query is fetched whole and cached
    stub.server.clear()
    Stub(stub.server, env["token"])
    assert len(env["open"](ins).assoc) > 0 and len(cache_entries(env["tmp"])) == 1


def test_malformed_answer_is_an_error_and_caches_nothing(env):
    env["stub"].server.clear()
    env["stub"].server.expect_request("/associations", method="POST").respond_with_json({"message": "ok"})
    env["stub"].server.expect_request("/status", method="GET").respond_with_json({"API version": "x"})
    with pytest.raises(og.OpenGWASError, match="not a list of associations"):
        env["open"](il6())
    assert cache_entries(env["tmp"]) == []


def test_no_network_is_one_line_after_the_retries(env):
    with pytest.raises(og.OpenGWASError) as exc:
        env["open"](il6(), base_url="http://127.0.0.1:9/")  # nothing listens on the discard port
    assert "cannot reach http://127.0.0.1:9/" in str(exc.value) and "\n" not in str(exc.value)
    assert env["sleeps"] == [1.0, 2.0, 4.0, 8.0]


# ------------------------------------------------------------------------------------------ caching
def test_second_call_reads_the_cache_and_makes_no_request(env, monkeypatch):
    first = env["open"](il6())
    n = len(env["stub"].requests)
    assert first.n_requests == n + 1 and n >= 2  # status + pass 1 + LD-proxy pass
    monkeypatch.delenv("OPENGWAS_JWT")  # the cache needs no token
    second = env["open"](il6())
    assert len(env["stub"].requests) == n and second.n_requests == 0
    pd.testing.assert_frame_equal(first.assoc, second.assoc)
    assert second.sha256 == first.sha256 and second.api_version == "fixture-1"
    # the bytes' digest reaches the data log (hence the receipt), under the live dataset's id
    log = read_data_log(env["tmp"] / "data.jsonl")
    assert [r["id"] for r in log] == [og.DATASET_ID] * 2
    assert log[0]["sha256"] == {"responses": first.sha256} and log[0]["source"].startswith("fixture http://")
    # meta.json holds each response's sha256; a changed byte makes the entry unusable (fetched again)
    meta = json.loads((first.cache_path / "meta.json").read_text())
    assert len(meta["responses"]) == n and meta["api_version"] == "fixture-1"
    monkeypatch.setenv("OPENGWAS_JWT", env["token"])
    (first.cache_path / "0001.json").write_bytes(b"[]")
    third = env["open"](il6())
    assert third.n_requests > 0 and "changed since it was written" in third.notes[0]


def test_cache_is_keyed_by_query(env):
    env["open"](il6())
    n = len(env["stub"].requests)
    env["open"](il6(), r2=0.9)  # other proxy settings: another query
    assert len(env["stub"].requests) > n
    m = len(env["stub"].requests)
    env["open"](il6(), refresh=True)  # an explicit refresh fetches again
    assert len(env["stub"].requests) > m
    assert len({p.parent for p in cache_entries(env["tmp"])}) == 2


# ------------------------------------------------------------------------------------- the answers
def test_proxy_flipped_allele_and_harmonisation(env):
    out = env["open"](il6())
    a = out.assoc
    assert set(a["idp"]) == set(TARGET_IDPS) and len(a) == 5 * 4
    prox = a[a["snp"] == "rs16835819"]
    assert prox["proxy"].all() and set(prox["proxy_snp"]) == {"rs2228145"}
    assert set(prox["effect_allele"]) == {"C"}  # the target's allele, as the server aligns it
    # rs61806853 comes back as T/C (eaf 0.95); harmonisation against the instrument (C/T) flips it
    raw = a[a["snp"] == "rs61806853"].set_index("idp")
    assert set(raw["effect_allele"]) == {"T"}
    h, dropped = harmonise.harmonise(il6().drop(columns="exposure"), a)
    hh = h[h["snp"] == "rs61806853"].set_index("idp")
    assert hh["allele_swapped"].all()
    np.testing.assert_allclose(hh["beta_out"], -raw.loc[hh.index, "beta"])
    np.testing.assert_allclose(hh["eaf_out"], 1 - raw.loc[hh.index, "eaf"])
    # the instruments the fixture lacks are listed with the reason, never silently lost
    absent = out.dropped[out.dropped["snp"] == "rs60517797"]
    assert len(absent) == 5 and absent["reason"].str.startswith("not in OpenGWAS, and no LD proxy").all()
    assert set(dropped["reason"]) == {"not in outcome data"}
    # without proxies the missing variant stays missing
    nop = env["open"](il6(), proxies=False)
    assert "rs16835819" not in set(nop.assoc["snp"])
    assert (nop.dropped.loc[nop.dropped.snp == "rs16835819", "reason"] == "not in OpenGWAS (LD proxies not requested)"
            ).all()


@pytest.mark.parametrize("eaf, kept", [(0.40, True), (0.45, False)])
def test_palindromic_variant_aligned_by_allele_frequency(env, eaf, kept):
    exp = pd.DataFrame([{"exposure": "IL-6 (test)", "snp": "rs1800795", "effect_allele": "G", "other_allele": "C",
                         "eaf": eaf, "beta": 0.05, "se": 0.005}])
    out = env["open"](exp)
    raw = out.assoc.set_index("idp")  # reported as C/G with eaf 0.598 (C)
    assert set(raw["effect_allele"]) == {"C"}
    if kept:  # G at 0.40 in the exposure, C at 0.60 in the outcome: same strand, so the outcome is swapped
        h, dropped = harmonise.harmonise(exp.drop(columns="exposure"), out.assoc)
        assert dropped.empty and not h["strand_flipped"].any() and h["allele_swapped"].all()
        np.testing.assert_allclose(h.set_index("idp")["beta_out"], -raw.loc[h["idp"], "beta"].to_numpy())
    else:  # MAF 0.45 > 0.42: the strand cannot be told, the variant is dropped with the reason
        with pytest.raises(harmonise.HarmonisationError, match="intermediate allele frequency"):
            harmonise.harmonise(exp.drop(columns="exposure"), out.assoc)


def test_empty_answer(env):
    out = env["open"](["rs6265"])  # BDNF's variant: the fixture has no record for it
    assert out.assoc.empty
    assert len(out.dropped) == 5 and out.dropped["reason"].str.startswith("not in OpenGWAS").all()
    bodies = env["stub"].requests
    assert [b["proxies"] for b in bodies] == [0, 1]  # asked without, then with proxies


def test_full_instrument_table_scans_with_missing_exposures_reported(env):
    ins = ukb.instruments()
    out = env["open"](ins)
    res = scan.scan(ins, out.assoc, methods=("ivw",))
    assert set(res.primary["exposure"]) == {"IL-6", "IL-1"}  # IL-1: one variant, a Wald ratio
    assert set(res.primary["idp"]) == set(TARGET_IDPS)
    assert res.primary["p"].notna().all()
    missing = res.dropped[res.dropped.exposure.isin(["CRP", "IL-2", "BDNF"])]
    assert len(missing) == 24 and set(missing["reason"]) == {"not in outcome data"}
    assert res.instruments.set_index("exposure").loc["CRP", "n_snp"] == 0
    # 35 variants x 5 ids = 175 pairs: several requests, each within the limit, covering every pair once
    first_pass = [b for b in env["stub"].requests if b["proxies"] == 0]
    assert all(len(b["id"]) * len(b["variant"]) <= 64 for b in env["stub"].requests)
    assert sum(len(b["id"]) * len(b["variant"]) for b in first_pass) == 35 * 5


# ------------------------------------------------------------------------------------- tidying rules
def test_tidy_applies_twosamplemr_cleaning():
    mp = og.load_map()
    q = og.Query(("rs1", "rs2", "rs3", "rs4", "rs5"), ("ubm-b-48", "ubm-b-54"))
    base = {"chr": "1", "position": 1, "n": 33219, "eaf": 0.3, "ea": "A", "nea": "G", "trait": "t"}
    recs = [
        {**base, "id": "ubm-b-48", "rsid": "rs1", "beta": 0.02, "se": "", "p": 0.01},  # SE from beta and P
        {**base, "id": "ubm-b-54", "rsid": "rs1", "beta": -0.01, "se": 0.01, "p": 0.3, "ea": "G", "nea": "A",
         "eaf": 0.7},  # swapped relative to ubm-b-48: aligned to one orientation
        {**base, "id": "ubm-b-48", "rsid": "rs2", "beta": -9, "se": 0.01, "p": 0.5},  # beta -9 = missing
        {**base, "id": "ubm-b-54", "rsid": "rs2", "beta": 0.01, "se": 0.01, "p": 0.3},
        {**base, "id": "ubm-b-48", "rsid": "rs3", "beta": 0.01, "se": 0.01, "p": 0.3, "eaf": 1.2},
        {**base, "id": "ubm-b-54", "rsid": "rs3", "beta": 0.01, "se": 0.01, "p": 0.3, "ea": "C", "nea": "T"},
        {**base, "id": "ubm-b-48", "rsid": "rs4", "beta": 0.01, "se": 0.01, "p": 0.3, "proxy": True,
         "proxy_snp": "rs99"},
        {**base, "id": "ubm-b-48", "rsid": "rs5", "beta": 0.01, "se": 0.01, "p": 0.3, "proxy": True,
         "proxy_snp": "rs99"},  # the same proxy for a second target: dropped
        {**base, "id": "ubm-b-54", "rsid": "rs4", "beta": 0.01, "se": 0.01, "p": 0.3},
        {**base, "id": "ubm-b-54", "rsid": "rs5", "beta": "", "se": "", "p": ""},  # nothing usable
    ]
    a, d = og.tidy(recs, q, mp)
    r1 = a[a.snp == "rs1"].set_index("opengwas_id")
    from scipy import stats

    assert r1.loc["ubm-b-48", "se"] == pytest.approx(0.02 / stats.norm.isf(0.005))
    assert r1.loc["ubm-b-54", ["effect_allele", "beta", "eaf"]].tolist() == ["A", 0.01, pytest.approx(0.3)]
    assert set(a["snp"]) == {"rs1", "rs4"} and a.groupby("snp")["idp"].nunique().eq(2).all()
    why = d.set_index(["snp", "opengwas_id"])["reason"]
    assert why[("rs2", "ubm-b-48")] == "missing beta or SE in OpenGWAS"
    assert why[("rs2", "ubm-b-54")].startswith("usable in only some studies")
    assert why[("rs3", "ubm-b-54")] == "alleles differ from this variant's in other studies"
    assert why[("rs5", "ubm-b-48")].startswith("its LD proxy already stands for another variant")
    assert why[("rs5", "ubm-b-54")] == "no beta and no P in OpenGWAS"
    assert a[a.snp == "rs4"]["proxy"].tolist() == [True, False]


# ------------------------------------------------------------------------------ evidence labelling
def _transport(headers: dict):
    direct = (FIXTURES / "associations.json").read_text()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/status"):
            return httpx.Response(200, json={"API version": "test"}, headers=headers)
        body = json.loads(request.content)
        recs = [r for r in json.loads(direct) if r["id"] in body["id"] and r["rsid"] in body["variant"]]
        return httpx.Response(200, json=recs, headers=headers)
    return httpx.MockTransport(handler)


@pytest.mark.parametrize("headers, evidence", [({}, "opengwas_real"),
                                               ({og.FIXTURE_HEADER: "recorded"}, "recorded_fixture")])
def test_only_the_official_url_without_fixture_marks_is_real(env, headers, evidence):
    out = og.open_outcomes(il6(), idps=TARGET_IDPS, base_url=og.API_URL, transport=_transport(headers),
                           progress=False, proxies=False)
    assert out.evidence == evidence and len(out.assoc) == 15
    assert out.is_fixture is (evidence != "opengwas_real")


def test_a_stub_url_is_always_a_fixture(env):
    out = env["open"](il6())
    assert out.evidence == "recorded_fixture" and "FIXTURE" in out.describe().loc["source", "value"]


# ------------------------------------------------------------------------------------------- mapping
def test_map_covers_the_five_findings():
    mp = og.load_map()
    assert len(mp) == len(ukb.idp_table()) and set(mp["status"]) <= {"mapped", "unmatched"}
    assert (mp.loc[mp.status != "mapped", "reason"] != "").all()
    tw = mp[mp["twin_target"].astype(str) == "True"].set_index("finding")
    expect = {"W.mr.il6.gmv_mtg": "ubm-b-48", "W.mr.il6.gmv_itc": "ubm-b-54", "W.mr.il6.gmv_fusiform": "ubm-b-102",
              "W.mr.il6.gmv_frontal": "ubm-b-74", "W.mr.il6.ct_superiorfrontal": "ubm-b-1047"}
    assert tw["opengwas_id"].to_dict() == expect
    for claim in expect:  # every IDP of each finding's region is mapped
        sub = mp[mp["finding"] == claim]
        assert len(sub) >= 2 and (sub["status"] == "mapped").all(), claim


def test_map_builder_reports_what_it_cannot_map():
    import sys

    sys.path.insert(0, str(ROOT / "tools"))
    import build_opengwas_map as bm

    idps = ukb.idp_table()
    meta = pd.DataFrame({
        "id": ["ubm-b-48", "ubm-b-54", "ubm-b-900", "ubm-b-901", "ubm-a-48"],
        "trait": ["x"] * 5, "sample_size": [33219] * 5,
        "note": ["UKB 25804 Volume of grey matter in Left Middle Temporal Gyrus, posterior division",
                 "UKB 25810 Volume of grey matter in Right Inferior Temporal Gyrus, posterior division",  # wrong side
                 "UKB 26782 Mean thickness of superiorfrontal in the left hemisphere generated by Desikan-Killiany",
                 "UKB 26782 Mean thickness of superiorfrontal in the left hemisphere generated by Desikan-Killiany",
                 "UKB 25806 Volume of grey matter in Left Middle Temporal Gyrus, temporooccipital part"]})
    t = bm.build(meta, idps, ukb.targets()).set_index("idp")
    assert t.loc["gmv_L_Middle_Temporal_Gyrus_posterior_division", "opengwas_id"] == "ubm-b-48"
    assert t.loc["gmv_L_Inferior_Temporal_Gyrus_posterior_division", "reason"].startswith("hemisphere")
    assert "2 ubm-b studies carry field 26782" in t.loc["ct_L_superiorfrontal", "reason"]
    assert t.loc["gmv_L_Middle_Temporal_Gyrus_temporooccipital_part", "reason"].startswith("no ubm-b study")
    assert (t["status"] == "mapped").sum() == 1


def test_committed_map_equals_a_rebuild_from_the_mirror():
    from il6repro.data import DataUnavailableError

    try:
        from il6repro.data import resolve

        resolve("opengwas_meta")
    except DataUnavailableError:
        pytest.skip("OpenGWAS metadata mirror not on this machine")
    import subprocess
    import sys

    r = subprocess.run([sys.executable, str(ROOT / "tools" / "build_opengwas_map.py"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "205 of 205 IDPs mapped" in r.stdout


# -------------------------------------------------------------------------------------------- ledger
def test_ledger_kinds_keep_fixtures_out_of_the_evidence(isolated, monkeypatch, tmp_path):
    res = isolated["build"] / "results"
    monkeypatch.setenv("IL6REPRO_RESULTS_DIR", str(res))
    monkeypatch.setenv("IL6REPRO_NOTEBOOK", "02_test")
    ledger.record("W.mr.il6.gmv_mtg.z", 5.7, kind="recorded_fixture")  # would pass its rule: still no evidence
    ledger.record("W.mr.il6.gmv_itc.z", -1.0, kind="recorded_fixture")  # would fail: still just a fixture
    ledger.record("W.mr.il6.gmv_fusiform.z", 4.5, kind="opengwas_real")
    ledger.record("W.mr.il6.gmv_frontal.z", 1.0, kind="opengwas_real")
    t = ledger.compare().set_index("claim")
    fx = "recorded fixture (test responses, not evidence)"
    assert t.loc["W.mr.il6.gmv_mtg.z", "status"] == fx and t.loc["W.mr.il6.gmv_itc.z", "status"] == fx
    assert t.loc["W.mr.il6.gmv_mtg.z", "reason"].startswith("not evidence")
    assert t.loc["W.mr.il6.gmv_fusiform.z", "status"].startswith("reproduced on real public data (OpenGWAS ubm-b")
    assert t.loc["W.mr.il6.gmv_frontal.z", "status"] == "not reproduced"
    assert fx not in ledger.PASSING
    with pytest.raises(ledger.LedgerError, match="never accepted into the baseline"):
        ledger.write_baseline(ledger.compare(), tmp_path / "b.yaml")
    # a baseline may not hold a fixture status, and a twin claim replaced by a fixture is a regression
    import yaml

    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"claims": {"W.mr.il6.gmv_mtg.z": {"status": fx}}}))
    with pytest.raises(ledger.LedgerError, match="is not one of"):
        ledger.load_baseline(bad)
    reg, _ = ledger.check_against_baseline(t.reset_index(), {
        "W.mr.il6.gmv_mtg.z": {"status": "recovered from a planted twin"}})
    assert any(r.startswith("W.mr.il6.gmv_mtg.z: was 'recovered from a planted twin'") for r in reg)


# ------------------------------------------------------------------------------------------ command line
def test_cli_plan_offline_and_fetch_without_token(env, monkeypatch, capsys):
    from il6repro.__main__ import main

    assert main(["opengwas", "plan"]) == 0
    out = capsys.readouterr().out
    assert "requests (first pass, no proxies): 115" in out and "pairs: 7175" in out
    monkeypatch.delenv("OPENGWAS_JWT")
    assert main(["opengwas", "fetch", "--no-progress"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: no OpenGWAS token") and "\n" not in err
    assert main(["opengwas", "status"]) == 0
    assert "cached copies of the paper's query" in capsys.readouterr().out


# ------------------------------------------------------------------------------ notebooks end to end
@pytest.mark.slow
def test_notebooks_02_03_on_recorded_fixtures_are_never_real_data(isolated, env, monkeypatch, tmp_path):
    """outcomes=opengwas runs the full scan and sensitivity notebooks on the stub's fixtures; the ledger records
    them as fixtures, the receipt carries the responses' digest, and a second run hits the cache only."""
    from il6repro.ledger import compare
    from il6repro.runner import run

    monkeypatch.setenv("OPENGWAS_API_URL", env["stub"].url)
    quiet = {"progress": False, "log": lambda *a: None}
    rep = run("quick", ["outcomes=opengwas"], ["02"], **quiet)
    assert rep.ok, [o.message for o in rep.outcomes]
    b = isolated["build"]
    n = len(env["stub"].requests)
    assert n > 115  # the whole query: 35 variants x 205 IDPs in requests of <= 64 pairs, then the proxy pass
    # notebook 03 asks the same query: it reads the cache, not one more request
    rep = run("quick", ["outcomes=opengwas"], ["03"], **quiet)
    assert rep.ok, [o.message for o in rep.outcomes]
    assert len(env["stub"].requests) == n
    t = compare().set_index("claim")
    mr = t[t.index.str.startswith("W.mr.")]
    recorded = mr[mr["kind"] != ""]
    assert len(recorded) >= 7  # threshold, five IL-6 z's and P's, the IL-1 null
    assert (recorded["kind"] == "recorded_fixture").all()
    assert (recorded["status"] == "recorded fixture (test responses, not evidence)").all()
    assert not t["status"].str.contains("real public data").any()
    receipt = json.loads((b / "receipts" / "02_mr_scan.json").read_text())
    ds = receipt["datasets"][og.DATASET_ID]
    assert ds["source"].startswith("fixture http://") and len(ds["sha256"]["responses"]) == 64
    executed = (b / "notebooks" / "02_mr_scan.ipynb").read_text()
    assert "recorded FIXTURE (not data)" in executed and "OpenGWAS ubm-b" in executed
    assert "published UK Biobank brain-IDP GWAS summary statistics" in (
        b / "results" / "02_mr_scan.methods.md").read_text()
    receipt3 = json.loads((b / "receipts" / "03_mr_sensitivity.json").read_text())
    assert receipt3["datasets"][og.DATASET_ID]["sha256"] == ds["sha256"]
    assert "2SLS not applicable" in (b / "notebooks" / "03_mr_sensitivity.ipynb").read_text()
    # no token and an empty cache: the notebook fails with one line, nothing new is published
    monkeypatch.delenv("OPENGWAS_JWT")
    monkeypatch.setenv("IL6REPRO_CACHE", str(tmp_path / "empty_cache"))
    before = (b / "results" / "02_mr_scan.json").read_text()
    rep = run("quick", ["outcomes=opengwas"], ["02"], force=True, **quiet)
    assert not rep.ok
    msg = rep.outcomes[0].message
    assert "no OpenGWAS token" in msg and "\n" not in msg
    assert (b / "results" / "02_mr_scan.json").read_text() == before


def test_site_colours_every_ledger_status():
    from il6repro.book import STATUS_CLASS

    assert set(ledger.KINDS.values()) | {ledger.NOT_REPRODUCED, ledger.NOT_ATTEMPTED} <= set(STATUS_CLASS)
    assert STATUS_CLASS[ledger.KINDS["recorded_fixture"]] != STATUS_CLASS[ledger.KINDS["opengwas_real"]]
