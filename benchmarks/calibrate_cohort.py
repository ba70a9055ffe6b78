"""Calibration of the study V estimators on the Whitehall twin (not run in CI).

For each of ``--seeds`` twins (default size 10,308: exactly 2,419 case-observations each) the age- and sex-adjusted
risk ratio of resolution for low vs high IL-6 and for repeated low vs repeated high, with the cluster-robust
variance of the notebooks (Poisson, ``HC1``) and its alternatives (``HC0``; the small-sample corrections
Kauermann-Carroll ``KC`` and Mancl-DeRouen ``MD``; with ``--gee`` also GEE robust and GEE Mancl-DeRouen), and the
IL-6 change (resolved minus persistent, OLS with cluster-robust SE). Printed per contrast and variance:

* bias of the estimate against the planted value (log RR 1.15 / 1.21; IL-6 change -0.20), in units of the mean SE;
* 95% CI coverage of the planted value with its exact (Clopper-Pearson) 95% CI and the Monte-Carlo SE by seed
  (a cluster bootstrap over seeds; here one estimate per seed, so it matches the binomial SE);
* the two-sided check: SD of the standardised error ``(estimate - truth) / SE`` with a bootstrap 95% CI (below 1:
  the SE is too large, conservative; above: too small);
* verdicts: ``met`` when the CI lies inside the band (coverage 93.5-96.5%, SD 0.95-1.05), ``NOT met`` when wholly
  outside, ``undecided`` otherwise.

Seeds: a perfectly calibrated method is declared ``met`` on coverage with probability 0.74 at 2,000 seeds, 0.93 at
3,000 and 0.95 at 3,300 (``il6repro.calibration.prob_met``); on the SD band 0.94 at 3,000. Hence the default 3,300.
Run again with ``--first-seed`` to check the verdicts are stable.

    python benchmarks/calibrate_cohort.py [--seeds 3300] [--first-seed 1] [--n 10308] [--jobs 2] [--gee] [--out x.csv]
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd


def one(seed: int, n: int, gee: bool) -> list[dict]:
    from threadpoolctl import threadpool_limits

    from il6repro import cohort as C
    from il6repro.twins import whitehall as W

    with threadpool_limits(1):
        tw = W.simulate(n=n, seed=seed)
        df, truth = tw["table"], tw["truth"]
        obs = C.person_observations(df)
        rows = []
        for name, data, expo, target in (("low vs high", obs, "low", truth["rr_low"]),
                                         ("repeated low vs high", C.repeated_exposure(obs), "repeated_low",
                                          truth["rr_repeated"])):
            fit = C.fit_model(data, expo, C.AGE_SEX)  # Poisson; its HC1 SE is fit.il6repro_bse
            X, d = C._design(data, expo, C.AGE_SEX)
            ses = {f"poisson {v}": float(np.sqrt(C.cluster_vcov(X, d["resolved"], fit.params, d["stno"].to_numpy(),
                                                                v).loc[expo, expo])) for v in C.VCOV_TYPES["poisson"]}
            est = {k: float(fit.params[expo]) for k in ses}
            if gee:  # risk_ratio's GEE on arrays (statsmodels' GEE to 1e-10, tests/test_cohort.py)
                for v in C.VCOV_TYPES["gee"]:
                    r = C.risk_ratio(data, expo, C.AGE_SEX, method="gee", vcov=v)
                    ses[f"gee {v}"], est[f"gee {v}"] = r["se"], r["log_rr"]
            for m, se in ses.items():
                rows.append({"seed": seed, "contrast": name, "method": m, "estimate": est[m], "se": se,
                             "truth": float(np.log(target)), "n_obs": fit.il6repro_n[0]})
        d = C.change_difference(C.il6_change(df, obs))
        rows.append({"seed": seed, "contrast": "IL-6 change (resolved - persistent)", "method": "ols cluster",
                     "estimate": d["difference"], "se": (d["ci_high"] - d["ci_low"]) / (2 * 1.959963984540054),
                     "truth": float(truth["il6_change"]), "n_obs": d["n_resolved"] + d["n_persistent"]})
    return rows


def summarise(d: pd.DataFrame) -> pd.DataFrame:
    from il6repro import calibration as K

    d = d.copy()
    d["covered"] = (d.estimate - 1.959963984540054 * d.se <= d.truth) & (d.truth <= d.estimate + 1.959963984540054 * d.se)
    d["z"] = (d.estimate - d.truth) / d.se
    rows = []
    for (c, m), g in d.groupby(["contrast", "method"], sort=False):
        cov = K.share(g.covered, g.seed)
        s = K.sd(g.z, g.seed)
        rows.append({"contrast": c, "method": m, "seeds": g.seed.nunique(), "mean obs": g.n_obs.mean(),
                     "bias / mean SE": (g.estimate - g.truth).mean() / g.se.mean(),
                     "SD est / mean SE": g.estimate.std() / g.se.mean(),
                     "coverage %": 100 * cov["share"], "exact 95% CI": f"{100 * cov['ci_low']:.1f}-{100 * cov['ci_high']:.1f}",
                     "MC SE (pp, by seed)": 100 * cov["mc_se"],
                     "coverage verdict": K.verdict(100 * cov["ci_low"], 100 * cov["ci_high"], K.COVERAGE_BAND),
                     "SD of z": s["sd"], "SD 95% CI": f"{s['ci_low']:.3f}-{s['ci_high']:.3f}",
                     "SD verdict": K.verdict(s["ci_low"], s["ci_high"], K.SD_BAND)})
    return pd.DataFrame(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3300)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--n", type=int, default=10308)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--gee", action="store_true", help="also GEE (robust and Mancl-DeRouen; ~20 ms per fit)")
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
            futs = [pool.submit(one, s, args.n, args.gee) for s in seeds]
            d = pd.DataFrame([r for f in tqdm(futs, desc="twins", unit="seed") for r in f.result()])
        if args.out:
            d.to_csv(args.out, index=False)
    out = summarise(d)
    print(f"{d.seed.nunique()} Whitehall twins (seeds {d.seed.min()}-{d.seed.max()}, N = {args.n:,}), "
          f"{time.perf_counter() - t0:.0f} s")
    print(f"bands: coverage {K.COVERAGE_BAND[0]}-{K.COVERAGE_BAND[1]}%, SD of (estimate - truth) / SE "
          f"{K.SD_BAND[0]}-{K.SD_BAND[1]}; verdict by the 95% CI (met inside, NOT met outside, else undecided)")
    with pd.option_context("display.width", 250, "display.max_columns", 30, "display.float_format", "{:.4g}".format):
        print(out.to_string(index=False))


if __name__ == "__main__":
    main()
