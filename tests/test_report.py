"""build_report / `runlab report`: executed notebook, one-file HTML in a real browser, LaTeX, CSV, W&B.

One report with a hostile run name is built per module (the notebook runs on a real kernel), and
every format is checked for content and for the name staying inert.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from browser import render_dom
from runlab.cli.app import app
from runlab.errors import InputError
from runlab.reports import build_report, latex_escape
from runlab.warehouse import Warehouse
from test_report_fixtures import HOSTILE, config_task_runs, write

CONFIG = {
    "title": "Report <b>title</b>",
    "metrics": {"primary": ["overview/reward"], "secondary": ["losses/loss"]},
    "group_by": "algo.name",
    "task_by": "sim.task",
    "analysis": {"bootstrap_samples": 300},
}


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return write(tmp_path_factory.mktemp("wh"), config_task_runs(seeds=5, hostile=True))


@pytest.fixture(scope="module")
def report(home, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    with Warehouse.open(home, read_only=True) as wh:
        return build_report(wh, CONFIG, out)


def test_every_format_is_written(report):
    assert report.html.is_file() and report.notebook is not None and report.notebook.is_file()
    assert {p.name for p in report.latex} == {"estimates_0.tex", "tests_0.tex"}
    assert {p.name for p in report.csv} >= {"estimates.csv", "tests.csv", "scores.csv", "runs.csv"}
    assert len(report.figures) >= 8 and all(p.stat().st_size > 1000 for p in report.figures)


def test_notebook_executed_with_sections_and_parameters(report):
    nb = nbformat.read(report.notebook, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].metadata["tags"] == ["parameters"] and "REPS = 300" in code[0].source
    assert all(c.execution_count is not None for c in code)
    outputs = [o for c in code for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 8
    markdown = " ".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for section in ("Data overview", "Aggregate performance", "Performance profiles", "Task-level", "Templates"):
        assert section in markdown
    # data reaches the notebook through files, never as code
    sources = "\n".join(c.source for c in code)
    assert "ppo" not in sources and "<script>" not in sources and "maze" not in sources
    assert "&lt;b&gt;" in markdown and "<b>" not in markdown


def test_hostile_name_survives_the_data_files(report):
    runs = pd.read_parquet(report.data_dir / "runs.parquet")
    assert HOSTILE in set(runs["name"])
    csv = pd.read_csv(report.out_dir / "csv" / "runs.csv")
    assert HOSTILE in set(csv["name"])
    meta = json.loads((report.data_dir / "report.json").read_text())
    assert meta["comparisons"]["overview/reward"]["methods"] == ["dqn", "ppo", "random"]


def test_latex_tables_are_booktabs_and_escaped(report):
    tex = (report.out_dir / "tables" / "estimates_0.tex").read_text()
    assert r"\toprule" in tex and r"\midrule" in tex and r"\bottomrule" in tex
    assert tex.count(r" \\") == 4  # header + 3 methods
    assert "95\\%" in tex
    escaped = latex_escape(HOSTILE)
    assert "\n" not in escaped
    rest = re.sub(r"\\text[a-z]+\{\}", "", escaped)
    assert re.search(r"(?<!\\)[{}$&%#_^~]", rest) is None  # every special is escaped
    assert r"\input" not in escaped and r"\textbackslash{}input\{x\}" in escaped


def _chromium(url: str, user_dir: Path) -> str:
    return render_dom(url, user_dir)


@pytest.mark.browser
@pytest.mark.skipif(not (shutil.which("chromium") or Path("/usr/bin/chromium").exists()), reason="chromium not installed (make browser)")
def test_html_renders_in_chromium_inert_and_sortable(report, tmp_path):
    url = report.html.as_uri() + "#sort=-score: overview/reward"
    dom = _chromium(url, tmp_path / "profile")
    assert "<title>Report &lt;b&gt;title&lt;/b&gt;</title>" in dom  # the page's script did not touch it
    assert "pwned" not in dom.split("<body>")[0]
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in dom
    assert dom.count("<img") == len(report.figures)
    assert 'data:image/png;base64,' in dom and "http://" not in dom and "https://" not in dom
    runs = dom[dom.index('id="runs"'):]
    assert 'data-sorted="-score: overview/reward"' in runs
    ids = [r.split("</td>")[0] for r in runs.split("<tr><td>")[1:]]
    assert all("ppo" in i for i in ids[:15])
    for heading in ("Estimates with confidence intervals", "Significance tests", "Worst task per method"):
        assert heading in dom


def test_cli_report_writes_the_files_without_executing(home, tmp_path):
    out = CliRunner().invoke(
        app,
        ["--home", str(home), "report", "--out", str(tmp_path / "r"), "--no-execute",
         "metrics.primary=[overview/reward]", "group_by=algo.name", "analysis.bootstrap_samples=100"],
    )
    assert out.exit_code == 0, out.output
    assert (tmp_path / "r" / "report.html").is_file()
    nb = nbformat.read(tmp_path / "r" / "analysis.ipynb", as_version=4)
    assert all(c.execution_count is None for c in nb.cells if c.cell_type == "code")


def test_report_config_errors(home, tmp_path):
    with Warehouse.open(home, read_only=True) as wh, pytest.raises(InputError, match=r"visualization\.style"):
        build_report(wh, {**CONFIG, "visualization": {"style": "nope"}}, tmp_path, notebook=False)
    (tmp_path / "file").write_text("x")
    with Warehouse.open(home, read_only=True) as wh, pytest.raises(InputError, match="--out must be a directory"):
        build_report(wh, CONFIG, tmp_path / "file", notebook=False)


def test_wandb_export_offline_reads_back(home, tmp_path, monkeypatch):
    pytest.importorskip("runlab.sources.wandb_offline")
    from runlab.sources.wandb_offline import read_run

    monkeypatch.setenv("WANDB_SILENT", "true")
    cfg = {**CONFIG, "wandb": {"project": "analysis", "mode": "offline"}}
    with Warehouse.open(home, read_only=True) as wh:
        files = build_report(wh, cfg, tmp_path, notebook=False, to_wandb=True)
    assert files.wandb_run_dir is not None
    record = read_run(files.wandb_run_dir)
    assert record.project == "analysis"
    assert "0_overview_reward/estimates" in record.tables
    table = record.tables["0_overview_reward/estimates"]
    assert "estimate" in table["columns"] and len(table["data"]) == 9
    assert any(a.type == "dataset" for a in record.artifacts)


def test_papermill_overrides_the_parameters_cell(report, tmp_path):
    """The notebook is a papermill template: injected parameters run after the defaults, no errors."""
    import papermill as pm

    out = tmp_path / "rerun.ipynb"
    pm.execute_notebook(
        str(report.notebook), str(out), parameters={"REPS": 200, "SEED": 3},
        cwd=str(report.notebook.parent), kernel_name="python3", progress_bar=False,
    )
    nb = nbformat.read(out, as_version=4)
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    injected = next(i for i, t in enumerate(tags) if "injected-parameters" in t)
    assert tags[injected - 1] == ["parameters"]
    assert "REPS = 200" in nb.cells[injected].source and "SEED = 3" in nb.cells[injected].source
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors


def test_a_single_run_method_does_not_sink_the_report(tmp_path):
    records = config_task_runs(seeds=4) + config_task_runs(methods={"solo": 0.7}, seeds=1, seed=3)
    home = write(tmp_path / "wh", records)
    with Warehouse.open(home, read_only=True) as wh:
        files = build_report(wh, CONFIG, tmp_path / "out", notebook=False)
    html = files.html.read_text()
    assert "solo" in html and "single run per task" in html
    import pandas as pd

    est = pd.read_csv(files.out_dir / "csv" / "estimates.csv")
    solo = est[est["method"] == "solo"]
    assert len(solo) and solo["estimate"].notna().all() and solo["lower"].isna().all()


def test_headline_and_summary_are_computed_from_the_results(report):
    from runlab.compare import compare, from_score_dict
    from runlab.reports._headline import cell, headline, summary_table, title_of

    rng = np.random.default_rng(2)
    res = compare(from_score_dict({"ppo": rng.normal(1.0, 0.1, (8, 3)), "dqn": rng.normal(0.2, 0.1, (8, 3))}),
                  reps=500, tests=("welch_t",))
    lines = headline(res)
    iqm = res.estimates.set_index(["method", "aggregate"])
    p, lo, hi = (float(iqm.loc[("ppo", "IQM"), k]) for k in ("estimate", "lower", "upper"))
    assert any(line.startswith("IQM: ppo is best with " + cell(p, lo, hi)) and "do not overlap" in line
               for line in lines)
    assert any("P(ppo > dqn) = " in line for line in lines)
    assert any("welch_t: 1 of 1 pair(s) differ" in line for line in lines)
    table = summary_table(res)
    assert table.loc[table.method == "ppo", "IQM"].iloc[0] == f"{p:.3g} [{lo:.3g}, {hi:.3g}]"
    assert title_of(r"eval_(?P<suite>[^/]+)/(?P<task>.+)") == "eval_<suite>/<task>"
    assert title_of("overview/reward") == "overview/reward"
    html = report.html.read_text()
    assert html.index('class="headline"') < html.index("Estimates with confidence intervals (full precision)")


def test_the_notebook_uses_the_report_s_bootstrap_count(tmp_path):
    home = write(tmp_path / "wh", config_task_runs(seeds=3))
    with Warehouse.open(home, read_only=True) as wh:
        files = build_report(wh, {**CONFIG, "analysis": {"bootstrap_samples": 5000}}, tmp_path / "out", execute=False)
    nb = json.loads(files.notebook.read_text())
    params = next(c for c in nb["cells"] if c["cell_type"] == "code")
    assert "REPS = 5000" in "".join(params["source"])
