"""`runlab demo` on the shipped sample project: every output lands, and the numbers are stable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from runlab.cli.app import app
from runlab.errors import InputError


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "out"
    result = CliRunner().invoke(app, ["demo", "--out", str(out), "--sweep-trials", "2", "--bootstrap", "200"])
    assert result.exit_code == 0, result.output
    return out


def test_demo_writes_every_output(demo_out: Path) -> None:
    from runlab.samples import read_manifest, shipped_samples_dir

    summary = json.loads((demo_out / "summary.json").read_text())
    manifest = read_manifest(shipped_samples_dir())
    offline_runs = {p.parent for p in shipped_samples_dir().rglob("run-*.wandb")}
    assert summary["runs_ingested"] == len(offline_runs) > 0
    assert summary["curves"]["runs"] >= 300
    assert summary["sweep"]["trials"] == 2
    assert {"ppo/IQM", "a2c/IQM", "dqn/IQM"} <= set(summary["estimates"])
    for _est, lo, hi in summary["estimates"].values():
        # scores are normalised by the optimal return: every aggregate and its CI lie in [0, 1]
        assert -1e-9 <= lo <= hi <= 1 + 1e-9
    html = (demo_out / "report" / "report.html").read_text()
    assert "IQM" in html and "<img" in html
    nb = json.loads((demo_out / "report" / "analysis.ipynb").read_text())
    assert any(c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")
    assert list((demo_out / "report" / "tables").glob("*.tex"))
    assert (demo_out / "csv" / "reward_curves.csv").stat().st_size > 0
    assert (demo_out / "curriculum" / "analysis" / "report.html").stat().st_size > 0
    assert list((demo_out / "curriculum" / "streams" / "streams").rglob("*.parquet")) or list((demo_out / "curriculum" / "streams").rglob("*.parquet"))
    assert list((demo_out / "sweep").glob("*.yaml"))
    assert manifest["files"]


def test_demo_refuses_to_wipe_a_folder_it_did_not_write(tmp_path: Path) -> None:
    from runlab.demo import run_demo

    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(InputError, match="not a runlab demo output folder"):
        run_demo(tmp_path)
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_the_readme_python_examples_run_as_written_on_the_demo_output(demo_out: Path, tmp_path: Path) -> None:
    """Every ```python block of the README, executed in a folder laid out like the repository
    after `make demo` (demo-output/, samples/, examples/)."""
    import os
    import re
    import shutil

    root = Path(__file__).resolve().parents[1]
    blocks = re.findall(r"```python\n(.*?)```", (root / "README.md").read_text(), flags=re.S)
    assert len(blocks) >= 2
    work = tmp_path / "repo"
    work.mkdir()
    shutil.copytree(demo_out, work / "demo-output")
    for name in ("samples", "examples"):
        (work / name).symlink_to(root / name)
    cwd = os.getcwd()
    os.chdir(work)
    try:
        for code in blocks:
            exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
    finally:
        os.chdir(cwd)
