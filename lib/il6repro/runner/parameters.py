"""Parameter inspection and validation against a notebook's ``parameters`` cell.

Unknown names and values their declared type refuses (:mod:`il6repro.params`: types, ranges, choices) are rejected
*before* any notebook runs, with one line naming the notebook, the parameter and what it accepts.
"""

from __future__ import annotations

import ast
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


def parse_cli_value(text: str) -> Any:
    """Parse a ``-p name=value`` value as YAML (``3``, ``0.5``, ``true``, ``[1, 2]``, ``IL6R``)."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


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
        layers.append((scope, name.strip(), parse_cli_value(text), "-p"))
    resolved = {stem: {k: s["default"] for k, s in specs[stem].items()} for stem in notebooks}
    for scope, name, value, origin in layers:
        if scope == "all":
            targets = [s for s in notebooks if name in specs[s]]
            if not targets:
                known = sorted({k for s in specs.values() for k in s})
                raise ParameterError(f"{origin} parameter {name!r} is declared by no selected notebook; "
                                     f"known parameters: {', '.join(known) or '(none)'}")
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

