"""Notebook parameter types: declared once, in each notebook's ``parameters`` cell, checked in two places.

A parameter is declared with an annotation that papermill can read (``papermill --help-notebook`` prints it)::

    alpha: "Probability" = 0.05  # family-wise error rate (Bonferroni) or FDR
    correction: "Choice[bonferroni, fdr]" = "bonferroni"  # multiple testing
    il6_cut: "Or[Choice[median], Positive]" = "median"  # phase median, or a cut-off in pg/mL
    n: "SampleSize" = 20688  # twin sample size

The same annotation is checked by the runner before any notebook starts
(:func:`il6repro.runner.parameters.resolve_parameters`) and by the notebook itself in its first code cell
(:func:`check_parameters`), so a plain ``papermill -p alpha 2 ...`` fails at once with the same one-line message.
The annotation is a string, so the kernel never evaluates it; this module only needs the standard library (the
check costs milliseconds, before any heavy import).

The vocabulary (:data:`TYPES` plus ``Choice[...]``, ``IntRange[lo, hi]`` and ``Or[...]``):

==================  =====================================================================
``int``/``float``   any integer / any finite number
``str``/``bool``    any string / ``True`` or ``False``
``Seed``            an integer >= 0 (a seed of ``numpy.random.default_rng``)
``Count``           an integer >= 1
``Draws``           an integer >= 100 (bootstrap draws, permutations, rotations)
``SampleSize``      an integer >= 200 (the twins' smallest size that every analysis can use)
``Probability``     a number strictly between 0 and 1
``Fraction``        a number from 0 to 1
``NonNegative``     a number >= 0
``Positive``        a number > 0
``StringScore``     a STRING combined score from 0.9 to 1 (the carried network holds scores >= 0.9 only)
``Extract``         ``""`` (the synthetic twin) or the path of an existing file or folder
``DKRegion``        one of the 34 Desikan-Killiany cortical region names
``Choice[a, b]``    one of the listed words (or integers: ``Choice[1, 2, 3]``)
``IntRange[a, b]``  an integer from a to b
``Or[T1, T2]``      a value of either type
==================  =====================================================================
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from typing import Any


class ParameterError(ValueError):
    """A parameter value that its declared type refuses (also an unknown name or a bad profile).

    In a notebook the message is shown as one line, without a traceback (IPython's ``_render_traceback_``).
    """

    def _render_traceback_(self) -> list[str]:  # IPython hook: the message is the whole story
        return [f"ParameterError: {self}"]


DK_REGIONS = (
    "bankssts", "caudalanteriorcingulate", "caudalmiddlefrontal", "cuneus", "entorhinal", "fusiform",
    "inferiorparietal", "inferiortemporal", "isthmuscingulate", "lateraloccipital", "lateralorbitofrontal",
    "lingual", "medialorbitofrontal", "middletemporal", "parahippocampal", "paracentral", "parsopercularis",
    "parsorbitalis", "parstriangularis", "pericalcarine", "postcentral", "posteriorcingulate", "precentral",
    "precuneus", "rostralanteriorcingulate", "rostralmiddlefrontal", "superiorfrontal", "superiorparietal",
    "superiortemporal", "supramarginal", "frontalpole", "temporalpole", "transversetemporal", "insula",
)


@dataclass(frozen=True)
class Type:
    """A parameter type: a checker that returns the (coerced) value or raises ``ValueError(what is expected)``."""

    name: str
    kind: str  # int | float | str | bool | choice | or | extract
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple = ()
    options: tuple[Type, ...] = ()
    words: str = ""

    def describe(self) -> str:
        """What a valid value looks like, in words (used in every error message)."""
        if self.words:
            return self.words
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.kind == "or":
            return " or ".join(o.describe() for o in self.options)
        noun = {"int": "an integer", "float": "a number", "str": "a string", "bool": "true or false"}[self.kind]
        if self.low is not None and self.high is not None:
            lo, hi = _num(self.low), _num(self.high)
            if self.low_open and self.high_open:
                return f"{noun} strictly between {lo} and {hi}"
            return f"{noun} from {lo} to {hi}"
        if self.low is not None:
            return f"{noun} {'>' if self.low_open else '>='} {_num(self.low)}"
        return noun

    def check(self, value: Any) -> Any:
        if self.kind == "or":
            for o in self.options:
                try:
                    return o.check(value)
                except ValueError:
                    continue
            raise ValueError(self.describe())
        if self.kind == "choice":
            for c in self.choices:
                if value == c and type(value) is type(c):
                    return c
            raise ValueError(self.describe())
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            raise ValueError(self.describe())
        if self.kind == "str":
            if isinstance(value, str):
                return value
            raise ValueError(self.describe())
        if self.kind == "extract":
            if not isinstance(value, str):
                raise ValueError(self.describe())
            if value and not _extract_exists(value):
                raise ValueError(f"{self.describe()} (no such file or folder)")
            # absolute, so a path relative to the shell's folder still names it inside the notebook (run in notebooks/)
            return _absolute_extract(value) if value else value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(self.describe())
        if self.kind == "int":
            if isinstance(value, float):
                if not value.is_integer():
                    raise ValueError(self.describe())
                value = int(value)
        else:
            value = float(value)
            if not math.isfinite(value):
                raise ValueError(self.describe())
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            raise ValueError(self.describe())
        if self.high is not None and (value > self.high or (self.high_open and value == self.high)):
            raise ValueError(self.describe())
        return value


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _absolute_extract(value: str) -> str:
    """An extract path made absolute (each part of ``participants.csv:dosages.raw``)."""
    from pathlib import Path

    if not os.path.exists(value) and ":" in value:
        return ":".join(str(Path(v).expanduser().resolve()) for v in value.split(":", 1))
    return str(Path(value).expanduser().resolve())


def _extract_exists(value: str) -> bool:
    if os.path.exists(value):
        return True
    if ":" in value:  # UK Biobank: "<participants.csv>:<dosages.raw>"
        a, b = value.split(":", 1)
        return os.path.isfile(a) and os.path.isfile(b)
    return False


TYPES: dict[str, Type] = {
    "int": Type("int", "int"),
    "float": Type("float", "float"),
    "str": Type("str", "str"),
    "bool": Type("bool", "bool"),
    "Seed": Type("Seed", "int", low=0),
    "Count": Type("Count", "int", low=1),
    "Draws": Type("Draws", "int", low=100),
    # 200: the Whitehall twin's floor, and the UK Biobank twin's with room for its missing thickness values (at 100
    # an IDP with 3 values missing fell under the loader's 100 complete participants, with advice for an extract)
    "SampleSize": Type("SampleSize", "int", low=200),
    "Probability": Type("Probability", "float", low=0, high=1, low_open=True, high_open=True),
    "Fraction": Type("Fraction", "float", low=0, high=1),
    "NonNegative": Type("NonNegative", "float", low=0),
    "Positive": Type("Positive", "float", low=0, low_open=True),
    "StringScore": Type("StringScore", "float", low=0.9, high=1.0,
                        words="a STRING combined score from 0.9 to 1 (the carried network holds scores >= 0.9 only)"),
    "Extract": Type("Extract", "extract", words='"" (the synthetic twin) or the path of an existing file or folder'),
    "DKRegion": Type("DKRegion", "choice", choices=DK_REGIONS,
                     words="a Desikan-Killiany cortical region name such as 'middletemporal' or 'fusiform'"),
}

_GENERIC = re.compile(r"^(Choice|IntRange|Or)\[(.*)\]$", re.S)


def _split_top(text: str) -> list[str]:
    """Split ``a, B[c, d], e`` on the commas that are not inside brackets."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur.strip())
    return parts


def _word(token: str) -> Any:
    try:
        return int(token)
    except ValueError:
        return token


def parse(annotation: str) -> Type:
    """The :class:`Type` an annotation names (``"Probability"``, ``"Choice[fixed, random]"``, ...)."""
    text = str(annotation).strip().strip("'\"").strip()
    if text in TYPES:
        return TYPES[text]
    m = _GENERIC.match(text)
    if not m:
        raise ParameterError(f"unknown parameter type {text!r}; known: {', '.join(TYPES)}, Choice[...], "
                             "IntRange[lo, hi], Or[...]")
    head, args = m.group(1), _split_top(m.group(2))
    if head == "Choice":
        return Type(text, "choice", choices=tuple(_word(a) for a in args))
    if head == "IntRange":
        lo, hi = (int(a) for a in args)
        return Type(text, "int", low=lo, high=hi)
    return Type(text, "or", options=tuple(parse(a) for a in args))


#: Names an IPython session puts in a notebook's namespace besides its own variables.
_SESSION_NAMES = frozenset({"In", "Out", "exit", "quit", "get_ipython", "open"})


def check(name: str, value: Any, annotation: str, *, where: str = "") -> Any:
    """Return ``value`` (ints accepted where a number is wanted) or raise one clear :class:`ParameterError`."""
    t = parse(annotation)
    try:
        return t.check(value)
    except ValueError as exc:
        prefix = f"{where}: " if where else ""
        raise ParameterError(f"{prefix}parameter {name!r} must be {exc}; got {value!r}") from None


def check_parameters(namespace: dict[str, Any], *, where: str = "") -> None:
    """Check every annotated parameter of a notebook (call ``check_parameters(globals())`` first thing).

    Reads the annotations the ``parameters`` cell declared (``__annotations__``) and the current values (after
    papermill's injected cell), and raises the first refusal as a one-line :class:`ParameterError`. Values are
    not changed (an int where a number is wanted is fine in Python).
    """
    where = where or os.environ.get("IL6REPRO_NOTEBOOK", "")
    declared = dict(namespace.get("__annotations__", {}))
    # a value papermill injected under a name the notebook does not declare (`papermill ... -p sed 3`): papermill
    # only warns, and the run would use the default seed
    unknown = sorted(k for k, v in namespace.items() if k not in declared and not k.startswith("_")
                     and k not in _SESSION_NAMES and (v is None or isinstance(v, bool | int | float | str | list | dict)))
    if unknown and declared:
        prefix = f"{where}: " if where else ""
        raise ParameterError(f"{prefix}unknown parameter {unknown[0]!r} (passed to the notebook, which declares no "
                             f"such parameter; a typo?); its parameters: {', '.join(declared)}")
    for name, ann in declared.items():
        if isinstance(ann, type):
            ann = ann.__name__
        if not isinstance(ann, str) or name not in namespace:
            continue
        check(name, namespace[name], ann, where=where)
