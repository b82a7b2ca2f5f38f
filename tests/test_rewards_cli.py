"""`runlab rewards ...` end to end on the sample curriculum runs and on CSV input with hostile names;
the HTML report rendered in headless Chromium."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from browser import render_dom
from runlab.cli.app import app
from test_rewards_io import HOSTILE, ingest_curriculum

SCRIPT = "<script>document.title='pwned'</script>"


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return ingest_curriculum(tmp_path_factory.mktemp("rewards_cli_wh"))


@pytest.fixture(scope="module")
def hostile_csv(tmp_path_factory) -> Path:
    rng = np.random.default_rng(0)
    names = [SCRIPT, *HOSTILE[:4]]
    rows = [{"task": t, "seed": s, "sample_index": i, "reward": i * (k + 1) * 0.01 + rng.normal(0, 0.1 + 0.1 * k),
             "episode": i * 10 + k}
            for k, t in enumerate(names) for s in (0, 1) for i in range(60)]
    path = tmp_path_factory.mktemp("rewards_csv") / "streams.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _run(*args: str) -> str:
    out = CliRunner().invoke(app, list(args))
    assert out.exit_code == 0, out.output
    return out.output


@pytest.mark.slow
def test_analyze_pull_replay_sweep_on_the_sample_runs(home, tmp_path):
    g = ["--group-by", "trainer.curriculum.algorithm"]
    text = _run("--home", str(home), "rewards", "analyze", "--out", str(tmp_path / "a"), *g)
    assert "variance ratio" in text and "report.html" in text
    for name in ("report.md", "report.html", "per_stream.csv", "per_stream.parquet", "per_task.csv",
                 "variance.csv", "figures/reward_streams.png", "figures/slope_noise_bands.png",
                 "figures/noise_per_task.png", "figures/variance.png"):
        assert (tmp_path / "a" / name).is_file(), name
    per = pd.read_parquet(tmp_path / "a" / "per_stream.parquet")
    assert len(per) == 36 and set(per["group"]) == {"uniform", "learning_progress"}
    _run("--home", str(home), "rewards", "pull", "--out", str(tmp_path / "p"), *g)
    meta = json.loads((tmp_path / "p" / "metadata.json").read_text())
    assert len(meta["streams"]) == 36 and all(e["path"].startswith("streams/") for e in meta["streams"])
    text = _run("rewards", "replay", "--input", str(tmp_path / "p"), "--seed", "0", "--group", "learning_progress",
                "-p", "syllabus", "-p", "metta", "--set", "input=scaled", "--set", "metta.z_score_amplification=5",
                "--out", str(tmp_path / "r"))
    assert "z_score_amplification=5.0" in text
    long = pd.read_parquet(tmp_path / "r" / "replay.parquet")
    assert set(long["replay"]) == {"LPScorer(preset='syllabus', input='scaled')",
                                   "LPScorer(preset='metta', z_score_amplification=5.0, input='scaled')"}
    assert (tmp_path / "r" / "figures" / "replay.png").is_file()
    _run("rewards", "sweep", "--input", str(tmp_path / "p"), "--seed", "1", "--group", "uniform", "--set",
         "input=scaled", "--trials", "4", "--out", str(tmp_path / "s"))
    trials = pd.read_csv(tmp_path / "s" / "trials.csv")
    best = json.loads((tmp_path / "s" / "best.json").read_text())
    assert len(trials) == 4 and best["objective"] == pytest.approx(trials["objective"].max())


def test_cli_errors_are_one_clear_message(home, tmp_path):
    out = CliRunner().invoke(app, ["--home", str(home), "rewards", "analyze", "--out", str(tmp_path)])
    assert out.exit_code == 1 and "group-by" in out.output.replace("group_by", "group-by")
    out = CliRunner().invoke(app, ["rewards", "replay", "--input", str(tmp_path / "none.csv"), "--out", str(tmp_path)])
    assert out.exit_code == 1 and "none.csv" in out.output
    bad = tmp_path / "ep.csv"
    pd.DataFrame({"episode": [0, 1], "task": ["a", "b"], "reward": [0.0, 1.0]}).to_csv(bad, index=False)
    out = CliRunner().invoke(app, ["rewards", "replay", "--input", str(bad), "--set", "bogus=1", "--out", str(tmp_path)])
    assert out.exit_code == 1 and "bogus" in out.output


def _chromium(url: str, user_dir: Path) -> str:
    return render_dom(url, user_dir)


def test_csv_input_report_escapes_hostile_names(hostile_csv, tmp_path):
    out = tmp_path / "h"
    _run("rewards", "analyze", "--input", str(hostile_csv), "--out", str(out))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h"]  # nothing written outside --out
    page = (out / "report.html").read_text()
    assert SCRIPT not in page and "&lt;script&gt;" in page
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert page.count('src="data:image/png;base64,') == 4
    md = (out / "report.md").read_text()
    assert SCRIPT not in md and "&lt;script&gt;" in md
    per = pd.read_csv(out / "per_stream.csv")
    assert SCRIPT in set(per["task"])  # names stay intact in the data


@pytest.mark.browser
@pytest.mark.skipif(not (shutil.which("chromium") or Path("/usr/bin/chromium").exists()),
                    reason="chromium not installed (make browser)")
def test_report_renders_in_chromium_and_stays_inert(hostile_csv, tmp_path):
    out = tmp_path / "h"
    _run("rewards", "analyze", "--input", str(hostile_csv), "--out", str(out))
    dom = _chromium((out / "report.html").as_uri(), tmp_path / "profile")
    assert "<title>LP reward streams</title>" in dom and "pwned" not in dom.split("<body>")[0]
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in dom
    assert dom.count("<img") == 4
    for heading in ("Recommendations", "Per task (mean over seeds)", "Seed vs task variance", "Per stream"):
        assert f"<h2>{heading}</h2>" in dom
