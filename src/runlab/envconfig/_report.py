"""The text reports: the seed's analysis layout, and the state at one epoch.

Task names and config values are data: control characters are escaped so a name cannot move
the cursor, clear the screen or fake extra report lines.
"""

from __future__ import annotations

import re
from typing import Any

from runlab.envconfig._history import EpochState

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
MAX_CHANGES_SHOWN = 50


def printable(text: Any) -> str:
    """``text`` with control characters written as escapes (``\\n``, ``\\x1b``)."""
    return _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), str(text))


def summary_text(s: dict[str, Any], *, max_changes: int = MAX_CHANGES_SHOWN) -> str:
    """The summary (from :func:`runlab.envconfig.summary`) as text."""
    lines = ["=== Environment Configuration Analysis ===",
             f"Total configurations logged: {s['total_configurations_logged']}",
             f"Unique tasks: {s['unique_tasks']}",
             f"Unique configurations: {s['unique_configs']}",
             f"Epochs recorded: {s['epochs_recorded']} (epochs {s['first_epoch']}..{s['last_epoch']}"
             + (f", {s['segments']} segments: resumed" if s["segments"] > 1 else "") + ")",
             "", "=== Task Frequencies ==="]
    lines += [f"  {printable(t)}: {n} times" for t, n in s["task_frequencies"].items()]
    changes = s["changes"]
    lines += ["", "=== Configuration Changes ===", f"Total configuration changes: {len(changes)}"]
    for i, c in enumerate(changes[:max_changes], 1):
        tasks = ", ".join(printable(t) for t in c["added"]) or "-"
        gone = f" (left: {', '.join(printable(t) for t in c['removed'])})" if c["removed"] else ""
        lines.append(f"  Change {i}: Epoch {c['epoch']}, Step {c['agent_step']}, Task: {tasks}{gone}")
    if len(changes) > max_changes:
        lines.append(f"  ... and {len(changes) - max_changes} more (--json or --export-csv for all)")
    lines += ["", "=== Sample Key Parameters ==="]
    for row in s["key_parameters"]:
        lines.append(f"  {printable(row['task'])}_epoch_{row['first_epoch']}:")
        lines += [f"    {printable(k)}: {printable(v)}" for k, v in row["params"].items()]
        if not row["params"]:
            lines.append("    (no key parameter found in this config)")
    problems = (s.get("meta") or {}).get("problems") or []
    if problems:
        lines += ["", "=== Problems while recording ==="] + [f"  {printable(p)}" for p in problems]
    return "\n".join(lines) + "\n"


def epoch_text(state: EpochState) -> str:
    """The tasks in play at one epoch, with env counts, probabilities and full configs."""
    lines = [f"=== Epoch {state.epoch} (step {state.agent_step}; state since epoch {state.since_epoch}) ===",
             f"Tasks in play: {len({t.task for t in state.tasks})}, "
             f"environments: {sum(t.num_envs for t in state.tasks)}"]
    for t in state.tasks:
        prob = "n/a" if t.probability is None else f"{t.probability:.4f}"
        lines.append(f"  {printable(t.task)}: {t.num_envs} env(s), probability {prob}, config {t.config}")
        lines += [f"    {printable(k)}: {printable(v)}" for k, v in _flat(state.configs.get(t.config))]
    return "\n".join(lines) + "\n"


def _flat(config: Any) -> list[tuple[str, Any]]:
    from runlab.configpath import flatten

    return list(flatten(config).items()) if isinstance(config, dict) else [("value", config)]
