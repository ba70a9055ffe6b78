"""Where things live: repository root, build folders, the data cache.

Every path the project writes is derived here, so a reader can see the whole layout in one place.
Environment variables let a re-runner move the build or cache without touching code:

``IL6REPRO_ROOT``
    the project root (default: the checkout that holds this file, else the current folder).
``IL6REPRO_BUILD``
    build folder (default ``<root>/build``).
``IL6REPRO_CACHE``
    data cache (default ``~/.cache/il6repro``; outside the repository).
"""

from __future__ import annotations

import os
from pathlib import Path

# Folder variables a user may give as relative paths: made absolute once, in the process that reads them first
# (the runner), so the notebook kernels it starts, whose working folder is notebooks/, find the same folders.
_FOLDER_VARS = ("IL6REPRO_ROOT", "IL6REPRO_BUILD", "IL6REPRO_CACHE", "IL6REPRO_MANIFESTS", "IL6REPRO_FIGURES_DIR",
                "IL6REPRO_RESULTS_DIR", "IL6REPRO_TWINS")


def _absolute_folder_vars() -> None:
    for name in _FOLDER_VARS:
        value = os.environ.get(name)
        if value and not os.path.isabs(os.path.expanduser(value)):
            os.environ[name] = str(Path(value).expanduser().resolve())
    mirrors = os.environ.get("IL6REPRO_DATA_MIRRORS")  # a list, like PATH
    if mirrors:
        os.environ["IL6REPRO_DATA_MIRRORS"] = os.pathsep.join(
            str(Path(m).expanduser().resolve()) if m else m for m in mirrors.split(os.pathsep))


_absolute_folder_vars()


def repo_root() -> Path:
    """Return the project root (the folder holding ``data_manifest/`` and ``notebooks/``)."""
    env = os.environ.get("IL6REPRO_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "data_manifest").is_dir() and (parent / "notebooks").is_dir():
            return parent
    return Path.cwd().resolve()


def build_dir() -> Path:
    """Return the build folder (ignored by git): executed notebooks, results, receipts, site."""
    env = os.environ.get("IL6REPRO_BUILD")
    return Path(env).resolve() if env else repo_root() / "build"


def cache_dir() -> Path:
    """Return the data cache folder (downloaded carrier wheels and verified extracted files)."""
    env = os.environ.get("IL6REPRO_CACHE")
    if env:
        return Path(env).expanduser().resolve()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "il6repro"


def manifest_dir() -> Path:
    """Return the folder of dataset manifests (``IL6REPRO_MANIFESTS`` overrides)."""
    env = os.environ.get("IL6REPRO_MANIFESTS")
    return Path(env).resolve() if env else repo_root() / "data_manifest"


def figures_dir() -> Path:
    """Return the folder of published figures: where the runner moves a successful notebook's figures and the
    site reads them (``IL6REPRO_FIGURES_DIR`` when the runner itself is pointed elsewhere, else ``<root>/figures``)."""
    env = os.environ.get("IL6REPRO_FIGURES_DIR")
    return Path(env) if env else repo_root() / "figures"


def figure_save_dir() -> Path:
    """Return where :func:`il6repro.figures.save` writes: the runner's staging folder during a run
    (``IL6REPRO_FIGURES_DIR``), else the scratch folder ``build/scratch/figures``, so a notebook run by hand (plain
    papermill, nbconvert, JupyterLab) never writes into what the site publishes."""
    env = os.environ.get("IL6REPRO_FIGURES_DIR")
    return Path(env) if env else scratch_dir() / "figures"


def scratch_dir() -> Path:
    """Return ``build/scratch``: outputs of notebooks run outside the runner (figures, results)."""
    return build_dir() / "scratch"


def upstream_result(name: str) -> Path | None:
    """Find a table an earlier notebook wrote (e.g. ``02_mr_primary.csv``): this run's results folder first, then
    ``build/results`` (where the runner moves a successful notebook's tables). ``None`` if neither has it."""
    for folder in (results_dir(), build_dir() / "results"):
        if (folder / name).is_file():
            if folder != results_dir():
                _inherit_cohorts(name)
            return folder / name
    return None


COHORTS_SUFFIX = ".cohorts.json"


def write_result_table(df, name: str, **to_csv) -> Path:
    """Write ``df`` as the result table ``name`` (CSV) for later notebooks, with a record of the cohorts this
    notebook had read when it wrote the table (``<name>.cohorts.json``): a notebook reading the table inherits those
    only, not every cohort its writer read later (04's gene list comes from the AHBA alone, though 04 then reads
    02's UK Biobank z-map for its spin test)."""
    import json

    from .data import read_data_log

    out = results_dir()
    out.mkdir(parents=True, exist_ok=True)
    df.to_csv(out / name, **to_csv)
    cohorts: dict[str, dict] = {}
    for rec in read_data_log():  # direct reads and tables inherited so far (the first copy of each cohort)
        if rec.get("kind") == "cohort":
            cohorts.setdefault(rec["id"], {"source": rec.get("source", "?"), "sha256": rec.get("sha256", {})})
    (out / f"{name}{COHORTS_SUFFIX}").write_text(json.dumps(cohorts, sort_keys=True, indent=1) + "\n")
    return out / name


def _inherit_cohorts(table: str) -> None:
    """A notebook reading another's table analyses that notebook's data: log its cohorts as this notebook's own
    (so the receipts, and the site's check that no cohort is mixed, see through the table). A table written by
    :func:`write_result_table` passes on only the cohorts read before it was written."""
    import json

    from .data import _log_use

    for p in sorted((build_dir() / "receipts").glob("*.json")):
        try:
            rec = json.loads(p.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(rec, dict) and table in (rec.get("tables") or []):
            cohorts = rec.get("cohorts") or {}
            side = build_dir() / "results" / f"{table}{COHORTS_SUFFIX}"
            if f"{table}{COHORTS_SUFFIX}" in (rec.get("tables") or []) and side.is_file():
                try:
                    cohorts = json.loads(side.read_text())
                except (OSError, ValueError):
                    pass  # an unreadable record: every cohort of the writer, as before
            for cohort, info in cohorts.items():
                _log_use(cohort, info.get("source", "?"), info.get("sha256", {}), kind="cohort", via=p.stem)


def results_dir() -> Path:
    """Return where ledger results are written.

    During a runner execution this is a staging folder that is moved into ``build/results`` only when the
    notebook succeeds. Outside the runner (a notebook opened by hand in JupyterLab, or run with plain papermill)
    results go to ``build/scratch/results`` so the official ledger is never touched by a hand run.
    """
    env = os.environ.get("IL6REPRO_RESULTS_DIR")
    return Path(env) if env else scratch_dir() / "results"
