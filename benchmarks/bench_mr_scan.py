"""Benchmark (a): the MR scan against the PyPI package pytwosamplemr called per outcome, interleaved in one run.

Two workloads, each run as a user comparing tools would:

* ``bmi``: TwoSampleMR's 79-SNP BMI -> CHD test data (``tests/references/twosamplemr_bmi_chd``) with ``--k``
  simulated outcomes (the real outcome's betas plus noise of their SE, seeded), IVW + MR-Egger + weighted median
  + weighted mode with ``--n-boot`` bootstrap draws each. Ours: ``scan()`` on the tidy tables (harmonisation
  included). Peer: ``mr_ivw``, ``mr_egger``, ``mr_median``, ``mr_mbe`` on each outcome's harmonised arrays.
* ``project``: the project's own scan, 5 exposures x the default twin's 205 IDPs, the full suite of notebook 03
  (harmonisation, IVW, MR-Egger, weighted and simple median, weighted mode, heterogeneity, single-SNP,
  leave-one-out, Steiger). Peer: the same suite per exposure x IDP pair with pytwosamplemr.

Protocol: imports and inputs prepared first (not timed), one warm-up of each side (JIT cache load, thread pool),
then ``--pairs`` interleaved pairs (ours, peer, ours, peer, ...). Each side's median and min-max are printed and
the ratio of medians, for wall time and for the process's CPU time (all threads; on a shared machine wall time
also measures the other tenants). The peer is a per-outcome Python loop with no shared work, so when ``--peer-k`` (or
``--peer-idps``) is below the full size it is timed on that many outcomes per repeat and its time is scaled to
the full size (printed as such); ``--peer-k 0`` times it on every outcome.

Agreement, checked on the outcomes both sides ran (and printed): IVW and MR-Egger (closed forms) and the weighted
median's estimate and SE (both sides draw the same normals in the same order, so even the bootstrap SE must
agree to rounding); the weighted mode against our exact path (R's ``density()`` ported line by line,
:func:`il6repro.genetics.mr.mode_r`, applied draw by draw) for ``--exact`` outcomes, and against the peer, whose
mode is the exact (unbinned) kernel density on R's output grid, reported in grid steps.

    python benchmarks/bench_mr_scan.py [--workload bmi|project|both] [--k 1000] [--n-boot 1000] [--pairs 5]
                                       [--peer-k 50] [--peer-idps 20] [--threads 0]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

REF = Path(__file__).resolve().parents[1] / "tests" / "references" / "twosamplemr_bmi_chd" / "bmi_chd_79snps.csv"


def bmi_inputs(k: int, seed: int):
    """Instruments and a tidy association table of ``k`` simulated outcomes on the 79 BMI instruments."""
    d = pd.read_csv(REF)
    ins = pd.DataFrame({"exposure": "BMI", "snp": d["SNP"], "effect_allele": d["effect_allele.exposure"],
                        "other_allele": d["other_allele.exposure"], "eaf": d["eaf.exposure"],
                        "beta": d["beta.exposure"], "se": d["se.exposure"], "n": d["samplesize.exposure"]})
    rng = np.random.default_rng(seed)
    J = len(d)
    BY = d["beta.outcome"].to_numpy()[None] + d["se.outcome"].to_numpy()[None] * rng.standard_normal((k, J))
    assoc = pd.DataFrame({"snp": np.tile(d["SNP"], k), "idp": np.repeat([f"outcome_{i:04d}" for i in range(k)], J),
                          "effect_allele": np.tile(d["effect_allele.exposure"], k),
                          "other_allele": np.tile(d["other_allele.exposure"], k),
                          "eaf": np.tile(d["eaf.exposure"], k), "beta": BY.ravel(),
                          "se": np.tile(d["se.outcome"], k), "n": np.tile(d["samplesize.outcome"], k)})
    return ins, assoc


def ours_bmi(ins, assoc, n_boot, seed, threads):
    from il6repro.genetics import scan as S

    return S.scan(ins, assoc, methods=("ivw", "egger", "weighted_median", "weighted_mode"), n_boot=n_boot,
                  seed=seed, action=1, threads=threads)


def peer_bmi(ins, assoc, idps, n_boot, seed):
    """pytwosamplemr per outcome on the harmonised arrays (alleles already aligned: no harmonisation cost)."""
    from pytwosamplemr import estimators as E
    from pytwosamplemr.core import mr_input

    bx, bxse = ins["beta"].to_numpy(float), ins["se"].to_numpy(float)
    rows = []
    for idp, o in assoc[assoc["idp"].isin(idps)].groupby("idp", sort=False):
        obj = mr_input(bx=bx, bxse=bxse, by=o["beta"].to_numpy(float), byse=o["se"].to_numpy(float))
        ivw, eg = E.mr_ivw(obj), E.mr_egger(obj)
        wm = E.mr_median(obj, weighting="weighted", iterations=n_boot, seed=seed)
        mo = E.mr_mbe(obj, weighting="weighted", stderror="delta", iterations=n_boot, seed=seed)
        rows.append({"idp": idp, "IVW": ivw.estimate, "IVW se": ivw.se, "MR-Egger": eg.estimate,
                     "MR-Egger se": eg.se, "Weighted median": wm.estimate, "Weighted median se": wm.se,
                     "Weighted mode": mo.estimate, "Weighted mode se": mo.se})
    return pd.DataFrame(rows).set_index("idp")


def peer_project(ins, assoc, idps, n_boot, seed):
    """The project's suite per exposure x IDP pair with pytwosamplemr."""
    from pytwosamplemr import estimators as E
    from pytwosamplemr import harmonise as H

    rows = []
    sub = assoc[assoc["idp"].isin(idps)]
    for exp, e in ins.groupby("exposure", sort=False):
        e = e.rename(columns={"snp": "SNP"})[["SNP", "beta", "se", "effect_allele", "other_allele", "eaf", "n",
                                              "pval"]]
        for idp, o in sub.groupby("idp", sort=False):
            o = o.rename(columns={"snp": "SNP"})[["SNP", "beta", "se", "effect_allele", "other_allele", "eaf", "n",
                                                  "p"]]
            h = H.harmonise_data(e, o)
            h = h[h["mr_keep"]]
            H.mr_singlesnp(h)
            row = {"exposure": exp, "idp": idp}
            if len(h) >= 2:
                obj = H._as_input(h)
                ivw = E.mr_ivw(obj)
                row.update({"IVW": ivw.estimate, "IVW se": ivw.se})
                H.mr_heterogeneity(h, methods=("ivw",))
            if len(h) >= 3:
                eg = E.mr_egger(obj)
                wm = E.mr_median(obj, weighting="weighted", iterations=n_boot, seed=seed)
                sm = E.mr_median(obj, weighting="simple", iterations=n_boot, seed=seed)
                mo = E.mr_mbe(obj, weighting="weighted", stderror="delta", iterations=n_boot, seed=seed)
                H.mr_heterogeneity(h)
                H.mr_leaveoneout(h)
                row.update({"MR-Egger": eg.estimate, "MR-Egger se": eg.se, "Weighted median": wm.estimate,
                            "Weighted median se": wm.se, "Simple median": sm.estimate, "Simple median se": sm.se,
                            "Weighted mode": mo.estimate, "Weighted mode se": mo.se})
            H.mr_steiger(e.set_index("SNP").loc[h["SNP"], "pval"], o.set_index("SNP").loc[h["SNP"], "p"],
                         e.set_index("SNP").loc[h["SNP"], "n"], o.set_index("SNP").loc[h["SNP"], "n"])
            rows.append(row)
    return pd.DataFrame(rows).set_index(["exposure", "idp"])


def ours_project(ins, assoc, n_boot, seed, threads):
    from il6repro.genetics import scan as S

    return S.scan(ins, assoc, n_boot=n_boot, seed=seed, threads=threads)


def interleave(ours, peer, pairs: int):
    """Warm-up of each side, then ``pairs`` x (ours, peer); returns wall and CPU times and the last outputs."""
    ours(warm=True)
    peer(warm=True)
    t = {"ours": [], "peer": [], "ours cpu": [], "peer cpu": []}
    out = {}
    for i in range(pairs):
        for side, f in (("ours", ours), ("peer", peer)):
            c0, t0 = time.process_time(), time.perf_counter()
            out[side] = f(warm=False)
            t[side].append(time.perf_counter() - t0)
            t[f"{side} cpu"].append(time.process_time() - c0)
        print(f"  pair {i + 1}: ours {t['ours'][-1]:8.2f} s ({t['ours cpu'][-1]:.2f} s CPU)   peer "
              f"{t['peer'][-1]:8.2f} s ({t['peer cpu'][-1]:.2f} s CPU)", flush=True)
    return t, out["ours"], out["peer"]


def report(name, t, n_full, n_peer, unit):
    scale = n_full / n_peer
    how = "timed on all" if scale == 1 else f"timed on {n_peer:,} {unit} per repeat, x {scale:g}"
    for kind in ("", " cpu"):
        t_ours, peer_full = t[f"ours{kind}"], [x * scale for x in t[f"peer{kind}"]]
        mo, mp = statistics.median(t_ours), statistics.median(peer_full)
        label = "wall" if not kind else "CPU (all threads)"
        print(f"{name} {label}: ours (scan, {n_full:,} {unit}) median {mo:.2f} s (range {min(t_ours):.2f}-"
              f"{max(t_ours):.2f}), {1e3 * mo / n_full:.3f} ms per {unit[:-1]}; pytwosamplemr per {unit[:-1]} "
              f"({how}) median {mp:.1f} s (range {min(peer_full):.1f}-{max(peer_full):.1f}), "
              f"{1e3 * mp / n_full:.1f} ms per {unit[:-1]}")
        ratios = [p / o for p, o in zip(peer_full, t_ours, strict=True)]
        print(f"{name} {label}: speed-up (ratio of medians) {mp / mo:.0f}x  (per-pair ratios {min(ratios):.0f}-"
              f"{max(ratios):.0f}x)")


def agreement(est: pd.DataFrame, peer: pd.DataFrame, keys: list[str]) -> dict:
    """Max |ours - peer| / our SE for every method both sides report."""
    wide = est.pivot_table(index=keys, columns="method", values=["estimate", "se"])
    out = {}
    for m in ("IVW", "MR-Egger", "Weighted median", "Simple median", "Weighted mode"):
        if m not in peer or ("estimate", m) not in wide:
            continue
        ours = pd.DataFrame({"b": wide[("estimate", m)], "s": wide[("se", m)]})
        j = peer[[m, f"{m} se"]].join(ours, how="inner").dropna()
        out[m] = (float(np.max(np.abs(j[m] - j["b"]) / j["s"])), float(np.max(np.abs(j[f"{m} se"] / j["s"] - 1))),
                  len(j))
    return out


def exact_path(est, ins, assoc, n_out, n_boot, seed, keys):
    """Our scan's median and mode (estimate, SE) against the R-literal estimators applied draw by draw."""
    from il6repro.genetics import harmonise as H
    from il6repro.genetics import mr

    worst = {"Weighted median": 0.0, "Weighted mode": 0.0}
    checked = 0
    for exp in ins["exposure"].unique():
        e = ins[ins["exposure"] == exp].drop(columns="exposure")
        for idp in assoc["idp"].unique()[:n_out]:
            h, _ = H.harmonise(e, assoc[assoc["idp"] == idp], action=1 if exp == "BMI" else 2)
            if len(h) < 3:
                continue
            bx, bxse, by, byse = (h[c].to_numpy(float) for c in ("beta_exp", "se_exp", "beta_out", "se_out"))
            got = est[(est["exposure"] == exp) & (est["idp"] == idp)].set_index("method")
            w = mr.ratio_se_weights(bx, bxse, by, byse, "weighted", "first")
            bxb, z = mr.median_draws(bx, bxse, n_boot, seed)
            meds = [mr.weighted_median_r((by + byse * z[i]) / bxb[i], w) for i in range(n_boot)]
            ref = {"Weighted median": (mr.weighted_median_r(by / bx, w), np.std(meds, ddof=1))}
            ratio, se2 = by / bx, mr.ratio_standard_error(bx, bxse, by, byse, "second")
            zz = np.random.default_rng(seed).standard_normal((n_boot, len(bx)))
            modes = [mr.mode_r(ratio + se2 * zz[i], se2 ** -2) for i in range(n_boot)]
            ref["Weighted mode"] = (mr.mode_r(ratio, se2 ** -2), float(mr.mad(np.array(modes))))
            for m, (b, s) in ref.items():
                worst[m] = max(worst[m], abs(got.loc[m, "estimate"] - b) / s, abs(got.loc[m, "se"] / s - 1))
            checked += 1
    return worst, checked


def print_agreement(agree, worst, checked):
    for m, (d_est, d_se, n) in agree.items():
        print(f"  vs pytwosamplemr, {m:<16s} ({n} outcomes): max |diff| / SE {d_est:.1e}; max |SE ratio - 1| "
              f"{d_se:.1e}")
    for m, v in worst.items():
        print(f"  vs exact path (R-literal, draw by draw), {m} ({checked} outcomes): max rel. diff {v:.1e}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workload", choices=("bmi", "project", "both"), default="both")
    ap.add_argument("--k", type=int, default=1000, help="simulated outcomes of the 79-SNP workload")
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--peer-k", type=int, default=50, help="outcomes the peer runs per repeat (0 = all)")
    ap.add_argument("--peer-idps", type=int, default=20, help="IDPs the peer runs per repeat (0 = all)")
    ap.add_argument("--exact", type=int, default=3, help="outcomes checked against the exact path")
    ap.add_argument("--threads", type=int, default=0, help="our kernels' threads (0 = all cores)")
    ap.add_argument("--seed", type=int, default=314159265)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    import pytwosamplemr.estimators  # noqa: F401  (imports excluded on both sides)
    import pytwosamplemr.harmonise  # noqa: F401

    from il6repro.genetics import scan as S  # noqa: F401

    threads = args.threads or None
    import os

    print(f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}; {args.n_boot} bootstrap draws; "
          f"{args.pairs} interleaved pairs after one warm-up each")
    if args.workload in ("bmi", "both"):
        ins, assoc = bmi_inputs(args.k, args.seed)
        idps = assoc["idp"].unique()
        pk = len(idps) if args.peer_k <= 0 else min(args.peer_k, len(idps))
        print(f"[bmi] 79 SNPs (BMI -> CHD, TwoSampleMR test data) x {args.k:,} outcomes; IVW, MR-Egger, weighted "
              f"median, weighted mode")
        small = assoc[assoc["idp"].isin(idps[:2])]
        t, res, peer = interleave(
            lambda warm: ours_bmi(ins, small if warm else assoc, args.n_boot, args.seed, threads),
            lambda warm: peer_bmi(ins, assoc, idps[:1] if warm else idps[:pk], args.n_boot, args.seed),
            args.pairs)
        report("[bmi]", t, len(idps), pk, "outcomes")
        used = int(res.instruments["n_snp"].iloc[0])
        print(f"  instruments used by scan: {used} of 79")
        agree = agreement(res.estimates, peer, ["idp"])
        worst, checked = exact_path(res.estimates, ins, assoc, args.exact, args.n_boot, args.seed, ["idp"])
        print_agreement(agree, worst, checked)
    if args.workload in ("project", "both"):
        from il6repro.genetics import assoc as A
        from il6repro.twins import ukb

        ex = ukb.load(ukb.build())
        a = A.associate(ex.dosages, ex.idps, A.design_matrix(ex.covariates), variants=ex.variants)
        ins = ukb.instruments()
        idps = a["idp"].unique()
        pk = len(idps) if args.peer_idps <= 0 else min(args.peer_idps, len(idps))
        n_exp = ins["exposure"].nunique()
        print(f"[project] {n_exp} exposures x {len(idps)} IDPs = {n_exp * len(idps):,} pairs, "
              f"{ins.groupby('exposure').size().max()} SNPs at most per exposure; full suite")
        small = a[a["idp"].isin(idps[:2])]
        t, res, peer = interleave(
            lambda warm: ours_project(ins, small if warm else a, args.n_boot, args.seed, threads),
            lambda warm: peer_project(ins, a, idps[:1] if warm else idps[:pk], args.n_boot, args.seed),
            args.pairs)
        report("[project]", t, n_exp * len(idps), n_exp * pk, "pairs")
        agree = agreement(res.estimates, peer, ["exposure", "idp"])
        worst, checked = exact_path(res.estimates, ins[ins["exposure"] == "IL-6"], a, args.exact, args.n_boot,
                                    args.seed, ["exposure", "idp"])
        print_agreement(agree, worst, checked)


if __name__ == "__main__":
    main()
