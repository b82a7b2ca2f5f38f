"""The shared suite every source runs: what a :class:`runlab.sources.RunSource` must do.

A source turns runs written in its own format (W&B offline folders, the W&B API, TensorBoard event
files, SB3 logs...) into :class:`~runlab.sources.RunRecord` items. :class:`SourceSuite` checks it
against the runs it was asked to write, so the reference is the data itself, not the source's
own output: the suite's runs (:data:`SUITE_RUNS`, with a hostile name, NaN/±inf, sparse and dense
metrics, and optionally :data:`BROKEN_RUN`, one that cannot be read) must come back with their
names, tags, config values and every logged point; a second pass given what the warehouse
``known``\\ s stores nothing new; a broken run is an item, not the end of the batch; a batch can be
stopped early; and the source's module imports nothing above the sources layer.

Subclass it in a test module and provide the ``make_source`` fixture: a factory that writes the
given runs in the source's format (real writers: the wandb client, a real server, TensorBoard's
``SummaryWriter``) and returns the source that reads them::

    from runlab.testing.sources import SourceSuite, SuiteRun

    class TestMySource(SourceSuite):
        extra_metrics = frozenset({"_runtime"})   # bookkeeping the format adds by itself

        @pytest.fixture
        def make_source(self, tmp_path):
            def make(runs: Sequence[SuiteRun]) -> RunSource:
                write_my_format(runs, tmp_path)   # a run with ``broken=True`` written unreadable
                return MySource(tmp_path)
            return make
"""

from __future__ import annotations

import ast
import importlib
import inspect
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from runlab.sources import HISTORY_SCHEMA, Known, RecordBatch, RunFailure, RunRecord, RunSource, RunUnchanged
from runlab.warehouse import Warehouse

Points = tuple[tuple[int, float], ...]


@dataclass(frozen=True, eq=False)
class SuiteRun:
    """One run the suite asks a source's writer to produce, and expects back unchanged."""

    key: str
    """Letters and digits, unique in the suite: a writer may use it as the run's id."""
    name: str
    """Display name (may hold quotes, newlines, markup, ``../`` and emoji: it is data)."""
    config: Mapping[str, Any] = field(default_factory=dict)
    """Nested config (Hydra style)."""
    tags: tuple[str, ...] = ()
    history: Mapping[str, Points] = field(default_factory=dict)
    """``metric -> ((step, value), ...)``, steps ascending; NaN and ±inf are values like any other."""
    broken: bool = False
    """Write this run so that it cannot be read (a damaged file, a server that keeps failing)."""

    def rows(self) -> list[dict[str, Any]]:
        """The history as W&B-style rows ``{"_step": s, metric: value, ...}``, ascending by step."""
        by_step: dict[int, dict[str, Any]] = {}
        for metric, points in self.history.items():
            for step, value in points:
                by_step.setdefault(step, {"_step": step})[metric] = value
        return [by_step[s] for s in sorted(by_step)]


def _points(steps: range, value: Callable[[int], float]) -> Points:
    return tuple((s, float(value(s))) for s in steps)


HOSTILE_NAME = 'it\'s "q"\n<script>alert(1)</script> ../../etc =cmd() 🚀'

#: The runs every source must read back: plain, hostile (names, tags, non-finite values), sparse.
SUITE_RUNS: tuple[SuiteRun, ...] = (
    SuiteRun(
        key="alpha1", name="alpha_1", tags=("suite", "ppo"),
        config={"trainer": {"optimizer": {"learning_rate": 3e-4}, "algorithm": "ppo"}, "seed": 1},
        history={
            "overview/reward": _points(range(20), lambda s: 0.5 * s),
            "losses/policy_loss": _points(range(20), lambda s: 1.0 / (s + 1)),
            "metric/agent_step": _points(range(20), lambda s: 128.0 * s),
            "eval_nav/success": _points(range(0, 20, 5), lambda s: s / 20),
        },
    ),
    SuiteRun(
        key="hostile2", name=HOSTILE_NAME, tags=("<b>x</b>", "=cmd"),
        config={"seed": 2, "env": {"name": "../../etc/passwd", "quote": "a'b\"c"}},
        history={"overview/reward": ((0, 1.0), (1, math.nan), (2, math.inf), (3, -math.inf), (4, 2.5))},
    ),
    SuiteRun(
        key="sparse3", name="sparse_3", config={"seed": 3},
        history={
            "overview/reward": _points(range(0, 300, 7), lambda s: math.sin(s / 30)),
            "metric/agent_step": _points(range(0, 300, 7), lambda s: 64.0 * s),
        },
    ),
)

#: A run its writer makes unreadable: the batch must say so as a :class:`RunFailure` and go on.
BROKEN_RUN = SuiteRun(key="broken4", name="broken_4", config={"seed": 4},
                      history={"overview/reward": ((0, 1.0), (1, 2.0))}, broken=True)

#: What a source module may import from runlab: the layers below the warehouse.
ALLOWED_RUNLAB = frozenset(("runlab.errors", "runlab.configpath", "runlab.sources"))


def _leaves(config: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    for key, value in config.items():
        if isinstance(value, Mapping) and value:
            yield from _leaves(value, (*prefix, key))
        else:
            yield (*prefix, key), value


def _at(config: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = config
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            raise KeyError(".".join(path))
        node = node[part]
    return node


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def _series(record: RunRecord) -> dict[str, list[tuple[int, float]]]:
    out: dict[str, list[tuple[int, float]]] = {}
    h = record.history
    for step, metric, value in zip(h["step"].to_pylist(), h["metric"].to_pylist(), h["value"].to_pylist(),
                                   strict=True):
        out.setdefault(metric, []).append((int(step), math.nan if value is None else float(value)))
    return out


def _imports(module_name: str) -> set[str]:
    """Every ``runlab...`` module the source of ``module_name`` imports (at any depth of the file)."""
    source = inspect.getsource(importlib.import_module(module_name))
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {m for m in found if m == "runlab" or m.startswith("runlab.")}


class SourceSuite:
    """Behaviour every source has (see the module doc); subclasses provide ``make_source``."""

    #: Metrics a format adds by itself (wall-clock bookkeeping): allowed besides the logged ones.
    extra_metrics: frozenset[str] = frozenset(("_runtime", "_timestamp"))
    #: The state a finished suite run is read as (``None``: the format records no state).
    finished_state: str | None = "finished"

    @pytest.fixture
    def make_source(self) -> Callable[[Sequence[SuiteRun]], RunSource]:
        raise NotImplementedError("a SourceSuite subclass provides the make_source fixture")

    # -- helpers ------------------------------------------------------------------------------
    def read(self, source: RunSource, known: Known | None = None) -> tuple[RecordBatch, list[Any]]:
        batch = source.records(known=known)
        return batch, list(batch)

    def records_by_name(self, items: Sequence[Any]) -> dict[str, RunRecord]:
        records = [i for i in items if isinstance(i, RunRecord)]
        by_name = {r.name: r for r in records}
        assert len(by_name) == len(records), f"two records share a name: {[r.name for r in records]}"
        return by_name

    # -- the tests ----------------------------------------------------------------------------
    def test_batch_is_sized_before_reading_and_yields_one_item_per_run(
        self, make_source: Callable[[Sequence[SuiteRun]], RunSource]
    ) -> None:
        source = make_source(SUITE_RUNS)
        assert isinstance(source, RunSource)
        batch = source.records(known=None)
        assert isinstance(batch, RecordBatch)
        total = len(batch)
        items = list(batch)
        assert total == len(items) == len(SUITE_RUNS)
        assert all(isinstance(i, RunRecord) for i in items), [type(i).__name__ for i in items]
        assert set(self.records_by_name(items)) == {r.name for r in SUITE_RUNS}

    def test_records_hold_what_the_runs_logged(self, make_source: Callable[[Sequence[SuiteRun]], RunSource]) -> None:
        _, items = self.read(make_source(SUITE_RUNS))
        got = self.records_by_name(items)
        for run in SUITE_RUNS:
            rec = got[run.name]
            assert rec.source and rec.run_id.partition(":")[2], f"run id must be source-qualified: {rec.run_id!r}"
            assert sorted(rec.tags) == sorted(run.tags)
            for path, value in _leaves(run.config):
                assert _at(rec.config, path) == value, f"{run.name!r}: config {'.'.join(path)}"
            if self.finished_state is not None:
                assert rec.state == self.finished_state
            assert rec.history.schema.equals(HISTORY_SCHEMA)
            steps = rec.history["step"].to_pylist()
            assert steps == sorted(steps), "history must be ordered by step"
            series = _series(rec)
            assert set(series) - set(run.history) <= self.extra_metrics, sorted(set(series) - set(run.history))
            for metric, points in run.history.items():
                assert len(series.get(metric, [])) == len(points), f"{run.name!r}: {metric}"
                for (s1, v1), (s2, v2) in zip(series[metric], points, strict=True):
                    assert s1 == s2 and _same(v1, v2), f"{run.name!r}: {metric} at step {s2}: {v1} != {v2}"

    def test_run_ids_are_unique_and_stable_across_passes(
        self, make_source: Callable[[Sequence[SuiteRun]], RunSource]
    ) -> None:
        source = make_source(SUITE_RUNS)
        first = {n: r.run_id for n, r in self.records_by_name(self.read(source)[1]).items()}
        second = {n: r.run_id for n, r in self.records_by_name(self.read(source)[1]).items()}
        assert first == second
        assert len(set(first.values())) == len(SUITE_RUNS)

    def test_stored_runs_read_back_unchanged(self, make_source: Callable[[Sequence[SuiteRun]], RunSource],
                                             tmp_path: Path) -> None:
        source = make_source(SUITE_RUNS)
        with Warehouse.open(tmp_path / "suite-wh") as wh:
            report = wh.ingest(source.records(known=wh.sync_state))
            assert report.ok, report.failures
            assert len(report.added) == len(SUITE_RUNS)
            runs = wh.runs(report.added).set_index("name")
            expected = self.records_by_name(self.read(source)[1])
            for name, rec in expected.items():
                stored = wh.history([rec.run_id]).sort_values(["step", "metric"])
                want = sorted(zip(*(_series_rows(rec)), strict=True))
                got = list(zip(stored["step"], stored["metric"], stored["value"], strict=True))
                assert len(got) == len(want)
                for (s1, m1, v1), (s2, m2, v2) in zip(got, want, strict=True):
                    assert (s1, m1) == (s2, m2) and _same(float(v1), float(v2))
                assert list(runs.loc[name, "tags"]) == list(rec.tags)

    def test_a_second_pass_given_known_stores_nothing_new(
        self, make_source: Callable[[Sequence[SuiteRun]], RunSource], tmp_path: Path
    ) -> None:
        source = make_source(SUITE_RUNS)
        with Warehouse.open(tmp_path / "suite-wh") as wh:
            first = wh.ingest(source.records(known=wh.sync_state))
            rows = len(wh.history())
            again = wh.ingest(source.records(known=wh.sync_state))
            assert again.ok, again.failures
            assert (again.added, again.updated, again.appended) == ([], [], [])
            assert sorted(again.unchanged) == sorted(first.added)
            assert len(wh.history()) == rows

    def test_a_broken_run_is_an_item_not_the_end_of_the_batch(
        self, make_source: Callable[[Sequence[SuiteRun]], RunSource], tmp_path: Path
    ) -> None:
        source = make_source((*SUITE_RUNS, BROKEN_RUN))
        batch, items = self.read(source)
        assert len(batch) == len(items) == len(SUITE_RUNS) + 1
        failures = [i for i in items if isinstance(i, RunFailure)]
        assert len(failures) == 1 and failures[0].error
        assert BROKEN_RUN.key in f"{failures[0].run_id} {failures[0].name} {failures[0].origin}"
        assert set(self.records_by_name(items)) == {r.name for r in SUITE_RUNS}
        with Warehouse.open(tmp_path / "suite-wh") as wh:
            report = wh.ingest(source.records(known=wh.sync_state))
            assert len(report.failures) == 1 and len(report.added) == len(SUITE_RUNS)

    def test_a_batch_stopped_early_leaves_the_source_usable(
        self, make_source: Callable[[Sequence[SuiteRun]], RunSource]
    ) -> None:
        source = make_source(SUITE_RUNS)
        batch = source.records(known=None)
        first = next(iter(batch))
        assert isinstance(first, RunRecord | RunUnchanged | RunFailure)
        batch.close()
        assert len(self.read(source)[1]) == len(SUITE_RUNS)

    def test_the_source_imports_nothing_above_the_sources_layer(
        self, make_source: Callable[[Sequence[SuiteRun]], RunSource]
    ) -> None:
        module = type(make_source(SUITE_RUNS)).__module__
        above = {m for m in _imports(module) if not any(m == a or m.startswith(a + ".") for a in ALLOWED_RUNLAB)}
        assert not above, f"{module} imports {sorted(above)}: sources sit below the warehouse"


def _series_rows(record: RunRecord) -> tuple[list[int], list[str], list[float]]:
    h = record.history
    values = [math.nan if v is None else float(v) for v in h["value"].to_pylist()]
    return h["step"].to_pylist(), h["metric"].to_pylist(), values
