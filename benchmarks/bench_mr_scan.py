"""Benchmark (a): the full MR scan against the PyPI package pytwosamplemr run per outcome, same inputs, one run.

Both sides get the same twin associations (5 exposures x all IDPs) and run the same suite: harmonisation, IVW,
MR-Egger, weighted and simple median (1,000 bootstrap draws), weighted mode (1,000 draws), heterogeneity,
single-SNP, leave-one-out and Steiger. Prints wall times, the ratio and the agreement of the closed-form
estimates (which must agree to rounding) and of the bootstrap SEs (Monte-Carlo error only).

    python benchmarks/bench_mr_scan.py [--n-boot 1000] [--idps 0 (= all)]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd


def peer_suite(ins, assoc, n_boot, seed):
    from pytwosamplemr import estimators as E
    from pytwosamplemr import harmonise as H

    rows = []
    for exp, e in ins.groupby("exposure", sort=False):
        e = e.rename(columns={"snp": "SNP"})[["SNP", "beta", "se", "effect_allele", "other_allele", "eaf", "n",
                                              "pval"]]
        for idp, o in assoc.groupby("idp", sort=False):
            o = o.rename(columns={"snp": "SNP"})[["SNP", "beta", "se", "effect_allele", "other_allele", "eaf", "n",
                                                  "p"]]
            h = H.harmonise_data(e, o)
            h = h[h["mr_keep"]]
            H.mr_singlesnp(h)
            row = {"exposure": exp, "idp": idp}
            if len(h) >= 2:
                obj = H._as_input(h)
                ivw = E.mr_ivw(obj, model="fixed")
                row.update(ivw=ivw.estimate, ivw_se=ivw.se)
                H.mr_heterogeneity(h, methods=("ivw",))
            if len(h) >= 3:
                eg = E.mr_egger(obj)
                wm = E.mr_median(obj, weighting="weighted", iterations=n_boot, seed=seed)
                E.mr_median(obj, weighting="simple", iterations=n_boot, seed=seed)
                E.mr_mbe(obj, weighting="weighted", stderror="simple", iterations=n_boot, seed=seed)
                H.mr_heterogeneity(h)
                H.mr_leaveoneout(h)
                row.update(egger=eg.estimate, wm=wm.estimate, wm_se=wm.se)
            H.mr_steiger(e.set_index("SNP").loc[h["SNP"], "pval"], o.set_index("SNP").loc[h["SNP"], "p"],
                         e.set_index("SNP").loc[h["SNP"], "n"], o.set_index("SNP").loc[h["SNP"], "n"])
            rows.append(row)
    return pd.DataFrame(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--idps", type=int, default=0, help="use only the first N IDPs (0 = all)")
    ap.add_argument("--seed", type=int, default=314159265)
    args = ap.parse_args()
    from il6repro.genetics import assoc as A
    from il6repro.genetics import scan as S
    from il6repro.twins import ukb

    ex = ukb.load(ukb.build())
    X = A.design_matrix(ex.covariates)
    idps = ex.idps if not args.idps else ex.idps.iloc[:, : args.idps]
    assoc = A.associate(ex.dosages, idps, X, variants=ex.variants)
    ins = ukb.instruments()
    n_pairs = ins["exposure"].nunique() * idps.shape[1]
    print(f"inputs: {ins['exposure'].nunique()} exposures x {idps.shape[1]} IDPs = {n_pairs} pairs, "
          f"{len(ins)} variants, {args.n_boot} bootstrap draws")
    S.scan(ins, assoc[assoc["idp"] == assoc["idp"].iloc[0]], n_boot=10)  # warm-up (imports, thread pool)
    t0 = time.perf_counter()
    res = S.scan(ins, assoc, n_boot=args.n_boot, seed=args.seed)
    t_ours = time.perf_counter() - t0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        peer = peer_suite(ins, assoc, args.n_boot, args.seed)
        t_peer = time.perf_counter() - t0
    est = res.estimates.pivot_table(index=["exposure", "idp"], columns="method", values=["estimate", "se"])
    est.columns = [f"{a}|{b}" for a, b in est.columns]
    m = peer.set_index(["exposure", "idp"]).join(est)

    def dev(a, b):
        return np.nanmax(np.abs(m[a] - m[f"estimate|{b}"]) / np.abs(m[f"se|{b}"]))

    d_ivw, d_egger, d_wm = dev("ivw", "IVW"), dev("egger", "MR-Egger"), dev("wm", "Weighted median")
    se_ratio = (m["wm_se"] / m["se|Weighted median"]).describe()
    print(f"il6repro.genetics.scan : {t_ours:8.2f} s  ({1e3 * t_ours / n_pairs:.2f} ms per pair)")
    print(f"pytwosamplemr per pair: {t_peer:8.2f} s  ({1e3 * t_peer / n_pairs:.2f} ms per pair)")
    print(f"speed-up              : {t_peer / t_ours:8.1f}x  (target >= 50x)")
    print(f"agreement (max |diff| / SE): IVW {d_ivw:.2e}, MR-Egger {d_egger:.2e}, weighted median {d_wm:.2e}")
    print(f"weighted-median bootstrap SE, pytwosamplemr / ours: median {se_ratio['50%']:.3f} "
          f"(range {se_ratio['min']:.3f}-{se_ratio['max']:.3f}; Monte-Carlo error of {args.n_boot} draws)")


if __name__ == "__main__":
    main()
