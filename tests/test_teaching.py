"""Teaching: simulators plant what they say; solution notebooks execute; student versions run up to the stubs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import write_notebook
from il6repro import cohort, teaching
from il6repro.__main__ import main
from il6repro.genetics import mr
from il6repro.runner import run


def test_analytic_power_matches_simulation():
    n, r2, theta, reps = 20_000, 0.02, 0.1, 600
    sims = teaching.simulate_summary(n, r2, theta, n_rep=reps, seed=11)
    hits = np.mean([mr.ivw(g.bx, g.bxse, g.by, g.byse, model="fixed").p < 0.05 for _, g in sims.groupby("rep")])
    expected = teaching.mr_power(n, r2, theta)
    assert abs(hits - expected) < 3.5 * np.sqrt(expected * (1 - expected) / reps)
    assert teaching.mr_power(n, r2, 0.0) == pytest.approx(0.05)
    with pytest.raises(ValueError):
        teaching.mr_power(100, 1.5, 0.1)


def test_weak_instruments_pull_2sls_towards_ols():
    weak = [teaching.tsls_estimate(teaching.simulate_individual(4000, 0.002, 0.0, seed=s)) for s in range(20)]
    strong = [teaching.tsls_estimate(teaching.simulate_individual(4000, 0.08, 0.0, seed=s)) for s in range(20)]
    ols = np.mean([e["ols"] for e in weak])
    assert ols > 0.3  # confounded
    assert np.median([e["tsls"] for e in weak]) > 0.15  # biased towards OLS
    assert abs(np.median([e["tsls"] for e in strong])) < 0.06
    assert np.mean([e["F"] for e in strong]) > 10 > np.mean([e["F"] for e in weak])


def test_directional_pleiotropy_biases_ivw_not_egger():
    sims = teaching.simulate_summary(20_000, 0.05, 0.05, n_snps=30, n_rep=150, pleiotropy_mean=0.01,
                                     pleiotropy_sd=0.01, seed=3)
    ivw = np.mean([mr.ivw(g.bx, g.bxse, g.by, g.byse, model="random").estimate for _, g in sims.groupby("rep")])
    egger = [mr.egger(g.bx, g.bxse, g.by, g.byse).estimate for _, g in sims.groupby("rep")]
    assert ivw - 0.05 > 0.08
    assert abs(np.mean(egger) - 0.05) < 3 * np.std(egger) / np.sqrt(len(egger)) + 0.02


def test_one_measurement_dilutes_the_risk_ratio():
    s = teaching.simulate_dilution(6000, 1.3, 0.4, seed=5)
    usual = cohort.risk_ratio(s, "low_usual", ["age", "female"])["rr"]
    one = cohort.risk_ratio(s, "low_1", ["age", "female"])["rr"]
    two = cohort.risk_ratio(s, "low_mean", ["age", "female"])["rr"]
    assert usual > two > one > 1
    with pytest.raises(ValueError):
        teaching.simulate_dilution(10, 1.3, 0.0)


def test_student_version_replaces_solutions_with_stubs(tmp_path):
    write_notebook(tmp_path / "10_x.ipynb", [
        ("md", "# T"), ("params", "a = 1"),
        ("solution", "# Exercise 4: add one\n# hint: use +\nb = a + 1"), ("code", "print(b)")])
    nb = json.loads((tmp_path / "10_x.ipynb").read_text())
    student, k = teaching.student_version(nb)
    assert k == 1
    cell = student["cells"][2]
    src = "".join(cell["source"])
    assert src.startswith("# Exercise 4: add one\n# hint: use +\n")
    assert 'raise NotImplementedError("Exercise 4' in src and "a + 1" not in src
    assert cell["metadata"]["tags"] == ["exercise"]
    assert student["cells"][1]["metadata"]["tags"] == ["parameters"]
    write_notebook(tmp_path / "11_y.ipynb", [("md", "# none"), ("code", "1")])
    with pytest.raises(teaching.TeachingError, match="no cell tagged 'solution'"):
        teaching.build_student_versions(tmp_path / "out", [tmp_path / "10_x.ipynb", tmp_path / "11_y.ipynb"])
    assert not (tmp_path / "out" / "10_x.ipynb").exists()  # nothing written when one notebook is malformed


@pytest.mark.slow
def test_solutions_execute_and_student_versions_stop_at_the_first_stub(isolated, tmp_path):
    rep = run("quick", only=["10", "11"], progress=False, log=lambda *a: None)
    assert rep.ok, [o.message for o in rep.outcomes]
    figs = json.loads((isolated["build"] / "receipts" / "10_teaching_mr.json").read_text())["figures"]
    assert {"10_mr_power.png", "10_weak_instruments.png", "10_pleiotropy.png"} <= set(figs)
    assert main(["teach", "--out", str(tmp_path / "teaching")]) == 0
    students = sorted((tmp_path / "teaching").glob("*.ipynb"))
    assert [p.name for p in students] == ["10_teaching_mr.ipynb", "11_teaching_dilution.ipynb"]
    for p in students:
        folder = tmp_path / p.stem
        folder.mkdir()
        (folder / p.name).write_bytes(p.read_bytes())
        out = run("quick", notebooks_dir=folder, progress=False, log=lambda *a: None).outcomes[0]
        assert out.status == "failed" and "NotImplementedError: Exercise 1" in out.message, out.message
        executed = json.loads((isolated["build"] / "failed" / p.name).read_text())
        first_stub = next(i for i, c in enumerate(executed["cells"]) if "exercise" in c["metadata"].get("tags", []))
        for c in executed["cells"][:first_stub]:  # everything before the stub ran without error
            if c["cell_type"] == "code":
                assert c["execution_count"] is not None
                assert not any(o.get("output_type") == "error" for o in c.get("outputs", []))
        errs = [o for o in executed["cells"][first_stub]["outputs"] if o.get("output_type") == "error"]
        assert errs and errs[0]["ename"] == "NotImplementedError"
