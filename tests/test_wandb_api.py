"""End-to-end tests of the W&B API collector: the real ``wandb.Api`` against the local test server."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime
from pathlib import Path

import pytest

from runlab.errors import FetchError, InputError, NotFoundError, WandbAuthError
from runlab.sources.wandb_api import FetchOptions, RunSelection, WandBBatch, WandBCollector
from runlab.warehouse import IngestReport, Warehouse
from wandb_server import StoredRun, WandbTestServer
from wandb_server.fixtures import wandb_server_fixture  # noqa: F401  (the wandb_server fixture)

PROJECT = "metta"
HOSTILE = 'x"\'<script>alert(1)</script>\n../🚀'


def metta_history(n: int, *, offset: int = 0, sparse_every: int = 5) -> list[dict]:
    rows = []
    for i in range(offset, offset + n):
        row = {
            "_step": i,
            "overview/reward": 0.1 * i,
            "losses/policy_loss": 1.0 / (i + 1),
            "env_agent/heart.get": float(i % 3),
            "env_agent/heart.get.std_dev": 0.5,
            "metric/agent_step": 1000 * i,
        }
        if i % sparse_every == 0:
            row["eval_navigation/success_rate"] = i / 100
        rows.append(row)
    return rows


def populate(server: WandbTestServer) -> dict[str, StoredRun]:
    runs = {
        "r1": StoredRun(id="r1", display_name="sky_comprehensive_1", tags=["sky", "v2"], group="sky",
                        config={"trainer": {"optimizer": {"learning_rate": 3e-4}}, "seed": 1},
                        history=metta_history(12), created_at=datetime(2025, 3, 1, tzinfo=UTC)),
        "r2": StoredRun(id="r2", display_name="sky_comprehensive_2", tags=["sky"], group="sky",
                        config={"trainer": {"optimizer": {"learning_rate": 1e-3}}, "seed": 2},
                        history=metta_history(12), created_at=datetime(2025, 3, 2, tzinfo=UTC)),
        "r3": StoredRun(id="r3", display_name="baseline_a", tags=["base"], group="base", state="crashed",
                        config={"seed": 3}, history=metta_history(8),
                        created_at=datetime(2025, 1, 5, tzinfo=UTC)),
        "r4": StoredRun(id="r4", display_name=HOSTILE, tags=["odd tag 🙂"], config={"seed": 4},
                        history=metta_history(3), created_at=datetime(2025, 2, 1, tzinfo=UTC)),
    }
    for run in runs.values():
        server.add_run(PROJECT, run)
    return runs


OPTION_FIELDS = frozenset(f.name for f in dataclasses.fields(FetchOptions))


def collector(server: WandbTestServer, **kwargs) -> WandBCollector:
    """A collector for ``PROJECT``: keyword arguments go to FetchOptions or RunSelection by name."""
    kwargs.setdefault("retry_base_delay", 0.01)
    kwargs.setdefault("workers", 2)
    kwargs.setdefault("timeout", 10)
    options = FetchOptions(**{k: kwargs.pop(k) for k in list(kwargs) if k in OPTION_FIELDS})
    return WandBCollector(RunSelection(server.entity, PROJECT, **kwargs), options)


def fetch(c: WandBCollector, wh: Warehouse) -> IngestReport:
    """What `runlab fetch` composes: the collector's batch, given what ``wh`` knows, stored by ``wh``."""
    return wh.ingest(c.records(known=wh.sync_state))


def fetch_with_checks(c: WandBCollector, wh: Warehouse) -> tuple[WandBBatch, IngestReport]:
    batch = c.records(known=wh.sync_state)
    return batch, wh.ingest(batch)


def names(summaries) -> set[str]:
    return {s.name for s in summaries}


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"pattern": "sky_comprehensive_*"}, {"sky_comprehensive_1", "sky_comprehensive_2"}),
        ({"pattern": "sky_comprehensive_?"}, {"sky_comprehensive_1", "sky_comprehensive_2"}),
        ({"regex": "^base"}, {"baseline_a"}),
        ({"tags": ["sky", "v2"]}, {"sky_comprehensive_1"}),
        ({"group": "base"}, {"baseline_a"}),
        ({"state": "crashed"}, {"baseline_a"}),
        ({"since": "2025-02-15"}, {"sky_comprehensive_1", "sky_comprehensive_2"}),
        ({"filters": '{"config.seed": {"$in": [2, 3]}}'}, {"sky_comprehensive_2", "baseline_a"}),
        ({"filters": {"$or": [{"config.seed": 4}, {"tags": "base"}]}}, {HOSTILE, "baseline_a"}),
        ({"pattern": "sky*", "filters": {"config.trainer.optimizer.learning_rate": {"$lt": 5e-4}}},
         {"sky_comprehensive_1"}),
    ],
)
def test_selection_happens_on_the_server(wandb_server: WandbTestServer, kwargs, expected) -> None:
    populate(wandb_server)
    summaries = collector(wandb_server, **kwargs).select()
    assert names(summaries) == expected
    assert wandb_server.count("Runs") == 1  # one filtered listing, not one request per run
    assert wandb_server.count("RunParquetHistory") == 0


def test_glob_metacharacters_in_names_are_literal(wandb_server: WandbTestServer) -> None:
    wandb_server.add_run(PROJECT, StoredRun(id="p1", display_name="a.b+(c)", history=metta_history(2)))
    wandb_server.add_run(PROJECT, StoredRun(id="p2", display_name="aXb+(c)", history=metta_history(2)))
    assert names(collector(wandb_server, pattern="a.b+(c)").select()) == {"a.b+(c)"}


def test_bad_selection_options_name_the_fix(wandb_server: WandbTestServer) -> None:
    with pytest.raises(InputError, match="either --pattern or --regex"):
        collector(wandb_server, pattern="a*", regex="a.*")
    with pytest.raises(InputError, match="--filter must be a JSON object"):
        collector(wandb_server, filters="{not json")
    with pytest.raises(InputError, match="--since must be an ISO date"):
        collector(wandb_server, since="last tuesday")
    with pytest.raises(InputError, match="--state must be one of"):
        collector(wandb_server, state="done")
    with pytest.raises(InputError, match="workers must be >= 1"):
        collector(wandb_server, workers=0)


def test_unknown_project_is_not_found(wandb_server: WandbTestServer) -> None:
    with pytest.raises(NotFoundError, match="not found"):
        WandBCollector(RunSelection(wandb_server.entity, "nope"), FetchOptions(retry_base_delay=0.01)).select()


def test_sparse_metrics_keep_every_row(wandb_server: WandbTestServer, tmp_path: Path) -> None:
    populate(wandb_server)
    c = collector(wandb_server, pattern="sky_comprehensive_1",
                  metrics=["eval_navigation/success_rate", "overview/reward"])
    with Warehouse.open(tmp_path / "wh") as wh:
        result = fetch(c, wh)
        assert result.added == [f"wandb:{wandb_server.entity}/{PROJECT}/r1"]
        h = wh.history(result.added)
    per_metric = h.groupby("metric")["step"].apply(sorted).to_dict()
    assert per_metric["overview/reward"] == list(range(12))
    assert per_metric["eval_navigation/success_rate"] == [0, 5, 10]
    assert per_metric["metric/agent_step"] == list(range(12))  # x-axes always come along
    assert "losses/policy_loss" not in per_metric


def test_metric_groups_and_globs_resolve_per_run(wandb_server: WandbTestServer, tmp_path: Path) -> None:
    populate(wandb_server)
    c = collector(wandb_server, pattern="baseline_a", metrics=["@training_progress", "env_agent/*"],
                  metric_groups={"training_progress": ["losses/*"]})
    with Warehouse.open(tmp_path / "wh") as wh:
        fetch(c, wh)
        got = set(wh.history()["metric"])
    assert got == {"losses/policy_loss", "env_agent/heart.get", "env_agent/heart.get.std_dev", "metric/agent_step"}


def test_cleanrl_names_are_understood(wandb_server: WandbTestServer, tmp_path: Path) -> None:
    rows = [{"_step": i, "charts/episodic_return": float(i), "global_step": 128 * i, "losses/value_loss": 0.1}
            for i in range(6)]
    wandb_server.add_run(PROJECT, StoredRun(id="c1", display_name="CartPole-v1__ppo__1__1700000000",
                                            history=rows))
    with Warehouse.open(tmp_path / "wh") as wh:
        fetch(collector(wandb_server, metrics=["@cleanrl"]), wh)
        h = wh.history()
    assert set(h["metric"]) == {"charts/episodic_return", "global_step", "losses/value_loss"}
    assert len(h) == 18


def test_missing_metrics_are_reported_with_suggestions_before_download(
    wandb_server: WandbTestServer, tmp_path: Path
) -> None:
    populate(wandb_server)
    with Warehouse.open(tmp_path / "wh") as wh:
        with pytest.raises(NotFoundError, match=r"overview/rewrd \(did you mean overview/reward"):
            fetch(collector(wandb_server, metrics=["overview/rewrd"]), wh)
        assert wandb_server.count("RunParquetHistory") == 0  # nothing downloaded
        batch, result = fetch_with_checks(
            collector(wandb_server, pattern="sky*", metrics=["overview/reward", "losses/polcy_loss"],
                      config_params=["trainer.optimizer.learning_rate", "trainer.optimizer.lr"]), wh)
    assert [m.requested for m in batch.missing_metrics] == ["losses/polcy_loss"]
    assert "losses/policy_loss" in batch.missing_metrics[0].suggestions
    assert [m.requested for m in batch.missing_params] == ["trainer.optimizer.lr"]
    assert "trainer.optimizer.learning_rate" in batch.missing_params[0].suggestions
    assert len(result.added) == 2


def test_unknown_metric_group_suggests_known_ones(wandb_server: WandbTestServer, tmp_path: Path) -> None:
    populate(wandb_server)
    with Warehouse.open(tmp_path / "wh") as wh, pytest.raises(NotFoundError, match="@losses"):
        fetch(collector(wandb_server, metrics=["@loses"]), wh)


def test_params_and_hostile_names_round_trip(wandb_server: WandbTestServer, tmp_path: Path) -> None:
    runs = populate(wandb_server)
    c = collector(wandb_server, config_params=["trainer.optimizer.learning_rate"])
    summaries = {s.id: s for s in c.select()}
    assert summaries["r1"].params == {"trainer.optimizer.learning_rate": 3e-4}
    assert summaries["r3"].params == {}
    with Warehouse.open(tmp_path / "wh") as wh:
        fetch(c, wh)
        stored = wh.get_run(f"wandb:{wandb_server.entity}/{PROJECT}/r4")
        r1 = wh.get_run(f"wandb:{wandb_server.entity}/{PROJECT}/r1")
    assert stored["name"] == HOSTILE
    assert list(stored["tags"]) == ["odd tag 🙂"]
    assert r1["config"]["trainer"]["optimizer"]["learning_rate"] == runs["r1"].config["trainer"]["optimizer"][
        "learning_rate"
    ]
    assert r1["source"] == "wandb-api"


def test_nonfinite_values_survive(wandb_server: WandbTestServer, tmp_path: Path) -> None:
    rows = [{"_step": 0, "m": math.nan}, {"_step": 1, "m": math.inf}, {"_step": 2, "m": -math.inf},
            {"_step": 3, "m": 1.5}]
    wandb_server.add_run(PROJECT, StoredRun(id="n1", display_name="nan_run", history=rows, exported_rows=2,
                                            state="running"))
    with Warehouse.open(tmp_path / "wh") as wh:
        fetch(collector(wandb_server), wh)
        values = wh.history(metrics=["m"]).sort_values("step")["value"].tolist()
    assert math.isnan(values[0])
    assert values[1:] == [math.inf, -math.inf, 1.5]


def test_unchanged_runs_are_skipped(wandb_server: WandbTestServer, tmp_path: Path) -> None:
    populate(wandb_server)
    with Warehouse.open(tmp_path / "wh") as wh:
        first = fetch(collector(wandb_server), wh)
        assert len(first.added) == 4
        wandb_server.reset_log()
        second = fetch(collector(wandb_server), wh)
        assert sorted(second.unchanged) == sorted(first.added)
        assert second.history_rows == 0
        history_ops = {"RunParquetHistory", "HistoryPage", "RunHistoryKeys", "GET"}
        assert not history_ops & set(wandb_server.operations())
        refreshed = fetch(collector(wandb_server, refresh=True), wh)
    assert len(refreshed.unchanged) == 4  # same content: the warehouse keeps it as is
    assert wandb_server.count("RunParquetHistory") == 4


def test_running_run_fetches_only_new_steps(wandb_server: WandbTestServer, tmp_path: Path) -> None:
    run = wandb_server.add_run(PROJECT, StoredRun(id="live", display_name="live_run", state="running",
                                                  history=metta_history(10), exported_rows=6))
    rid = f"wandb:{wandb_server.entity}/{PROJECT}/live"
    with Warehouse.open(tmp_path / "wh") as wh:
        fetch(collector(wandb_server), wh)
        before = len(wh.history([rid]))
        run.append_history(metta_history(5, offset=10))
        run.state = "finished"
        result = fetch(collector(wandb_server), wh)
        h = wh.history([rid])
    assert result.appended == [rid]
    assert sorted(set(h["step"])) == list(range(15))
    assert len(h) == before + result.history_rows
    new_rows = sum(len([k for k in r if k != "_step"]) for r in metta_history(5, offset=10))
    assert result.history_rows == new_rows  # only the 5 new steps were downloaded


def test_retries_succeed_after_429_and_500(wandb_server: WandbTestServer, tmp_path: Path) -> None:
    populate(wandb_server)
    wandb_server.inject("429", "Runs", times=1)
    wandb_server.inject("500", "RunParquetHistory", times=2)
    wandb_server.inject("502", "GET", times=1)
    with Warehouse.open(tmp_path / "wh") as wh:
        result = fetch(collector(wandb_server, max_retries=3), wh)
    assert result.failures == []
    assert len(result.added) == 4
    assert all(f.fired == f.times for f in wandb_server.faults)


def test_retries_after_timeouts_and_dropped_connections(wandb_server: WandbTestServer, tmp_path: Path) -> None:
    populate(wandb_server)
    wandb_server.inject("slow", "RunParquetHistory", times=1, delay=3.0)  # beyond the 2 s client timeout
    wandb_server.inject("drop", "RunParquetHistory", times=1)
    with Warehouse.open(tmp_path / "wh") as wh:
        result = fetch(collector(wandb_server, pattern="sky*", max_retries=3), wh)
    assert result.failures == []
    assert len(result.added) == 2


def test_a_failing_run_is_listed_and_the_others_stored(wandb_server: WandbTestServer, tmp_path: Path) -> None:
    populate(wandb_server)
    wandb_server.inject("500", "RunParquetHistory", run="r2", times=10_000)
    with Warehouse.open(tmp_path / "wh") as wh:
        result = fetch(collector(wandb_server, max_retries=2), wh)
        stored = set(wh.runs()["run_id"])
    bad = f"wandb:{wandb_server.entity}/{PROJECT}/r2"
    assert [f.run_id for f in result.failures] == [bad]
    assert "500" in result.failures[0].error
    assert bad not in stored and len(stored) == 3
    # 3 collector attempts (first + 2 retries), each of which wandb-core may retry once
    # (x_graphql_retry_max=1; whether it does is timing-dependent): bounded, not endless
    assert 3 <= wandb_server.count("RunParquetHistory", run="r2") <= 6


def test_a_hanging_history_download_is_bounded(wandb_server: WandbTestServer, tmp_path: Path) -> None:
    populate(wandb_server)
    wandb_server.inject("slow", "RunParquetHistory", run="r1", times=10_000, delay=1.5)
    with Warehouse.open(tmp_path / "wh") as wh:
        result = fetch(collector(wandb_server, pattern="sky*", history_timeout=1), wh)
    assert [f.name for f in result.failures] == ["sky_comprehensive_1"]
    assert "did not finish within 1 s" in result.failures[0].error
    assert len(result.added) == 1


def test_listing_gives_up_after_max_retries(wandb_server: WandbTestServer) -> None:
    populate(wandb_server)
    wandb_server.inject("500", "Runs", times=10_000)
    with pytest.raises(FetchError, match="after 2 retries") as info:
        collector(wandb_server, max_retries=2).select()
    assert "500" in str(info.value)
    # 3 collector attempts, each of which wandb-core may retry once (its retry is timing-dependent):
    # the listing was tried at least 3 times and then given up, not retried without end
    assert 3 <= wandb_server.count("Runs") <= 6


def test_invalid_key_is_one_clear_error_and_never_leaks(
    wandb_server: WandbTestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    populate(wandb_server)
    bad_key = "sekret" + "Z" * 40
    monkeypatch.setenv("WANDB_API_KEY", bad_key)
    caplog.set_level("DEBUG")
    with Warehouse.open(tmp_path / "wh") as wh, pytest.raises(WandbAuthError) as info:
        fetch(collector(wandb_server), wh)
    assert "rejected the API key" in str(info.value)
    assert info.value.hint and "WANDB_API_KEY" in info.value.hint
    assert bad_key in wandb_server.seen_keys  # it was sent to the server, and only there
    assert bad_key not in str(info.value) and bad_key not in caplog.text
    for f in (tmp_path / "wh").rglob("*"):
        if f.is_file():
            assert bad_key.encode() not in f.read_bytes(), f


def test_missing_key_says_how_to_log_in(wandb_server: WandbTestServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WANDB_API_KEY")
    with pytest.raises(WandbAuthError, match="no W&B API key found") as info:
        collector(wandb_server).select()
    assert "wandb login" in (info.value.hint or "")
    assert wandb_server.count() == 0


def test_the_collector_needs_only_a_known_lookup_not_a_warehouse(wandb_server: WandbTestServer,
                                                                 tmp_path: Path) -> None:
    populate(wandb_server)
    with Warehouse.open(tmp_path / "wh") as wh:
        fetch(collector(wandb_server), wh)
        states = {rid: wh.sync_state(rid) for rid in wh.runs()["run_id"]}
    wandb_server.reset_log()
    items = list(collector(wandb_server).records(known=states.get))  # the warehouse is closed
    assert {type(i).__name__ for i in items} == {"RunUnchanged"}
    assert sorted(i.run_id for i in items) == sorted(states)
    assert wandb_server.count("RunParquetHistory") == 0
    fresh = list(collector(wandb_server, pattern="sky*").records())  # nothing known: everything downloaded
    assert [type(i).__name__ for i in fresh] == ["RunRecord", "RunRecord"]
    assert all(i.history.num_rows > 0 for i in fresh)
