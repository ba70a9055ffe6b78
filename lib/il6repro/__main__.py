"""Command line: ``python -m il6repro {data,run,site,ledger,sweep,teach,opengwas} ...`` (``-h`` on each for its options)."""

from __future__ import annotations

import argparse
import os
import sys


def _positive_int(text: str) -> int:
    """An argparse type: a whole number of seconds above 0 (``--cell-timeout 0`` would stop every cell)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value} is not above 0: give the seconds a cell may run, e.g. 600")
    return value


def _data(args) -> int:
    from . import data

    if args.action == "status":
        import pandas as pd

        table = data.status(verify=args.verify)
        with pd.option_context("display.max_colwidth", 60, "display.width", 200):
            print(table[["id", "kind", "licence", "available", "source"]].to_string(index=False))
        roots = data.mirror_roots()
        print(f"\nmirror roots: {', '.join(map(str, roots)) or '(none; set IL6REPRO_DATA_MIRRORS)'}")
        return 0
    ids = args.ids or list(data.default_catalog().manifests)
    failed = 0
    for ds in ids:
        try:
            res = data.resolve(ds)
            print(f"{ds}: ok ({res.source})")
            if args.action == "paths":
                for name, p in res.paths.items():
                    print(f"  {name}: {p}")
        except (data.DataUnavailableError, KeyError) as exc:
            failed += 1
            print(f"{ds}: {exc}", file=sys.stderr)
    return 1 if failed else 0


def _run(args) -> int:
    from .runner import ParameterError, run

    try:
        report = run(args.profile, args.param, args.only, force=args.force, cell_timeout=args.cell_timeout,
                     notebook_timeout=args.notebook_timeout, progress=not args.no_progress)
    except ParameterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    ran = sum(o.status == "ran" for o in report.outcomes)
    skipped = sum(o.status == "skipped" for o in report.outcomes)
    print(f"run: {ran} executed, {skipped} up to date, {len(report.outcomes) - ran - skipped} failed"
          + (f", {len(report.warnings)} warning(s)" if report.warnings else ""))
    for w in report.warnings:
        print(f"warning: {w}", file=sys.stderr)
    _twins_note()
    for o in report.outcomes:
        if o.status == "failed":
            print(f"error: {o.message}", file=sys.stderr)
    if report.interrupted:
        if not any(o.status == "failed" for o in report.outcomes):
            import signal

            done = report.outcomes[-1].stem if report.outcomes else "the start"
            print(f"error: the run was stopped by {signal.Signals(report.interrupted).name} after {done}; the "
                  "notebooks after it were not run", file=sys.stderr)
        return 128 + report.interrupted
    return 0 if report.ok else 1


def _site(args) -> int:
    from .governance import GovernanceError
    from .ledger import LedgerError
    from .site import SiteError, build_site

    try:
        site = build_site(force=args.force, pdf=not args.no_pdf, edition="students" if args.students else "full")
    except (GovernanceError, SiteError, LedgerError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if not (args.check or args.screens):
        return 0
    import json

    from .sitecheck import TABLE_WIDTH, BrowserUnavailable, check_site, screenshots

    stamp = site.parent / "site-check" / "passed.json"
    inputs = (site / ".inputs.sha256").read_text() if (site / ".inputs.sha256").is_file() else None
    try:
        last = json.loads(stamp.read_text())
    except (OSError, ValueError):
        last = {}
    if not args.force and not args.screens and inputs and isinstance(last, dict) and last.get("inputs") == inputs:
        print(f"site check: up to date (passed for this very site: {last.get('summary', '')})")
        return 0
    try:
        if args.screens:
            shots = screenshots(site, {"paper": "paper.html", "ledger": "ledger.html",
                                       "notebook": "notebooks/02_mr_scan.html", "search": "search.html?q=fusiform"},
                                args.screens)
            print(f"screenshots: {', '.join(str(p) for p in shots.values())}")
        if not args.check:
            return 0
        rep = check_site(site, screenshot=site.parent / "site-check" / "index.png")
    except BrowserUnavailable as exc:
        print(f"site check: {exc}", file=sys.stderr)
        return 2
    found = "; ".join(f"{w!r}: {len(v)} page(s)" for w, v in rep.searches.items())
    summary = (f"{len(rep.pages)} pages, {rep.images} images, {rep.links} links; search {found}; "
               f"{rep.tables} tables of notebook pages measured at {TABLE_WIDTH} px")
    print(f"site check: {summary}; screenshot {rep.screenshot}")
    for p in rep.problems:
        print(f"  problem: {p}", file=sys.stderr)
    if rep.ok and inputs:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(json.dumps({"inputs": inputs, "summary": summary}))
    else:
        stamp.unlink(missing_ok=True)
    return 0 if rep.ok else 1


def _ledger(args) -> int:
    import pandas as pd

    from .ledger import (
        LedgerError,
        check_against_baseline,
        compare,
        load_baseline,
        summary_counts,
        unavailable_data,
        write_baseline,
    )

    try:
        table = compare()
    except LedgerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    cols = ["claim", "published", "reproduced", "conclusion_verdict", "status", "reason"]
    with pd.option_context("display.max_colwidth", 70, "display.width", 220, "display.max_rows", 500):
        print(table[cols].to_string(index=False))
    print("\n" + ", ".join(f"{v} {k}" for k, v in summary_counts(table).items()))
    if args.csv:
        table.to_csv(args.csv, index=False)
    if args.update_baseline:
        print(f"baseline written: {write_baseline(table, args.baseline)}")
        return 0
    if args.check:
        try:
            baseline = load_baseline(args.baseline)
        except LedgerError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        regressions, notes = check_against_baseline(table, baseline, unavailable_data())
        for line in notes:
            print(f"{'note' if 'not checked' in line else 'improved'}: {line}")
        if regressions:
            print(f"ledger check FAILED: {len(regressions)} regression(s) against the baseline:", file=sys.stderr)
            for line in regressions:
                print(f"  {line}", file=sys.stderr)
            return 1
        accepted = sum(b["status"] == "not reproduced" for b in baseline.values())
        print(f"ledger check passed: no regression against the baseline ({accepted} claim(s) accepted as "
              "not reproduced, each with its reason in data_manifest/ledger_baseline.yaml)")
    return 0


def _sweep(args) -> int:
    from .sweep import SweepError, load_grid, points, run_sweep

    try:
        if args.list:
            profile, items = load_grid(args.grid, args.choice)
            for p in points(items):
                print(f"{p.key}: notebooks {','.join(p.notebooks)}; {'; '.join(p.labels)}")
            return 0
        meta = run_sweep(args.grid, choices=args.choice, profile=args.profile, workers=args.workers,
                         scheduler=args.scheduler, progress=not args.no_progress)
    except SweepError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 1 if meta["failed"] else 0


def _teach(args) -> int:
    from .runner import ParameterError
    from .teaching.course import TeachingError, build
    from .teaching.grading import GradingStopped, grade

    try:
        if args.grade:
            table = grade(args.grade, course=args.course or args.out, csv=args.csv, timeout=args.timeout,
                          cell_timeout=args.cell_timeout)
            failed = int(table["error"].map(lambda e: isinstance(e, str) and e != "").sum())
            if failed:
                print(f"{failed} of {len(table)} submission(s) could not be graded: see the error column",
                      file=sys.stderr)
            return 0 if not failed else 1
        index = build(out=args.out, run=not args.no_run, profile=args.profile, verify=args.verify)
    except (TeachingError, ParameterError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except GradingStopped as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 130
    from ._paths import build_dir

    print(f"course ({index['grader']}): {len(index['units'])} unit(s) -> {args.out or build_dir() / 'teaching'}/"
          "{student,autograder,instructor}/; grade a folder of submissions: python -m il6repro teach --grade DIR")
    return 0


TWINS_NOTE_BYTES = 2e9  # a run says so when the twins' cache holds more than this


def _twins_note() -> None:
    from ._paths import build_dir
    from .twins import _store

    root = _store.cache_root()
    folders = _store.cached_twins(root)
    size = sum(_store.folder_size(d) for d in folders)
    if size > TWINS_NOTE_BYTES:
        unused = len({d.name for d in folders} - _store.twins_in_receipts(build_dir() / "receipts"))
        print(f"note: {root} holds {size / 1e9:.1f} GB of cached twins ({len(folders)}); 'python -m il6repro twins "
              f"prune' removes the {unused} no published notebook read")


def _twins(args) -> int:
    from ._paths import build_dir
    from .twins import _store

    root = _store.cache_root()
    used = _store.twins_in_receipts(build_dir() / "receipts")
    folders = _store.cached_twins(root)
    if args.action == "status":
        size = sum(_store.folder_size(d) for d in folders)
        n_used = sum(d.name in used for d in folders)
        print(f"{root}: {len(folders)} cached twin(s), {size / 1e6:,.0f} MB; {n_used} read by the notebooks "
              f"published in {build_dir()} ('twins prune' removes the others, except those written in the last 10 "
              "minutes; they are regenerated when needed)")
        return 0
    removed, freed = _store.prune(used, root, dry_run=args.dry_run)
    kept = len(folders) - len(removed)
    print(f"{'would remove' if args.dry_run else 'removed'} {len(removed)} cached twin(s) ({freed / 1e6:,.0f} MB) "
          f"from {root}; kept {kept} (read by the published notebooks, or written in the last 10 minutes)")
    return 0


def _opengwas(args) -> int:
    import time

    from .data import opengwas as og

    q = og.default_query()
    if args.action == "plan":
        for k, v in og.plan(q).items():
            print(f"{k}: {v}")
        return 0
    if args.action == "status":
        print(og.token_status())
        entries = og.cached_entries(q)
        print(f"cached copies of the paper's query ({q.key()[:12]}): {len(entries) or 'none'}")
        for e in entries:
            kind = "FIXTURE" if e["fixture"] else "real"
            print(f"  API {e['api_version']}, fetched {e['fetched_at']}, {e['n_requests']} requests, {kind}, "
                  f"sha256 {e['bundle_sha256'][:16]}: {e['path']}")
        return 0
    t0 = time.perf_counter()
    try:
        out = og.open_outcomes(og.default_query().rsids, refresh=args.refresh, progress=not args.no_progress)
    except og.OpenGWASError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(out.describe().to_string(header=False))
    print(f"wall time: {time.perf_counter() - t0:.1f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m il6repro", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("data", help="dataset status, fetch, paths")
    d.add_argument("action", choices=["status", "fetch", "paths"])
    d.add_argument("ids", nargs="*", help="dataset ids (default: all)")
    d.add_argument("--verify", action="store_true", help="status: fetch and hash every dataset")
    d.set_defaults(func=_data)
    r = sub.add_parser("run", help="execute the notebooks with papermill")
    r.add_argument("--profile", default="default", help="parameter profile (lib/il6repro/profiles.yaml)")
    r.add_argument("-p", "--param", action="append", default=[], metavar="[NN.]NAME=VALUE",
                   help="override a parameter (all notebooks declaring it, or notebook NN only)")
    r.add_argument("--only", action="append", help="notebook number(s) or stem(s), e.g. --only 00,02")
    r.add_argument("--force", action="store_true", help="re-run even if up to date")
    r.add_argument("--cell-timeout", type=_positive_int, default=600, help="seconds a cell may run (default 600)")
    r.add_argument("--notebook-timeout", type=_positive_int, default=3600, help="seconds a notebook may run")
    r.add_argument("--no-progress", action="store_true", help="no per-cell progress bar")
    r.set_defaults(func=_run)
    s = sub.add_parser("site", help="build the book (build/book/html) with Sphinx")
    s.add_argument("--students", action="store_true",
                   help="build the course site for students instead (build/book-students/html): the paper, ledger "
                        "and study chapters and the student notebooks, without the instructor versions of the "
                        "teaching chapters or the instructor page")
    s.add_argument("--force", action="store_true", help="rebuild (and re-check) even if up to date")
    s.add_argument("--check", action="store_true",
                   help="then check every page and the search in headless Chromium")
    s.add_argument("--no-pdf", action="store_true", help="do not print the paper to PDF")
    s.add_argument("--screens", metavar="DIR",
                   help="save 1400 px screenshots of the paper, ledger, a notebook and a search to DIR")
    s.set_defaults(func=_site)
    lg = sub.add_parser("ledger", help="published vs reproduced numbers")
    lg.add_argument("--check", action="store_true",
                    help="exit 1 on a regression against the accepted baseline (data_manifest/ledger_baseline.yaml)")
    lg.add_argument("--baseline", help="baseline file (default data_manifest/ledger_baseline.yaml)")
    lg.add_argument("--update-baseline", action="store_true", help="accept the current statuses as the baseline")
    lg.add_argument("--csv", help="also write the table to this CSV")
    lg.set_defaults(func=_ledger)
    sw = sub.add_parser("sweep", help="what-if grid of analysis choices on a Dask cluster")
    sw.add_argument("--grid", help="grid YAML (default lib/il6repro/sweep.yaml)")
    sw.add_argument("--choice", action="append", help="run only this choice (by name; repeatable)")
    sw.add_argument("--profile", help="run profile of every point (default: the grid's, 'quick')")
    sw.add_argument("--workers", type=int, default=2, help="worker processes of the local Dask cluster")
    sw.add_argument("--scheduler", help="address of an existing Dask scheduler (e.g. tcp://host:8786)")
    sw.add_argument("--list", action="store_true", help="print the runs the grid makes and stop")
    sw.add_argument("--no-progress", action="store_true", help="no progress bar")
    sw.set_defaults(func=_sweep)
    tw = sub.add_parser("twins", help="the cache of synthetic twins (build/twins, or $IL6REPRO_TWINS)")
    tw.add_argument("action", choices=["status", "prune"],
                    help="status: count and size; prune: remove the twins no published notebook read (each is "
                         "regenerated, identical, when a run needs it again)")
    tw.add_argument("--dry-run", action="store_true", help="prune: say what would be removed, remove nothing")
    tw.set_defaults(func=_twins)
    o = sub.add_parser("opengwas", help="real outcome data: the UK Biobank brain-IDP GWAS on OpenGWAS (ubm-b)")
    o.add_argument("action", choices=["plan", "status", "fetch"],
                   help="plan: requests and allowance cost (no network); status: token and cache; fetch: download "
                        "(or read the cache) now")
    o.add_argument("--refresh", action="store_true", help="fetch: ignore the cache")
    o.add_argument("--no-progress", action="store_true", help="fetch: no progress bar")
    o.set_defaults(func=_opengwas)
    t = sub.add_parser("teach", help="build the course (student + autograder versions, otter-grader) into "
                                     "build/teaching/, or grade a folder of submissions")
    t.add_argument("--out", help="output folder of the build (default build/teaching)")
    t.add_argument("--profile", default="default", help="profile of the instructor versions' run (default default)")
    t.add_argument("--no-run", action="store_true",
                   help="do not run the instructor versions first (their figures must exist)")
    t.add_argument("--verify", action="store_true", help="also grade each unit's solutions with otter (full marks)")
    t.add_argument("--grade", metavar="DIR", help="grade every .ipynb in DIR; write a CSV of scores per exercise")
    t.add_argument("--course", help="with --grade: the built course (default build/teaching)")
    t.add_argument("--csv", help="with --grade: the CSV to write (default DIR/scores.csv)")
    t.add_argument("--timeout", type=float, default=600.0, metavar="SECONDS",
                   help="with --grade: seconds one submission may take before it is stopped (default 600)")
    t.add_argument("--cell-timeout", type=float, default=120.0, metavar="SECONDS",
                   help="with --grade: seconds one code cell may take; it is stopped and the cells after it still "
                        "run and are checked (default 120)")
    t.set_defaults(func=_teach)
    args = ap.parse_args(argv)
    try:
        return args.func(args)
    except _user_errors() as exc:  # bad input that escaped a command's own handling: one line, no traceback
        lines = str(exc).strip().splitlines() or [type(exc).__name__]
        print("\n".join([f"error: {lines[0]}"] + ["  " + ln.lstrip() if not ln.startswith(" ") else ln
                                                    for ln in lines[1:]]), file=sys.stderr)
        return 2
    except OSError as exc:  # disk full, permissions, a folder removed under us: a fault, said in one line
        if os.environ.get("IL6REPRO_DEBUG"):
            raise
        print(f"error: {_one_line(exc)} (set IL6REPRO_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1


def _user_errors() -> tuple[type[BaseException], ...]:
    from .data import DataUnavailableError, ManifestError
    from .governance import GovernanceError
    from .ledger import LedgerError
    from .runner import ParameterError
    from .site import SiteError
    from .sweep import SweepError
    from .teaching.course import TeachingError

    return (ParameterError, DataUnavailableError, ManifestError, GovernanceError, LedgerError, SweepError,
            TeachingError, SiteError)


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    if isinstance(exc, OSError) and exc.filename and str(exc.filename) not in text:
        text += f": {exc.filename}"
    return text


if __name__ == "__main__":
    sys.exit(main())
