"""W&B Reports: built with wandb-workspaces, saved by the real client against the project's W&B test server.

An offline ``--to-wandb`` report writes ``wandb_report.json``; ``runlab report publish`` saves it
(GetProjects, CreateProject/upsertModel, ProjectInternalId, upsertView); a server error on save is a
clear message and loses nothing written locally.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from runlab.cli.app import app
from runlab.reports import analyse, build_report, validate_config
from runlab.warehouse import Warehouse
from test_report_fixtures import HOSTILE, config_task_runs, write
from wandb_server import StoredRun, WandbTestServer
from wandb_server.fixtures import wandb_server_fixture  # noqa: F401  (the wandb_server fixture)

pytest.importorskip("wandb_workspaces")

CONFIG = {
    "title": "Report <b>title</b> | pipes",
    "metrics": {"primary": ["overview/reward"]},
    "group_by": "algo.name",
    "task_by": "sim.task",
    "analysis": {"bootstrap_samples": 200},
    "wandb": {"project": "analysis"},
}


@pytest.fixture(scope="module")
def records():
    return config_task_runs(seeds=3, hostile=True)


@pytest.fixture(scope="module")
def home(records, tmp_path_factory):
    return write(tmp_path_factory.mktemp("wh"), records)


@pytest.fixture(scope="module")
def offline_report(home, tmp_path_factory, records):
    """``build_report(to_wandb=True)`` in offline mode: the export run and the report spec, locally."""
    out = tmp_path_factory.mktemp("report")
    mp = pytest.MonkeyPatch()
    mp.setenv("WANDB_SILENT", "true")
    try:
        with Warehouse.open(home, read_only=True) as wh:
            files = build_report(wh, {**CONFIG, "wandb": {"project": "analysis", "mode": "offline"}}, out,
                                 notebook=False, to_wandb=True)
    finally:
        mp.undo()
    return files


def _serve_compared_runs(server: WandbTestServer, records) -> None:
    for r in records:
        entity, project, run_id = r.run_id.partition(":")[2].split("/")
        server.add_run(project, StoredRun(id=run_id, display_name=r.name), entity=entity)


def test_offline_report_writes_the_spec_next_to_the_html(offline_report, records):
    assert offline_report.wandb_report == offline_report.out_dir / "wandb_report.json"
    assert offline_report.wandb_report_url == "" and offline_report.html.is_file()
    spec = json.loads(offline_report.wandb_report.read_text())
    assert spec["title"] == CONFIG["title"] and spec["project"] == "analysis"
    ((runset),) = spec["runsets"]
    assert (runset["entity"], runset["project"]) == ("ent", "proj")
    assert runset["ids"] == sorted(r.run_id.rsplit("/", 1)[1] for r in records)
    assert spec["analysis_run"] and offline_report.wandb_run_dir.name.endswith(spec["analysis_run"])
    assert spec["figures"] and all(f.startswith("figures/") for f in spec["figures"])
    assert "bootstrap_samples: 200" in spec["config_yaml"]
    table = spec["comparisons"][0]["table"]
    assert table.splitlines()[0].startswith("| method | aggregate | estimate | lower | upper")
    assert len([line for line in table.splitlines() if line.startswith("| ppo |")]) >= 1
    assert HOSTILE not in json.dumps(spec)  # names never reach the report text


def test_publish_saves_the_report_through_the_real_client(offline_report, records, wandb_server, tmp_path):
    _serve_compared_runs(wandb_server, records)
    res = CliRunner().invoke(app, ["--home", str(tmp_path / "h"), "report", "publish",
                                   str(offline_report.wandb_report)])
    assert res.exit_code == 0, res.output
    assert wandb_server.unknown == []
    ops = wandb_server.operations()
    assert ops["upsertView"] == 1 and ops["CreateProject"] == 1 and ops["GetProjects"] >= 1
    assert ops["ProjectInternalId"] == 2  # the compared runs' project and the analysis run's
    (view,) = wandb_server.views
    assert view["displayName"] == CONFIG["title"] and view["projectName"] == "analysis"
    assert view["entityName"] == wandb_server.entity and view["type"] == "runs"
    assert "W&B Report:" in res.output and view["id"] in res.output.replace("\n", "")
    text = json.dumps(view["spec"])
    blocks = view["spec"]["blocks"]
    kinds = [b["type"] for b in blocks]
    assert "panel-grid" in kinds and "code-block" in kinds and "markdown-block" in kinds
    grids = [b for b in blocks if b["type"] == "panel-grid"]
    compared = grids[0]["metadata"]["runSets"][0]
    for r in records:
        assert r.run_id.rsplit("/", 1)[1] in json.dumps(compared["filters"])
    assert "overview/reward" in json.dumps(grids[0]["metadata"]["panelBankSectionConfig"])
    figures = grids[1]["metadata"]["runSets"][0]
    assert json.loads(offline_report.wandb_report.read_text())["analysis_run"] in json.dumps(figures["filters"])
    assert "bootstrap_samples: 200" in text


def test_a_server_error_on_save_is_a_clear_message_and_the_local_report_stays(
        home, wandb_server, records, tmp_path):
    from runlab.errors import RunlabError
    from runlab.reports._wandb_report import write_and_publish

    _serve_compared_runs(wandb_server, records)
    wandb_server.inject("500", "upsertView", times=100)
    with Warehouse.open(home, read_only=True) as wh:
        analysis = analyse(wh, validate_config(CONFIG))
    (tmp_path / "report.html").write_text("written before")
    with pytest.raises(RunlabError, match="saving the W&B Report to runlab-test/analysis failed") as info:
        write_and_publish(analysis, [], tmp_path, None)
    assert str(tmp_path / "wandb_report.json") in str(info.value) and "runlab report publish" in str(info.value)
    assert (tmp_path / "report.html").read_text() == "written before"
    assert json.loads((tmp_path / "wandb_report.json").read_text())["title"] == CONFIG["title"]
    assert wandb_server.views == []
    res = CliRunner().invoke(app, ["--home", str(tmp_path / "h"), "report", "publish", str(tmp_path / "wandb_report.json")])
    assert res.exit_code == 1 and "failed" in res.output and "fix:" in res.output and "Traceback" not in res.output


def test_an_online_save_returns_the_url(home, wandb_server, records, tmp_path):
    from runlab.reports._wandb_report import write_and_publish

    _serve_compared_runs(wandb_server, records)
    with Warehouse.open(home, read_only=True) as wh:
        analysis = analyse(wh, validate_config(CONFIG))
    result = write_and_publish(analysis, [], tmp_path, None)
    (view,) = wandb_server.views
    assert result.url.startswith(wandb_server.url) and result.url.endswith(view["id"])
    assert not [b for b in view["spec"]["blocks"] if b["type"] == "panel-grid" and "analysis run" in json.dumps(b)]


def test_publish_refuses_a_file_that_is_not_a_spec(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text(json.dumps({"title": "x"}))
    res = CliRunner().invoke(app, ["--home", str(tmp_path / "h"), "report", "publish", str(bad)])
    assert res.exit_code == 1 and "not a runlab W&B report spec" in res.output
    missing = CliRunner().invoke(app, ["--home", str(tmp_path / "h"), "report", "publish", str(tmp_path / "no.json")])
    assert missing.exit_code == 1 and "no such file" in missing.output
