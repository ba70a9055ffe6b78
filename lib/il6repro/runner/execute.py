"""Run the paper: execute ``notebooks/NN_*.ipynb`` in order with papermill, skipping what is up to date.

Each notebook is executed in a worker process (:mod:`il6repro.runner.worker`) into a staging folder. Only if it
succeeds are its executed copy, figures, results and receipt moved into ``build/`` and ``figures/``; a failure
leaves the previous good outputs untouched, keeps the failed copy in ``build/failed/`` for reading, and ends the
run with an error naming the notebook and the cell.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._paths import build_dir, figures_dir, repo_root
from .parameters import ParameterError, inspect_parameters, load_profile, resolve_parameters

PACKAGES = ("papermill", "nbclient", "ipykernel", "numpy", "pandas", "scipy", "statsmodels", "matplotlib",
            "seaborn", "nilearn", "nibabel", "gseapy", "networkx", "pandera")
KERNEL = "il6repro-python"


@dataclass
class NotebookOutcome:
    stem: str
    status: str  # ran | skipped | failed
    wall_seconds: float = 0.0
    message: str = ""


@dataclass
class RunReport:
    outcomes: list[NotebookOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(o.status != "failed" for o in self.outcomes)


# ------------------------------------------------------------------------------------------------ discovery
def discover(folder: Path | None = None, only: list[str] | None = None) -> dict[str, Path]:
    """Notebooks ``NN_name.ipynb`` in number order; ``only`` selects by number or stem."""
    folder = folder or repo_root() / "notebooks"
    nbs = {p.stem: p for p in sorted(folder.glob("[0-9][0-9]_*.ipynb"))}
    if not only:
        return nbs
    wanted = [w.strip() for item in only for w in str(item).split(",") if w.strip()]
    out = {}
    for w in wanted:
        hits = [s for s in nbs if s == w or s.split("_", 1)[0] == w]
        if not hits:
            raise ParameterError(f"--only {w!r}: no notebook matches; have {', '.join(nbs)}")
        out.update({s: nbs[s] for s in hits})
    return dict(sorted(out.items()))


# ------------------------------------------------------------------------------------------------ hashing
def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tree_digest(paths: list[Path], root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(str(p.relative_to(root)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def code_digest(root: Path) -> str:
    """Digest of the library source, the manifests, the profiles and the lock file."""
    lib = [p for p in (root / "lib" / "il6repro").rglob("*") if p.is_file() and "__pycache__" not in p.parts
           and p.suffix in (".py", ".yaml", ".html", ".css", ".txt") and "tests" not in p.parts]
    extra = [p for p in (root / "data_manifest").glob("*.yaml")]
    lock = root / "requirements.lock"
    return tree_digest(lib + extra + ([lock] if lock.is_file() else []), root)


def _param_files_digest(params: dict[str, Any]) -> dict[str, str]:
    """For parameters that name existing files/folders (a user's extract), their size and mtime."""
    out = {}
    for k, v in params.items():
        if isinstance(v, str) and v and len(v) < 4096 and os.path.exists(v):
            p = Path(v)
            files = [p] if p.is_file() else sorted(q for q in p.rglob("*") if q.is_file())
            out[k] = _sha("".join(f"{q}:{q.stat().st_size}:{q.stat().st_mtime_ns}" for q in files).encode())
    return out


def notebook_key(nb: Path, params: dict[str, Any], code: str, upstream: dict[str, str]) -> str:
    blob = json.dumps({"notebook": _sha(nb.read_bytes()), "code": code, "parameters": params,
                       "param_files": _param_files_digest(params), "upstream": upstream}, sort_keys=True,
                      default=str)
    return _sha(blob.encode())


def _strip_fetch_state(label: str) -> str:
    return label.replace(" (cached)", "").replace(" (download)", "")


def datasets_unchanged(receipt: dict) -> bool:
    """True when every dataset the last run used would come from the same source now (cheap probe)."""
    from ..data import default_catalog

    cat = default_catalog()
    for ds_id, info in receipt.get("datasets", {}).items():
        if ds_id not in cat:
            return False
        if _strip_fetch_state(cat.probe(ds_id)) != _strip_fetch_state(info["source"]):
            return False
    for ds_id, _label in receipt.get("datasets_unavailable", {}).items():
        if ds_id in cat and cat.probe(ds_id) != "unavailable":
            return False
    return True


# ------------------------------------------------------------------------------------------------ receipts
def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def _git_commit(root: Path) -> str:
    from ..figures import git_commit

    return git_commit(root)


def _kernel_dir(bdir: Path) -> Path:
    """A kernelspec that runs this very interpreter (a user-level 'python3' spec cannot shadow it)."""
    kdir = bdir / ".jupyter" / "kernels" / KERNEL
    kdir.mkdir(parents=True, exist_ok=True)
    # log level ERROR: the kernel's start-up warning about TCP transport is noise on a single machine
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                     "--IPKernelApp.log_level=ERROR"],
            "display_name": "il6repro (Python)", "language": "python"}
    (kdir / "kernel.json").write_text(json.dumps(spec, indent=1))
    return bdir / ".jupyter"


# ------------------------------------------------------------------------------------------------ run
def _prune_removed(bdir: Path, known: set[str], log=print) -> None:
    """Outputs of notebooks that no longer exist (a notebook renamed or deleted from the source) are withdrawn:
    receipt, executed copy, results, methods text and published figures, so the book and ledger never show them."""
    for receipt in sorted((bdir / "receipts").glob("*.json")) if (bdir / "receipts").is_dir() else []:
        stem = receipt.stem
        if stem in known:
            continue
        try:
            figs = json.loads(receipt.read_text()).get("figures", {})
        except (OSError, ValueError):
            figs = {}
        for name in figs:
            (figures_dir() / name).unlink(missing_ok=True)
        for path in (bdir / "notebooks" / f"{stem}.ipynb", bdir / "results" / f"{stem}.json",
                     bdir / "results" / f"{stem}.methods.md", bdir / "governance" / f"{stem}.ids"):
            path.unlink(missing_ok=True)
        receipt.unlink()
        log(f"{stem}: no longer in the notebooks folder; its outputs were withdrawn")


def run(profile: str = "default", overrides: list[str] | None = None, only: list[str] | None = None, *,
        force: bool = False, cell_timeout: int = 600, notebook_timeout: int = 3600,
        notebooks_dir: Path | None = None, progress: bool = True, log=print) -> RunReport:
    """Execute the notebooks; see the module docstring. Raises ParameterError before running anything."""
    root = repo_root()
    bdir = build_dir()
    nbs = discover(notebooks_dir, only)
    if not nbs:
        raise ParameterError(f"no notebooks found in {notebooks_dir or root / 'notebooks'}")
    _prune_removed(bdir, set(discover(notebooks_dir)), log)
    specs = {s: inspect_parameters(p) for s, p in nbs.items()}
    params = resolve_parameters(nbs, specs, load_profile(profile), overrides)
    code = code_digest(root)
    commit = _git_commit(root)
    jupyter_path = _kernel_dir(bdir)
    for sub in ("notebooks", "results", "receipts", "failed", ".staging"):
        (bdir / sub).mkdir(parents=True, exist_ok=True)
    report = RunReport()
    keys: dict[str, str] = {}
    n = len(nbs)
    for i, (stem, path) in enumerate(nbs.items(), 1):
        meta = json.loads(path.read_text()).get("metadata", {}).get("il6repro", {})
        upstream = {}
        for dep in meta.get("depends", []):
            rec = bdir / "receipts" / f"{dep}.json"
            upstream[dep] = keys.get(dep) or (json.loads(rec.read_text())["key"] if rec.is_file() else "missing")
        if meta.get("reads_results"):  # e.g. the ledger notebook: its input is every other notebook's results
            res_files = sorted(p for p in (bdir / "results").glob("*.json") if p.stem != stem)
            upstream["results"] = tree_digest(res_files, bdir) if res_files else "none"
        key = notebook_key(path, params[stem], code, upstream)
        keys[stem] = key
        receipt_path = bdir / "receipts" / f"{stem}.json"
        if not force and receipt_path.is_file() and (bdir / "notebooks" / f"{stem}.ipynb").is_file():
            old = json.loads(receipt_path.read_text())
            if old.get("key") == key and datasets_unchanged(old):
                report.outcomes.append(NotebookOutcome(stem, "skipped", message="up to date"))
                log(f"[{i}/{n}] {stem}: up to date, skipped")
                continue
        log(f"[{i}/{n}] {stem}: running")
        outcome = _execute_one(stem, path, params[stem], key, profile, commit, bdir, jupyter_path,
                               cell_timeout, notebook_timeout, progress, defaults={
                                   k: v["default"] for k, v in specs[stem].items()})
        report.outcomes.append(outcome)
        log(f"[{i}/{n}] {stem}: {outcome.status} in {outcome.wall_seconds:.1f}s" +
            (f" - {outcome.message}" if outcome.message else ""))
        if outcome.status == "failed":
            break
    return report


def _execute_one(stem, path, params, key, profile, commit, bdir, jupyter_path, cell_timeout, notebook_timeout,
                 progress, defaults=None) -> NotebookOutcome:
    stage = Path(tempfile.mkdtemp(prefix=f"{stem}-", dir=bdir / ".staging"))
    try:
        (stage / "figures").mkdir()
        (stage / "results").mkdir()
        data_log = stage / "data.jsonl"
        data_log.touch()
        # papermill injects only what differs from the parameters cell (the receipt records every value), so a
        # default run shows its parameters once and an override run shows exactly what was changed
        defaults = defaults or {}
        injected = {k: v for k, v in params.items()
                    if k not in defaults or v != defaults[k] or type(v) is not type(defaults[k])}
        spec = {"input": str(path), "output": str(stage / f"{stem}.ipynb"), "parameters": injected,
                "kernel": KERNEL, "cwd": str(path.parent), "cell_timeout": cell_timeout, "progress": progress}
        (stage / "spec.json").write_text(json.dumps(spec))
        params_hash = _sha(json.dumps(params, sort_keys=True, default=str).encode())
        env = dict(os.environ, IL6REPRO_FIGURES_DIR=str(stage / "figures"),
                   IL6REPRO_RESULTS_DIR=str(stage / "results"), IL6REPRO_NOTEBOOK=stem,
                   IL6REPRO_PARAMS_HASH=params_hash, IL6REPRO_DATA_LOG=str(data_log),
                   IL6REPRO_GIT_COMMIT=commit, IL6REPRO_ROOT=str(repo_root()),
                   IL6REPRO_IDS_FILE=str(stage / "ids.txt"), IL6REPRO_METHODS_FILE=str(stage / "methods.md"),
                   JUPYTER_PATH=os.pathsep.join([str(jupyter_path), os.environ.get("JUPYTER_PATH", "")]).rstrip(os.pathsep),
                   PYTHONHASHSEED="0")
        env.pop("MPLBACKEND", None)  # the kernel's own inline backend: figures appear in the executed notebook
        t0 = time.perf_counter()
        try:
            proc = subprocess.run([sys.executable, "-m", "il6repro.runner.worker", str(stage / "spec.json")],
                                  env=env, timeout=notebook_timeout)
            rc = proc.returncode
        except subprocess.TimeoutExpired:
            rc = -1
        wall = time.perf_counter() - t0
        status_file = stage / "status.json"
        status = json.loads(status_file.read_text()) if status_file.is_file() else {
            "ok": False, "error": {"type": "runner", "ename": "Timeout" if rc == -1 else "WorkerDied",
                                   "evalue": f"worker exited with code {rc}"}}
        if not status["ok"] or rc != 0:
            msg = _describe_error(stem, status.get("error") or {})
            executed = stage / f"{stem}.ipynb"
            if executed.is_file():
                shutil.copy2(executed, bdir / "failed" / f"{stem}.ipynb")
                msg += f"; executed copy with the traceback: {bdir / 'failed' / (stem + '.ipynb')}"
            return NotebookOutcome(stem, "failed", wall, msg)
        findings = _governance_findings(stage / f"{stem}.ipynb", stage / "ids.txt", bdir)
        if findings:
            shutil.copy2(stage / f"{stem}.ipynb", bdir / "failed" / f"{stem}.ipynb")
            shown = "; ".join(map(str, findings[:5])) + (f"; ... {len(findings) - 5} more" if len(findings) > 5 else "")
            return NotebookOutcome(stem, "failed", wall,
                                   f"{stem} failed the data-governance check ({len(findings)} finding(s): {shown}); "
                                   f"nothing was published; the executed copy (local only, not on the site) is "
                                   f"{bdir / 'failed' / (stem + '.ipynb')}")
        _commit_outputs(stem, stage, bdir, key, params, profile, commit, wall, status)
        (bdir / "failed" / f"{stem}.ipynb").unlink(missing_ok=True)
        return NotebookOutcome(stem, "ran", wall)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _governance_findings(executed: Path, ids_file: Path, bdir: Path) -> list:
    """Scan an executed notebook for individual-level data (ids this run loaded, and those of earlier notebooks)."""
    from .. import governance

    ids = governance.load_ids([ids_file, *sorted((bdir / "governance").glob("*.ids"))])
    return governance.scan_notebook(executed, ids)


def _describe_error(stem: str, err: dict) -> str:
    where = ""
    if err.get("cell_index") is not None:
        where = f" in cell {err['cell_index']} of the executed copy"
        if err.get("exec_count"):
            where += f" (In [{err['exec_count']}])"
    kind = {"kernel": "kernel/timeout error", "cell": "error", "runner": "runner error"}.get(err.get("type"), "error")
    evalue = (err.get("evalue") or "").strip().splitlines()
    return f"{stem} failed{where}: {kind} {err.get('ename', '?')}: {evalue[0] if evalue else ''}"


def _commit_outputs(stem, stage, bdir, key, params, profile, commit, wall, status) -> None:
    """Move a successful notebook's outputs into place; the receipt is written last."""
    fig_dest = figures_dir()
    fig_dest.mkdir(parents=True, exist_ok=True)
    receipt_path = bdir / "receipts" / f"{stem}.json"
    old_figs = json.loads(receipt_path.read_text()).get("figures", {}) if receipt_path.is_file() else {}
    new_figs = {p.name: _sha(p.read_bytes()) for p in sorted((stage / "figures").iterdir()) if p.is_file()}
    datasets, unavailable = {}, {}
    from ..data import read_data_log

    for rec in read_data_log(stage / "data.jsonl"):
        if rec["source"] == "unavailable":
            unavailable[rec["id"]] = "unavailable"
            continue
        datasets[rec["id"]] = {"source": rec["source"], "sha256": rec["sha256"]}
    results_file = stage / "results" / f"{stem}.json"
    tables = sorted(p.name for p in (stage / "results").iterdir() if p.is_file() and p.name != f"{stem}.json")
    receipt = {
        "notebook": stem, "key": key, "profile": profile, "parameters": params, "git_commit": commit,
        "packages": package_versions(), "datasets": dict(sorted(datasets.items())),
        "datasets_unavailable": unavailable, "figures": new_figs, "tables": tables,
        "results_sha256": _sha(results_file.read_bytes()) if results_file.is_file() else None,
        "timing": {"wall_seconds": round(wall, 2), "peak_rss_mb": status.get("peak_rss_mb")},
    }
    for name in old_figs:
        if name not in new_figs:
            (fig_dest / name).unlink(missing_ok=True)
    for name in new_figs:
        os.replace(stage / "figures" / name, fig_dest / name)
    for name in tables:  # aggregate tables a later notebook reads (e.g. 02_mr_primary.csv), never participant rows
        os.replace(stage / "results" / name, bdir / "results" / name)
    gov = bdir / "governance"
    gov.mkdir(mode=0o700, exist_ok=True)
    if (stage / "ids.txt").is_file():  # kept (locally, never published) so the site can be scanned for them
        os.replace(stage / "ids.txt", gov / f"{stem}.ids")
        (gov / f"{stem}.ids").chmod(0o600)
    else:
        (gov / f"{stem}.ids").unlink(missing_ok=True)
    methods = stage / "methods.md"
    if methods.is_file() and methods.read_text().strip():
        os.replace(methods, bdir / "results" / f"{stem}.methods.md")
    else:
        (bdir / "results" / f"{stem}.methods.md").unlink(missing_ok=True)
    if results_file.is_file():
        os.replace(results_file, bdir / "results" / f"{stem}.json")
    else:
        (bdir / "results" / f"{stem}.json").unlink(missing_ok=True)
    os.replace(stage / f"{stem}.ipynb", bdir / "notebooks" / f"{stem}.ipynb")
    tmp = receipt_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(receipt, indent=2, sort_keys=True))
    os.replace(tmp, receipt_path)
