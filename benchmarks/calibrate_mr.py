"""Calibration of the MR estimators on the UK Biobank twin (not run in CI).

For each of ``--seeds`` twins (default N = 20,688, no pleiotropy) the association step and the scan are run for
the IL-6 and CRP instruments on the five planted IDPs and ``--null-idps`` IDPs with no planted effect (the same
draws as the full twin: ``ukb.simulate(idps=...)`` draws each IDP from a stream of its own). For IVW (fixed
effect), MR-Egger and the weighted median, **planted pairs** (IL-6 x 5 planted IDPs) and **null pairs** (every
other pair) are reported apart:

* planted: bias against the planted effect (``theta_sd``, per SD of the IDP, the units of the standardised
  association) in units of the mean SE, and 95% CI coverage of it;
* null: type-I error at alpha = 0.05 (two-sided band 4-6%: a method that rejects too rarely fails too), 95% CI
  coverage of 0, and the SD of the null z's (band 0.95-1.05: below is conservative, above anti-conservative);
* every share with its exact (Clopper-Pearson) 95% CI at the effective number of pairs, and its Monte-Carlo SE
  by seed (cluster bootstrap: pairs of one twin share genotypes and correlated IDPs, so they are not independent;
  the design effect is printed); verdicts ``met`` (CI inside the band) / ``NOT met`` (wholly outside) /
  ``undecided`` (more seeds needed).

Seeds: the planted coverage is the scarce quantity (5 pairs per seed). A calibrated method is declared ``met``
with probability 0.95 at about 3,300 effective pairs (``il6repro.calibration.prob_met``); with a design effect
near 1.3 that is about 850 seeds, hence the default 1,000. The null pairs (45 per seed) then decide the type-I
band and the SD band. Run again with ``--first-seed`` to check that the verdicts are stable.

    python benchmarks/calibrate_mr.py [--seeds 1000] [--first-seed 1] [--n 20688] [--jobs 2] [--n-boot 500]
                                      [--pleiotropy-sd 0] [--out x.csv] [--from-csv x.csv]
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd

METHODS = ("ivw", "egger", "weighted_median")


def one(seed, n, null_idps, n_boot, pleio):
    from threadpoolctl import threadpool_limits

    from il6repro.genetics import assoc as A
    from il6repro.genetics import scan as S
    from il6repro.twins import ukb

    planted = list(ukb.targets()["idp"])
    rng = np.random.default_rng(seed)
    others = [c for c in ukb.idp_table()["idp"] if c not in planted]
    idps = planted + list(rng.choice(others, null_idps, replace=False))
    with threadpool_limits(1):
        tw = ukb.simulate(n=n, seed=seed, pleiotropy_sd=pleio, idps=idps)
        ex = ukb.to_extract(tw)
        a = A.associate(ex.dosages, ex.idps, A.design_matrix(ex.covariates), variants=ex.variants)
        ins = ukb.instruments()
        res = S.scan(ins[ins.exposure.isin(["IL-6", "CRP"])], a, methods=METHODS, n_boot=n_boot, seed=seed,
                     ivw_model="fixed")  # the table's "IVW (fixed)"
    est = res.estimates.merge(tw["truth"][["exposure", "idp", "theta_sd"]].rename(columns={"theta_sd": "theta"}),
                              on=["exposure", "idp"])
    est["seed"] = seed
    return est[["seed", "exposure", "idp", "method", "estimate", "se", "ci_low", "ci_high", "p", "theta"]]


def summarise(d: pd.DataFrame) -> pd.DataFrame:
    from il6repro import calibration as K

    d = d.copy()
    d["covered"] = (d.ci_low <= d.theta) & (d.theta <= d.ci_high)
    d["planted"] = d.theta != 0
    d["z"] = (d.estimate - d.theta) / d.se
    rows = []
    for m, g in d.groupby("method", sort=False):
        pl, nul = g[g.planted], g[~g.planted]
        cp, cn = K.share(pl.covered, pl.seed), K.share(nul.covered, nul.seed)
        t1 = K.share(nul.p < 0.05, nul.seed)
        s = K.sd(nul.z, nul.seed)
        rows.append({
            "method": m, "planted pairs": len(pl), "null pairs": len(nul),
            "bias / mean SE (planted)": (pl.estimate - pl.theta).mean() / pl.se.mean(),
            "coverage planted %": 100 * cp["share"],
            "exact CI (planted)": f"{100 * cp['ci_low']:.1f}-{100 * cp['ci_high']:.1f}",
            "MC SE by seed (pp)": 100 * cp["mc_se"], "design effect": cp["design_effect"],
            "verdict (planted coverage)": K.verdict(100 * cp["ci_low"], 100 * cp["ci_high"], K.COVERAGE_BAND),
            "coverage null %": 100 * cn["share"],
            "exact CI (null)": f"{100 * cn['ci_low']:.1f}-{100 * cn['ci_high']:.1f}",
            "type-I %": 100 * t1["share"], "exact CI (type-I)": f"{100 * t1['ci_low']:.2f}-{100 * t1['ci_high']:.2f}",
            "MC SE type-I (pp)": 100 * t1["mc_se"], "design effect (null)": t1["design_effect"],
            "verdict (type-I)": K.verdict(100 * t1["ci_low"], 100 * t1["ci_high"], K.TYPE1_BAND),
            "SD null z": s["sd"], "SD 95% CI": f"{s['ci_low']:.3f}-{s['ci_high']:.3f}",
            "verdict (SD)": K.verdict(s["ci_low"], s["ci_high"], K.SD_BAND)})
    return pd.DataFrame(rows).set_index("method")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=1000)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--n", type=int, default=20688)
    ap.add_argument("--null-idps", type=int, default=20)
    ap.add_argument("--n-boot", type=int, default=500)
    ap.add_argument("--pleiotropy-sd", type=float, default=0.0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default="", help="optional CSV of every estimate")
    ap.add_argument("--from-csv", default="", help="summarise a CSV written by --out instead of running")
    args = ap.parse_args()
    from tqdm.auto import tqdm

    from il6repro import calibration as K

    t0 = time.perf_counter()
    if args.from_csv:
        d = pd.read_csv(args.from_csv)
    else:
        seeds = range(args.first_seed, args.first_seed + args.seeds)
        with ProcessPoolExecutor(args.jobs) as pool:
            futs = [pool.submit(one, s, args.n, args.null_idps, args.n_boot, args.pleiotropy_sd) for s in seeds]
            d = pd.concat([f.result() for f in tqdm(futs, desc="twins", unit="seed")], ignore_index=True)
        if args.out:
            d.to_csv(args.out, index=False)
    out = summarise(d)
    print(f"{d.seed.nunique()} twins (seeds {d.seed.min()}-{d.seed.max()}, N = {args.n:,}, pleiotropy_sd = "
          f"{args.pleiotropy_sd}), IL-6 and CRP x {5 + args.null_idps} IDPs, {time.perf_counter() - t0:.0f} s")
    print(f"bands: coverage {K.COVERAGE_BAND[0]}-{K.COVERAGE_BAND[1]}%, type-I {K.TYPE1_BAND[0]}-{K.TYPE1_BAND[1]}%, "
          f"SD of null z {K.SD_BAND[0]}-{K.SD_BAND[1]}; verdict by the 95% CI (met inside, NOT met outside, else "
          "undecided)")
    with pd.option_context("display.width", 250, "display.max_columns", 40, "display.float_format", "{:.4g}".format):
        print(out.T.to_string())


if __name__ == "__main__":
    main()
