"""Benchmark (c): a UK Biobank twin of N = 100,000 with ~3,900 IDPs, 5 exposures, the full MR suite; peak memory.

Each stage runs in this one process, in order, and the script prints its wall time and the process's peak
resident set size after it (``getrusage`` ``ru_maxrss``: the high-water mark of everything, Python, numpy and
BLAS buffers included). The target is a peak below 8 GB.

Stages: simulate + write the twin (participant CSV, plink ``.raw``, truth; its 205 IDPs) -> ``ukb.load`` ->
widen the IDP table to ``--idps`` columns (UK Biobank has released about 3,900 IDPs; the twin simulates the paper's
205, so the other columns are made here, in memory: each a mix of two of the twin's IDPs, standardised, plus
independent noise, so they keep the covariate structure and missingness pattern of their parents and carry
no planted effect; float64, about 3.1 GB at N = 100,000) -> design matrix and ``associate`` (35 variants x all
IDPs, in column chunks) -> ``scan`` of 5 exposures x all IDPs with the full suite (IVW, MR-Egger, weighted and
simple median, weighted mode with ``--n-boot`` draws, heterogeneity, single-SNP, leave-one-out, Steiger) ->
one-sample 2SLS of the IL-6 score on the five planted IDPs.

    python benchmarks/bench_memory_100k.py [--n 100000] [--idps 3900] [--n-boot 1000] [--limit-gb 8]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time


def peak_gb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    return kb / 1024**2


def widen(idps, total: int, seed: int):
    """The twin's IDPs plus ``total - 205`` made ones (see the module docstring), as one float64 block."""
    import numpy as np
    import pandas as pd

    n, r0 = idps.shape
    extra = max(0, total - r0)
    out = np.empty((n, r0 + extra))
    out[:, :r0] = idps.to_numpy(float)
    z = (out[:, :r0] - np.nanmean(out[:, :r0], 0)) / np.nanstd(out[:, :r0], 0, ddof=1)
    rng = np.random.default_rng(seed)
    parents = rng.integers(0, r0, size=(extra, 2))
    wts = rng.uniform(0.3, 0.7, extra)
    for i in range(extra):
        a, b = parents[i]
        col = out[:, r0 + i]
        np.multiply(z[:, a], wts[i], out=col)
        col += (1 - wts[i]) * z[:, b]
        col += 0.5 * rng.standard_normal(n)
    del z
    names = list(idps.columns) + [f"made_{i:04d}_{idps.columns[a]}" for i, (a, _) in enumerate(parents)]
    return pd.DataFrame(out, index=idps.index, columns=names, copy=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--idps", type=int, default=3900, help="IDPs in all (the twin's 205 plus made ones)")
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=20220101)
    ap.add_argument("--limit-gb", type=float, default=8.0)
    args = ap.parse_args()
    from il6repro.genetics import assoc as A
    from il6repro.genetics import onesample as O
    from il6repro.genetics import scan as S
    from il6repro.twins import ukb

    rows = []

    cpu = [time.process_time()]

    def stage(name, t0):
        rows.append((name, time.perf_counter() - t0, peak_gb()))
        c = time.process_time()
        print(f"{name:<58s} {rows[-1][1]:8.2f} s wall {c - cpu[0]:8.2f} s CPU   peak RSS so far {rows[-1][2]:6.2f} GB",
              flush=True)
        cpu[0] = c

    print(f"baseline after imports: peak RSS {peak_gb():.2f} GB")
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        path = ukb.write(f"{d}/twin", n=args.n, seed=args.seed)
        stage(f"simulate + write twin (N = {args.n:,})", t0)
        t0 = time.perf_counter()
        ex = ukb.load(path)
        stage(f"load extract ({ex.n:,} x {ex.idps.shape[1]} IDPs)", t0)
    t0 = time.perf_counter()
    idps = widen(ex.idps, args.idps, args.seed)
    stage(f"widen IDP table to {idps.shape[1]:,} columns", t0)
    t_all = time.perf_counter()
    t0 = time.perf_counter()
    X = A.design_matrix(ex.covariates)
    a = A.associate(ex.dosages, idps, X, variants=ex.variants)
    stage(f"associate ({ex.dosages.shape[1]} variants x {idps.shape[1]:,} IDPs)", t0)
    t0 = time.perf_counter()
    ins = ukb.instruments()
    res = S.scan(ins, a, n_boot=args.n_boot, seed=args.seed)
    stage(f"scan (5 exposures x {idps.shape[1]:,} IDPs, full suite, {args.n_boot} draws)", t0)
    print(f"associate + scan: {time.perf_counter() - t_all:.1f} s wall; "
          f"{len(res.estimates):,} estimate rows, {res.estimates['note'].eq('').sum():,} with numbers")
    t0 = time.perf_counter()
    il6 = ins[ins["exposure"] == "IL-6"].drop_duplicates("snp")
    planted = list(ukb.targets()["idp"])
    Ys = ex.idps[planted]
    tsls = O.tsls((Ys - Ys.mean()) / Ys.std(), ex.exposure["log_crp"], ex.dosages[il6["snp"]], X)
    stage("2SLS, IL-6 score on the 5 planted IDPs", t0)
    hits = res.primary[(res.primary["exposure"] == "IL-6") & (res.primary["p"] < 1.1e-4)]
    twin_hits = hits["idp"].isin(ex.idps.columns).sum()
    peak = max(r[2] for r in rows)
    print(f"2SLS first-stage F {tsls['first_stage_F'].iloc[0]:.1f}")
    print(f"IL-6 IDPs passing P < 1.1e-4 at N = {ex.n:,}: {twin_hits} of the twin's {ex.idps.shape[1]} "
          f"({len(hits)} of all {idps.shape[1]:,}, made ones mixing planted IDPs included)")
    print(f"peak RSS {peak:.2f} GB (limit {args.limit_gb:g} GB): {'PASS' if peak < args.limit_gb else 'FAIL'}")
    sys.exit(0 if peak < args.limit_gb else 1)


if __name__ == "__main__":
    main()
