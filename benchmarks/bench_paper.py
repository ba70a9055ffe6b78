"""Benchmark (d): the whole paper against its empty-notebook floor, both run in one invocation.

Takes whatever ``notebooks/NN_*.ipynb`` holds now and makes, on the fly, a floor copy of every notebook: each
code cell emptied except the ``parameters`` cell (markdown and metadata kept), so the floor is what the runner,
papermill and a fresh kernel per notebook cost with no work done. Then runs, through the project's runner
(:func:`il6repro.runner.run`, ``force=True``, the chosen profile), the floor notebooks and the real ones, each into
its own temporary build and figures folders (the repository's ``build/`` and ``figures/`` are not touched),
``--pairs`` times in alternating order (floor, paper, paper, floor, ...). Prints per notebook the floor and
paper wall times (medians over pairs), the paper's excess over the floor and each notebook's share of the
paper's total, then the totals and the ratio paper / floor (the goal is <= 3x).

    python benchmarks/bench_paper.py [--profile default] [--pairs 1] [--only 02,04] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path


def floor_copy(src: Path, dst: Path) -> list[str]:
    """Copy every notebook of ``src`` into ``dst`` with its code cells emptied except the parameters cell."""
    dst.mkdir(parents=True, exist_ok=True)
    stems = []
    for nb_path in sorted(src.glob("[0-9][0-9]_*.ipynb")):
        nb = json.loads(nb_path.read_text())
        for cell in nb.get("cells", []):
            if cell.get("cell_type") == "code" and "parameters" not in cell.get("metadata", {}).get("tags", []):
                cell["source"] = []
                cell["outputs"] = []
                cell["execution_count"] = None
        (dst / nb_path.name).write_text(json.dumps(nb, indent=1))
        stems.append(nb_path.stem)
    return stems


def run_once(label: str, nb_dir: Path, work: Path, profile: str, only: list[str] | None) -> dict[str, float]:
    """One runner invocation on ``nb_dir`` into fresh build/figures folders; wall seconds per notebook."""
    from il6repro.runner import run

    build, figs = work / f"build-{label}", work / f"figures-{label}"
    shutil.rmtree(build, ignore_errors=True)
    shutil.rmtree(figs, ignore_errors=True)
    figs.mkdir(parents=True)
    os.environ["IL6REPRO_BUILD"] = str(build)
    os.environ["IL6REPRO_FIGURES_DIR"] = str(figs)
    t0 = time.perf_counter()
    report = run(profile, None, only, force=True, notebooks_dir=nb_dir, progress=False,
                 log=lambda msg: print(f"  [{label}] {msg}", flush=True))
    total = time.perf_counter() - t0
    if not report.ok:
        bad = [o for o in report.outcomes if o.status == "failed"]
        raise SystemExit(f"{label} run failed: {bad[0].stem}: {bad[0].message}")
    out = {o.stem: o.wall_seconds for o in report.outcomes}
    out["(runner total)"] = total
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="default")
    ap.add_argument("--pairs", type=int, default=1)
    ap.add_argument("--only", default="", help="comma-separated notebook numbers (default: all)")
    ap.add_argument("--keep", default="", help="keep the temporary builds in this folder")
    args = ap.parse_args()
    from il6repro._paths import repo_root

    src = repo_root() / "notebooks"
    only = [args.only] if args.only else None
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="il6repro-bench-paper-"))
    work.mkdir(parents=True, exist_ok=True)
    saved = {k: os.environ.get(k) for k in ("IL6REPRO_BUILD", "IL6REPRO_FIGURES_DIR")}
    try:
        paper_dir, floor_dir = work / "paper", work / "floor"
        shutil.rmtree(paper_dir, ignore_errors=True)
        shutil.copytree(src, paper_dir, ignore=shutil.ignore_patterns("*.py", "__pycache__", ".ipynb_checkpoints"))
        stems = floor_copy(src, floor_dir)
        print(f"{len(stems)} notebooks from {src}; profile {args.profile!r}; {args.pairs} pair(s); "
              f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}", flush=True)
        runs: dict[str, list[dict[str, float]]] = {"floor": [], "paper": []}
        for i in range(args.pairs):
            order = ("floor", "paper") if i % 2 == 0 else ("paper", "floor")
            for label in order:
                runs[label].append(run_once(label, floor_dir if label == "floor" else paper_dir, work,
                                            args.profile, only))
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    def med(label, stem):
        return statistics.median(r[stem] for r in runs[label])

    names = [s for s in runs["paper"][0] if s != "(runner total)"]
    tot_f, tot_p = sum(med("floor", s) for s in names), sum(med("paper", s) for s in names)
    print(f"\n{'notebook':<26s} {'floor s':>8s} {'paper s':>8s} {'excess s':>9s} {'share':>6s}")
    for s in names:
        f, p = med("floor", s), med("paper", s)
        print(f"{s:<26s} {f:8.1f} {p:8.1f} {p - f:9.1f} {100 * p / tot_p:5.1f}%")
    print(f"{'total (notebooks)':<26s} {tot_f:8.1f} {tot_p:8.1f} {tot_p - tot_f:9.1f}")
    rf, rp = med("floor", "(runner total)"), med("paper", "(runner total)")
    print(f"{'runner wall time':<26s} {rf:8.1f} {rp:8.1f}")
    print(f"paper / floor: {tot_p / tot_f:.2f}x over the notebooks ({rp / rf:.2f}x runner wall time); goal <= 3x")


if __name__ == "__main__":
    main()
