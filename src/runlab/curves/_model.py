"""The seed's three networks: an environment VAE, an agent VAE and a reward predictor.

The predictor maps the two latents to a Gaussian per grid point (mean and log-variance), so the
curve term of the loss is a likelihood and each ensemble member carries its own noise estimate.
Every loss term is summed over its own dimensions (features, latent units, grid points) and
averaged over the batch, so ``beta`` and ``curve_weight`` weigh like against like.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

#: Log-variance bounds of the predicted curve noise (model scale), for a stable likelihood.
LOGVAR_MIN, LOGVAR_MAX = -9.0, 4.0


class ConfigVAE(nn.Module):
    """Encodes a feature vector to a diagonal Gaussian latent and decodes it back."""

    def __init__(self, input_dim: int, latent_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(input_dim, hidden_dim), nn.ReLU(),
                                     nn.Linear(hidden_dim, hidden_dim), nn.ReLU())
        self.mu = nn.Linear(hidden_dim, latent_dim)
        self.logvar = nn.Linear(hidden_dim, latent_dim)
        self.decoder = nn.Sequential(nn.Linear(latent_dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, input_dim))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mu, logvar)``, each ``(batch, latent_dim)``."""
        h = self.encoder(x)
        return self.mu(h), self.logvar(h).clamp(-10.0, 10.0)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)


class RewardPredictor(nn.Module):
    """Combined latents -> per-point curve mean and log-variance, each ``(batch, curve_length)``."""

    def __init__(self, latent_dim: int, curve_length: int, hidden_dim: int) -> None:
        super().__init__()
        self.curve_length = curve_length
        self.net = nn.Sequential(nn.Linear(latent_dim, hidden_dim), nn.ReLU(),
                                 nn.Linear(hidden_dim, hidden_dim), nn.ReLU(),
                                 nn.Linear(hidden_dim, 2 * curve_length))

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.net(z)
        mean, logvar = out[:, : self.curve_length], out[:, self.curve_length:]
        return mean, logvar.clamp(LOGVAR_MIN, LOGVAR_MAX)


class MetaAnalysisModel(nn.Module):
    """Environment VAE + agent VAE + reward predictor.

    ``seed`` (optional) fixes the initial weights without touching the global torch RNG.
    """

    def __init__(self, env_input_dim: int, agent_input_dim: int, env_latent_dim: int = 16,
                 agent_latent_dim: int = 16, curve_length: int = 100, hidden_dim: int = 128,
                 *, seed: int | None = None) -> None:
        super().__init__()
        self.dims = {"env_input_dim": env_input_dim, "agent_input_dim": agent_input_dim,
                     "env_latent_dim": env_latent_dim, "agent_latent_dim": agent_latent_dim,
                     "curve_length": curve_length, "hidden_dim": hidden_dim}
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            self.env_vae = ConfigVAE(env_input_dim, env_latent_dim, hidden_dim)
            self.agent_vae = ConfigVAE(agent_input_dim, agent_latent_dim, hidden_dim)
            self.predictor = RewardPredictor(env_latent_dim + agent_latent_dim, curve_length, hidden_dim)

    def forward(self, env_x: torch.Tensor, agent_x: torch.Tensor,
                generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Sampled latents when ``generator`` is given (training), latent means otherwise."""
        out: dict[str, torch.Tensor] = {}
        zs = []
        for name, vae, x in (("env", self.env_vae, env_x), ("agent", self.agent_vae, agent_x)):
            mu, logvar = vae.encode(x)
            z = mu
            if generator is not None:
                z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=generator)
            out[f"{name}_mu"], out[f"{name}_logvar"], out[f"{name}_recon"] = mu, logvar, vae.decode(z)
            zs.append(z)
        out["curve_mean"], out["curve_logvar"] = self.predictor(torch.cat(zs, dim=1))
        return out

    def predict_curve(self, env_latent: torch.Tensor, agent_latent: torch.Tensor) -> torch.Tensor:
        """Mean curve ``(batch, curve_length)`` for given latents (as sampled from the prior)."""
        mean, _ = self.predictor(torch.cat([env_latent, agent_latent], dim=1))
        return mean

    def loss(self, env_x: torch.Tensor, agent_x: torch.Tensor, curves: torch.Tensor, *, beta: float,
             curve_weight: float, generator: torch.Generator | None = None) -> tuple[torch.Tensor, dict[str, Any]]:
        """beta-VAE loss: reconstruction + beta * KL for both VAEs, plus ``curve_weight`` * curve NLL."""
        out = self(env_x, agent_x, generator)
        batch = env_x.shape[0]
        parts = {}
        for name, x in (("env", env_x), ("agent", agent_x)):
            mu, logvar = out[f"{name}_mu"], out[f"{name}_logvar"]
            parts[f"{name}_recon"] = ((out[f"{name}_recon"] - x) ** 2).sum() / batch
            parts[f"{name}_kl"] = (-0.5 * (1 + logvar - mu**2 - logvar.exp())).sum() / batch
        lv = out["curve_logvar"]
        parts["curve_nll"] = (0.5 * (lv + (curves - out["curve_mean"]) ** 2 / lv.exp())).sum() / batch
        total = (parts["env_recon"] + parts["agent_recon"] + beta * (parts["env_kl"] + parts["agent_kl"])
                 + curve_weight * parts["curve_nll"])
        return total, {k: float(v.detach()) for k, v in parts.items()}
