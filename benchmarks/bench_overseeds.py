"""Benchmark: one over-seeds draw, interleaved: the tables' pipeline against the fast path, or another revision's
code against this checkout's.

Notebook 03's over-seeds cell draws the UK Biobank twin 200 times (the five planted IDPs) and runs notebook 02's
association and IVW on each draw; notebook 08's draws the Whitehall twin 200 times and runs notebooks 07-08's
estimators.

Default mode: ``overseeds._ukb_one`` (through the twin's tables: ``ukb.simulate`` -> ``ukb.to_extract`` ->
``assoc.design_matrix`` -> ``assoc.associate`` -> ``scan.scan``) against ``overseeds._ukb_fast`` (what
``ukb_draws`` uses: the same arithmetic on arrays, the harmonisation made once), in one process.

``--against REV``: the per-seed functions the over-seeds draws run (``_ukb_fast`` and ``_whitehall_one``) of the
library at git revision ``REV`` (its ``lib/`` exported to a temporary folder) against this checkout's, each side in
a worker process of its own started once (imports and a warm-up draw excluded), the rounds sent to them in turn.

Both modes: one BLAS thread (as the over-seeds workers), alternating order (A B, B A, ... after a warm-up of each
side), each side on the same ``--seeds`` seeds per round; prints the median and range of the CPU and wall time per
draw of each side and their ratio, and checks that every number (value, CI bounds) of the two sides is identical.

    python benchmarks/bench_overseeds.py [--rounds 5] [--seeds 10] [--n 20688]
    python benchmarks/bench_overseeds.py --against main [--rounds 5] [--seeds 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _numbers(rows: list[dict]) -> list[list[float]]:
    return [[r["value"], r["ci_low"], r["ci_high"]] for r in rows]


def _report(title: str, names: tuple[str, str], cpu: dict, wall: dict, out: dict) -> bool:
    a, b = names
    same = all(np.array_equal(_numbers(out[a][s]), _numbers(out[b][s]), equal_nan=True)
               and [r["claim"] for r in out[a][s]] == [r["claim"] for r in out[b][s]] for s in out[a])
    print(title)
    for name in names:
        for what, v in (("CPU", cpu[name]), ("wall", wall[name])):
            print(f"  {name:<8s} {what:<4s} {1e3 * statistics.median(v):7.1f} ({1e3 * min(v):.1f}-{1e3 * max(v):.1f})")
    print(f"  {a} / {b}: {statistics.median(cpu[a]) / statistics.median(cpu[b]):.2f}x CPU, "
          f"{statistics.median(wall[a]) / statistics.median(wall[b]):.2f}x wall")
    print(f"  every value and CI bound identical on all {len(out[a])} seeds: {same}")
    return same


def tables_vs_fast(args) -> bool:
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
    return _report(f"UK Biobank, {args.rounds} rounds x {args.seeds} seeds, n = {args.n}; ms per draw, median "
                   "(min-max)", ("tables", "fast"), cpu, wall, out)


def worker() -> None:
    """One side of ``--against``: reads {"kind", "seeds"} lines, answers with the rows and the time they took."""
    from il6repro import overseeds as O
    from il6repro._blas import one_thread

    setup = {}
    with one_thread():
        for line in sys.stdin:
            msg = json.loads(line)
            kind = msg["kind"]
            if kind not in setup:
                if kind == "ukb":
                    params = O.ukb_setup(**msg["twin"])
                    prep = O._ukb_prepare(params)
                    setup[kind] = lambda s, params=params, prep=prep: O._ukb_fast(s, params, prep)
                else:
                    params = O.whitehall_setup(**msg["twin"])
                    setup[kind] = lambda s, params=params: O._whitehall_one(s, params)
            f = setup[kind]
            c0, w0 = time.process_time(), time.perf_counter()
            rows = {s: f(s) for s in msg["seeds"]}
            cpu, wall = time.process_time() - c0, time.perf_counter() - w0
            print(json.dumps({"cpu": cpu, "wall": wall, "rows": {str(s): [{k: (v.item() if hasattr(v, "item") else v)
                                                                           for k, v in r.items()} for r in rs]
                                                                   for s, rs in rows.items()},
                              "file": O.__file__}), flush=True)


def against(args) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "lib"
        tar = subprocess.run(["git", "-C", str(ROOT), "archive", args.against, "lib"], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", tmp], input=tar.stdout, check=True)
        rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", args.against], capture_output=True,
                             text=True, check=True).stdout.strip()
        names = (f"{args.against}", "this")
        procs = {}
        for name, lib in zip(names, (old, ROOT / "lib"), strict=True):
            env = dict(os.environ, PYTHONPATH=str(lib), IL6REPRO_ROOT=str(ROOT))
            procs[name] = subprocess.Popen([sys.executable, __file__, "--worker"], stdin=subprocess.PIPE,
                                           stdout=subprocess.PIPE, text=True, env=env, cwd=str(ROOT))

        def ask(name, kind, seeds, twin):
            p = procs[name]
            p.stdin.write(json.dumps({"kind": kind, "seeds": list(seeds), "twin": twin}) + "\n")
            p.stdin.flush()
            return json.loads(p.stdout.readline())

        ok = True
        try:
            for kind, twin in (("ukb", {"n": args.n}), ("whitehall", {})):
                cpu = {k: [] for k in names}
                wall = {k: [] for k in names}
                out = {k: {} for k in names}
                files = {k: ask(k, kind, [10_000], twin)["file"] for k in names}  # warm-up
                assert files[names[0]].startswith(str(old)) and files[names[1]].startswith(str(ROOT / "lib")), files
                for r in range(args.rounds):
                    seeds = range(1 + r * args.seeds, 1 + (r + 1) * args.seeds)
                    for name in (names if r % 2 == 0 else names[::-1]):
                        ans = ask(name, kind, seeds, twin)
                        cpu[name].append(ans["cpu"] / len(seeds))
                        wall[name].append(ans["wall"] / len(seeds))
                        out[name].update({int(s): rs for s, rs in ans["rows"].items()})
                what = f"UK Biobank (_ukb_fast, n = {args.n})" if kind == "ukb" else "Whitehall II (_whitehall_one)"
                ok &= _report(f"{what}: {args.against} ({rev}) vs this checkout, {args.rounds} rounds x {args.seeds} "
                              "seeds; ms per draw, median (min-max)", names, cpu, wall, out)
        finally:
            for p in procs.values():
                p.stdin.close()
                p.wait()
        return ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--n", type=int, default=20688)
    ap.add_argument("--against", default="", help="git revision whose library to time against this checkout's")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker()
    if not (against(args) if args.against else tables_vs_fast(args)):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
