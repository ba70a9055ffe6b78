"""The course: three units of graded exercises on the paper's three methods (notebooks ``10_teaching_mr``,
``11_teaching_transcriptomics``, ``12_teaching_cohort``), built and graded with otter-grader.

* :mod:`.sims` - simulators with a planted truth (MR power and instruments, smooth random cortical maps,
  regression dilution), re-exported here (``teaching.mr_power`` ...).
* :mod:`.checks` - the assertions the exercises' checks are written with.
* :mod:`.course` - ``python -m il6repro teach``: the student and autograder versions into ``build/teaching/``,
  and ``teach --grade DIR``: a folder of submissions into a CSV of scores per exercise.

A teaching notebook is an otter-assign master notebook in jupytext percent form: raw cells ``# BEGIN QUESTION``,
``# BEGIN SOLUTION``, ``# BEGIN TESTS`` delimit each exercise; solution cells are also tagged ``solution`` and
check cells ``check`` (plus ``hidden``) so that the book can mark them. The paper's runner executes the master
itself: that executed copy is the instructor version (solutions, checks run inline, discussion answers).
"""

from __future__ import annotations

from .sims import (
    mr_power,
    simulate_dilution,
    simulate_individual,
    simulate_summary,
    smooth_random_maps,
    spin_null_correlations,
    tsls_estimate,
)

__all__ = ["NotAnswered", "mr_power", "need", "simulate_dilution", "simulate_individual", "simulate_summary",
           "smooth_random_maps", "spin_null_correlations", "tsls_estimate"]


class NotAnswered(RuntimeError):
    """An exercise's answer is still the scaffold's ``...`` (raised by :func:`need` before a figure or table)."""


def need(exercise: str, **answers) -> None:
    """Stop with a clear message if any of ``answers`` is still ``...``, missing, or an empty table.

    Cells that draw or print an exercise's answer start with ``teaching.need("q1", power=power)``, so a notebook
    run before the exercise is done stops there, naming the exercise, instead of failing somewhere inside
    matplotlib.
    """
    import pandas as pd

    for name, value in answers.items():
        empty = isinstance(value, pd.DataFrame | pd.Series) and value.empty
        holds = isinstance(value, pd.DataFrame) and any(
            value[c].dtype == object and value[c].map(lambda v: v is Ellipsis).any() for c in value.columns)
        holds |= isinstance(value, pd.Series | dict) and any(
            v is Ellipsis for v in (value.values() if isinstance(value, dict) else value.tolist()))
        if value is Ellipsis or value is None or empty or holds:
            state = "empty" if empty else "still `...`" if not holds else "still holding `...`"
            raise NotAnswered(f"{exercise} is not answered yet: `{name}` is {state}. Complete the exercise cell "
                              f"above and run grader.check(\"{exercise}\") before this cell.")
