"""Build the course with otter-grader and grade submissions without Docker.

``python -m il6repro teach`` (:func:`build`) makes, from each teaching notebook (an otter-assign master notebook,
the paired ``notebooks/1N_teaching_*.ipynb``):

* ``build/teaching/student/<stem>.ipynb`` - what a student gets: the tasks, scaffolds with ``...``, the
  expected output (pictures of correct figures embedded as attachments), ``grader.check("q1")`` public checks;
  no solution, no hidden check, no answer to a discussion question, no teacher-facing text (checked here:
  :func:`student_leaks`).
* ``build/teaching/autograder/<stem>-autograder.zip`` - otter's autograder (public and hidden checks), and
  ``autograder/<stem>.ipynb``, the solutions in the student layout (a full-marks submission).
* ``build/teaching/instructor/<stem>.ipynb`` - the master as executed by the paper's runner (solutions, every
  check run inline, the discussion answers, figures).
* ``build/teaching/index.json`` - the units, their exercises and points, and the files.

``python -m il6repro teach --grade DIR`` (:func:`grade`) grades every notebook in ``DIR`` with
``otter.api.grade_submission`` - otter's non-containerised grader, which executes the submission in this
environment (no Docker engine is needed, and none is used: the code of a submission runs as the current user) -
and writes one row per submission with the score of each exercise.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import re
import shutil
import sys
import tempfile
import zipfile
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from .._paths import build_dir, figures_dir, repo_root

OUR_TAGS = {"solution", "check", "hidden"}
EXPECTED_FIGURE = re.compile(r"<!--\s*expected-figure:\s*([\w.-]+)\s*-->")
# text that must never reach a student: otter's delimiters, our markers, words addressed to the teacher
FORBIDDEN = ("BEGIN SOLUTION", "END SOLUTION", "# SOLUTION", "BEGIN TESTS", "BEGIN QUESTION", "ASSIGNMENT CONFIG",
             "TEST CONFIG", "# IGNORE", "expected-figure", "instructor", "teacher", "hidden check", "**Answer")


class TeachingError(ValueError):
    """A teaching notebook or a course build that cannot be used (the message names the file and the problem)."""


@dataclass
class Question:
    """One exercise (autograded) or discussion question (``manual``) of a unit."""

    name: str
    title: str
    points: float
    manual: bool = False
    checks: int = 0
    hidden_checks: int = 0
    #: each check's name as feedback shows it, in otter's order ("q4 - 2" is the second): the test function's name
    #: without ``test_`` and the question (``test_q4_power`` -> "power")
    cases: list[str] = field(default_factory=list)


@dataclass
class Unit:
    """A teaching notebook: its stem (``10_teaching_mr``), otter assignment name and questions."""

    stem: str
    path: Path
    name: str
    questions: list[Question] = field(default_factory=list)

    @property
    def autograded(self) -> list[Question]:
        return [q for q in self.questions if not q.manual]

    @property
    def points(self) -> float:
        return float(sum(q.points for q in self.autograded))


# ------------------------------------------------------------------------------------------------ reading
def _src(cell: dict) -> str:
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


def _heading(cell: dict) -> str | None:
    """A markdown cell's first heading without emphasis ("Exercise 2 · How much ..."), or None."""
    m = re.search(r"^#+\s*(.+)$", _src(cell), re.M)
    return re.sub(r"\*\*|__|`", "", m.group(1)).strip() if m else None


def _raw_directive(cell: dict) -> tuple[str, dict] | None:
    """``("BEGIN QUESTION", {name: ...})`` for an otter raw delimiter cell, else None."""
    if cell.get("cell_type") != "raw":
        return None
    text = _src(cell).strip()
    m = re.match(r"#\s*(BEGIN|END)\s+(QUESTION|SOLUTION|TESTS|PROMPT)\b|#\s*(ASSIGNMENT CONFIG)", text)
    if not m:
        return None
    key = m.group(3) or f"{m.group(1)} {m.group(2)}"
    body = text.split("\n", 1)[1] if "\n" in text else ""
    conf = yaml.safe_load(body) if body.strip() else {}
    return key, conf or {}


def _test_config(source: str) -> dict:
    m = re.match(r'\s*"""\s*#\s*BEGIN TEST CONFIG\s*\n(.*?)"""\s*#\s*END TEST CONFIG', source, re.S)
    return (yaml.safe_load(m.group(1)) or {}) if m else {}


def teaching_notebooks(folder: Path | None = None) -> list[Path]:
    """Notebooks ``NN_*.ipynb`` (NN >= 10) that are otter master notebooks (an ``# ASSIGNMENT CONFIG`` raw cell)."""
    folder = folder or repo_root() / "notebooks"
    out = []
    for p in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
        if int(p.name[:2]) < 10:
            continue
        nb = json.loads(p.read_text())
        if any((_raw_directive(c) or ("",))[0] == "ASSIGNMENT CONFIG" for c in nb.get("cells", [])):
            out.append(p)
    return out


def read_unit(path: Path) -> Unit:
    """Parse a master notebook's questions, titles, points and checks; fail on a malformed one."""
    path = Path(path)
    nb = json.loads(path.read_text())
    name, questions, current, in_tests = None, [], None, False
    for i, cell in enumerate(nb.get("cells", [])):
        d = _raw_directive(cell)
        where = f"{path.name}, cell {i + 1}"
        if d:
            key, conf = d
            if key == "ASSIGNMENT CONFIG":
                name = conf.get("name")
                if (conf.get("tests") or {}).get("ok_format", True):
                    raise TeachingError(f"{where}: the course uses exception-based checks; set tests: "
                                        "{ok_format: false} in the ASSIGNMENT CONFIG")
            elif key == "BEGIN QUESTION":
                if current:
                    raise TeachingError(f"{where}: question {conf.get('name')!r} begins inside {current.name!r}")
                if not conf.get("name"):
                    raise TeachingError(f"{where}: BEGIN QUESTION without a name")
                current = Question(str(conf["name"]), "", float(conf.get("points") or 0), bool(conf.get("manual")))
            elif key == "END QUESTION":
                if current is None:
                    raise TeachingError(f"{where}: END QUESTION without BEGIN QUESTION")
                if not current.manual and current.checks == 0:
                    raise TeachingError(f"{path.name}: question {current.name!r} has no checks")
                if not current.manual:
                    current.points = float(current.points)
                questions.append(current)
                current = None
            elif key == "BEGIN TESTS":
                in_tests = True
            elif key == "END TESTS":
                in_tests = False
            continue
        if current is None:
            continue
        if cell.get("cell_type") == "markdown" and not current.title:
            first = _heading(cell) or re.sub(r"\*\*|__", "", _src(cell).strip().splitlines()[0])
            current.title = first[:160]  # "Discussion 1. Instruments ...", not "**...**"
        if in_tests and cell.get("cell_type") == "code":
            conf = _test_config(_src(cell))
            if "points" not in conf:
                raise TeachingError(f"{where}: every check of the course states its points (TEST CONFIG points: N)")
            current.checks += 1
            current.hidden_checks += bool(conf.get("hidden"))
            fn = re.search(r"^def test_(\w+)\s*\(", _src(cell), re.M)
            label = re.sub(rf"^{re.escape(current.name)}_", "", fn.group(1)) if fn else str(current.checks)
            current.cases.append(label.replace("_", " "))
            current.points += float(conf["points"])
    if name is None:
        raise TeachingError(f"{path.name}: no ASSIGNMENT CONFIG raw cell (not an otter master notebook)")
    if current is not None:
        raise TeachingError(f"{path.name}: question {current.name!r} is never ended (END QUESTION)")
    if not any(not q.manual for q in questions):
        raise TeachingError(f"{path.name}: no autograded exercise")
    return Unit(path.stem, path, str(name), questions)


# ------------------------------------------------------------------------------------------------ checks
def _solution_lines(master: dict) -> list[str]:
    """Code and text that only the instructor version may hold: solution-only lines, discussion answers, hidden
    checks (lines that also occur in the master's public cells, e.g. an import, are not secrets)."""
    out, public, in_solution, in_tests = [], [], False, False
    for cell in master.get("cells", []):
        d = _raw_directive(cell)
        if d:
            key = d[0]
            in_solution = {"BEGIN SOLUTION": True, "END SOLUTION": False}.get(key, in_solution)
            in_tests = {"BEGIN TESTS": True, "END TESTS": False}.get(key, in_tests)
            continue
        src = _src(cell)
        if in_solution and cell.get("cell_type") == "markdown":  # an answer: any line of it, searched as a substring
            for ln in src.splitlines():
                ln = re.sub(r"^\*\*Answer\.?\*\*\s*", "", ln.strip())
                if len(ln) >= 25:
                    out.append("\x00" + ln)
        elif in_solution and cell.get("cell_type") == "code":
            block = False
            for ln in src.splitlines():
                s = ln.strip()
                if re.match(r"#\s*BEGIN SOLUTION", s):
                    block = True
                    continue
                if re.match(r"#\s*END SOLUTION", s):
                    block = False
                    continue
                if block or re.search(r"#\s*SOLUTION\s*$", s):
                    code = re.sub(r"#\s*SOLUTION\s*$", "", s).strip()
                    if "=" in code and not block:  # `x = expr  # SOLUTION` leaves `x = ...`: expr must not leak
                        code = "\x00" + code.split("=", 1)[1].strip()  # marked: searched as a substring
                    if len(code.lstrip("\x00")) >= 15:
                        out.append(code)
                else:
                    public.append(s)
        elif in_tests and cell.get("cell_type") == "code" and _test_config(src).get("hidden"):
            out += [ln.strip() for ln in src.splitlines() if len(ln.strip()) >= 25 and "TEST CONFIG" not in ln]
        else:
            public += [ln.strip() for ln in src.splitlines()]
    shared = set(public)
    return [ln for ln in dict.fromkeys(out) if ln not in shared]


def _lines(text: str) -> set[str]:
    return {ln.strip() for ln in text.splitlines() if ln.strip()}


def student_leaks(student: dict, master: dict) -> list[str]:
    """What in a student notebook a student must not see: otter delimiters, teacher-facing words, a solution
    line, a discussion answer or a hidden check of the master. Empty when the student version is clean.

    Otter's own invisible ``<!-- BEGIN QUESTION -->`` / ``<!-- END QUESTION -->`` comments around a discussion
    question (it uses them to filter PDF exports) are allowed.
    """
    cells = "\n".join(_src(c) for c in student.get("cells", []))
    visible = re.sub(r"<!--\s*(BEGIN|END) QUESTION\s*-->", "", cells)
    public_checks = "\n".join(str(v) for v in (student.get("metadata", {}).get("otter", {}).get("tests") or {}).values())
    lines = _lines(cells) | _lines(public_checks)
    found = []
    for word in FORBIDDEN:
        if word.lower() in visible.lower():
            found.append(f"teacher-facing text {word!r}")
    for secret in _solution_lines(master):
        hit = (secret[1:] in cells or secret[1:] in public_checks) if secret.startswith("\x00") else secret in lines
        if hit:
            found.append(f"solution text: {secret.lstrip(chr(0))[:70]!r}")
    for c in student.get("cells", []):
        tags = set(c.get("metadata", {}).get("tags", []))
        if tags & OUR_TAGS:
            found.append(f"cell tagged {sorted(tags & OUR_TAGS)}")
    return found


# ------------------------------------------------------------------------------------------------ build
def _attach_expected_figures(nb: dict, figdir: Path, stem: str) -> list[str]:
    """Replace each ``<!-- expected-figure: NAME -->`` marker by the picture NAME.png, embedded as an attachment."""
    used = []
    for cell in nb["cells"]:
        if cell.get("cell_type") != "markdown":
            continue
        src = _src(cell)
        names = EXPECTED_FIGURE.findall(src)
        if not names:
            continue
        att = cell.setdefault("attachments", {})
        for name in names:
            png = figdir / f"{name}.png"
            if not png.is_file():
                raise TeachingError(f"{stem}: the expected-output picture {png} is missing; it is drawn by the "
                                    f"instructor version: python -m il6repro run --only {stem[:2]}")
            att[f"{name}.png"] = {"image/png": base64.b64encode(png.read_bytes()).decode()}
            used.append(name)
        cell["source"] = EXPECTED_FIGURE.sub(
            lambda m: f"*What a correct answer looks like:*\n\n![expected output: {m.group(1)}](attachment:{m.group(1)}.png)",
            src)
    return used


def _clean_student(nb: dict) -> None:
    nb.get("metadata", {}).pop("il6repro", None)
    # the masters are paired with their .py by jupytext: a hand-out saved in JupyterLab with jupytext installed
    # would write a .py beside it, and students would not know which file to hand in
    nb.get("metadata", {}).pop("jupytext", None)
    for cell in nb["cells"]:
        tags = [t for t in cell.get("metadata", {}).get("tags", []) if t not in OUR_TAGS]
        if tags:
            cell["metadata"]["tags"] = tags
        else:
            cell.get("metadata", {}).pop("tags", None)


def _assign(master: Path, result: Path, *, run_tests: bool) -> None:
    import logging

    from otter.assign import main as otter_assign

    logging.getLogger("otter").setLevel(logging.WARNING)
    otter_assign(str(master), str(result), no_pdfs=True, no_run_tests=not run_tests)


def build(out: str | Path | None = None, *, notebooks: list[Path] | None = None, run: bool = True,
          profile: str = "default", verify: bool = False, log=print) -> dict:
    """Build the student, autograder and instructor versions of every teaching notebook into ``out``.

    ``run`` first executes the instructor versions with the paper's runner (skipped when up to date): they draw
    the expected-output pictures and prove every check passes on the solutions. ``verify`` also grades otter's
    solution notebook of each unit with otter (full marks or the build fails). Nothing in ``out`` is replaced
    unless every unit built cleanly. Returns the index written to ``out/index.json``.
    """
    out = Path(out) if out else build_dir() / "teaching"
    paths = [Path(p) for p in (notebooks if notebooks is not None else teaching_notebooks())]
    if not paths:
        raise TeachingError("no teaching notebooks (otter master notebooks numbered 10 and above) found")
    units = [read_unit(p) for p in paths]
    if run:
        from ..runner import run as run_paper

        rep = run_paper(profile, only=[u.stem for u in units], progress=False, log=lambda *a: None,
                        notebooks_dir=paths[0].parent)
        if not rep.ok:
            raise TeachingError("the instructor versions did not run: " +
                                "; ".join(o.message for o in rep.outcomes if o.status == "failed"))
        for o in rep.outcomes:
            log(f"instructor version {o.stem}: {o.status}" + (f" ({o.wall_seconds:.0f} s)" if o.status == "ran" else ""))
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".teaching-", dir=out.parent))
    try:
        index = {"grader": _otter_version(), "units": []}
        for unit in units:
            for sub in ("student", "autograder", "instructor"):
                (stage / sub).mkdir(exist_ok=True)
            work = stage / ".assign" / unit.stem
            work.mkdir(parents=True)
            master_nb = json.loads(unit.path.read_text())
            master = work / f"{unit.stem}.ipynb"
            master.write_text(json.dumps(master_nb))
            _assign(master, work / "dist", run_tests=False)
            student = json.loads((work / "dist" / "student" / master.name).read_text())
            solved = json.loads((work / "dist" / "autograder" / master.name).read_text())
            figs = _attach_expected_figures(student, figures_dir(), unit.stem)
            _attach_expected_figures(solved, figures_dir(), unit.stem)
            _clean_student(student)
            _add_grading_cell(student, unit, master.name)
            _clean_student(solved)
            leaks = student_leaks(student, master_nb)
            if leaks:
                raise TeachingError(f"{unit.stem}: the student version would show: " + "; ".join(leaks[:5]))
            keep = {c.get("id") for c in master_nb.get("cells", [])}
            _stable_cell_ids(student, unit.stem, keep)
            _stable_cell_ids(solved, unit.stem, keep)
            (stage / "student" / master.name).write_text(json.dumps(student, indent=1, ensure_ascii=False) + "\n")
            (stage / "autograder" / master.name).write_text(json.dumps(solved, indent=1, ensure_ascii=False) + "\n")
            zips = list((work / "dist" / "autograder").glob("*-autograder_*.zip"))
            if len(zips) != 1:
                raise TeachingError(f"{unit.stem}: otter assign made {len(zips)} autograder zip files, expected 1")
            _stable_zip(zips[0], stage / "autograder" / f"{unit.stem}-autograder.zip")
            executed = build_dir() / "notebooks" / master.name
            if executed.is_file():
                shutil.copy2(executed, stage / "instructor" / master.name)
            entry = {"stem": unit.stem, "assignment": unit.name, "points": unit.points,
                     "questions": [asdict(q) for q in unit.questions], "expected_figures": figs,
                     "student": f"student/{master.name}", "autograder": f"autograder/{unit.stem}-autograder.zip",
                     "solutions": f"autograder/{master.name}",
                     "instructor": f"instructor/{master.name}" if executed.is_file() else None}
            index["units"].append(entry)
            log(f"{unit.stem}: {len(unit.autograded)} graded exercises ({unit.points:g} points, "
                f"{sum(q.hidden_checks for q in unit.autograded)} hidden checks), "
                f"{sum(q.manual for q in unit.questions)} discussion questions")
        shutil.rmtree(stage / ".assign")
        # the kit students work in instead of a clone (whose notebooks/ holds the masters); offered beside the
        # hand-outs, so the students' site lists it for download
        files = kit_files(sorted((stage / "student").glob("*.ipynb")))
        leaks = kit_leaks(files, [json.loads(u.path.read_text()) for u in units])
        if leaks:
            raise TeachingError("the course kit would hold: " + "; ".join(leaks[:5]))
        _write_kit(stage / "student" / f"{KIT}.zip", files)
        index["kit"] = f"student/{KIT}.zip"
        (stage / "index.json").write_text(json.dumps(index, indent=1) + "\n")
        if verify:
            for entry in index["units"]:
                res = grade_one(stage / entry["solutions"], stage / entry["autograder"])
                if res["total"] != entry["points"]:
                    raise TeachingError(f"{entry['stem']}: the solutions score {res['total']:g} of "
                                        f"{entry['points']:g} with otter ({res})")
                log(f"{entry['stem']}: otter grades the solutions {res['total']:g}/{entry['points']:g}")
        old = out.with_name(out.name + ".old")
        if out.exists():
            shutil.rmtree(old, ignore_errors=True)
            out.rename(old)
        stage.rename(out)
        out.chmod(0o755)  # mkdtemp's 0700 would keep the hand-outs from a teaching assistant or a web server
        shutil.rmtree(old, ignore_errors=True)
        return index
    finally:
        if stage.exists():
            shutil.rmtree(stage, ignore_errors=True)


def grading_text(unit: Unit, filename: str) -> str:
    """What a student is told about grading and handing in, from the unit's own points (placed before Exercise 1)."""
    ex = "; ".join(f"Exercise {k}: {q.points:g} point{'s' if q.points != 1 else ''}"
                   for k, q in enumerate(unit.autograded, 1))
    manual = [q for q in unit.questions if q.manual]
    disc = (f" The {len(manual)} discussion questions carry {sum(q.points for q in manual):g} point(s) in all and are "
            "graded by hand.") if manual else ""
    return (f"**How this unit is graded.** {ex}.{disc} `grader.check(\"q1\")` (and so on) runs an exercise's public "
            "checks, of the shape and format of your answer (and some values the task states); when you hand the notebook in, each exercise is also "
            "checked against the values a correct answer gives, so passing the public checks does not mean full "
            f"marks. Hand in this notebook under its own file name, `{filename}`, run from top to bottom: its first "
            "cell finds the checks by that name (a copy saved as "
            f"`{filename.removesuffix('.ipynb')} (1).ipynb` cannot run them). Change the parameters at the top to "
            "explore, but hand in with the values it came with (the grading notes a change). Cells "
            "that start `# given:` are locked; the exercises start from them.")


def _add_grading_cell(nb: dict, unit: Unit, filename: str) -> None:
    """Insert :func:`grading_text` before the first exercise (or at the end)."""
    cells = nb.get("cells", [])
    at = next((i for i, c in enumerate(cells) if c.get("cell_type") == "markdown"
               and _src(c).lstrip().startswith("## Exercise")), len(cells))
    cells.insert(at, {"cell_type": "markdown", "id": f"{unit.stem[:2]}-grading", "metadata": {},
                      "source": grading_text(unit, filename)})


def _stable_cell_ids(nb: dict, unit: str, keep: set) -> None:
    """otter assign gives the cells it writes random ids: derive them from the unit, the position and the source
    instead (ids of the master notebook are kept), so rebuilding unchanged sources writes identical files and the
    book that offers them stays up to date (issue 16: the no-op rebuild)."""
    for i, cell in enumerate(nb.get("cells", [])):
        if "id" not in cell or cell["id"] in keep:
            continue
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else str(src)
        cell["id"] = hashlib.sha256(f"{unit}:{i}:{cell.get('cell_type')}:{src}".encode()).hexdigest()[:8]


def _stable_zip(src: Path, dest: Path) -> None:
    """Copy a zip with its members sorted and stamped 1980-01-01 (otter's zip carries the build time)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in sorted(zin.infolist(), key=lambda i: i.filename):
            out = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            out.external_attr = info.external_attr
            out.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(out, zin.read(info))


#: The course kit: what a student needs to work on the hand-outs without a clone of the repository (whose
#: notebooks/ hold the master notebooks: every solution and hidden check).
KIT = "il6repro-course"
KIT_README = """# il6repro course notebooks

The hand-outs of the il6repro course (`notebooks/`), with the project's code (`lib/`), its data manifests and its
environment. It holds no solutions: the instructor versions stay with your instructor.

```bash
make env      # once: a Python 3.11+ virtual environment in .venv with every package (a few minutes; needs PyPI)
make lab      # JupyterLab on notebooks/
```

Open your unit's notebook in `notebooks/`, replace every `...` with your code, and run `grader.check("q1")` (and
so on) after an exercise for its public checks. Keep the notebook's file name, and run it from top to bottom
before you hand it in. Cells marked `# given:` are locked: the exercises start from them.
"""
KIT_MAKEFILE = """PYTHON ?= python3
VENV   ?= .venv
STAMP  := $(VENV)/.il6repro-installed

.PHONY: env lab

$(STAMP): requirements.lock pyproject.toml
\t@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
\t$(VENV)/bin/python -m pip install --disable-pip-version-check -q --upgrade "pip>=24"
\t$(VENV)/bin/python -m pip install --disable-pip-version-check -q -r requirements.lock
\t$(VENV)/bin/python -m pip install --disable-pip-version-check -q --no-deps -e .
\t@touch $(STAMP)

env: $(STAMP)

lab: env
\t$(VENV)/bin/jupyter lab notebooks/
"""


def kit_files(handouts: list[Path], root: Path | None = None) -> dict[str, bytes]:
    """The course kit's files by path inside it: the hand-outs as ``notebooks/``, the project's ``lib/`` and
    ``data_manifest/`` (sources only), ``pyproject.toml``, ``requirements.lock``, a README and a Makefile."""
    root = root or repo_root()
    files = {}
    for folder in ("lib", "data_manifest"):
        for f in sorted((root / folder).rglob("*")):
            rel = f.relative_to(root)
            if f.is_file() and "__pycache__" not in rel.parts and not any(p.endswith(".egg-info") for p in rel.parts):
                files[rel.as_posix()] = f.read_bytes()
    for name in ("pyproject.toml", "requirements.lock"):
        files[name] = (root / name).read_bytes()
    for h in handouts:
        files[f"notebooks/{h.name}"] = h.read_bytes()
    files["README.md"] = KIT_README.encode()
    files["Makefile"] = KIT_MAKEFILE.encode()
    return files


def kit_leaks(files: dict[str, bytes], masters: list[dict]) -> list[str]:
    """What in the kit a student must not have: a notebook other than the hand-outs, or (in its README, Makefile,
    manifests) a solution line, discussion answer or hidden check of the masters. ``lib/`` is the project's code,
    as in a clone: the helpers the hand-outs call (one computes the power the first exercise asks for, which the
    hand-out says), none of the masters' solutions."""
    found = [f"{k}: a notebook that is not a hand-out" for k in files
             if k.endswith(".ipynb") and not k.startswith("notebooks/")]
    texts = {k: v.decode("utf-8", "replace") for k, v in files.items()
             if not k.startswith(("notebooks/", "lib/"))}
    for master in masters:
        for secret in _solution_lines(master):
            for k, v in texts.items():
                if (secret[1:] in v) if secret.startswith("\x00") else secret in _lines(v):
                    found.append(f"{k}: {secret.lstrip(chr(0))[:60]!r}")
    return found


def _write_kit(dest: Path, files: dict[str, bytes]) -> None:
    """``files`` as a zip under the folder ``il6repro-course/``, members sorted and stamped 1980-01-01."""
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as z:
        for rel in sorted(files):
            info = zipfile.ZipInfo(f"{KIT}/{rel}", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, files[rel])


def _otter_version() -> str:
    from importlib.metadata import version

    return f"otter-grader {version('otter-grader')}"


# ------------------------------------------------------------------------------------------------ grading
@contextmanager
def _this_interpreter_kernel():
    """Otter executes a submission in the kernel named ``python3``: point that name at this interpreter (a
    JUPYTER_PATH entry outranks any user-level ``python3`` kernelspec), so il6repro is importable."""
    with tempfile.TemporaryDirectory(prefix="il6repro-kernel-") as tmp:
        kdir = Path(tmp) / "kernels" / "python3"
        kdir.mkdir(parents=True)
        (kdir / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (il6repro)", "language": "python"}))
        before = os.environ.get("JUPYTER_PATH")
        os.environ["JUPYTER_PATH"] = tmp + (os.pathsep + before if before else "")
        try:
            yield
        finally:
            if before is None:
                os.environ.pop("JUPYTER_PATH", None)
            else:
                os.environ["JUPYTER_PATH"] = before


@contextmanager
def _quiet_stderr():
    """Silence the grading kernel's start-up warnings (written to file descriptor 2 by a child process)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


@contextmanager
def _cell_limit(seconds: float | None):
    """Within: otter's notebook execution stops a cell after ``seconds`` (the kernel is interrupted: the cell raises
    ``KeyboardInterrupt``, which :func:`grade_details` reports as stopped) and goes on with the next cells, so the
    exercises before and after an endless loop are still checked. otter builds nbconvert's ExecutePreprocessor
    itself, without a way to pass a cell limit."""
    if not seconds:
        yield
        return
    import nbconvert.preprocessors as nbp

    base = nbp.ExecutePreprocessor

    class CellLimited(base):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.timeout, self.interrupt_on_timeout = int(math.ceil(seconds)), True

    nbp.ExecutePreprocessor = CellLimited  # otter imports it from the module when it grades
    try:
        yield
    finally:
        nbp.ExecutePreprocessor = base


def grade_details(submission: Path, autograder: Path, cell_timeout: float | None = None) -> dict:
    """Grade one notebook with otter's non-containerised grader, in this process: ``{"scores": {question: score},
    "checks": [one dict per check: question, case, hidden, points, passed, message]}``. A code cell running longer
    than ``cell_timeout`` seconds is stopped and reported as stopped; the cells after it still run."""
    import logging

    from otter.api import grade_submission

    logging.getLogger("otter").setLevel(logging.ERROR)
    with _this_interpreter_kernel(), _quiet_stderr(), _cell_limit(cell_timeout):
        res = grade_submission(str(submission), str(autograder), quiet=True)
    checks = [{"question": name, "case": r.test_case.name, "hidden": bool(r.test_case.hidden),
               "points": float(r.test_case.points or 0), "passed": bool(r.passed), "message": str(r.message or "")}
              for name, tf in res.results.items() for r in getattr(tf, "test_case_results", [])]
    # cells of the submission that raised (otter runs on past them), numbered among the submission's own code cells
    # (otter inserts cells of its own); otter's set-up cell and grader.check cells are left out: they fail in any
    # renamed copy (grader.check finds its checks by the file name), which the hand-in grading does not need
    try:
        cells = json.loads(Path(submission).read_text()).get("cells", [])
    except (OSError, ValueError):
        cells = []
    own, under, heading = [], [], ""
    for c in cells:  # each code cell with the heading it sits under ("Exercise 3 ..."), as the student sees it
        if c.get("cell_type") == "markdown":
            text = _heading(c)
            if text:  # "Exercise 2 · How much is lost, ..." -> "Exercise 2"
                short = re.match(r"(?:Exercise|Discussion|Question|Part)\s+\w+", text)
                heading = short.group(0) if short else (text if len(text) <= 50 else
                                                          text[:50].rsplit(" ", 1)[0] + " …")
        elif c.get("cell_type") == "code":
            own.append(_src(c).strip())
            under.append(heading)
    errors = []
    for cell in (c for c in (getattr(res, "notebook", None) or {}).get("cells", []) if c.get("cell_type") == "code"):
        src = _src(cell).strip()
        if src not in own or "otter.Notebook(" in src or re.fullmatch(r"(grader\.check\([^)]*\)\s*)+", src):
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                first = next((ln for ln in src.splitlines() if ln.strip()), "")
                i = own.index(src)
                where = f"code cell {i + 1} ({first.strip()[:40]})" + (f", under “{under[i]}”," if under[i] else "")
                if cell_timeout and out.get("ename") == "KeyboardInterrupt":  # only the cell limit interrupts
                    errors.append(f"{where} was stopped after {cell_timeout:g} s (an endless loop or a very slow "
                                  "cell?): the cells after it ran without what it should have made")
                    continue
                errors.append(f"{where} raised {out.get('ename', 'an error')}: "
                              f"{str(out.get('evalue', '')).splitlines()[0][:120] if out.get('evalue') else ''}")
    return {"scores": {name: float(r.score) for name, r in res.results.items()}, "checks": checks,
            "errors": errors}


def grade_one(submission: Path, autograder: Path) -> dict:
    """Grade one notebook with otter's non-containerised grader: ``{question: score, ..., "total": t}``."""
    scores = dict(grade_details(submission, autograder)["scores"])
    scores["total"] = float(sum(scores.values()))
    return scores


def run_checks(autograder: str | Path, env: dict, questions: list[str] | None = None) -> pd.DataFrame:
    """Run a unit's checks (public and hidden, from its otter autograder zip) against a namespace ``env`` - the
    globals of an executed notebook - with otter's own test runner, in this process.

    Returns one row per check: question, case (otter's name, e.g. ``q1 - 2``), function, hidden, points, passed,
    message. This is what :func:`grade` does after executing a submission, without the kernel: the tests use it to
    try wrong and alternative answers cheaply.
    """
    import zipfile

    from otter.test_files import ExceptionTestFile

    rows = []
    with zipfile.ZipFile(autograder) as zf:
        names = sorted((n for n in zf.namelist() if re.fullmatch(r"tests/[^/]+\.py", n)),
                       key=lambda n: (len(n), n))
        for name in names:
            q = Path(name).stem
            if questions is not None and q not in questions:
                continue
            tf = ExceptionTestFile.from_string(zf.read(name).decode(), path=name)
            tf.run(env)
            for res in tf.test_case_results:
                body = res.test_case.body
                rows.append({"question": q, "case": res.test_case.name,
                             "function": getattr(getattr(body, "test_func", None), "__name__", ""),
                             "hidden": bool(res.test_case.hidden), "points": float(res.test_case.points),
                             "passed": bool(res.passed), "message": res.message or ""})
    return pd.DataFrame(rows, columns=["question", "case", "function", "hidden", "points", "passed", "message"])


def grade(folder: str | Path, **kwargs) -> pd.DataFrame:
    """Grade a folder of submissions: :func:`il6repro.teaching.grading.grade`."""
    from .grading import grade as _grade

    return _grade(folder, **kwargs)
