"""The curve model's settings: the seed's YAML keys plus the ensemble, early stopping and seed.

One frozen dataclass, readable from a YAML file and ``key=value`` overrides (OmegaConf), so the
CLI, the library and a saved model directory all describe a model the same way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runlab.errors import InputError


@dataclass(frozen=True, kw_only=True)
class CurveModelConfig:
    """Architecture and training settings of the VAE curve predictor."""

    env_latent_dim: int = 16
    """Size of the environment VAE's latent space."""
    agent_latent_dim: int = 16
    """Size of the agent VAE's latent space."""
    curve_length: int = 100
    """Points of the fixed grid every curve is resampled to."""
    hidden_dim: int = 128
    """Width of every hidden layer."""
    batch_size: int = 8
    """Runs per optimiser step."""
    learning_rate: float = 0.001
    """Adam learning rate."""
    beta: float = 1.0
    """Weight of the VAEs' KL terms (beta-VAE)."""
    curve_weight: float = 1.0
    """Weight of the curve likelihood against the VAE terms."""
    num_epochs: int = 50
    """Most epochs per ensemble member (early stopping may end sooner)."""
    ensemble_size: int = 5
    """Independently initialised members of the deep ensemble behind the predictive intervals."""
    patience: int = 10
    """Epochs without a better validation loss before a member stops."""
    val_fraction: float = 0.15
    """Share of the training runs held back for early stopping and interval calibration."""
    weight_decay: float = 0.0001
    """Adam weight decay (L2), against overfitting a few hundred runs."""
    interval: float = 0.8
    """Central interval level the calibration targets (0.8 = 10%..90%)."""
    normalize_by: str | None = None
    """Config path whose groups get their own reward scale (e.g. ``env.id`` when pooling games)."""
    seed: int = 0
    """Seeds the validation split, initialisation, shuffling and latent sampling."""
    num_threads: int = 1
    """torch CPU threads while training (small networks run fastest on one)."""

    def __post_init__(self) -> None:
        for name in ("env_latent_dim", "agent_latent_dim", "hidden_dim", "batch_size", "num_epochs",
                     "ensemble_size", "patience", "num_threads"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InputError(f"curve model setting {name} must be a positive integer, got {value!r}")
        if not isinstance(self.curve_length, int) or self.curve_length < 4:
            raise InputError(f"curve_length must be an integer of at least 4, got {self.curve_length!r}")
        for name in ("learning_rate", "curve_weight"):
            if not float(getattr(self, name)) > 0:
                raise InputError(f"curve model setting {name} must be positive, got {getattr(self, name)!r}")
        if float(self.beta) < 0 or float(self.weight_decay) < 0:
            raise InputError(f"beta and weight_decay must be >= 0, got {self.beta!r}, {self.weight_decay!r}")
        if not 0.0 < float(self.val_fraction) < 0.5:
            raise InputError(f"val_fraction must be in (0, 0.5), got {self.val_fraction!r}")
        if not 0.0 < float(self.interval) < 1.0:
            raise InputError(f"interval must be in (0, 1), got {self.interval!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain values, as written to YAML and to a model directory."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CurveModelConfig:
        """Build from a mapping, naming any unknown key with the nearest known one."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = [k for k in data if k not in known]
        if unknown:
            import difflib

            near = difflib.get_close_matches(unknown[0], sorted(known), n=1)
            raise InputError(f"unknown curve model setting {unknown[0]!r}",
                             hint=f"did you mean {near[0]!r}?" if near else f"known: {', '.join(sorted(known))}")
        return cls(**dict(data))

    @classmethod
    def load(cls, path: Path | str | None = None, overrides: Sequence[str] = ()) -> CurveModelConfig:
        """Read a YAML file shaped like the seed's (optional) and apply ``key=value`` overrides."""
        from omegaconf import OmegaConf

        base = OmegaConf.create(cls().to_dict())
        if path is not None:
            p = Path(path)
            if not p.is_file():
                raise InputError(f"curve model config {p} does not exist", hint="pass a YAML file path")
            loaded = OmegaConf.load(p)
            if not isinstance(loaded, Mapping) and not OmegaConf.is_dict(loaded):
                raise InputError(f"curve model config {p} is not a mapping of settings")
            cls.from_dict(OmegaConf.to_container(loaded))  # type: ignore[arg-type]  # names bad keys
            base = OmegaConf.merge(base, loaded)
        for item in overrides:
            if "=" not in item:
                raise InputError(f"override {item!r} is not key=value", hint="e.g. num_epochs=20")
        if overrides:
            dot = OmegaConf.from_dotlist(list(overrides))
            cls.from_dict(OmegaConf.to_container(dot))  # type: ignore[arg-type]
            base = OmegaConf.merge(base, dot)
        return cls.from_dict(OmegaConf.to_container(base))  # type: ignore[arg-type]
