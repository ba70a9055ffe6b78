"""Benchmark (c): a UK Biobank twin of N = 100,000 generated, written, read back and scanned; peak memory.

Each stage runs in this one process, in order, and the script prints its wall time and the process's peak
resident set size after it (``getrusage`` ``ru_maxrss``: the high-water mark of everything, Python, numpy and
BLAS buffers included). The target is a peak below 8 GB.

Stages: simulate + write the twin (participant CSV, plink ``.raw``, truth) -> ``ukb.load`` -> design matrix and
``associate`` (35 variants x 205 IDPs) -> ``scan`` of 5 exposures x 205 IDPs with the full suite and
``--n-boot`` bootstrap draws -> one-sample 2SLS of the IL-6 score on the five planted IDPs.

    python benchmarks/bench_memory_100k.py [--n 100000] [--n-boot 1000] [--limit-gb 8]
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=20220101)
    ap.add_argument("--limit-gb", type=float, default=8.0)
    args = ap.parse_args()
    from il6repro.genetics import assoc as A
    from il6repro.genetics import onesample as O
    from il6repro.genetics import scan as S
    from il6repro.twins import ukb

    rows = []

    def stage(name, t0):
        rows.append((name, time.perf_counter() - t0, peak_gb()))
        print(f"{name:<44s} {rows[-1][1]:8.2f} s   peak RSS so far {rows[-1][2]:6.2f} GB", flush=True)

    print(f"baseline after imports: peak RSS {peak_gb():.2f} GB")
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        path = ukb.write(f"{d}/twin", n=args.n, seed=args.seed)
        stage(f"simulate + write twin (N = {args.n:,})", t0)
        t0 = time.perf_counter()
        ex = ukb.load(path)
        stage(f"load extract ({ex.n:,} x {ex.idps.shape[1]} IDPs)", t0)
    t0 = time.perf_counter()
    X = A.design_matrix(ex.covariates)
    a = A.associate(ex.dosages, ex.idps, X, variants=ex.variants)
    stage(f"associate ({ex.dosages.shape[1]} variants x {ex.idps.shape[1]} IDPs)", t0)
    t0 = time.perf_counter()
    ins = ukb.instruments()
    res = S.scan(ins, a, n_boot=args.n_boot, seed=args.seed)
    stage(f"scan (5 exposures x {ex.idps.shape[1]} IDPs, {args.n_boot} draws)", t0)
    t0 = time.perf_counter()
    il6 = ins[ins["exposure"] == "IL-6"].drop_duplicates("snp")
    planted = list(ukb.targets()["idp"])
    Ys = ex.idps[planted]
    tsls = O.tsls((Ys - Ys.mean()) / Ys.std(), ex.exposure["log_crp"], ex.dosages[il6["snp"]], X)
    stage("2SLS, IL-6 score on the 5 planted IDPs", t0)
    hits = res.primary[(res.primary["exposure"] == "IL-6") & (res.primary["p"] < 1.1e-4)]
    peak = max(r[2] for r in rows)
    print(f"2SLS first-stage F {tsls['first_stage_F'].iloc[0]:.1f}")
    print(f"IL-6 IDPs passing P < 1.1e-4 at N = {ex.n:,}: {len(hits)}")
    print(f"peak RSS {peak:.2f} GB (limit {args.limit_gb:g} GB): {'PASS' if peak < args.limit_gb else 'FAIL'}")
    sys.exit(0 if peak < args.limit_gb else 1)


if __name__ == "__main__":
    main()
