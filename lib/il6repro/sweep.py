"""What-if sweep: which conclusions survive which defensible analysis choices.

``python -m il6repro sweep`` reads the grid (``lib/il6repro/sweep.yaml``, or ``--grid``): each *choice* is one
papermill parameter with a few values, changed one at a time from the default. Every distinct set of overrides is a
*point*; the default point runs the union of the affected notebooks. Points are executed in parallel as tasks on a
Dask cluster (a ``LocalCluster`` of ``--workers`` processes, or an existing scheduler given by ``--scheduler``; the
same code runs on a multi-machine cluster). Each task runs ``python -m il6repro run --only ... -p ...`` in a build
folder of its own and returns the point's ledger records and conclusions, so workers need no shared file system.
Locally the per-point folders stay under ``build/sweep/points/`` and a rerun skips what is up to date.

The summary (``build/sweep/summary.csv``, ``summary.png``, ``points.csv``) has one row per conclusion and one
column per choice value: ``yes`` / ``no`` / blank (the run does not touch the conclusion). The site shows it.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import _yaml
from ._paths import build_dir, repo_root

GRID = Path(__file__).with_name("sweep.yaml")


class SweepError(ValueError):
    """A malformed grid, an unknown parameter or notebook, or a failed point."""


@dataclass
class Point:
    key: str
    overrides: dict[str, Any]  # "NN.name" -> value
    notebooks: list[str]
    labels: list[str] = field(default_factory=list)  # "choice = value" it stands for

    def params(self) -> list[str]:
        """The overrides as ``-p`` values (``NN.name=value``)."""
        return [f"{k}={yaml.safe_dump(v, default_flow_style=True).strip().removesuffix('...').strip()}"
                for k, v in sorted(self.overrides.items())]

    def run_params(self) -> list[str]:
        """:meth:`params` plus what every point adds: ``n_seeds=0`` for 02, 03, 07 and 08 unless the grid sets it
        (their over-seeds distributions serve the ledger, not a sweep point)."""
        extra = []
        if {"02", "03", "07", "08"} & set(self.notebooks) and not any(k.endswith("n_seeds") for k in self.overrides):
            extra = ["n_seeds=0"]
        return self.params() + extra

    def cli(self) -> list[str]:
        args = ["--only", ",".join(self.notebooks)]
        for item in self.run_params():
            args += ["-p", item]
        return args


def load_grid(path: str | Path | None = None, choices: list[str] | None = None) -> tuple[str, list[dict]]:
    """The grid's profile and its choices (optionally only those named), validated against the notebooks."""
    from .runner.execute import discover
    from .runner.parameters import check_value, inspect_parameters

    path = Path(path) if path else GRID
    raw = _yaml.load(Path(path).read_text()) or {}
    items = raw.get("choices") or []
    if not items:
        raise SweepError(f"{path}: no choices")
    if choices:
        names = {c["name"] for c in items}
        unknown = sorted(set(choices) - names)
        if unknown:
            raise SweepError(f"unknown choice(s) {unknown}; the grid has {sorted(names)}")
        items = [c for c in items if c["name"] in choices]
    nbs = discover()
    numbers = {s.split("_", 1)[0]: s for s in nbs}
    specs: dict[str, dict] = {}
    for c in items:
        for k in ("name", "param", "notebooks", "values"):
            if k not in c:
                raise SweepError(f"{path}: choice {c.get('name', c)!r} lacks {k!r}")
        for nb in c["notebooks"]:
            if str(nb) not in numbers:
                raise SweepError(f"choice {c['name']!r}: no notebook {nb!r}")
        nb_of, _, name = c["param"].rpartition(".")
        targets = [nb_of] if nb_of else [n for n in c["notebooks"]]
        c["_targets"] = []
        for nb in targets:
            stem = numbers.get(str(nb))
            if stem is None:
                raise SweepError(f"choice {c['name']!r}: no notebook {nb!r}")
            specs.setdefault(stem, inspect_parameters(nbs[stem]))
            if name not in specs[stem]:
                if nb_of:
                    raise SweepError(f"choice {c['name']!r}: notebook {stem} has no parameter {name!r}")
                continue
            for v in c["values"]:
                try:
                    check_value(stem, name, v, specs[stem][name])
                except Exception as exc:  # ParameterError
                    raise SweepError(f"choice {c['name']!r}: {exc}") from exc
            c["_targets"].append((str(nb), name, specs[stem][name]["default"]))
        if not c["_targets"]:
            raise SweepError(f"choice {c['name']!r}: no notebook in {c['notebooks']} declares {name!r}")
    return str(raw.get("profile", "quick")), items


def points(items: list[dict]) -> list[Point]:
    """Distinct runs: a value equal to the default adds no override; identical override sets share one run."""
    out: dict[str, Point] = {}
    for c in items:
        for v in c["values"]:
            ov = {f"{nb}.{name}": v for nb, name, default in c["_targets"] if v != default}
            key = "default" if not ov else "-".join(
                f"{k.replace('.', '_')}_{v}" for k, v in sorted(ov.items())).replace("/", "_")[:80] + "-" + \
                hashlib.sha256(json.dumps(ov, sort_keys=True, default=str).encode()).hexdigest()[:6]
            p = out.setdefault(key, Point(key, ov, []))
            p.notebooks = sorted(set(p.notebooks) | {str(n) for n in c["notebooks"]})
            p.labels.append(f"{c['name']} = {v}")
    return list(out.values())


# --------------------------------------------------------------------------------------------- conclusions
# conclusion name -> the ledger claim whose conclusion rule decides it (the W region conclusions use the run's own
# multiple-testing correction, which is what the sweep varies; the ledger judges the same claims at the paper's
# P < 1.1e-4)
CLAIM_OF = {
    "W: MTG genes co-expressed (P < 0.05)": "W.ahba.mtg_coexpression.p",
    "W: MTG genes + IL6 interact more than chance (P < 0.05)": "W.ahba.ppi_il6.p",
    "W: schizophrenia enrichment (q < 0.05)": "W.ahba.enrich_scz.q",
    "W: autism enrichment (q < 0.05)": "W.ahba.enrich_asd.q",
    "W: epilepsy enrichment (q < 0.05)": "W.ahba.enrich_epilepsy.q",
    "W: cognitive impairment enrichment (q < 0.05)": "W.ahba.enrich_cognition.q",
    "V: low IL-6 -> more resolution (CI above 1)": "V.rr_low_vs_high.agesex",
    "V: repeatedly low IL-6 -> more resolution (CI above 1)": "V.rr_repeated",
    "V: IL-6 falls more in resolved cases (CI below 0)": "V.il6_change_with_resolution",
}


def conclusions(records: dict[str, dict], tables: dict[str, Any]) -> dict[str, bool | None]:
    """The paper's conclusions, evaluated on one run's ledger records and aggregate tables (None: not run).

    The V and AHBA conclusions are the ledger's conclusion rules (:func:`il6repro.ledger.evaluate_conclusion`) on
    the run's records; the W region conclusions use the run's own significance column (its correction).
    """
    from .ledger import evaluate_conclusion, load_claims

    out: dict[str, bool | None] = {}
    prim = tables.get("02_mr_primary.csv")
    from .twins import ukb

    tg = ukb.targets()
    for t in tg.itertuples():
        name = f"W: IL-6 -> {t.region} significant, published sign"
        if prim is None:
            out[name] = None
            continue
        row = prim[(prim["exposure"] == "IL-6") & (prim["idp"] == t.idp)]
        out[name] = bool(len(row) and row["significant"].iloc[0] and (row["z"].iloc[0] > 0) == (t.z > 0))
    out["W: no IL-1, IL-2, CRP or BDNF effect significant"] = None if prim is None else \
        not bool(prim.loc[prim["exposure"] != "IL-6", "significant"].any())
    claims = load_claims()
    for name, cid in CLAIM_OF.items():
        r = records.get(cid)
        if r is None or (claims[cid].conclusion.get("kind") in ("ci_excludes", "sign") and not r.get("ci")):
            out[name] = None
            continue
        held, _ = evaluate_conclusion(claims[cid], float(r["value"]), tuple(r["ci"]) if r.get("ci") else None)
        out[name] = bool(held)
    return out


def twin_power(distributions: dict[str, dict] | None = None) -> dict[str, str]:
    """Conclusion name -> the twin's power for it at the default analysis ("62% of 200 seeds"), from the over-seeds
    distributions the notebooks recorded (:mod:`il6repro.overseeds`); the W region conclusions at the paper's
    P < 1.1e-4. Empty when none was recorded."""
    from . import report
    from .ledger import load_distributions
    from .twins import ukb

    dist = load_distributions() if distributions is None else distributions
    names = dict(CLAIM_OF)
    names.update({f"W: IL-6 -> {t.region} significant, published sign": f"{t.claim}.z"
                  for t in ukb.targets().itertuples()})
    out = {}
    for name, cid in names.items():
        d = dist.get(cid)
        if d and "power" in d:
            out[name] = f"{report.fmt_share(d['power'])} of {d['n_seeds']} seeds"
    return out


# --------------------------------------------------------------------------------------------- one point
def run_point(point: dict, profile: str, folder: str | None = None, twins: str | None = None,
              timeout: int = 3600) -> dict:
    """Run one point (in a Dask worker): the runner in a build folder of its own; return records + conclusions."""
    p = Point(**point)
    base = Path(folder) if folder else Path(tempfile.gettempdir()) / "il6repro-sweep"
    bdir = base / p.key
    bdir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, IL6REPRO_BUILD=str(bdir), IL6REPRO_FIGURES_DIR=str(bdir / "figures"))
    if twins:
        env["IL6REPRO_TWINS"] = twins
    cmd = [sys.executable, "-m", "il6repro", "run", "--profile", profile, "--no-progress", *p.cli()]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, cwd=str(repo_root()))
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or proc.stdout.strip().splitlines() or ["?"])[-1]
        return _point_result(p, bdir, round(wall, 1), tail[:500])
    res = _point_result(p, bdir, round(wall, 1))
    _atomic_write(bdir / "point.json", json.dumps(res, indent=1, sort_keys=True, default=str))
    return res


def _point_result(p: Point, bdir: Path, wall: float, failure: str | None = None) -> dict:
    """A point's records and conclusions, read from its build folder (``failure``: the run's last error line)."""
    import pandas as pd

    from .ledger import load_results

    res = {"key": p.key, "labels": p.labels, "overrides": p.overrides, "notebooks": p.notebooks,
           "ok": failure is None, "wall_seconds": wall, "host": os.uname().nodename}
    if failure is not None:
        res["message"] = failure
        return res
    records = load_results(bdir / "results")
    tables = {}
    f = bdir / "results" / "02_mr_primary.csv"
    if f.is_file() and any(n.startswith("02") for n in p.notebooks):
        tables["02_mr_primary.csv"] = pd.read_csv(f)
    records = {k: v for k, v in records.items() if v.get("notebook", "").split("_", 1)[0] in p.notebooks}
    res["records"] = records
    res["conclusions"] = conclusions(records, tables)
    return res


def up_to_date_result(point: Point, profile: str, folder: Path) -> dict | None:
    """The result of a point whose notebooks are all up to date in ``folder / key`` (None if any would run)."""
    from .runner.execute import plan

    bdir = folder / point.key
    if not bdir.is_dir():
        return None
    try:
        state = plan(profile, point.run_params(), point.notebooks, build=bdir)
    except Exception:  # noqa: BLE001 - anything odd: let the point run and report it
        return None
    if set(state) != set(_stems(point.notebooks)) or any(v != "up to date" for v in state.values()):
        return None
    saved = bdir / "point.json"
    try:
        res = json.loads(saved.read_text())
        if res.get("key") == point.key and res.get("labels") == point.labels and res.get("ok"):
            return res
    except (OSError, ValueError):
        pass
    return _point_result(point, bdir, 0.0)


def _stems(numbers: list[str]) -> list[str]:
    from .runner.execute import discover

    return list(discover(only=[",".join(numbers)]))


# --------------------------------------------------------------------------------------------- the sweep
def run_sweep(grid: str | Path | None = None, *, choices: list[str] | None = None, profile: str | None = None,
              workers: int = 2, scheduler: str | None = None, out: Path | None = None, progress: bool = True,
              log=print) -> dict:
    """Run every point on a Dask cluster and write the summary; returns the summary metadata.

    Locally, a point whose notebooks are all up to date in its folder is not run (its results are read back), and
    when every point is up to date no cluster is started and the summary is left as it is.
    """
    from tqdm.auto import tqdm

    grid_profile, items = load_grid(grid, choices)
    profile = profile or grid_profile
    pts = points(items)
    out = Path(out) if out else build_dir() / "sweep"
    out.mkdir(parents=True, exist_ok=True)
    local = scheduler is None
    folder = str(out / "points") if local else None  # remote workers build in their own temp folder
    twins = str(build_dir() / "twins") if local else None
    t0 = time.perf_counter()
    done = {p.key: r for p in pts if local and (r := up_to_date_result(p, profile, Path(folder))) is not None}
    todo = [p for p in pts if p.key not in done]
    old_meta = out / "summary.json"
    if not todo and old_meta.is_file() and (out / "summary.csv").is_file():
        try:
            meta = json.loads(old_meta.read_text())
        except (OSError, ValueError):
            meta = None
        if isinstance(meta, dict) and meta.get("n_points") == len(pts) and meta.get("profile") == profile \
                and not meta.get("failed"):
            log(f"sweep: all {len(pts)} run(s) up to date ({time.perf_counter() - t0:.1f} s); summary unchanged: "
                f"{out / 'summary.csv'}")
            return meta
    log(f"sweep: {len(pts)} run(s) of {sum(len(c['values']) for c in items)} choice values, profile {profile}, "
        f"{len(done)} up to date, {len(todo)} to run on "
        f"{'a local cluster of ' + str(workers) + ' worker(s)' if local else 'scheduler ' + scheduler}")
    results = list(done.values())
    n_workers = 0
    if todo:
        from dask.distributed import Client, LocalCluster, as_completed

        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=40) if local else None
        try:
            with Client(cluster if local else scheduler) as client:
                n_workers = len(client.scheduler_info().get("workers", {}))
                futs = [client.submit(run_point, asdict(p), profile, folder, twins, key=f"sweep-{p.key}",
                                      pure=False) for p in todo]
                with tqdm(total=len(futs), desc="sweep", unit="run", disable=not progress) as bar:
                    for fut in as_completed(futs):
                        r = fut.result()
                        results.append(r)
                        bar.set_postfix_str(f"{r['key'][:30]} {'ok' if r['ok'] else 'FAILED'}")
                        bar.update()
        finally:
            if cluster is not None:
                cluster.close()
    wall = time.perf_counter() - t0
    failed = [r for r in results if not r["ok"]]
    meta = {"profile": profile, "n_points": len(pts), "workers": n_workers, "wall_seconds": round(wall, 1),
            "failed": [{"key": r["key"], "message": r.get("message", "")} for r in failed]}
    write_summary(results, items, out, meta)
    for r in failed:
        log(f"sweep: run {r['key']} FAILED: {r.get('message', '')}")
    log(f"sweep: {len(results) - len(failed)} of {len(results)} run(s) ok in {wall:.0f} s -> {out / 'summary.csv'}")
    return meta


def summary_table(results: list[dict], items: list[dict], power: dict[str, str] | None = None):
    """Conclusions (rows) x choice values (columns): 'yes', 'no' or '' (the run does not touch it / failed).

    ``power`` (conclusion -> text, :func:`twin_power`) adds a column "twin power (over seeds)": how often the twin
    shows the conclusion at the default analysis, so a 'no' on one seed reads against its odds."""
    import pandas as pd

    by_label = {lab: r for r in results for lab in r.get("labels", [])}
    names: list[str] = []
    for r in results:
        for k in r.get("conclusions", {}):
            if k not in names:
                names.append(k)
    cols, run_of = {}, {}
    for c in items:
        for v in c["values"]:
            lab = f"{c['name']} = {v}"
            r = by_label.get(lab)
            run_of[lab] = r["key"] if r else None
            if r is not None and not r.get("ok"):
                cols[lab] = dict.fromkeys(names, "failed")
                continue
            cols[lab] = {n: "" if (r is None or r.get("conclusions", {}).get(n) is None) else
                         ("yes" if r["conclusions"][n] else "no") for n in names}
    table = pd.DataFrame(cols, index=names)
    table.index.name = "conclusion"
    table = table[(table.isin(["yes", "no"])).any(axis=1)]

    def survives(row):  # over distinct runs (a default value of several choices is one run)
        runs = {run_of[lab]: v for lab, v in row.items() if v in ("yes", "no")}
        if not runs:
            return ""
        yes = sum(v == "yes" for v in runs.values())
        return "all runs" if yes == len(runs) else "no run" if yes == 0 else f"{yes} of {len(runs)} runs"
    table.insert(0, "holds under", table.apply(survives, axis=1))
    if power:
        table.insert(1, "twin power (over seeds)", [power.get(n, "") for n in table.index])
    return table


def write_summary(results: list[dict], items: list[dict], out: Path, meta: dict) -> None:
    """summary.csv / summary.json / points.csv / summary.png, each written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd

    from .report import arrows

    table = summary_table(results, items, twin_power())
    rows = []
    for r in sorted(results, key=lambda r: r["key"]):
        rows.append({"run": r["key"], "stands for": "; ".join(r.get("labels", [])),
                     "notebooks": ",".join(r.get("notebooks", [])), "ok": r["ok"],
                     "wall_seconds": r.get("wall_seconds"), "host": r.get("host", ""), "message": r.get("message", ""),
                     **{k: ("" if v is None else ("yes" if v else "no")) for k, v in r.get("conclusions", {}).items()}})
    _atomic_write(out / "points.csv", pd.DataFrame(rows).to_csv(index=False))
    _atomic_write(out / "summary.csv", table.reset_index().to_csv(index=False))
    _atomic_write(out / "summary.json", json.dumps(meta, indent=2))
    vals = table.drop(columns=[c for c in ("holds under", "twin power (over seeds)") if c in table]).replace({"yes": 1.0, "no": 0.0, "": np.nan, "failed": np.nan})
    vals = vals.astype(float)
    # the book shows it at the text column's width (~830 px): sizes chosen to stay readable there, not at 1:1
    fig, ax = plt.subplots(figsize=(max(8, 0.42 * vals.shape[1] + 4.5), 0.42 * vals.shape[0] + 3.2))
    cmap = matplotlib.colors.ListedColormap(["#e8a0a0", "#8fd19e"])
    ax.imshow(np.ma.masked_invalid(vals.to_numpy()), cmap=cmap, vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(vals.shape[1]), vals.columns, rotation=60, ha="right", fontsize=9.5)
    ax.set_yticks(range(vals.shape[0]), [arrows(n) for n in vals.index], fontsize=9.5)
    for (i, j), v in np.ndenumerate(vals.to_numpy()):
        if not np.isnan(v):
            ax.text(j, i, "yes" if v else "no", ha="center", va="center", fontsize=8)
    ax.set_title(f"Which conclusions survive which choices ({meta.get('profile')} profile; green yes, red no, "
                 "blank not affected)", fontsize=10)
    fig.tight_layout()
    tmp = out / ".summary.png.tmp"
    fig.savefig(tmp, dpi=110, format="png", bbox_inches="tight", pad_inches=0.1,
                metadata={"Software": "il6repro sweep"})
    plt.close(fig)
    os.replace(tmp, out / "summary.png")


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
