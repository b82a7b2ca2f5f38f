"""Training one :class:`MetaAnalysisModel`: Adam, early stopping on validation, seeded throughout.

The trainer owns a ``torch.Generator`` for shuffling and the VAEs' reparameterisation noise, so
the same seed gives the same weights whatever else uses the global torch RNG.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from runlab.curves._model import MetaAnalysisModel
from runlab.errors import InputError

TRAINER_FORMAT = "runlab.curves.trainer"
TRAINER_VERSION = 1


def make_loader(env_x: np.ndarray, agent_x: np.ndarray, curves: np.ndarray, *, batch_size: int,
                shuffle: bool, seed: int = 0) -> DataLoader:
    """A loader of ``(env_x, agent_x, curve)`` float32 batches; shuffling is seeded."""
    data = TensorDataset(*(torch.as_tensor(np.asarray(a, dtype=np.float32)) for a in (env_x, agent_x, curves)))
    gen = torch.Generator().manual_seed(seed)
    return DataLoader(data, batch_size=batch_size, shuffle=shuffle, generator=gen if shuffle else None)


class MetaAnalysisTrainer:
    """Fits a model with early stopping and answers curve and latent queries (model scale).

    ``train`` keeps the weights of the epoch with the lowest validation loss.
    """

    def __init__(self, model: MetaAnalysisModel, device: str = "cpu", *, learning_rate: float = 1e-3,
                 beta: float = 1.0, curve_weight: float = 1.0, weight_decay: float = 0.0,
                 patience: int = 10, seed: int = 0) -> None:
        if device != "cpu" and not device.startswith("cuda"):
            raise InputError(f"device must be 'cpu' or 'cuda[:N]', got {device!r}")
        self.model = model.to(device)
        self.device = device
        self.learning_rate, self.beta, self.curve_weight = learning_rate, beta, curve_weight
        self.weight_decay, self.patience, self.seed = weight_decay, patience, seed
        self.generator = torch.Generator().manual_seed(seed)
        self.history: dict[str, list[float]] = {"train_loss": [], "val_loss": []}
        self.best_epoch: int | None = None

    def _loss(self, batch: Any, generator: torch.Generator | None) -> torch.Tensor:
        env_x, agent_x, y = (t.to(self.device) for t in batch)
        total, _ = self.model.loss(env_x, agent_x, y, beta=self.beta, curve_weight=self.curve_weight,
                                   generator=generator)
        return total

    def train(self, train_loader: DataLoader, val_loader: DataLoader | None, num_epochs: int,
              on_progress: Callable[[int, int], None] | None = None) -> dict[str, list[float]]:
        """Up to ``num_epochs`` epochs; stops after ``patience`` epochs without a better validation
        loss and restores the best weights. Returns the per-epoch losses."""
        opt = torch.optim.Adam(self.model.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay)
        best, best_state, stale = math.inf, None, 0
        for epoch in range(num_epochs):
            self.model.train()
            total, n = 0.0, 0
            for batch in train_loader:
                loss = self._loss(batch, self.generator)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total, n = total + float(loss.detach()) * len(batch[0]), n + len(batch[0])
            self.history["train_loss"].append(total / max(n, 1))
            val = self.evaluate(val_loader) if val_loader is not None else self.history["train_loss"][-1]
            self.history["val_loss"].append(val)
            if on_progress is not None:
                on_progress(epoch + 1, num_epochs)
            if val < best - 1e-6:
                best, best_state, stale, self.best_epoch = val, copy.deepcopy(self.model.state_dict()), 0, epoch
            else:
                stale += 1
                if stale >= self.patience:
                    break
        if best_state is not None:
            self.model.load_state_dict(best_state)
        self.model.eval()
        return self.history

    @torch.no_grad()
    def evaluate(self, loader: DataLoader) -> float:
        """Mean loss per run on ``loader`` with latent means (no sampling noise)."""
        self.model.eval()
        total, n = 0.0, 0
        for batch in loader:
            total, n = total + float(self._loss(batch, None)) * len(batch[0]), n + len(batch[0])
        return total / max(n, 1)

    @torch.no_grad()
    def predict_distribution(self, env_config: Any, agent_config: Any) -> tuple[np.ndarray, np.ndarray]:
        """Per-point ``(mean, std)`` in model scale for encoded configs ``(N, dim)``."""
        self.model.eval()
        env_x = torch.as_tensor(np.asarray(env_config, dtype=np.float32)).reshape(-1, self.model.dims["env_input_dim"])
        agent_x = torch.as_tensor(np.asarray(agent_config, dtype=np.float32)).reshape(
            -1, self.model.dims["agent_input_dim"])
        out = self.model(env_x.to(self.device), agent_x.to(self.device))
        return out["curve_mean"].cpu().numpy(), np.exp(0.5 * out["curve_logvar"].cpu().numpy())

    def predict_curve(self, env_config: Any, agent_config: Any) -> torch.Tensor:
        """Mean curve (model scale) for encoded configs, as a tensor ``(N, curve_length)``."""
        return torch.as_tensor(self.predict_distribution(env_config, agent_config)[0])

    @torch.no_grad()
    def sample_latent_space(self, num_samples: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``num_samples`` environment and agent latents from the VAEs' standard-normal prior."""
        d = self.model.dims
        env = torch.randn((num_samples, d["env_latent_dim"]), generator=self.generator)
        agent = torch.randn((num_samples, d["agent_latent_dim"]), generator=self.generator)
        return env, agent

    def save(self, path: Path | str) -> None:
        """Weights, dimensions and training settings in one file (read back by :meth:`load`)."""
        torch.save({"format": TRAINER_FORMAT, "version": TRAINER_VERSION, "dims": self.model.dims,
                    "state": self.model.state_dict(), "history": self.history,
                    "settings": {"learning_rate": self.learning_rate, "beta": self.beta,
                                 "curve_weight": self.curve_weight, "weight_decay": self.weight_decay,
                                 "patience": self.patience, "seed": self.seed}}, Path(path))

    @classmethod
    def load(cls, path: Path | str, device: str = "cpu") -> MetaAnalysisTrainer:
        """A trainer with the saved model; refuses files of another format or version."""
        p = Path(path)
        try:
            data = torch.load(p, map_location=device, weights_only=True)
        except Exception as exc:  # torch raises many types for a damaged or foreign file
            raise InputError(f"{p} is not a runlab curve model file ({type(exc).__name__})",
                             hint="save it with MetaAnalysisTrainer.save") from None
        if not isinstance(data, dict) or data.get("format") != TRAINER_FORMAT:
            raise InputError(f"{p} is not a runlab curve model file", hint="save it with MetaAnalysisTrainer.save")
        if data.get("version") != TRAINER_VERSION:
            raise InputError(f"{p} has model file version {data.get('version')!r}; this runlab reads "
                             f"version {TRAINER_VERSION}", hint="train the model again with this runlab")
        model = MetaAnalysisModel(**data["dims"])
        model.load_state_dict(data["state"])
        trainer = cls(model, device, **data["settings"])
        trainer.history = data["history"]
        model.eval()
        return trainer
