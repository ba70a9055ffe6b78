"""Parameter inspection and validation against a notebook's ``parameters`` cell.

Unknown names and values their declared type refuses (:mod:`il6repro.params`: types, ranges, choices) are rejected
*before* any notebook runs, with one line naming the notebook, the parameter and what it accepts.
"""

from __future__ import annotations

import ast
import re
import time
import warnings
from pathlib import Path
from typing import Any

import yaml

from .. import _yaml
from ..params import ParameterError, check, parse

__all__ = ["ParameterError", "inspect_parameters", "parse_cli_value", "check_value", "load_profile",
           "resolve_parameters"]


def inspect_parameters(notebook: Path) -> dict[str, dict[str, Any]]:
    """Parameters declared in ``notebook``'s cell tagged ``parameters``: name -> {type, default, help}.

    The type is the annotation papermill reads (``alpha: "Probability" = 0.05``; see :mod:`il6repro.params`) or,
    for an unannotated parameter, the default value's literal type.
    """
    import hashlib
    import json

    from .._paths import build_dir

    digest = hashlib.sha256(Path(notebook).read_bytes()).hexdigest()
    cache = build_dir() / ".cache" / "parameters" / f"{digest}.json"
    if cache.is_file():  # importing papermill costs seconds; a skipped run should not pay it
        try:
            cached = json.loads(cache.read_text())
            if isinstance(cached, dict):
                return cached
        except (OSError, UnicodeDecodeError, ValueError):
            pass  # a corrupt cache entry (killed write, disk trouble) is rebuilt below
        cache.unlink(missing_ok=True)
    import papermill as pm

    raw = pm.inspect_notebook(str(notebook))
    out = {}
    for name, info in raw.items():
        default_src = info.get("default")
        try:
            default = ast.literal_eval(default_src) if default_src is not None else None
        except (ValueError, SyntaxError):
            default = default_src
        tname = (info.get("inferred_type_name") or "None").strip().strip("'\"")
        if tname in ("None", "NoneType", ""):
            tname = type(default).__name__ if default is not None else "None"
        else:
            parse(tname)  # an unknown type name is the notebook author's error: say so now
        out[name] = {"type": tname, "default": default, "help": info.get("help", "")}
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    tmp.write_text(json.dumps(out, default=str))
    tmp.replace(cache)
    return out


_INT = re.compile(r"[-+]?\d+")
_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?|[-+]?(inf|nan)", re.I)


def parse_cli_value(text: str) -> Any:
    """Parse a ``-p name=value`` value as a user means it: ``010`` is 10 (decimal, as ``seq -w`` writes it, not
    YAML 1.1's octal 8), ``1e-3`` and ``1e5`` are numbers, ``true``/``false`` booleans, ``null``/``None`` nothing,
    ``[1, 2]`` and ``{a: 1}`` YAML lists and mappings, an empty value the empty string, and anything else the text
    as typed (``my data #2`` keeps its ``#``; ``on`` and ``no`` stay words)."""
    s = text.strip()
    if s == "":
        return ""
    if _INT.fullmatch(s):
        return int(s, 10)
    if _FLOAT.fullmatch(s):
        return float(s)
    if s in ("true", "True", "false", "False"):
        return s.lower() == "true"
    if s in ("null", "None", "~"):
        return None
    if s[0] in "[{":
        try:
            return yaml.safe_load(s)
        except yaml.YAMLError:
            return text
    return text


#: ``-p ukb.NAME=...`` / ``-p whitehall.NAME=...``: the notebooks of one cohort (by number), e.g. its extract.
COHORT_SCOPES = {"ukb": ("01", "02", "03"), "whitehall": ("07", "08")}
COHORT_WORDS = {"ukb": "the UK Biobank notebooks (01-03)", "whitehall": "the Whitehall II notebooks (07-08)"}


def check_value(nb: str, name: str, value: Any, spec: dict[str, Any]) -> Any:
    """Return ``value`` (an int becomes a float where the notebook wants a number) or raise ParameterError."""
    t = spec["type"]
    if t == "None":
        if value is None or isinstance(value, str | int | float | bool):
            return value
        raise ParameterError(f"{nb}: parameter {name!r} takes a simple value, got {type(value).__name__}")
    if t in ("list", "dict", "tuple"):
        if isinstance(value, list | dict | tuple):
            return value
        raise ParameterError(f"{nb}: parameter {name!r} must be a {t}; got {value!r}")
    if t == "str" and value is None and spec["default"] is None:
        return value
    out = check(name, value, t, where=nb)
    return float(out) if parse(t).kind == "float" else out


def load_profile(name: str, path: Path | None = None) -> dict[str, dict[str, Any]]:
    """Return a profile: scope ('all' or notebook number) -> {param: value}."""
    path = path or Path(__file__).resolve().parents[1] / "profiles.yaml"
    profiles = _yaml.load(path.read_text()) or {}
    if name not in profiles:
        raise ParameterError(f"unknown profile {name!r}; profiles in {path.name}: {', '.join(profiles)}")
    prof = profiles[name] or {}
    if not isinstance(prof, dict) or not all(isinstance(v, dict | type(None)) for v in prof.values()):
        raise ParameterError(f"profile {name!r}: must map 'all' or a notebook number to parameters")
    return {str(k): dict(v or {}) for k, v in prof.items()}


def resolve_parameters(
    notebooks: dict[str, Path],
    specs: dict[str, dict[str, dict]],
    profile: dict[str, dict[str, Any]],
    overrides: list[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """Merge defaults < profile < ``-p`` overrides for every notebook; reject anything unknown or ill-typed.

    An override is ``name=value`` (every selected notebook that declares ``name``) or ``NN.name=value``
    (notebook NN only). A name no selected notebook declares is an error.
    """
    numbers = {stem.split("_", 1)[0]: stem for stem in notebooks}
    layers: list[tuple[str, str, Any, str]] = []  # (scope, name, value, origin)
    for scope, params in profile.items():
        for k, v in params.items():
            layers.append((scope, k, v, "profile"))
    for item in overrides or []:
        if "=" not in item:
            raise ParameterError(f"-p {item!r}: expected name=value")
        key, text = item.split("=", 1)
        scope, name = ("all", key) if "." not in key else key.split(".", 1)
        layers.append((scope.strip(), name.strip(), parse_cli_value(text), "-p"))
    # the more specific wins whatever the order: all < a cohort < one notebook (profile < -p within each)
    rank = {"all": 0, **{c: 1 for c in COHORT_SCOPES}}
    layers.sort(key=lambda x: (x[3] == "-p", rank.get(x[0], 2)))
    resolved = {stem: {k: s["default"] for k, s in specs[stem].items()} for stem in notebooks}
    for scope, name, value, origin in layers:
        if scope == "all":
            targets = [s for s in notebooks if name in specs[s]]
            if not targets:
                known = sorted({k for s in specs.values() for k in s})
                raise ParameterError(f"{origin} parameter {name!r} is declared by no selected notebook; "
                                     f"known parameters: {', '.join(known) or '(none)'}")
            both = [c for c, nums in COHORT_SCOPES.items() if any(t.split("_", 1)[0] in nums for t in targets)]
            if name == "extract" and value not in ("", None) and len(both) > 1:
                raise ParameterError(
                    f"{origin} extract={value}: {' and '.join(COHORT_WORDS[c] for c in both)} each read their own "
                    "extract: give -p ukb.extract=FOLDER (holding ukb_participants.csv and ukb_instruments.raw) "
                    "and/or -p whitehall.extract=FILE.csv, or select one cohort's notebooks with --only")
        elif scope in COHORT_SCOPES:
            targets = [s for s in notebooks if s.split("_", 1)[0] in COHORT_SCOPES[scope] and name in specs[s]]
            if not targets:
                raise ParameterError(f"{origin} {scope}.{name}: no selected notebook of {COHORT_WORDS[scope]} "
                                     f"declares {name!r}")
        else:
            if scope not in numbers:
                if origin == "profile":  # a profile may mention notebooks not selected by --only
                    continue
                raise ParameterError(f"{origin} {scope}.{name}: no selected notebook numbered {scope!r}")
            stem = numbers[scope]
            if name not in specs[stem]:
                raise ParameterError(f"{origin} parameter {name!r} is not declared by {stem}; it accepts: "
                                     f"{', '.join(sorted(specs[stem])) or '(none)'}")
            targets = [stem]
        for stem in targets:
            resolved[stem][name] = check_value(stem, name, value, specs[stem][name])
    return resolved


def twin_only_overrides(specs: dict[str, dict[str, dict]], params: dict[str, dict[str, Any]],
                        overrides: list[str] | None) -> dict[str, list[str]]:
    """For each notebook given a real extract: the ``-p`` parameters it was passed that only shape the synthetic
    twin (their help says "twin" or "planted"), which a real extract does not use. Notebook -> names."""
    passed = {item.split("=", 1)[0].rsplit(".", 1)[-1].strip() for item in overrides or [] if "=" in item}
    out = {}
    for stem, spec in specs.items():
        if not params.get(stem, {}).get("extract"):
            continue
        names = [k for k in spec if k in passed and k != "extract"
                 and re.search(r"\b(twin|planted)\b", str(spec[k].get("help", "")))]
        if names:
            out[stem] = names
    return out


def check_extracts(params: dict[str, dict[str, Any]], log=print) -> None:
    """Read every real extract the selected notebooks name, once each, with the loader their first cell calls,
    before any notebook runs: a bad extract stops the run here with the loader's one line (file, column, what to
    do), instead of in a notebook's kernel after the cohort's earlier notebooks were republished from it.
    Raises :class:`ParameterError`; aggregates only, as the loaders' messages are."""
    done = set()
    for stem, p in params.items():
        extract = p.get("extract")
        cohort = next((c for c, nums in COHORT_SCOPES.items() if stem.split("_", 1)[0] in nums), None)
        if not extract or cohort is None:
            continue
        on_bad_ghq = p.get("on_bad_ghq", "error")
        if (cohort, extract, on_bad_ghq if cohort == "whitehall" else None) in done:
            continue
        done.add((cohort, extract, on_bad_ghq if cohort == "whitehall" else None))
        t0 = time.perf_counter()
        from ..twins import COHORTS, ukb, whitehall

        try:
            with warnings.catch_warnings():  # pandas' DtypeWarning (with a path) above the loader's one line
                warnings.simplefilter("ignore")
                if cohort == "ukb":
                    ex = ukb.load(*ukb.extract_files(extract))
                    what = (f"{len(ex.covariates):,} participants, {ex.idps.shape[1]} IDPs, "
                            f"{ex.dosages.shape[1]} variants")
                else:
                    df = whitehall.load(extract, on_bad_ghq=on_bad_ghq)
                    what = f"{len(df):,} participants"
        except (ukb.ExtractError, whitehall.ExtractError, OSError) as exc:
            raise ParameterError(f"the {COHORTS[cohort]} extract {extract}: {exc}") from None
        log(f"checked the {COHORTS[cohort]} extract before running ({what}; {time.perf_counter() - t0:.1f}s)")
