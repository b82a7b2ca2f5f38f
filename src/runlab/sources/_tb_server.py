"""TensorBoard's own event-file reader, the Rust data server, driven over its gRPC API.

TensorBoard ships two readers. The pure-Python one (``event_file_loader``, which ``tbparse`` and
``EventAccumulator`` build on) checks every record's CRC-32C in a Python loop when TensorFlow is
not installed: about 20k events/s here. The data server (``tensorboard-data-server``, installed
with tensorboard and what ``tensorboard --load_fast`` uses) reads the same files in Rust and
answers ``ReadScalars`` with whole columns (steps, wall times, values): over 10x faster, and it
keeps a truncated file's records up to the last complete one, as it does for a run still
writing. ``benchmarks/bench_ingest.py`` measures both.

:class:`DataServer` starts one server over a log directory with ``--reload once`` and every
sample kept, waits for its load cycle to finish (it logs ``Finished load cycle``), and stops it
on :meth:`close` (it also dies with this process: ``--die-after-stdin``).

The data server (0.7.2) lists a ``float64`` scalar tag (``add_scalar(..., double_precision=True)``)
but returns none of its points; :func:`read_with_loader` reads such a run with TensorBoard's
Python ``EventFileLoader`` instead (it stops at a truncated file's last complete record too).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runlab.errors import RunlabError

_ALL = 2**31 - 1
_LOADED = b"Finished load cycle"


@dataclass
class RunData:
    """What the server holds for one run: scalar columns per tag and the tensors of some plugins."""

    scalars: dict[str, tuple[list[int], list[float], list[float]]] = field(default_factory=dict)
    """tag -> (steps, wall times, values)"""
    hparams: list[bytes] = field(default_factory=list)
    """``plugin_data.content`` of each HParams summary (``HParamsPluginData`` bytes)."""
    texts: dict[str, list[str]] = field(default_factory=dict)
    """text-plugin tag -> its strings"""


class DataServer:
    """One ``tensorboard-data-server`` process over ``logdir`` (see the module doc)."""

    def __init__(self, logdir: Path, *, timeout: float = 600.0) -> None:
        import grpc
        from tensorboard.data import server_ingester
        from tensorboard.data.proto import data_provider_pb2_grpc

        try:
            binary = server_ingester.get_server_binary()
        except server_ingester.NoDataServerError as exc:
            raise RunlabError(f"TensorBoard's data server is not installed: {exc}",
                              hint="pip install tensorboard-data-server (it comes with tensorboard)") from None
        self._tmp = tempfile.TemporaryDirectory(prefix="runlab-tb-")
        port_file, log_file = Path(self._tmp.name, "port"), Path(self._tmp.name, "log")
        args = [binary.path, f"--logdir={logdir}", "--reload=once",
                "--samples-per-plugin=scalars=all,hparams=all,text=all", "--port=0",
                f"--port-file={port_file}", "--die-after-stdin", "--verbose"]
        with log_file.open("wb") as log:
            self._proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log,
                                          env={**os.environ, "RUST_LOG": "info"})
        try:
            port = self._wait(port_file, log_file, timeout)
        except BaseException:
            self.close()
            raise
        channel = grpc.insecure_channel(f"localhost:{port}", options=[("grpc.max_receive_message_length", -1)])
        self._channel = channel
        self._stub = data_provider_pb2_grpc.TensorBoardDataProviderStub(channel)

    def _wait(self, port_file: Path, log_file: Path, timeout: float) -> int:
        """Block until the server has loaded every event file once; return its port."""
        deadline = time.monotonic() + timeout
        delay = 0.002
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                tail = log_file.read_bytes()[-500:].decode("utf-8", "replace")
                raise RunlabError(f"TensorBoard's data server exited with code {self._proc.returncode}: {tail}",
                                  hint="check that the folder is readable")
            if _LOADED in log_file.read_bytes() and port_file.is_file():
                text = port_file.read_text()
                if text.endswith("\n"):
                    return int(text)
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        raise RunlabError(f"TensorBoard's data server did not finish loading within {timeout:.0f} s",
                          hint="ingest fewer or smaller log folders at a time")

    def runs(self) -> list[str]:
        """The run names the server found (paths relative to the log directory; ``.`` for itself)."""
        from tensorboard.data.proto import data_provider_pb2 as dp

        return [r.name for r in self._stub.ListRuns(dp.ListRunsRequest(experiment_id="")).runs]

    def read(self, run: str) -> RunData:
        """Every scalar point, HParams summary and text of one run."""
        from tensorboard.data.proto import data_provider_pb2 as dp

        out = RunData()
        only = dp.RunTagFilter(runs=dp.RunFilter(names=[run]))
        scalars = self._stub.ReadScalars(dp.ReadScalarsRequest(
            experiment_id="", plugin_filter=dp.PluginFilter(plugin_name="scalars"), run_tag_filter=only,
            downsample=dp.Downsample(num_points=_ALL)))
        for r in scalars.runs:
            for tag in r.tags:
                out.scalars[tag.tag_name] = (list(tag.data.step), list(tag.data.wall_time), list(tag.data.value))
        listed = self._stub.ListTensors(dp.ListTensorsRequest(
            experiment_id="", plugin_filter=dp.PluginFilter(plugin_name="hparams"), run_tag_filter=only))
        for r in listed.runs:
            for tag in r.tags:
                out.hparams.append(tag.metadata.summary_metadata.plugin_data.content)
        texts = self._stub.ReadTensors(dp.ReadTensorsRequest(
            experiment_id="", plugin_filter=dp.PluginFilter(plugin_name="text"), run_tag_filter=only,
            downsample=dp.Downsample(num_points=_ALL)))
        for r in texts.runs:
            for tag in r.tags:
                out.texts[tag.tag_name] = [_text(v) for v in tag.data.value]
        return out

    def close(self) -> None:
        """Stop the server (idempotent)."""
        channel = getattr(self, "_channel", None)
        if channel is not None:
            channel.close()
            self._channel = None
        if self._proc.poll() is None:
            if self._proc.stdin is not None:
                self._proc.stdin.close()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        elif self._proc.stdin is not None and not self._proc.stdin.closed:
            self._proc.stdin.close()
        self._tmp.cleanup()

    def __enter__(self) -> DataServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _text(tensor: Any) -> str:
    return "\n".join(v.decode("utf-8", "replace") for v in tensor.string_val)


def read_with_loader(event_files: list[Path]) -> RunData:
    """One run's scalars, HParams and texts through TensorBoard's Python ``EventFileLoader``.

    Slower than the data server (a CRC-32C loop in Python per record) but it reads every dtype.
    ``EventFileLoader`` migrates all summaries to tensors; a tag's plugin is named by the first
    summary of that tag only, so it is remembered per tag.
    """
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
    from tensorboard.util import tensor_util

    out = RunData()
    plugin: dict[str, str] = {}
    for path in event_files:
        for event in EventFileLoader(str(path)).Load():
            for value in event.summary.value:
                tag = value.tag
                if value.HasField("metadata") and value.metadata.plugin_data.plugin_name:
                    plugin.setdefault(tag, value.metadata.plugin_data.plugin_name)
                    if plugin[tag] == "hparams":
                        out.hparams.append(value.metadata.plugin_data.content)
                kind = plugin.get(tag)
                if kind == "scalars":
                    steps, walls, values = out.scalars.setdefault(tag, ([], [], []))
                    steps.append(event.step)
                    walls.append(event.wall_time)
                    values.append(_scalar(value.tensor, tensor_util))
                elif kind == "text":
                    array = tensor_util.make_ndarray(value.tensor)
                    texts = [t.decode("utf-8", "replace") if isinstance(t, bytes) else str(t) for t in array.flat]
                    out.texts.setdefault(tag, []).append("\n".join(texts))
    return out


def _scalar(tensor: Any, tensor_util: Any) -> float:
    """A rank-0 tensor's value: the typed fields directly (``make_ndarray`` costs ~50 us per call)."""
    if tensor.double_val:
        return float(tensor.double_val[0])
    if tensor.float_val:
        return float(tensor.float_val[0])
    return float(tensor_util.make_ndarray(tensor).item())
