"""Protein as an Optuna sampler: Optuna's own sampler suites, then what Protein adds (failures,
cost, constant liar, reproducibility, two real processes on one SQLite study), and runlab sweeps
exported into Optuna studies."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")

from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution  # noqa: E402
from optuna.testing.pytest_samplers import (  # noqa: E402
    BasicSamplerTestCase,
    RelativeSamplerTestCase,
    SingleOnlySamplerTestCase,
)
from optuna.trial import TrialState  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from runlab.sweep import init_sweep, open_store  # noqa: E402
from runlab.sweep.optuna import (  # noqa: E402
    COST_ATTR,
    PARAMS_ATTR,
    ProteinSampler,
    export_to_optuna,
    optuna_distributions,
    trial_cost,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)
#: Small candidate budgets keep each GP-phase suggestion in the tens of milliseconds.
FAST = {"random_suggestions": 128, "suggestions_per_pareto": 32}


def fast_sampler(seed: int = 0, n_startup_trials: int = 3, protein: dict | None = None,
                 **kw: object) -> ProteinSampler:
    return ProteinSampler(seed=seed, n_startup_trials=n_startup_trials, protein={**FAST, **(protein or {})},
                          **kw)  # type: ignore[arg-type]


class TestOptunaBasicSuite(BasicSamplerTestCase):
    @pytest.fixture
    def sampler(self) -> Callable[[], ProteinSampler]:
        return fast_sampler


class TestOptunaRelativeSuite(RelativeSamplerTestCase):
    @pytest.fixture
    def sampler(self) -> Callable[[], ProteinSampler]:
        return fast_sampler


class TestOptunaSingleObjectiveSuite(SingleOnlySamplerTestCase):
    @pytest.fixture
    def sampler(self) -> Callable[[], ProteinSampler]:
        return fast_sampler


# -- what Protein adds -----------------------------------------------------------------------
def bowl(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", 0.0, 1.0)
    y = trial.suggest_float("y", 0.0, 1.0)
    return (x - 0.8) ** 2 + (y - 0.15) ** 2


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_finds_the_optimum_in_either_direction_and_beats_random(direction: str) -> None:
    sign = 1.0 if direction == "minimize" else -1.0
    best = {}
    for name, sampler in (("protein", fast_sampler(1, 5)), ("random", optuna.samplers.RandomSampler(seed=1))):
        study = optuna.create_study(direction=direction, sampler=sampler)
        study.optimize(lambda t: sign * bowl(t), n_trials=25)
        best[name] = sign * study.best_value
    assert best["protein"] < 0.01 and best["protein"] < best["random"]


def test_mixed_space_suggestions_are_plain_and_in_their_distributions() -> None:
    space = {"lr": FloatDistribution(1e-5, 1e-1, log=True), "clip": FloatDistribution(-1.0, 1.0, step=0.25),
             "n": IntDistribution(1, 64, log=True), "k": IntDistribution(0, 12, step=3),
             "act": CategoricalDistribution(("relu", None, 2.5, True))}
    study = optuna.create_study(sampler=fast_sampler())
    for _ in range(12):
        trial = study.ask(space)
        p = trial.params
        assert type(p["lr"]) is float and type(p["clip"]) is float and type(p["n"]) is int and type(p["k"]) is int
        assert p["act"] in space["act"].choices and p["k"] % 3 == 0 and (p["clip"] * 4).is_integer()
        assert all(space[k]._contains(space[k].to_internal_repr(v)) for k, v in p.items())
        study.tell(trial, math.log10(p["lr"]) ** 2 + p["clip"] + p["n"] / 64 + p["k"] + (p["act"] is None))
    assert len(study.trials) == 12


def test_failed_and_pruned_trials_are_failures_and_steer_away() -> None:
    """x > 0.6 fails and y > 0.8 is pruned (52 % of the box): after the random phase, Protein's
    suggestions land there rarely, and no failure ever becomes the best trial."""

    def objective(trial: optuna.Trial) -> float:
        x, y = trial.suggest_float("x", 0.0, 1.0), trial.suggest_float("y", 0.0, 1.0)
        if x > 0.6:
            raise ValueError("diverged")
        if y > 0.8:
            raise optuna.TrialPruned()
        return (x - 0.4) ** 2 + (y - 0.5) ** 2

    study = optuna.create_study(sampler=fast_sampler(2, 8))
    study.optimize(objective, n_trials=26, catch=(ValueError,))
    late = study.trials[10:]
    bad = [t for t in late if t.state in (TrialState.FAIL, TrialState.PRUNED)]
    assert len(bad) <= 3, [(t.number, t.params) for t in bad]
    assert study.best_trial.state == TrialState.COMPLETE and study.best_value < 0.01


def test_cost_comes_from_the_user_attribute_else_the_duration() -> None:
    study = optuna.create_study()
    study.add_trial(optuna.trial.create_trial(params={}, distributions={}, value=1.0, user_attrs={"cost": 42.0}))
    study.add_trial(optuna.trial.create_trial(params={}, distributions={}, value=1.0, user_attrs={"cost": "dear"}))
    trial = study.ask()
    study.tell(trial, 1.0)
    given, bad, timed = study.trials
    assert trial_cost(given) == 42.0
    expected = (timed.datetime_complete - timed.datetime_start).total_seconds()
    assert trial_cost(timed) == pytest.approx(expected) or (expected == 0 and trial_cost(timed) is None)
    assert trial_cost(bad) is None  # create_trial stamps start == complete: no duration either


def test_the_cost_cap_is_read_from_user_attributes() -> None:
    """Score rises with x and so does the cost (in the ``cost`` user attribute): under a cost cap
    Protein's suggestions stay affordable; without the attribute (durations are microseconds,
    all under the cap) the same sampler goes for the expensive, better region."""

    def run(with_cost: bool) -> list[float]:
        def objective(trial: optuna.Trial) -> float:
            x, y = trial.suggest_float("x", 0.0, 1.0), trial.suggest_float("y", 0.0, 1.0)
            if with_cost:
                trial.set_user_attr("cost", 1.0 + 100.0 * x**3)
            return x - 0.1 * (y - 0.5) ** 2

        sampler = fast_sampler(0, 6, protein={"max_suggestion_cost": 20.0})
        study = optuna.create_study(direction="maximize", sampler=sampler)
        study.optimize(objective, n_trials=20)
        return [1.0 + 100.0 * t.params["x"] ** 3 for t in study.trials[8:]]

    capped, free = run(True), run(False)
    assert np.median(capped) <= 20.0 < np.median(free)


def test_after_trial_records_the_cost_for_every_worker() -> None:
    study = optuna.create_study(sampler=fast_sampler())

    def objective(trial: optuna.Trial) -> float:
        if trial.number == 0:
            trial.set_user_attr("cost", 7.5)
        return trial.suggest_float("x", 0, 1)

    study.optimize(objective, n_trials=2)
    first, second = study.trials
    assert first.system_attrs[COST_ATTR] == 7.5
    assert 0 < second.system_attrs[COST_ATTR] < 60.0


def test_running_trials_are_pending_so_parallel_asks_differ() -> None:
    """A space of 8 points: 4 trials asked at once (none told) get 4 different points, and each
    trial's sampled parameters are in its system attributes before the objective asks for them."""
    space = {"x": IntDistribution(0, 3), "y": CategoricalDistribution(("a", "b"))}
    study = optuna.create_study(sampler=fast_sampler(0, 2))
    for x, y in ((0, "a"), (3, "b"), (1, "a"), (2, "b")):
        study.enqueue_trial({"x": x, "y": y})
        trial = study.ask(space)
        study.tell(trial, x + (y == "b"))
    asked = []
    for _ in range(4):
        trial = study.ask()
        shared = json.loads(study.trials[-1].system_attrs.get(PARAMS_ATTR, "null") or "null")
        trial.suggest_int("x", 0, 3)  # y is not asked for yet: other workers see it in the attribute
        stored = study.trials[-1]
        assert shared is None or shared["x"] == stored.params["x"]
        asked.append((stored.params["x"], json.loads(stored.system_attrs[PARAMS_ATTR])["y"]))
    assert len(set(asked)) == 4, asked


REPRO = textwrap.dedent("""
    import json, sys
    import optuna
    from runlab.sweep.optuna import ProteinSampler
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    def objective(t):
        x = t.suggest_float("x", -2, 2); n = t.suggest_int("n", 1, 32, log=True)
        c = t.suggest_categorical("c", ["a", "b"])
        t.set_user_attr("cost", 1 + abs(x))
        return (x - 0.5) ** 2 + (n - 8) ** 2 / 50 + (c == "b")
    study = optuna.create_study(sampler=ProteinSampler(seed=int(sys.argv[1]), n_startup_trials=4,
                                                       protein={"random_suggestions": 128,
                                                                "suggestions_per_pareto": 32}))
    study.optimize(objective, n_trials=9)
    print(json.dumps([t.params for t in study.trials]))
""")


def test_same_seed_same_suggestions_in_another_process() -> None:
    procs = [subprocess.Popen([sys.executable, "-c", REPRO, "11"], stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    runs = [p.communicate(timeout=120)[0] for p in procs]
    assert runs[0] == runs[1] and all(p.returncode == 0 for p in procs)
    namespace: dict[str, object] = {}
    exec(compile(REPRO.split("study = optuna")[0], "<repro>", "exec"), namespace)
    here = {}
    for seed in (11, 12):
        study = optuna.create_study(sampler=fast_sampler(seed, 4))
        study.optimize(namespace["objective"], n_trials=9)  # type: ignore[arg-type]
        here[seed] = [t.params for t in study.trials]
    assert json.loads(runs[0]) == here[11] != here[12]


WORKER = textwrap.dedent("""
    import os, sys, time
    import optuna
    from runlab.sweep.optuna import ProteinSampler
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url, go = sys.argv[1], sys.argv[2]
    storage = optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}})
    # Both workers use the same seed on purpose: only the shared storage keeps them apart.
    sampler = ProteinSampler(seed=7, n_startup_trials=4, protein={"random_suggestions": 128,
                                                                   "suggestions_per_pareto": 32})
    study = optuna.load_study(study_name="shared", storage=storage, sampler=sampler)
    while not os.path.exists(go):
        time.sleep(0.01)
    def objective(trial):
        x, y = trial.suggest_float("x", 0, 1), trial.suggest_float("y", 0, 1)
        trial.set_user_attr("worker", os.getpid())
        time.sleep(0.05)
        return (x - 0.3) ** 2 + (y - 0.6) ** 2
    study.optimize(objective, n_trials=int(sys.argv[3]))
""")


@pytest.mark.slow
def test_two_processes_share_one_sqlite_study_without_duplicates(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    optuna.create_study(study_name="shared", storage=url)
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, url, str(go), "10"]) for _ in range(2)]
    go.write_text("")  # both start at once, so their trials interleave
    for proc in procs:
        assert proc.wait(timeout=240) == 0
    trials = optuna.load_study(study_name="shared", storage=url).trials
    assert len(trials) == 20 and all(t.state == TrialState.COMPLETE for t in trials)
    points = [(t.params["x"], t.params["y"]) for t in trials]
    assert len(set(points)) == 20, sorted(points)
    assert {t.user_attrs["worker"] for t in trials} == {p.pid for p in procs}


def test_multi_objective_studies_are_refused_with_a_reason() -> None:
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=fast_sampler())
    with pytest.raises(ValueError, match="one objective"):
        study.optimize(lambda t: (t.suggest_float("x", 0, 1), 1.0), n_trials=1, catch=())


# -- runlab sweeps in Optuna ------------------------------------------------------------------
CONFIG = {
    "metric": "reward", "goal": "maximize", "method": "random",
    "parameters": {"trainer": {"lr": {"distribution": "log_normal", "min": 1e-5, "max": 1e-2},
                               "batch": {"distribution": "uniform_pow2", "min": 16, "max": 256},
                               "epochs": {"distribution": "int_uniform", "min": 1, "max": 8}},
                   "act": {"values": ["relu", "tanh", "it's <b>"]},
                   "clip": {"distribution": "logit_normal", "min": 0.05, "max": 0.5}},
}


def _suggestion(i: int) -> dict:
    return {"trainer": {"lr": 1e-4 * (i + 1), "batch": 2 ** (4 + i % 4), "epochs": 1 + i},
            "act": CONFIG["parameters"]["act"]["values"][i % 3], "clip": 0.1 + 0.05 * i}


def _filled_sweep(home: Path) -> None:
    init_sweep(home, "sw", CONFIG)
    with open_store(home, "sw") as st:
        for i in range(3):
            t = st.allocate_trial("sw", _suggestion(i), worker="w")
            st.finish_trial(t.run_id, score=float(i) - 0.5, cost=10.0 + i, results={})
        t = st.allocate_trial("sw", _suggestion(3), worker="w")
        st.fail_trial(t.run_id, error="trial sw.r.3: exited with code 1", cost=2.0)
        st.allocate_trial("sw", _suggestion(4), worker="w")  # still running
        st.record_trial("sw", {**_suggestion(5), "clip": 0.9}, score=1.0, cost=1.0)  # outside the bounds


def test_export_writes_every_finished_trial_and_reads_back(tmp_path: Path) -> None:
    _filled_sweep(tmp_path)
    url = f"sqlite:///{tmp_path / 'dash.db'}"
    with open_store(tmp_path, "sw") as st:
        report = export_to_optuna(st, "sw", url)
        stored = {t.run_id: t for t in st.trials("sw")}
    assert (report.added, report.unfinished) == (["sw.r.0", "sw.r.1", "sw.r.2", "sw.r.3"], ["sw.r.4"])
    assert list(report.rejected) == ["sw.r.5"]
    study = optuna.load_study(study_name="sw", storage=url)
    assert study.direction == optuna.study.StudyDirection.MAXIMIZE
    assert study.user_attrs == {"runlab_sweep": "sw", "runlab_metric": "reward"}
    by_id = {t.user_attrs["runlab_run_id"]: t for t in study.trials}
    for run_id in report.added:
        back, mine = by_id[run_id], stored[run_id]
        flat = {"trainer.lr": mine.suggestion["trainer"]["lr"], "trainer.batch": mine.suggestion["trainer"]["batch"],
                "trainer.epochs": mine.suggestion["trainer"]["epochs"], "act": mine.suggestion["act"],
                "clip": mine.suggestion["clip"]}
        assert back.params == flat
        assert back.user_attrs["cost"] == mine.cost
        assert back.value == mine.score
        assert back.state == (TrialState.COMPLETE if mine.state == "success" else TrialState.FAIL)
        assert back.datetime_start is not None and back.datetime_complete is not None
    assert "exited with code 1" in by_id["sw.r.3"].user_attrs["runlab_error"]
    assert study.best_trial.user_attrs["runlab_run_id"] == "sw.r.2"
    # again: nothing new; once the running trial finishes, only it is added
    with open_store(tmp_path, "sw") as st:
        assert export_to_optuna(st, "sw", url).added == []
        st.finish_trial("sw.r.4", score=9.0, cost=1.0)
        again = export_to_optuna(st, "sw", url)
    assert again.added == ["sw.r.4"] and len(again.present) == 4
    assert len(optuna.load_study(study_name="sw", storage=url).trials) == 5


def test_an_exported_study_can_continue_with_protein(tmp_path: Path) -> None:
    _filled_sweep(tmp_path)
    url = f"sqlite:///{tmp_path / 'dash.db'}"
    with open_store(tmp_path, "sw") as st:
        export_to_optuna(st, "sw", url, study_name="continued")
        dists = optuna_distributions(__import__("runlab.sweep", fromlist=["x"]).load_sweep_config(CONFIG).parameters)
    study = optuna.load_study(study_name="continued", storage=url, sampler=fast_sampler(0, 2))
    for _ in range(3):
        trial = study.ask(dists)  # dotted parameter names, as the sweep names them
        study.tell(trial, -abs(math.log10(trial.params["trainer.lr"]) + 3))
    assert len(study.trials) == 7 and all(isinstance(t.params["trainer.batch"], int) for t in study.trials)


def test_cli_export_optuna(tmp_path: Path) -> None:
    from runlab.cli.app import app

    _filled_sweep(tmp_path)
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    result = CliRunner().invoke(app, ["--home", str(tmp_path), "sweep", "export-optuna", "sw", "--storage", url])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "exported 4 trial(s) of sw to Optuna study 'sw'" in out and "1 unfinished" in out and "sw.r.5" in out
    assert "optuna-dashboard" in out
    assert len(optuna.load_study(study_name="sw", storage=url).trials) == 4
    init_sweep(tmp_path, "low", {**CONFIG, "goal": "minimize"})
    clash = CliRunner().invoke(app, ["--home", str(tmp_path), "sweep", "export-optuna", "low", "--storage", url,
                                     "--study-name", "sw"])
    assert clash.exit_code == 1 and "is to minimize" in clash.output and "Traceback" not in clash.output


def test_importing_runlab_sweep_does_not_import_optuna() -> None:
    code = "import sys, runlab.sweep, runlab.testing; print('optuna' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONWARNINGS": "ignore"}).stdout
    assert out.strip() == "False"
