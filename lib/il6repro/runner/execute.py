"""Run the paper: execute ``notebooks/NN_*.ipynb`` in order with papermill, skipping what is up to date.

Each notebook is executed in a worker process (:mod:`il6repro.runner.worker`) into a staging folder. Only if it
succeeds are its executed copy, figures, results and receipt moved into ``build/`` and ``figures/``; a failure
leaves the previous good outputs untouched, keeps the failed copy in ``build/failed/`` for reading, and ends the
run with an error naming the notebook and the cell.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._paths import build_dir, figures_dir, repo_root
from .parameters import (
    ParameterError,
    check_extracts,
    inspect_parameters,
    load_profile,
    resolve_parameters,
    twin_only_overrides,
)

PACKAGES = ("papermill", "nbclient", "ipykernel", "numpy", "pandas", "scipy", "statsmodels", "matplotlib",
            "nilearn", "nibabel", "gseapy", "networkx", "pandera", "numba", "polars", "zlib-ng")
KERNEL = "il6repro-python"


@dataclass
class NotebookOutcome:
    stem: str
    status: str  # ran | skipped | failed
    wall_seconds: float = 0.0
    message: str = ""
    warnings: list[str] = field(default_factory=list)
    interrupted: int | None = None  # a signal received while its outputs were being committed


@dataclass
class RunReport:
    outcomes: list[NotebookOutcome] = field(default_factory=list)
    interrupted: int | None = None  # the signal that stopped the run, if one did
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.interrupted is None and all(o.status != "failed" for o in self.outcomes)


class RunInterrupted(BaseException):
    """The runner received SIGTERM / SIGINT / SIGHUP; carries the signal number."""


def read_json(path: Path, what: str):
    """``path`` parsed as JSON, or ``None`` when it is missing, unreadable or not valid JSON (said by the caller)."""
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None


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


#: The files the extract loaders read from a folder: their content decides whether a notebook is up to date.
EXTRACT_FILES = ("ukb_participants.csv", "ukb_instruments.raw", "whitehall_wide.csv", "whitehall_wide.csv.gz")


@functools.lru_cache(maxsize=64)
def _content_sha(path: str, size: int, mtime_ns: int, ctime_ns: int) -> str:
    """Once per file version in a process (ctime changes on every write, whatever mtime is set back to)."""
    from ..data import sha256_file

    return sha256_file(Path(path))


def _param_files_digest(params: dict[str, Any]) -> dict[str, str]:
    """For parameters that name existing files/folders (a user's extract): the content (sha256) of the file, or of
    the files the loaders read in the folder, and the size and mtime of the folder's other files. Size and mtime
    alone missed an edit that kept both (``cp -p``, ``rsync -a``, ``touch -r``), and the run said "up to date" on
    stale results."""
    out = {}
    for k, v in params.items():
        if isinstance(v, str) and v and len(v) < 4096 and os.path.exists(v):
            p = Path(v)
            files = [p] if p.is_file() else sorted(q for q in p.rglob("*") if q.is_file())
            parts = []
            for q in files:
                st = q.stat()
                read = p.is_file() or q.name in EXTRACT_FILES
                parts.append(f"{q}:{_content_sha(str(q), st.st_size, st.st_mtime_ns, st.st_ctime_ns)}" if read else
                             f"{q}:{st.st_size}:{st.st_mtime_ns}")
            out[k] = _sha("".join(parts).encode())
    return out


def notebook_key(nb: Path, params: dict[str, Any], code: str, upstream: dict[str, str]) -> str:
    blob = json.dumps({"notebook": _sha(nb.read_bytes()), "code": code, "parameters": params,
                       "param_files": _param_files_digest(params), "upstream": upstream}, sort_keys=True,
                      default=str)
    return _sha(blob.encode())


def _strip_fetch_state(label: str) -> str:
    return label.replace(" (cached)", "").replace(" (download)", "")


def datasets_unchanged(receipt: dict) -> bool:
    """True when every dataset the last run used would come from the same source now (cheap probe).

    A dataset the last run could not get counts as unchanged while the cheap probe still points where it pointed
    then (e.g. ``url (download)`` on an offline machine): only a new mirror, a filled cache (``python -m il6repro
    data fetch ID``) or ``--force`` makes the notebook try again. Receipts written before the probe was recorded
    (value ``"unavailable"``) keep the old rule: unchanged only if the probe says unavailable.
    """
    from ..data import default_catalog

    cat = default_catalog()
    for ds_id, info in receipt.get("datasets", {}).items():
        if ds_id not in cat:
            return False
        if _strip_fetch_state(cat.probe(ds_id)) != _strip_fetch_state(info["source"]):
            return False
    for ds_id, probed in receipt.get("datasets_unavailable", {}).items():
        if ds_id not in cat:
            return False
        now = cat.probe(ds_id)
        if now != probed and now != "unavailable":
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
    # log level ERROR: the kernel's start-up warning about TCP transport is noise on a single machine; no IPython
    # history database: a batch kernel has no use for it, and two runs at once would share one SQLite file (the
    # runner also stops each kernel at once after its last cell, see worker.py, which a history thread would not
    # survive cleanly)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                     "--IPKernelApp.log_level=ERROR", "--HistoryManager.enabled=False"],
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
    """Execute the notebooks; see the module docstring. Raises ParameterError before running anything (a bad
    parameter, or a real extract its loader refuses).

    SIGTERM, SIGINT and SIGHUP stop the notebook being executed (its worker and kernel included), publish nothing
    of it and end the run (``report.interrupted`` holds the signal). Staging folders left by runs that were killed
    outright (SIGKILL, power loss) are removed at the start of the next run.
    """
    root = repo_root()
    bdir = build_dir()
    nbs = discover(notebooks_dir, only)
    if not nbs:
        raise ParameterError(f"no notebooks found in {notebooks_dir or root / 'notebooks'}")
    metas = {s: _notebook_meta(p) for s, p in nbs.items()}
    _prune_removed(bdir, set(discover(notebooks_dir)), log)
    specs = {s: inspect_parameters(p) for s, p in nbs.items()}
    params = resolve_parameters(nbs, specs, load_profile(profile), overrides)
    unused = twin_only_overrides(specs, params, overrides)
    if unused:  # e.g. -p ukb.extract=/secure/ukb -p n=5000: n shapes only the twin
        names = sorted({n for v in unused.values() for n in v})
        log(f"note: with a real extract, {', '.join(names)} (the synthetic twin's parameters) are not used by "
            f"{', '.join(sorted(unused))}")
    check_extracts(params, log)  # a bad real extract stops here, before any notebook is run or republished
    code = code_digest(root)
    commit = _git_commit(root)
    jupyter_path = _kernel_dir(bdir)
    for sub in ("notebooks", "results", "receipts", "failed", ".staging"):
        (bdir / sub).mkdir(parents=True, exist_ok=True)
    report = RunReport()
    stale = clean_stale_staging(bdir)
    if stale:
        report.warnings.append(f"removed {stale} staging folder(s) left in {bdir / '.staging'} by stopped runs")
        log(f"note: {report.warnings[-1]}")
    try:
        with _forward_signals():
            _run_all(nbs, metas, specs, params, code, commit, bdir, jupyter_path, profile, force, cell_timeout,
                     notebook_timeout, progress, report, log)
    except RunInterrupted as exc:  # between notebooks (the notebook being executed is handled in _run_all)
        report.interrupted = int(exc.args[0])
    return report


def _run_all(nbs, metas, specs, params, code, commit, bdir, jupyter_path, profile, force, cell_timeout,
             notebook_timeout, progress, report, log) -> None:
    keys: dict[str, str] = {}
    n = len(nbs)
    for i, (stem, path) in enumerate(nbs.items(), 1):
        key, state = _key_and_state(stem, path, metas[stem], params[stem], code, keys, bdir, force)
        keys[stem] = key
        if state == "corrupt receipt":
            report.warnings.append(f"{bdir / 'receipts' / (stem + '.json')} is not a readable receipt (corrupt "
                                   f"JSON); {stem} is run again to rebuild it")
            log(f"warning: {report.warnings[-1]}")
        elif state == "up to date":
            report.outcomes.append(NotebookOutcome(stem, "skipped", message="up to date"))
            log(f"[{i}/{n}] {stem}: up to date, skipped")
            continue
        log(f"[{i}/{n}] {stem}: running")
        try:
            outcome = _execute_one(stem, path, params[stem], key, profile, commit, bdir, jupyter_path,
                                   cell_timeout, notebook_timeout, progress,
                                   defaults={k: v["default"] for k, v in specs[stem].items()})
        except RunInterrupted as exc:
            signum = int(exc.args[0])
            report.interrupted = signum
            report.outcomes.append(NotebookOutcome(
                stem, "failed", message=f"{stem} was stopped by {signal.Signals(signum).name} before it "
                                        "finished; nothing of it was published (the previous outputs are "
                                        "kept) and the run ends here"))
            log(f"[{i}/{n}] {stem}: stopped by {signal.Signals(signum).name}")
            break
        report.outcomes.append(outcome)
        report.warnings += outcome.warnings
        for w in outcome.warnings:
            log(f"warning: {w}")
        log(f"[{i}/{n}] {stem}: {outcome.status} in {outcome.wall_seconds:.1f}s" +
            (f" - {outcome.message}" if outcome.message else ""))
        if outcome.interrupted:  # it finished and was committed; the run stops before the next notebook
            report.interrupted = outcome.interrupted
            log(f"stopped by {signal.Signals(outcome.interrupted).name} after {stem}")
            break
        if outcome.status == "failed":
            break


def _key_and_state(stem: str, path: Path, meta: dict, params: dict, code: str, keys: dict[str, str], bdir: Path,
                   force: bool) -> tuple[str, str]:
    """The notebook's key and whether it is ``"up to date"`` (else why it runs: ``"changed"``, ``"forced"``,
    ``"corrupt receipt"``, ``"never ran"``)."""
    upstream = {}
    for dep in meta.get("depends", []):
        rec = read_json(bdir / "receipts" / f"{dep}.json", "receipt")
        upstream[dep] = keys.get(dep) or (rec.get("key", "missing") if isinstance(rec, dict) else "missing")
    if meta.get("reads_results"):  # e.g. the ledger notebook: its input is every other notebook's results
        res_files = sorted(p for p in (bdir / "results").glob("*.json") if p.stem != stem)
        upstream["results"] = tree_digest(res_files, bdir) if res_files else "none"
    key = notebook_key(path, params, code, upstream)
    receipt_path = bdir / "receipts" / f"{stem}.json"
    if force:
        return key, "forced"
    if not receipt_path.is_file() or not (bdir / "notebooks" / f"{stem}.ipynb").is_file():
        return key, "never ran"
    old = read_json(receipt_path, "receipt")
    if not isinstance(old, dict):
        return key, "corrupt receipt"
    return key, "up to date" if old.get("key") == key and datasets_unchanged(old) else "changed"


def plan(profile: str = "default", overrides: list[str] | None = None, only: list[str] | None = None, *,
         build: Path | None = None, notebooks_dir: Path | None = None) -> dict[str, str]:
    """What :func:`run` would do, without running anything: notebook -> ``"up to date"`` or why it would run.

    Valid only up to the first notebook that would run (a later one's key can depend on its results); the what-if
    sweep uses it to skip every point whose notebooks are all up to date without starting a cluster.
    """
    root = repo_root()
    bdir = Path(build) if build else build_dir()
    nbs = discover(notebooks_dir, only)
    specs = {s: inspect_parameters(p) for s, p in nbs.items()}
    params = resolve_parameters(nbs, specs, load_profile(profile), overrides)
    code = code_digest(root)
    keys: dict[str, str] = {}
    out: dict[str, str] = {}
    for stem, path in nbs.items():
        keys[stem], out[stem] = _key_and_state(stem, path, _notebook_meta(path), params[stem], code, keys, bdir,
                                               False)
        if out[stem] != "up to date":
            break
    return out


def _notebook_meta(path: Path) -> dict:
    """The ``il6repro`` block of a notebook's metadata; a notebook that is not valid JSON is a ParameterError."""
    try:
        nb = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        src = path.with_suffix(".py")
        fix = f"regenerate it from its source: jupytext --sync {src}" if src.is_file() else "restore it from git"
        raise ParameterError(f"{path}: not a readable notebook ({type(exc).__name__}: {exc}); {fix}") from None
    meta = nb.get("metadata", {}).get("il6repro", {}) if isinstance(nb, dict) else {}
    return meta if isinstance(meta, dict) else {}


# ------------------------------------------------------------------------------------------------ signals, staging
_ACTIVE: dict[str, Any] = {"proc": None}
_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def _raise_interrupted(signum, _frame):
    raise RunInterrupted(signum)


class _forward_signals:
    """Within the block, SIGTERM / SIGINT / SIGHUP raise :class:`RunInterrupted` (main thread only)."""

    def __enter__(self):
        self.saved = {}
        if threading.current_thread() is threading.main_thread():
            for s in _SIGNALS:
                self.saved[s] = signal.signal(s, _raise_interrupted)
        return self

    def __exit__(self, *exc):
        for s, h in self.saved.items():
            signal.signal(s, h)
        return False


class _ignore_signals:
    """Within the block, a second signal does not interrupt the clean-up of the first (main thread only)."""

    def __enter__(self):
        self.saved = {}
        if threading.current_thread() is threading.main_thread():
            for s in _SIGNALS:
                self.saved[s] = signal.signal(s, signal.SIG_IGN)
        return self

    def __exit__(self, *exc):
        for s, h in self.saved.items():
            signal.signal(s, h)
        return False


class _deferred_signals:
    """Within the block, SIGTERM / SIGINT / SIGHUP are held (the first is kept in ``pending`` for the caller), so a
    notebook's outputs are committed whole or not at all."""

    def __enter__(self):
        self.saved, self.pending = {}, None
        if threading.current_thread() is threading.main_thread():
            for s in _SIGNALS:
                self.saved[s] = signal.signal(s, self._hold)
        return self

    def _hold(self, signum, _frame):
        self.pending = self.pending or signum

    def __exit__(self, *exc):
        for s, h in self.saved.items():
            signal.signal(s, h)
        return False


def _stop_worker(proc: subprocess.Popen, grace: float = 15.0) -> None:
    """Stop a worker and everything it started: SIGTERM to its process group (the worker stops its kernel), then
    SIGKILL to whatever is left."""
    try:
        import psutil

        tree = psutil.Process(proc.pid).children(recursive=True)
    except Exception:  # noqa: BLE001 - the worker may already be gone
        tree = []
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    for p in tree:
        try:
            os.killpg(p.pid, signal.SIGKILL) if os.getpgid(p.pid) == p.pid else p.kill()
        except Exception:  # noqa: BLE001 - already gone
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _process_start(pid: int) -> float | None:
    try:
        import psutil

        return psutil.Process(pid).create_time()
    except Exception:  # noqa: BLE001 - no such process
        return None


def _claim_stage(stage: Path) -> None:
    (stage / "owner.json").write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                                  "started": _process_start(os.getpid())}))


def clean_stale_staging(bdir: Path, min_age: float = 600.0) -> int:
    """Remove staging folders whose runner is gone (same host, process dead or its pid reused); return how many.

    A folder without an owner record (a run killed between creating and claiming it, or an older version) is
    removed once it is ``min_age`` seconds old. Folders of a runner still alive (two runs at once) are kept.
    """
    folder = bdir / ".staging"
    if not folder.is_dir():
        return 0
    removed = 0
    host = socket.gethostname()
    for d in folder.iterdir():
        if not d.is_dir():
            continue
        owner = read_json(d / "owner.json", "staging owner")
        if isinstance(owner, dict):
            if owner.get("host") != host:
                continue
            started = _process_start(int(owner.get("pid", -1)))
            alive = started is not None and (owner.get("started") is None or abs(started - owner["started"]) < 1)
            if alive:
                continue
        else:
            try:
                if time.time() - d.stat().st_mtime < min_age:
                    continue
            except OSError:
                continue
        shutil.rmtree(d, ignore_errors=True)
        removed += not d.exists()
    return removed


def _execute_one(stem, path, params, key, profile, commit, bdir, jupyter_path, cell_timeout, notebook_timeout,
                 progress, defaults=None) -> NotebookOutcome:
    stage = Path(tempfile.mkdtemp(prefix=f"{stem}-", dir=bdir / ".staging"))
    try:
        _claim_stage(stage)
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
                   IL6REPRO_PROGRESS_FILE=str(stage / "progress.txt"),
                   JUPYTER_PATH=os.pathsep.join([str(jupyter_path), os.environ.get("JUPYTER_PATH", "")]).rstrip(os.pathsep),
                   PYTHONHASHSEED="0")
        env.pop("MPLBACKEND", None)  # the kernel's own inline backend: figures appear in the executed notebook
        t0 = time.perf_counter()
        # the worker gets a process group of its own, so a signal to the runner can be forwarded to it (and it
        # stops its kernel) rather than leaving both running
        proc = subprocess.Popen([sys.executable, "-m", "il6repro.runner.worker", str(stage / "spec.json")],
                                env=env, start_new_session=True)
        try:
            try:
                rc = proc.wait(timeout=notebook_timeout)
            except subprocess.TimeoutExpired:
                _stop_worker(proc)
                rc = -1
        except RunInterrupted:
            with _ignore_signals():
                _stop_worker(proc)
            raise
        wall = time.perf_counter() - t0
        status = read_json(stage / "status.json", "worker status")
        if not isinstance(status, dict):
            status = {"ok": False, "error": {
                "type": "runner", "ename": "Timeout" if rc == -1 else "WorkerDied",
                "evalue": f"the notebook ran longer than --notebook-timeout {notebook_timeout} s" if rc == -1 else
                          f"worker exited with code {rc} without a status (killed? out of memory?)"}}
            status["error"].update(_failing_cell_of(stage / f"{stem}.ipynb"))
        if not status["ok"] or rc != 0:
            msg = _describe_error(stem, status.get("error") or {}, stage / "kernel.log")
            executed = stage / f"{stem}.ipynb"
            if executed.is_file():
                shutil.copy2(executed, bdir / "failed" / f"{stem}.ipynb")
                msg += f"; executed copy with the traceback: {bdir / 'failed' / (stem + '.ipynb')}"
            else:
                msg += "; no executed copy was saved (the kernel did not start)"
            return NotebookOutcome(stem, "failed", wall, msg)
        with _deferred_signals() as held:  # a signal now waits until the outputs are committed (or not) whole
            outcome = _finish(stem, stage, bdir, key, params, profile, commit, wall, status)
        outcome.interrupted = held.pending
        return outcome
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _finish(stem, stage, bdir, key, params, profile, commit, wall, status) -> NotebookOutcome:
    """Checks of a notebook that ran (data problems, governance), then the commit of its outputs."""
    bad_data, warnings = _data_problems(stem, stage / "data.jsonl")
    if bad_data:
        shutil.copy2(stage / f"{stem}.ipynb", bdir / "failed" / f"{stem}.ipynb")
        return NotebookOutcome(stem, "failed", wall,
                               f"{bad_data}; nothing of {stem} was published (the executed copy, local only, is "
                               f"{bdir / 'failed' / (stem + '.ipynb')})")
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
    return NotebookOutcome(stem, "ran", wall, warnings=warnings)


def _failing_cell_of(executed: Path) -> dict:
    from .worker import _failing_cell

    return _failing_cell(str(executed)) if executed.is_file() else {}


def _data_problems(stem: str, data_log: Path) -> tuple[str, list[str]]:
    """A dataset copy that exists but fails its sha256 is an error when no other source served the dataset (the
    notebook then ran without it), a warning when another source did."""
    from ..data import read_data_log

    errors, warnings = [], []
    for rec in read_data_log(data_log):
        rejected = rec.get("rejected") or []
        if not rejected:
            continue
        if rec["source"] == "unavailable":
            errors.append(f"{stem} ran without dataset {rec['id']!r} because its copy fails the sha256 check: "
                          f"{rejected[0]} (restore the file from the dataset's origin, see data_manifest/"
                          f"{rec['id']}.yaml, or remove it from the mirror)")
        else:
            warnings.append(f"{stem}: dataset {rec['id']!r} served by {rec['source']} because a copy fails the "
                            f"sha256 check and was not used: {rejected[0]}")
    return (errors[0] if errors else ""), warnings


def _governance_findings(executed: Path, ids_file: Path, bdir: Path) -> list:
    """Scan an executed notebook for individual-level data (ids this run loaded, and those of earlier notebooks)."""
    from .. import governance

    ids = governance.load_ids([ids_file, *sorted((bdir / "governance").glob("*.ids"))])
    return governance.scan_notebook(executed, ids)


def _describe_error(stem: str, err: dict, kernel_log: Path | None = None) -> str:
    where = ""
    if err.get("cell_index") is not None:
        where = f" in cell {err['cell_index']} of the executed copy"
        if err.get("exec_count"):
            where += f" (In [{err['exec_count']}])"
    kind = {"kernel": "kernel/timeout error", "cell": "error", "runner": "runner error",
            "interrupted": "stopped by"}.get(err.get("type"), "error")
    evalue = (err.get("evalue") or "").strip().splitlines()
    text = evalue[0] if evalue else ""
    ename = err.get("ename", "?")
    if ename == "CellTimeoutError" or "timed out" in text.lower():
        text = (text + " (raise --cell-timeout if the cell needs longer)").strip()
    elif ename == "DeadKernelError" and kernel_log is not None and kernel_log.is_file():
        last = [ln.strip() for ln in kernel_log.read_text(errors="replace").splitlines()
                if ln.strip() and "running over TCP without encryption" not in ln]
        if last:
            text += f" (kernel log: {last[-1][:200]})"
        else:
            text += " (the kernel exited without a message: out of memory, os._exit or a crash in native code?)"
    return f"{stem} failed{where}: {kind} {ename}: {text}"


_VOLATILE_PM = ("start_time", "end_time", "duration")


def normalize_executed(path: Path, stem: str) -> list[float | None]:
    """Make an executed notebook a function of its inputs only; return each code cell's wall time (for the receipt).

    papermill and nbclient stamp wall-clock times (``metadata.papermill.start_time`` ..., each cell's
    ``metadata.execution``) and the staging path of the output. They are dropped / replaced by the published
    location (``notebooks/NN_name.ipynb`` under the build folder, the source path relative to the project), so two
    runs with the same inputs give byte-identical executed notebooks; the timings live on in the receipt. A cell's
    consecutive stream outputs are merged into one (nbconvert's ``CoalesceStreamsPreprocessor``): the kernel may
    flush one ``print`` as one message or as two (its text, then the newline), depending on timing.
    """
    import nbformat
    from nbconvert.preprocessors.coalescestreams import CoalesceStreamsPreprocessor

    nb = nbformat.read(path, as_version=4)
    pm = nb.metadata.get("papermill", {})
    for k in _VOLATILE_PM:
        pm.pop(k, None)
    if "input_path" in pm:
        try:
            pm["input_path"] = str(Path(pm["input_path"]).resolve().relative_to(repo_root()))
        except ValueError:
            pm["input_path"] = Path(pm["input_path"]).name
    if "output_path" in pm:
        pm["output_path"] = f"notebooks/{stem}.ipynb"
    seconds: list[float | None] = []
    ids = {c.get("id") for c in nb.cells}
    coalesce = CoalesceStreamsPreprocessor()
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            coalesce.preprocess_cell(cell, {}, i)
        if "injected-parameters" in cell.metadata.get("tags", []) and "injected-parameters" not in ids:
            cell["id"] = "injected-parameters"  # papermill gives the cell it adds a random id
        cell.metadata.pop("execution", None)
        cpm = cell.metadata.get("papermill")
        if cpm is not None:
            if cell.cell_type == "code":
                seconds.append(round(cpm["duration"], 3) if isinstance(cpm.get("duration"), int | float) else None)
            for k in _VOLATILE_PM:
                cpm.pop(k, None)
    nbformat.write(nb, path)
    return seconds


def _commit_outputs(stem, stage, bdir, key, params, profile, commit, wall, status) -> None:
    """Move a successful notebook's outputs into place; the receipt is written last."""
    fig_dest = figures_dir()
    fig_dest.mkdir(parents=True, exist_ok=True)
    receipt_path = bdir / "receipts" / f"{stem}.json"
    old = read_json(receipt_path, "receipt")
    old_figs = old.get("figures", {}) if isinstance(old, dict) else {}
    new_figs = {p.name: _sha(p.read_bytes()) for p in sorted((stage / "figures").iterdir()) if p.is_file()}
    datasets, unavailable, cohorts = {}, {}, {}
    from ..data import read_data_log

    for rec in read_data_log(stage / "data.jsonl"):
        if rec.get("kind") == "cohort":  # the twin or extract a loader read (what the site checks for mixing)
            first = cohorts.setdefault(rec["id"], {"source": rec["source"], "sha256": rec["sha256"],
                                                   **({"via": rec["via"]} if rec.get("via") else {})})
            if rec["sha256"] != first["sha256"]:  # e.g. 02's comparison twin calibrated to P: not its main data
                also = first.setdefault("also", [])
                if rec["source"] not in also:
                    also.append(rec["source"])
        elif rec["source"] == "unavailable":
            unavailable[rec["id"]] = rec.get("probe", "unavailable")
        else:
            datasets[rec["id"]] = {"source": rec["source"], "sha256": rec["sha256"]}
    cell_seconds = normalize_executed(stage / f"{stem}.ipynb", stem)
    results_file = stage / "results" / f"{stem}.json"
    tables = sorted(p.name for p in (stage / "results").iterdir() if p.is_file() and p.name != f"{stem}.json")
    receipt = {
        "notebook": stem, "key": key, "profile": profile, "parameters": params, "git_commit": commit,
        "packages": package_versions(), "datasets": dict(sorted(datasets.items())),
        "datasets_unavailable": dict(sorted(unavailable.items())), "cohorts": dict(sorted(cohorts.items())),
        "figures": new_figs, "tables": tables,
        "results_sha256": _sha(results_file.read_bytes()) if results_file.is_file() else None,
        "notebook_sha256": _sha((stage / f"{stem}.ipynb").read_bytes()),
        "timing": {"wall_seconds": round(wall, 2), "peak_rss_mb": status.get("peak_rss_mb"),
                   "cell_seconds": cell_seconds},
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
