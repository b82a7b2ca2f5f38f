"""Sources: W&B API, W&B offline run directories, files. They produce :class:`RunRecord` objects."""

from runlab.sources._record import HISTORY_SCHEMA, X_AXES, ArtifactRecord, RunRecord

__all__ = ["HISTORY_SCHEMA", "X_AXES", "ArtifactRecord", "RunRecord"]
