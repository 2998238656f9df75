"""The project's own files agree with each other, and the command line works."""

import re
from pathlib import Path

import numpy as np
import pytest
import tomllib

from prm_edu import cli
from prm_edu.experiment import compare, paired_differences

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"torch": "pytorch"}  # PyPI name -> conda-forge name, where they differ


def _name(requirement: str) -> str:
    return re.split(r"[<>=!\[ ;]", requirement.strip(), maxsplit=1)[0].lower()


def test_environment_yml_mirrors_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]}
    wanted = {CONDA_NAMES.get(n, n) for n in wanted}
    listed = set()
    text = (ROOT / "environment.yml").read_text()
    for line in text.split("dependencies:", 1)[1].splitlines():
        line = line.split("#")[0].strip()
        if line.startswith("- ") and not line.startswith("- -e") and line != "- pip:":
            listed.add(_name(line[2:]))
    assert wanted <= listed, f"missing from environment.yml: {sorted(wanted - listed)}"
    assert listed - wanted <= {"python", "pip"}, f"in environment.yml only: {sorted(listed - wanted - {'python', 'pip'})}"


def test_readme_test_command_is_what_ci_runs():
    assert "make test" in (ROOT / "README.md").read_text()
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_demo_fast_prints_the_table_and_draws_figures(capsys, tmp_path):
    assert cli.main(["demo", "--fast", "--quiet", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    rows = ["initial order", "pointwise (click model)", "DLCM", "PRM-BASE", "PRM-Personalized", "PRM-Personalized, no PE",
            "PRM-Personalized, no attention", "context-blind oracle", "oracle (greedy)"]
    for row in rows:
        assert row in out
    for column in ["P@5", "P@10", "MAP@5", "MAP@10", "MAP@30", "NDCG@10", "clicks/list", "oracle gain"]:
        assert column in out
    assert "position-bias term in training: fixed to the examination" in out  # the default
    assert "prm-edu demo (fast setting)" in out
    assert (tmp_path / "learning_curves.png").stat().st_size > 1000
    assert (tmp_path / "attention_prm_personalized.png").stat().st_size > 1000


def test_demo_bad_argument_is_a_clear_error(capsys, monkeypatch):
    assert cli.main(["demo", "--seeds", "0"]) == 2
    assert "--seeds" in capsys.readouterr().err
    assert cli.main(["demo", "--fast", "--setting", "class"]) == 2
    assert "--fast and --setting class disagree" in capsys.readouterr().err
    monkeypatch.delenv("PRM_EDU_FAST", raising=False)
    monkeypatch.setenv("PRM_EDU_SETTING", "tiny")
    assert cli.main(["demo", "--no-figures"]) == 2  # the environment's setting, checked before any work
    assert "PRM_EDU_SETTING='tiny' is not a setting" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["demo", "--setting", "tiny"])
    assert "class" in capsys.readouterr().err  # argparse names the choices
    with pytest.raises(SystemExit):
        cli.main(["demo", "--world", "popularity"])
    assert "personalized" in capsys.readouterr().err  # argparse names the choices
    with pytest.raises(SystemExit):
        cli.main(["demo", "--debias", "magic"])
    assert "estimated" in capsys.readouterr().err


def test_paired_differences_say_when_a_claim_holds_over_seeds():
    seeds = [{"PRM-Personalized": {"oracle gain": p, "MAP@10": 0.7}, "PRM-BASE": {"oracle gain": b, "MAP@10": m}}
             for p, b, m in ((0.50, 0.30, 0.71), (0.45, 0.30, 0.69), (0.40, 0.35, 0.70))]
    row = paired_differences(seeds)["PV pays (PRM-Personalized - PRM-BASE)"]
    assert np.isclose(row["oracle gain: mean"], 0.4 / 3) and np.isclose(row["oracle gain: std"], np.std([0.2, 0.15, 0.05]))
    assert row["oracle gain: holds"] == 1.0  # 0.133 > 2 x 0.062
    assert row["MAP@10: holds"] == 0.0  # mean 0, spread 0.008
    assert len(paired_differences(seeds)) == 1  # claims whose rows are missing are left out


def test_compare_calls_a_difference_only_beyond_twice_its_spread_over_three_seeds():
    def tables(*pairs):
        return [{"A": {"oracle gain": a}, "B": {"oracle gain": b}} for a, b in pairs]

    higher = compare(tables((0.5, 0.3), (0.45, 0.3), (0.4, 0.35)), "A", "B")
    assert higher.holds and not higher.reversed and str(higher).endswith(": higher")
    assert "+0.133 ± 0.062 over 3 seeds (2.14 std)" in str(higher)
    lower = compare(tables((0.3, 0.5), (0.3, 0.45), (0.35, 0.4)), "A", "B")
    assert lower.reversed and not lower.holds and str(lower).endswith(": lower")
    noise = compare(tables((0.5, 0.3), (0.3, 0.45), (0.4, 0.35)), "A", "B")
    assert not noise.holds and not noise.reversed and str(noise).endswith("not distinguishable here")
    one_seed = compare(tables((0.9, 0.1)), "A", "B")  # a large gap on one seed is not a finding
    assert not one_seed.holds and str(one_seed) == "A - B: +0.800 on one seed (too few seeds to judge)"
    with pytest.raises(ValueError, match="no row 'C'"):
        compare(tables((0.5, 0.3)), "A", "C")
    with pytest.raises(ValueError, match="no tables"):
        compare([], "A", "B")
