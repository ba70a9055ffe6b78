"""Benchmark: one over-seeds UK Biobank draw, the tables' pipeline against the fast path, interleaved.

Notebook 03's over-seeds cell draws the UK Biobank twin 200 times (the five planted IDPs) and runs notebook 02's
association and IVW on each draw. ``overseeds._ukb_one`` does it through the twin's tables (``ukb.simulate`` ->
``ukb.to_extract`` -> ``assoc.design_matrix`` -> ``assoc.associate`` -> ``scan.scan``); ``overseeds._ukb_fast``
(what ``ukb_draws`` uses) does the same arithmetic on arrays, with the harmonisation made once. Both run here in one
process on one BLAS thread (as the over-seeds workers do), in alternating order (A B A B ..., after a warm-up of
each; imports excluded), each on the same ``--seeds`` seeds per round; prints the median and range of the CPU and
wall time per draw of each side and their ratio, and checks that every number of the two sides is identical.

    python benchmarks/bench_overseeds.py [--rounds 5] [--seeds 10] [--n 20688]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--n", type=int, default=20688)
    args = ap.parse_args()
    from il6repro import overseeds as O
    from il6repro._blas import one_thread

    params = O.ukb_setup(n=args.n)
    prep = O._ukb_prepare(params)
    if prep is None:
        raise SystemExit("the fast path does not apply to these instruments (see overseeds._ukb_prepare)")
    sides = {"tables": lambda s: O._ukb_one(s, params), "fast": lambda s: O._ukb_fast(s, params, prep)}
    cpu: dict[str, list[float]] = {k: [] for k in sides}
    wall: dict[str, list[float]] = {k: [] for k in sides}
    out: dict[str, dict[int, list[dict]]] = {k: {} for k in sides}
    with one_thread():
        for f in sides.values():  # warm-up: reference tables, planted effects, scipy/statsmodels code paths
            f(10_000)
        for r in range(args.rounds):
            seeds = range(1 + r * args.seeds, 1 + (r + 1) * args.seeds)
            for name in (("tables", "fast") if r % 2 == 0 else ("fast", "tables")):
                c0, w0 = time.process_time(), time.perf_counter()
                for s in seeds:
                    out[name][s] = sides[name](s)
                cpu[name].append((time.process_time() - c0) / len(seeds))
                wall[name].append((time.perf_counter() - w0) / len(seeds))
    same = all(np.array_equal([[x["value"], x["ci_low"], x["ci_high"]] for x in out["tables"][s]],
                              [[x["value"], x["ci_low"], x["ci_high"]] for x in out["fast"][s]], equal_nan=True)
               for s in out["tables"])
    print(f"{args.rounds} rounds x {args.seeds} seeds, n = {args.n}; ms per draw, median (min-max)")
    for name in sides:
        for what, v in (("CPU", cpu[name]), ("wall", wall[name])):
            print(f"  {name:<7s} {what:<4s} {1e3 * statistics.median(v):7.1f} ({1e3 * min(v):.1f}-{1e3 * max(v):.1f})")
    print(f"tables / fast: {statistics.median(cpu['tables']) / statistics.median(cpu['fast']):.2f}x CPU, "
          f"{statistics.median(wall['tables']) / statistics.median(wall['fast']):.2f}x wall")
    print(f"every z, P and CI bound identical on all {len(out['tables'])} seeds: {same}")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
