"""Property tests: whatever a run is called or tagged, and whatever values it logs, comes back intact."""

from __future__ import annotations

import math
import tempfile

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runlab.sources import HISTORY_SCHEMA, RunRecord
from runlab.warehouse import Warehouse

HOSTILE = st.sampled_from(["it's \"quoted\"", "new\nline", "<script>alert(1)</script>", "../../etc/passwd",
                           "ünïcödé", "🚀🔥", "back\\slash", "tab\there", "[bold]markup[/bold]", ""])
TEXT = st.one_of(HOSTILE, st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                                  max_size=30))
FLOATS = st.floats(allow_nan=True, allow_infinity=True)
CONFIG = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.floats(allow_nan=False), TEXT),
    lambda kids: st.dictionaries(TEXT, kids, max_size=3) | st.lists(kids, max_size=3),
    max_leaves=8,
)


def _same_float(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=TEXT, group=TEXT, tags=st.lists(TEXT, max_size=4), notes=TEXT,
    config=st.dictionaries(TEXT, CONFIG, max_size=4),
    metric=st.one_of(HOSTILE, TEXT.filter(bool)),
    values=st.lists(FLOATS, min_size=0, max_size=6),
)
def test_run_round_trips(name, group, tags, notes, config, metric, values):
    run_id = f"wandb:ent/proj/{name}"
    history = pa.table({"step": list(range(len(values))), "metric": [metric] * len(values), "value": values},
                       schema=HISTORY_SCHEMA)
    rec = RunRecord(run_id=run_id, source="test", name=name, group=group, tags=tags, notes=notes,
                    config=config, summary={"last": values[-1] if values else None}, history=history)
    with tempfile.TemporaryDirectory() as home:
        with Warehouse.open(home) as wh:
            assert wh.upsert_run(rec).status == "added"
        with Warehouse.open(home, read_only=True) as wh:
            row = wh.runs().iloc[0]
            assert (row["run_id"], row["name"], row["group"], row["notes"]) == (run_id, name, group, notes)
            assert row["tags"] == tags
            assert row["config"] == config
            got = wh.history()
            assert got["metric"].tolist() == [metric] * len(values)
            assert all(_same_float(a, b) for a, b in zip(got["value"], values, strict=True))
            assert wh.get_run(run_id)["name"] == name
            counts = wh.metric_names()
            assert counts["n_nonfinite"].sum() == sum(1 for v in values if not math.isfinite(v))
        with Warehouse.open(home) as wh:
            assert wh.upsert_run(rec).status == "unchanged"
