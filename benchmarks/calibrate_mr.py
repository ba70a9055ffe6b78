"""Calibration of the MR estimators on the UK Biobank twin (not run in CI).

For each of ``--seeds`` twins (default N = 20,688, no pleiotropy) the association step and the scan are run for
the IL-6 and CRP instruments on the five planted IDPs and ``--null-idps`` IDPs with no planted effect. Prints, for
IVW (fixed effect), MR-Egger and the weighted median: bias of the estimate against the planted effect (``theta_sd``:
per SD of the IDP, the units of the standardised association), coverage of
the 95% CI (target 93.5-96.5%) and the type-I error at alpha = 0.05 over the null pairs (target <= 5.5%).

    python benchmarks/calibrate_mr.py [--seeds 200] [--n 20688] [--jobs 2] [--n-boot 500] [--pleiotropy-sd 0]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd


def one(seed, n, null_idps, n_boot, pleio):
    from il6repro.genetics import assoc as A
    from il6repro.genetics import scan as S
    from il6repro.twins import ukb

    with tempfile.TemporaryDirectory() as d:
        path = ukb.write(f"{d}/t", n=n, seed=seed, pleiotropy_sd=pleio)
        ex = ukb.load(path)
        truth = ukb.truth(path)
    planted = list(ukb.targets()["idp"])
    rng = np.random.default_rng(seed)
    others = [c for c in ex.idps.columns if c not in planted]
    idps = planted + list(rng.choice(others, null_idps, replace=False))
    a = A.associate(ex.dosages, ex.idps[idps], A.design_matrix(ex.covariates), variants=ex.variants)
    ins = ukb.instruments()
    res = S.scan(ins[ins.exposure.isin(["IL-6", "CRP"])], a, methods=("ivw", "egger", "weighted_median"),
                 n_boot=n_boot, seed=seed, ivw_model="fixed")  # the table's "IVW (fixed)"
    est = res.estimates.merge(truth[["exposure", "idp", "theta_sd"]].rename(
        columns={"theta_sd": "theta"}), on=["exposure", "idp"])
    est["seed"] = seed
    return est[["seed", "exposure", "idp", "method", "estimate", "se", "ci_low", "ci_high", "p", "theta"]]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=200)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--n", type=int, default=20688)
    ap.add_argument("--null-idps", type=int, default=20)
    ap.add_argument("--n-boot", type=int, default=500)
    ap.add_argument("--pleiotropy-sd", type=float, default=0.0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default="", help="optional CSV of every estimate")
    args = ap.parse_args()
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    with ProcessPoolExecutor(args.jobs) as pool:
        futs = [pool.submit(one, s, args.n, args.null_idps, args.n_boot, args.pleiotropy_sd) for s in seeds]
        parts = [f.result() for f in tqdm(futs, desc="twins", unit="seed")]
    d = pd.concat(parts, ignore_index=True)
    if args.out:
        d.to_csv(args.out, index=False)
    d["covered"] = (d.ci_low <= d.theta) & (d.theta <= d.ci_high)
    d["err"] = d.estimate - d.theta
    d["planted"] = d.theta != 0
    rows = []
    for m, g in d.groupby("method", sort=False):
        nul = g[~g.planted]
        pl = g[g.planted]
        rows.append({"method": m, "pairs": len(g), "bias (planted)": pl.err.mean(),
                     "bias / mean SE (planted)": pl.err.mean() / pl.se.mean(),
                     "bias (null)": nul.err.mean(), "coverage 95% CI (%)": 100 * g.covered.mean(),
                     "coverage, planted (%)": 100 * pl.covered.mean(),
                     "type-I error at 0.05 (%)": 100 * (nul.p < 0.05).mean(),
                     "MC SE of coverage (pp)": 100 * np.sqrt(0.95 * 0.05 / len(g)),
                     "MC SE, planted (pp)": 100 * np.sqrt(0.95 * 0.05 / max(len(pl), 1))})
    out = pd.DataFrame(rows).set_index("method")
    print(f"{args.seeds} twins (N = {args.n:,}, pleiotropy_sd = {args.pleiotropy_sd}), IL-6 and CRP x "
          f"{5 + args.null_idps} IDPs, {time.perf_counter() - t0:.0f} s")
    with pd.option_context("display.width", 200, "display.float_format", "{:.4g}".format):
        print(out.to_string())
    ok = out["coverage 95% CI (%)"].between(93.5, 96.5) & (out["type-I error at 0.05 (%)"] <= 5.5)
    print("targets (coverage 93.5-96.5%, type-I error <= 5.5%):",
          ", ".join(f"{m} {'met' if v else 'NOT met'}" for m, v in ok.items()))


if __name__ == "__main__":
    main()
