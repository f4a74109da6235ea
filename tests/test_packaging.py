"""pyproject.toml and environment.yml must describe the same environment."""

import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_environment_yml_agrees_with_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    pythons = [d for d in deps if isinstance(d, str) and d.startswith("python")]
    assert pythons == ["python=3.11"], pythons
    major_minor = tuple(int(x) for x in pythons[0].split("=")[1].split("."))
    lo = project["requires-python"].split(",")[0].removeprefix(">=")
    assert major_minor >= tuple(int(x) for x in lo.split("."))
    assert "pip" in deps
    pip_block = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    extras = project["optional-dependencies"]
    # the conda env installs the project itself with every extra the tests need
    assert pip_block == ["-e .[dev]"], pip_block
    assert "dev" in extras
    for need in ("pytest", "nbval", "ruff"):
        assert any(r.startswith(need) for r in extras["dev"]), need
    for need in ("tensorflow", "keras", "numpy", "pandas", "scipy", "matplotlib", "seaborn",
                 "ipywidgets", "jupyterlab", "tqdm"):
        assert any(r.startswith(need) for r in project["dependencies"]), need
    # conda must not pin a second copy of a package the project already declares
    conda_pkgs = {d.split("=")[0].split(">")[0] for d in deps if isinstance(d, str)} - {"python", "pip"}
    assert not conda_pkgs, f"declare these in pyproject.toml instead: {conda_pkgs}"
