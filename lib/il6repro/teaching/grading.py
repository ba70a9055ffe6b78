"""Grade a folder of submitted notebooks: ``python -m il6repro teach --grade DIR``.

Each submission is graded by otter's non-containerised grader in a child process of its own (:mod:`._grade_worker`)
with a time limit, so an endless loop costs one row, not the whole run; a row is written to the CSV as soon as its
submission is graded, so a stopped run keeps every score it had. For each graded submission the instructor gets:

* a row of ``scores.csv``: the score of each exercise, total and possible, blank columns for the discussion
  questions (graded by hand), an ``error`` column (the submission could not be graded: the total is left blank,
  not 0) and a ``note`` column (what to look at by hand: a cell that raised an error, a second submission of the
  same name or content, a parameter changed from the hand-out, hand-out code that was changed, code that refers
  to the grader);
* ``feedback/<submission>.txt``, every check with its message (for the instructor), and
  ``feedback/<submission>.student.txt``, the public checks' messages and the hidden checks' scores only (to return);
* ``feedback/discussion-<unit>.md``, each discussion question with every submission's answer, to grade by hand.

Submissions are found in subfolders too (a learning platform's bulk download often has one folder per student);
files that are not notebooks are listed, not graded. A notebook whose otter metadata was stripped by an editor is
matched to its unit by its file name (or, renamed too, by the hand-out's text it keeps) and graded from a copy
that carries the unit's assignment name.

The checks run the submitted code as the current user, without a container: a submission can do anything its
author's code can, including change how it is scored. The ``note`` column flags the obvious ways (code that touches
the grader or its checks, hand-out cells changed); it is not a sandbox. For summative grading of untrusted
submissions, grade in a container (``otter grade`` with an image that has this project installed).
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

from .._paths import build_dir
from .course import TeachingError
from .course import _src as _source

#: Seconds one submission may take to grade by default (the solutions take 10-20 s on the quick profile and under
#: 90 s on the default one).
DEFAULT_TIMEOUT = 600.0

#: Seconds one code cell of a submission may take (the slowest cell of the solutions takes ~10 s on the default
#: profile): a cell still running is stopped, the note says so, and the cells after it still run, so
#: an endless loop in one exercise costs that exercise only.
DEFAULT_CELL_TIMEOUT = 120.0

#: Code a submission has no reason to contain: it reaches into the grader, its checks or the file system.
SUSPICIOUS = re.compile(r"\b(otter|checks|test_case|OK_FORMAT|setattr|__import__|importlib|"
                        r"subprocess|shutil|os\s*\.\s*(remove|unlink|system|chmod|rename|replace|walk)|"
                        r"sys\s*\.\s*modules)\b|open\([^)]*['\"][wa]")


class GradingStopped(RuntimeError):
    """Grading was stopped (Ctrl-C); the scores so far are in the CSV."""


def _read_notebook(path: Path) -> tuple[dict | None, str]:
    """The notebook, or None and why it cannot be one."""
    try:
        nb = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        return None, "not a notebook: the file is not text (binary, or saved in another format?)"
    except json.JSONDecodeError as exc:
        return None, f"not valid notebook JSON ({exc.msg} at line {exc.lineno}): truncated or damaged; ask for it again"
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        return None, "not a Jupyter notebook (no cells)"
    return nb, ""


def unit_of(nb: dict, name: str, units: list[dict], handouts: dict[str, dict | None] | None = None
            ) -> tuple[dict | None, str]:
    """The unit of a submission: by otter's assignment name in its metadata, else by its file name's number, else by
    its text (most of a hand-out's text cells in it). Returns the unit (or None) and how it was found when not by
    its metadata (``"file name"``, ``"text"``; ``""`` otherwise)."""
    meta = nb.get("metadata") if isinstance(nb.get("metadata"), dict) else {}
    assigned = (meta.get("otter") or {}).get("assignment_name") if isinstance(meta.get("otter"), dict) else None
    for u in units:
        if assigned and u["assignment"] == assigned:
            return u, ""
    for u in units:  # metadata stripped by an editor: fall back to the file name
        if name.startswith(u["stem"][:3]):
            return u, "file name"
    # stripped and renamed ("homework.ipynb"): the hand-out whose text cells it keeps, if one clearly does
    mine = {_norm(_source(c)) for c in nb.get("cells", []) if isinstance(c, dict) and c.get("cell_type") == "markdown"}
    best, share = None, 0.0
    for u in units:
        cells = ((handouts or {}).get(u["stem"]) or {}).get("cells", [])
        text = [_norm(_source(c)) for c in cells if c.get("cell_type") == "markdown"
                and "otter_answer_cell" not in c.get("metadata", {}).get("tags", [])]
        text = [t for t in text if len(t) > 40]  # headings and short prompts are shared between units
        kept = sum(t in mine for t in text) / len(text) if text else 0.0
        if kept > share:
            best, share = u, kept
    return (best, "text") if best is not None and share >= 0.5 else (None, "")


# ------------------------------------------------------------------------------------------------ against the hand-out
def _literal_assignments(code: str) -> dict[str, object]:
    """Top-level ``name = literal`` (and ``name: "Type" = literal``) assignments of a cell; non-literals as ``...``."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return {}
    out = {}
    for node in tree.body:
        targets, value = [], None
        if isinstance(node, ast.Assign):
            targets, value = [t for t in node.targets if isinstance(t, ast.Name)], node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            targets, value = [node.target], node.value
        for t in targets:
            try:
                out[t.id] = ast.literal_eval(value)
            except (ValueError, TypeError, SyntaxError, RecursionError):
                out[t.id] = ...
    return out


def _is_answer(cell: dict) -> bool:
    return "otter_answer_cell" in (cell.get("metadata") or {}).get("tags", [])


def _is_parameters(cell: dict) -> bool:
    return "parameters" in (cell.get("metadata") or {}).get("tags", [])


def _norm(code: str) -> str:
    return "\n".join(ln.rstrip() for ln in code.strip().splitlines())


def handout_notes(sub: dict, handout: dict) -> list[str]:
    """What in a submission differs from its hand-out outside the answer cells, for the instructor to look at:
    parameters set to other values, hand-out code changed or removed, and code that reaches into the grader."""
    notes = []
    hcode = [c for c in handout.get("cells", []) if c.get("cell_type") == "code"]
    scode = [c for c in sub.get("cells", []) if c.get("cell_type") == "code"]
    params = {}
    for c in hcode:
        if _is_parameters(c):
            params.update(_literal_assignments(_source(c)))
    changed = {}
    for c in scode:
        for k, v in _literal_assignments(_source(c)).items():
            if k in params and (v is ... or v != params[k]) and k not in changed:
                changed[k] = v
    if changed:
        notes.append("parameters changed from the hand-out: " + ", ".join(
            f"{k} {params[k]!r} → {'(an expression)' if v is ... else repr(v)}" for k, v in changed.items()))
    fixed = [(i, _norm(_source(c))) for i, c in enumerate(hcode) if not _is_answer(c) and not _is_parameters(c)]
    present = {_norm(_source(c)) for c in scode}
    missing = [i + 1 for i, code in fixed if code and code not in present]
    if missing:
        notes.append(f"hand-out code cell(s) {', '.join(map(str, missing))} changed or removed")
    known = {code for _, code in fixed}
    flagged = []
    for i, c in enumerate(scode):
        code = _source(c)
        if _norm(code) in known:
            continue
        for ln in code.splitlines():
            if SUSPICIOUS.search(ln) and not re.fullmatch(r"\s*grader\.check\(\s*['\"]\w+['\"]\s*\)\s*", ln):
                flagged.append(f"code cell {i + 1}: {ln.strip()[:80]}")
    if flagged:
        notes.append("code that reaches into the grader or the files (check by hand): " + " | ".join(flagged[:3])
                     + (f" (+{len(flagged) - 3} more)" if len(flagged) > 3 else ""))
    return notes


def discussion_answers(nb: dict) -> dict[str, str]:
    """The answer to each discussion question (``d1`` ...): the markdown answer cell after "**Discussion k.**"."""
    out, current = {}, None
    for c in nb.get("cells", []):
        src = _source(c)
        m = re.search(r"\*\*Discussion (\d+)\.\*\*", src) if c.get("cell_type") == "markdown" else None
        if m:
            current = f"d{m.group(1)}"
            continue
        if current and c.get("cell_type") == "markdown" and (_is_answer(c) or current not in out):
            out[current] = src.strip()
            current = None
    return out


def _duplicate_key(rel: str) -> str:
    """Submissions in one folder whose names differ only by a browser's or a copy's suffix ("x (1)", "x copy")."""
    path = Path(rel)
    stem = re.sub(r"(\s*\(\d+\)|[\s_-]*copy(\s*\d+)?)+$", "", path.stem.lower()).strip()
    return str(path.parent / stem)


# ------------------------------------------------------------------------------------------------ one submission
def grade_in_child(submission: Path, autograder: Path, timeout: float, cell_timeout: float | None = None) -> dict:
    """Grade one notebook in a child process (:mod:`._grade_worker`) within ``timeout`` seconds, each code cell within
    ``cell_timeout``; its temporary files (otter's grading folder, the kernel's) are removed whatever happens.
    Returns the worker's result."""
    from ..runner.execute import _stop_worker  # stops all it started (the kernel runs in its own session)

    tmp = Path(tempfile.mkdtemp(prefix="il6repro-grade-"))
    try:
        out = tmp / "result.json"
        env = {**os.environ, "TMPDIR": str(tmp), "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
               "PYTHONWARNINGS": "ignore"}
        cmd = [sys.executable, "-m", "il6repro.teaching._grade_worker", str(submission), str(autograder), str(out),
               *([f"{cell_timeout:g}"] if cell_timeout else [])]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop_worker(proc, grace=2.0)
            raise TimeoutError(f"timed out after {timeout:g} s (--timeout, the whole submission; each cell is "
                               "stopped after --cell-timeout): if its cells are only slow, grade it alone with a "
                               "larger --timeout") from None
        except BaseException:
            _stop_worker(proc, grace=2.0)
            raise
        if proc.returncode != 0 or not out.is_file():
            lines = [ln for ln in (err or "").splitlines() if ln.strip()]
            raise RuntimeError(lines[-1] if lines else f"the grading process exited with code {proc.returncode}")
        return json.loads(out.read_text())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _check_message(message: str) -> str:
    """A failed check's own sentence: otter wraps it in "❌ Test case failed", "Error at line 41 in test q2:" (a line
    of otter's generated test file, which nobody sees) and the code of the line; the exception's last line stays."""
    lines = [ln for ln in message.strip().splitlines() if ln.strip()]
    for i in range(len(lines) - 1, -1, -1):
        m = re.match(r"^(\w+(?:Error|Exception|Interrupt))\b:?\s*(.*)$", lines[i])
        if m:
            rest = " ".join([m.group(2), *lines[i + 1:]]).strip()
            # otter strips quotes off both ends of the text: "NoneType' object has no attribute 'sort_values"
            rest = ("'" if re.match(r"^[^'\s]+'(\s|$)", rest) else "") + rest + \
                ("'" if re.search(r"(^|\s)'[^'\s]+$", rest) else "")
            return rest if m.group(1) == "AssertionError" and rest else f"{m.group(1)}: {rest}".rstrip(": ")
    return " ".join(ln.strip() for ln in lines if not ln.startswith(("❌", "Error at line")))


def _case_label(case: str, question: dict) -> str:
    """``"q4 - 2"`` -> ``“power”``: the check's own name (its test function's) where the course recorded it."""
    m = re.search(r"(\d+)$", case)
    names = question.get("cases") or []
    return f"“{names[int(m.group(1)) - 1]}”" if m and 0 < int(m.group(1)) <= len(names) else case


def _feedback(rel: str, unit: dict, checks: list[dict], student: bool, errors: list[str] | None = None) -> str:
    lines = [f"{rel}: {unit['stem']}", ""]
    if errors:  # a check's own message ("not defined yet: run the cells above") would not say the cell raised
        lines += ["When the notebook was run from top to bottom, these cells raised an error (the checks after them",
                  "may fail because of it):", *[f"  {e}" for e in errors], ""]
    for q in unit["questions"]:
        if q["manual"]:
            continue
        mine = [c for c in checks if c["question"] == q["name"]]
        got = sum(c["points"] for c in mine if c["passed"])
        lines.append(f"{q['name']}: {got:g} of {q['points']:g} points")
        for c in mine:
            mark = "passed" if c["passed"] else "FAILED"
            kind = "hidden check" if c["hidden"] else "check"
            msg = "" if c["passed"] or (student and c["hidden"]) else f": {_check_message(c['message'])}"
            lines.append(f"  {kind} {_case_label(c['case'], q)} ({c['points']:g} pt) {mark}{msg}"[:2000])
        lines.append("")
    lines.append("Discussion questions are graded by hand.")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------ a folder
def grade(folder: str | Path, *, course: str | Path | None = None, csv: str | Path | None = None,
          timeout: float = DEFAULT_TIMEOUT, cell_timeout: float = DEFAULT_CELL_TIMEOUT, log=print) -> pd.DataFrame:
    """Grade every ``*.ipynb`` under ``folder`` against the course in ``course`` (default ``build/teaching``).

    Parameters
    ----------
    folder : path
        The submissions, in it or in subfolders (one per student is fine).
    course : path, optional
        The built course (``python -m il6repro teach``): its ``index.json``, autograders and hand-outs.
    csv : path, optional
        The scores table (default ``folder/scores.csv``), rewritten after every submission.
    timeout : float
        Seconds one submission may take; a submission that takes longer is stopped and reported.
    cell_timeout : float
        Seconds one code cell may take; a cell still running is stopped and reported,
        and the cells after it are run and checked (an endless loop costs its exercise, not the submission).

    Returns the scores table (module docstring for its columns). Feedback files go to ``folder/feedback/``.
    Raises :class:`GradingStopped` on Ctrl-C, after writing the rows graded so far.
    """
    err = TeachingError
    folder = Path(folder)
    course = Path(course) if course else build_dir() / "teaching"
    if not folder.is_dir():
        raise err(f"--grade {folder}: not a folder of submitted notebooks")
    if not timeout > 0:
        raise err(f"--timeout {timeout:g}: give the seconds one submission may take, e.g. --timeout 600")
    if not cell_timeout > 0:
        raise err(f"--cell-timeout {cell_timeout:g}: give the seconds one cell may take, e.g. --cell-timeout 120")
    index_file = course / "index.json"
    if not index_file.is_file():
        raise err(f"{index_file} not found: build the course first (python -m il6repro teach)")
    units = json.loads(index_file.read_text())["units"]
    dest = Path(csv) if csv else folder / "scores.csv"
    fdir = folder / "feedback"
    files = sorted(p for p in folder.rglob("*") if p.is_file()
                   and not any(part.startswith(".") for part in p.relative_to(folder).parts)
                   and fdir not in p.parents and p.resolve() != dest.resolve()
                   and not p.name.startswith("scores.csv"))
    subs = [p for p in files if p.suffix == ".ipynb"]
    others = [str(p.relative_to(folder)) for p in files if p.suffix != ".ipynb"]
    if others:
        log(f"not notebooks, not graded: {', '.join(others[:10])}" + (f" (+{len(others) - 10} more)"
                                                                      if len(others) > 10 else ""))
    if not subs:
        raise err(f"{folder}: no .ipynb submissions (in it or its subfolders)")
    handouts = {}
    for u in units:
        try:
            handouts[u["stem"]] = json.loads((course / u["student"]).read_text())
        except (OSError, ValueError, KeyError):
            handouts[u["stem"]] = None
    graded_q = {u["stem"]: [q["name"] for q in u["questions"] if not q["manual"]] for u in units}
    manual_q = sorted({q["name"] for u in units for q in u["questions"] if q["manual"]})
    qcols = sorted({q for qs in graded_q.values() for q in qs}, key=lambda s: int(re.sub(r"\D", "", s) or 0))
    columns = ["submission", "unit", *qcols, "total", "possible", *manual_q, "possible by hand", "error", "note"]
    rows: list[dict] = []
    answers: dict[str, dict[str, dict[str, str]]] = {}
    graded_checks: dict[str, list[list[dict]]] = {}  # per unit, each graded submission's checks (class summary)
    seen_names: dict[str, str] = {}
    seen_hash: dict[str, str] = {}

    def feedback(rel: str, yours: str, theirs: str) -> None:
        """``feedback/<submission>.txt`` (for you) and ``.student.txt`` (to return)."""
        fdir.mkdir(exist_ok=True)
        safe = rel.replace("/", "__").removesuffix(".ipynb")
        (fdir / f"{safe}.txt").write_text(yours)
        (fdir / f"{safe}.student.txt").write_text(theirs)

    def write() -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.tmp")
        pd.DataFrame(rows).reindex(columns=columns).to_csv(tmp, index=False)
        tmp.replace(dest)

    with tempfile.TemporaryDirectory(prefix="il6repro-submissions-") as copies:
        try:
            for k, p in enumerate(subs, 1):
                rel = str(p.relative_to(folder))
                row = {"submission": rel, "unit": "", "error": "", "note": ""}
                notes = []
                key, digest = _duplicate_key(rel), hashlib.sha256(p.read_bytes()).hexdigest()
                if digest in seen_hash:
                    notes.append(f"identical to {seen_hash[digest]}")
                elif key in seen_names:
                    notes.append(f"same name as {seen_names[key]} (a second submission?)")
                seen_hash.setdefault(digest, rel)
                seen_names.setdefault(key, rel)
                nb, why = _read_notebook(p)
                u, by_name = unit_of(nb, p.name, units, handouts) if nb is not None else (None, "")
                if nb is not None and u is None:
                    why = "not a notebook of any unit: no otter assignment name, the file name does not start " \
                          f"with {', '.join(x['stem'][:3] for x in units)}, and it keeps too little of a " \
                          "hand-out's text"
                if u is None:
                    row["error"] = why
                    row["note"] = "; ".join(notes)
                    rows.append(row)
                    write()
                    log(f"[{k}/{len(subs)}] {rel}: not graded: {why}")
                    continue
                row.update({"unit": u["stem"], "possible": u["points"],
                            "possible by hand": float(sum(q["points"] for q in u["questions"] if q["manual"]))})
                target = p
                if by_name:  # otter needs the assignment name: grade a copy that carries it
                    meta = nb.setdefault("metadata", {}) if isinstance(nb.get("metadata"), dict) else {}
                    nb["metadata"] = meta
                    meta.setdefault("otter", {})
                    if not isinstance(meta["otter"], dict):
                        meta["otter"] = {}
                    meta["otter"]["assignment_name"] = u["assignment"]
                    target = Path(copies) / f"{k}" / p.name
                    target.parent.mkdir()
                    target.write_text(json.dumps(nb))
                    notes.append(f"matched to {u['stem']} by its {by_name} (its otter metadata was missing)")
                if handouts.get(u["stem"]):
                    notes += handout_notes(nb, handouts[u["stem"]])
                answers.setdefault(u["stem"], {})[rel] = discussion_answers(nb)
                log(f"[{k}/{len(subs)}] {rel} ({u['stem']}): grading ...")
                try:
                    res = grade_in_child(target, course / u["autograder"], timeout, min(cell_timeout, timeout))
                except (TimeoutError, RuntimeError, OSError, ValueError) as exc:
                    row["error"] = str(exc)[:300]
                    row["note"] = "; ".join(notes)
                    rows.append(row)
                    write()
                    # the student is told too (a review: a timed-out submission left no feedback file at all)
                    why = (f"it ran longer than the {timeout:g} s allowed for a whole notebook"
                           if isinstance(exc, TimeoutError) else row["error"])
                    feedback(rel, f"{rel}: {u['stem']}\n\nNot graded: {row['error']}\n",
                             "\n\n".join([f"{rel}: {u['stem']}", f"Not graded: {why}.",
                                           "Run the notebook from top to bottom (Kernel > Restart and run all) before "
                                           "you hand it in; ask if a cell is slow.\n"]))
                    log(f"[{k}/{len(subs)}] {rel}: not graded: {row['error']}")
                    continue
                scores = res["scores"]
                graded_checks.setdefault(u["stem"], []).append(res["checks"])
                if res.get("errors"):
                    notes.append("; ".join(res["errors"][:3]) + (f" (+{len(res['errors']) - 3} more)"
                                                                  if len(res["errors"]) > 3 else ""))
                row.update({q: float(scores.get(q, 0.0)) for q in graded_q[u["stem"]]})
                row["total"] = float(sum(row[q] for q in graded_q[u["stem"]]))
                row["note"] = "; ".join(notes)
                rows.append(row)
                write()
                errs = res.get("errors") or []
                feedback(rel, _feedback(rel, u, res["checks"], False, errs), _feedback(rel, u, res["checks"], True, errs))
                log(f"[{k}/{len(subs)}] {rel} ({u['stem']}): {row['total']:g}/{u['points']:g}  " +
                    "  ".join(f"{q} {row[q]:g}" for q in graded_q[u["stem"]]) +
                    (f"  (note: {row['note']})" if row["note"] else ""))
        except KeyboardInterrupt:
            write()
            raise GradingStopped(f"grading stopped after {len(rows)} of {len(subs)} submission(s); their scores "
                                 f"are in {dest}") from None
    write()
    _write_discussions(fdir, units, answers)
    table = pd.read_csv(dest, keep_default_na=True)
    for line in _write_summaries(fdir, units, table, graded_checks):
        log(line)
    log(f"scores of {len(table)} submission(s) -> {dest}; feedback per submission and the discussion answers -> "
        f"{fdir}/")
    return table


def _write_summaries(fdir: Path, units: list[dict], table: pd.DataFrame,
                     graded: dict[str, list[list[dict]]]) -> list[str]:
    """``feedback/summary-<unit>.md``, the class at a glance: each exercise's mean score and how many had full marks,
    and every check with how many submissions passed it, the most failed first. Returns one line per unit to log."""
    lines = []
    for u in units:
        runs = graded.get(u["stem"]) or []
        rows = table[(table["unit"] == u["stem"]) & table["error"].isna()] if "unit" in table else table.iloc[:0]
        if not runs or rows.empty:
            continue
        n, qs = len(rows), [q for q in u["questions"] if not q["manual"]]
        failed = len(table[(table["unit"] == u["stem"]) & table["error"].notna()])
        text = [f"# {u['stem']}: the class at a glance", "",
                f"{n} submission(s) graded" + (f", {failed} not graded (see scores.csv)" if failed else "") +
                f"; mean total {rows['total'].mean():.1f} of {u['points']:g}.", "",
                "| exercise | mean | of | full marks |", "|---|---|---|---|"]
        text += [f"| {q['name']} | {rows[q['name']].mean():.2f} | {q['points']:g} | "
                 f"{int((rows[q['name']] >= q['points']).sum())} of {n} |" for q in qs]
        passed: dict[tuple[str, str], list] = {}
        for checks in runs:
            for c in checks:
                passed.setdefault((c["question"], c["case"]), [c, 0, 0])
                passed[(c["question"], c["case"])][1] += bool(c["passed"])
                passed[(c["question"], c["case"])][2] += 1
        qd = {q["name"]: q for q in qs}
        order = sorted(passed.values(), key=lambda v: (v[1] / v[2], v[0]["question"], v[0]["case"]))
        text += ["", "| check | passed by | points |", "|---|---|---|"]
        text += [f"| {c['question']} {'hidden ' if c['hidden'] else ''}"
                 f"{_case_label(c['case'], qd.get(c['question'], {}))} | {k} of {m} | {c['points']:g} |"
                 for c, k, m in order]
        fdir.mkdir(exist_ok=True)
        (fdir / f"summary-{u['stem']}.md").write_text("\n".join(text) + "\n")
        worst = [f"{c['question']} {_case_label(c['case'], qd.get(c['question'], {}))} ({k} of {m})"
                 for c, k, m in order if k < m][:3]
        lines.append(f"{u['stem']}: {n} graded, mean {rows['total'].mean():.1f} of {u['points']:g}; " +
                     (f"most failed: {', '.join(worst)}" if worst else "every check passed by all") +
                     f" -> {fdir / ('summary-' + u['stem'] + '.md')}")
    return lines


def _write_discussions(fdir: Path, units: list[dict], answers: dict) -> None:
    """``feedback/discussion-<unit>.md``: each discussion question, then every submission's answer to it."""
    for u in units:
        subs = answers.get(u["stem"])
        if not subs:
            continue
        fdir.mkdir(exist_ok=True)
        text = [f"# {u['stem']}: discussion answers, to grade by hand", ""]
        for q in (q for q in u["questions"] if q["manual"]):
            text += [f"## {q['name']} ({q['points']:g} point{'s' if q['points'] != 1 else ''})", "",
                     f"> {q.get('title', '')}", ""]
            for rel, ans in subs.items():
                body = ans.get(q["name"], "").strip()
                if not body or body.startswith("_Type your answer here"):
                    body = "(no answer)"
                text += [f"### {rel}", "", body, ""]
        (fdir / f"discussion-{u['stem']}.md").write_text("\n".join(text))
