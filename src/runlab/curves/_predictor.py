"""The fitted curve predictor: features, target scale, a deep ensemble, calibration, prefix conditioning.

``fit`` holds back ``val_fraction`` of the training runs; the feature encoder and the target scaler
are fit on the rest alone (``fit_run_ids_``), the ensemble members stop early on the held-back runs,
and the same runs calibrate the interval width: one scale factor that makes the central
``interval`` cover that share of held-back points. The ensemble's mixture (mean of member means;
mean member variance plus the spread of member means) is the predictive Gaussian per point.

Prefix conditioning treats a curve's standardised residuals as jointly Gaussian, with a
two-parameter correlation (a persistent offset plus a local exponential part) fit to the training
runs' residuals, so an observed prefix updates the rest of the curve by the usual Gaussian
conditional (mean shift and shrunk variance).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from runlab.curves._config import CurveModelConfig
from runlab.curves._features import FeatureEncoder, FeatureSpec, TargetScaler
from runlab.curves._prediction import CurvePrediction
from runlab.errors import InputError

if TYPE_CHECKING:
    from runlab.curves._dataset import CurveDataset
    from runlab.curves._trainer import MetaAnalysisTrainer



@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run with ``n`` torch CPU threads, restoring the previous count afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class CurvePredictor:
    """VAE curve model with calibrated ensemble intervals (the default model of ``runlab.curves``)."""

    name = "vae-ensemble"

    def __init__(self, config: CurveModelConfig | None = None, features: FeatureSpec | None = None,
                 *, device: str = "cpu") -> None:
        self.config = config or CurveModelConfig()
        self.features = features or FeatureSpec()
        self.device = device
        self.members_: list[MetaAnalysisTrainer] = []
        self.encoder_: FeatureEncoder | None = None
        self.scaler_: TargetScaler | None = None
        self.grid_: np.ndarray | None = None
        self.calibration_: float = 1.0
        self.correlation_: np.ndarray | None = None
        self.fit_run_ids_: list[str] = []
        self.val_run_ids_: list[str] = []
        self.x_axis_, self.metric_ = "agent_step", "reward"

    # -- fitting ------------------------------------------------------------------------------
    def fit(self, dataset: CurveDataset, on_progress: Callable[[int, int], None] | None = None) -> CurvePredictor:
        """Train on every run of ``dataset`` (held-out runs must not be in it)."""
        cfg = self.config
        if dataset.curves.shape[1] != cfg.curve_length:
            raise InputError(f"the dataset's curves have {dataset.curves.shape[1]} points but curve_length is "
                             f"{cfg.curve_length}", hint="build the dataset with the same curve_length")
        n = len(dataset)
        if n < 4:
            raise InputError(f"need at least 4 training runs, got {n}")
        perm = np.random.default_rng(cfg.seed).permutation(n)
        n_val = max(1, round(n * cfg.val_fraction))
        val_idx, fit_idx = np.sort(perm[:n_val]), np.sort(perm[n_val:])
        fit_cfgs = [dataset.configs[i] for i in fit_idx]
        self.encoder_ = FeatureEncoder.fit(fit_cfgs, self.features)
        self.scaler_ = TargetScaler(cfg.normalize_by).fit(dataset.curves[fit_idx], fit_cfgs)
        self.fit_run_ids_ = [dataset.run_ids[i] for i in fit_idx]
        self.val_run_ids_ = [dataset.run_ids[i] for i in val_idx]
        env_x, agent_x, _ = self.encoder_.transform(dataset.configs)
        y = self.scaler_.transform(dataset.curves, dataset.configs)
        self.members_ = self._train_members(env_x, agent_x, y, fit_idx, val_idx, on_progress)
        self.grid_, self.x_axis_, self.metric_ = np.asarray(dataset.grid, float), dataset.x_axis, dataset.metric
        mean, std = self._mixture(env_x, agent_x)
        z = (y - mean) / std
        target = stats.norm.ppf(0.5 + cfg.interval / 2)
        self.calibration_ = float(max(np.quantile(np.abs(z[val_idx]), cfg.interval) / target, 1e-3))
        self.correlation_ = _kernel_correlation(z / self.calibration_)
        return self

    def _train_members(self, env_x: np.ndarray, agent_x: np.ndarray, y: np.ndarray, fit_idx: np.ndarray,
                       val_idx: np.ndarray, on_progress: Callable[[int, int], None] | None) -> list[Any]:
        from runlab.curves._model import MetaAnalysisModel
        from runlab.curves._trainer import MetaAnalysisTrainer, make_loader

        cfg = self.config
        assert self.encoder_ is not None
        total = cfg.ensemble_size * cfg.num_epochs
        members = []
        with torch_threads(cfg.num_threads):
            for k in range(cfg.ensemble_size):
                seed = cfg.seed * 1000 + k
                model = MetaAnalysisModel(self.encoder_.env_dim, self.encoder_.agent_dim, cfg.env_latent_dim,
                                          cfg.agent_latent_dim, cfg.curve_length, cfg.hidden_dim, seed=seed)
                trainer = MetaAnalysisTrainer(model, self.device, learning_rate=cfg.learning_rate, beta=cfg.beta,
                                              curve_weight=cfg.curve_weight, weight_decay=cfg.weight_decay,
                                              patience=cfg.patience, seed=seed)
                train = make_loader(env_x[fit_idx], agent_x[fit_idx], y[fit_idx], batch_size=cfg.batch_size,
                                    shuffle=True, seed=seed)
                val = make_loader(env_x[val_idx], agent_x[val_idx], y[val_idx], batch_size=256, shuffle=False)
                done = k * cfg.num_epochs

                def step(e: int, _t: int, done: int = done) -> None:
                    if on_progress is not None:
                        on_progress(done + e, total)

                trainer.train(train, val, cfg.num_epochs, on_progress=step)
                members.append(trainer)
        if on_progress is not None:
            on_progress(total, total)
        return members

    # -- predicting ---------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not self.members_ or self.encoder_ is None or self.scaler_ is None:
            raise InputError("this curve predictor is not fitted", hint="call fit(dataset) or load a model directory")

    def _mixture(self, env_x: np.ndarray, agent_x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Ensemble mixture mean and std per point, model scale, before calibration."""
        with torch_threads(self.config.num_threads):
            outs = [m.predict_distribution(env_x, agent_x) for m in self.members_]
        means = np.stack([o[0] for o in outs]).astype(float)
        var = np.stack([o[1] for o in outs]).astype(float) ** 2
        return means.mean(axis=0), np.sqrt(var.mean(axis=0) + means.var(axis=0))

    def _scaled(self, configs: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray, list[list[str]]]:
        self._check_fitted()
        assert self.encoder_ is not None and self.scaler_ is not None
        env_x, agent_x, flags = self.encoder_.transform(configs)
        for f, known in zip(flags, self.scaler_.group_known(configs), strict=True):
            if not known:
                f.append(f"{self.scaler_.group_path}: group not seen in training (pooled reward scale)")
        mean, std = self._mixture(env_x, agent_x)
        return mean, std * self.calibration_, flags

    def predict(self, configs: Sequence[Mapping[str, Any]]) -> CurvePrediction:
        """Predicted curves (raw units) with per-point Gaussian uncertainty and per-config flags."""
        mean, std, flags = self._scaled(configs)
        assert self.scaler_ is not None and self.grid_ is not None
        m, s = self.scaler_.inverse(mean, std, configs)
        return CurvePrediction(self.grid_, m, s, flags=flags)

    def predict_rest(self, configs: Sequence[Mapping[str, Any]], observed: np.ndarray) -> CurvePrediction:
        """Curves given their start: ``observed (N, L)`` holds the known grid values, NaN elsewhere.

        Known points come back as observed (std 0); the rest follow the Gaussian conditional.
        """
        mean, std, flags = self._scaled(configs)
        assert self.scaler_ is not None and self.grid_ is not None and self.correlation_ is not None
        obs = np.asarray(observed, dtype=float)
        if obs.shape != mean.shape:
            raise InputError(f"observed must have shape {mean.shape}, got {obs.shape}")
        y = self.scaler_.transform(obs, configs)
        out_m, out_s = mean.copy(), std.copy()
        for i in range(len(configs)):
            o = np.isfinite(y[i])
            if o.any():
                out_m[i], out_s[i] = _condition(mean[i], std[i], self.correlation_, o, y[i])
        m, s = self.scaler_.inverse(out_m, out_s, configs)
        return CurvePrediction(self.grid_, m, s, flags=flags)

    def latents(self, configs: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
        """Environment and agent latent means of the first ensemble member, ``(N, latent_dim)`` each."""
        import torch

        self._check_fitted()
        assert self.encoder_ is not None
        env_x, agent_x, _ = self.encoder_.transform(configs)
        model = self.members_[0].model
        with torch.no_grad():
            env_mu, _ = model.env_vae.encode(torch.as_tensor(env_x))
            agent_mu, _ = model.agent_vae.encode(torch.as_tensor(agent_x))
        return env_mu.numpy(), agent_mu.numpy()

    def save(self, folder: Path | str) -> Path:
        """Write a model directory (see :func:`runlab.curves.load_predictor`)."""
        from runlab.curves._persist import save_predictor

        return save_predictor(self, folder)

    @classmethod
    def load(cls, folder: Path | str) -> CurvePredictor:
        """Read a model directory, checking its format tag and version."""
        from runlab.curves._persist import load_predictor

        return load_predictor(folder)


def _kernel_correlation(z: np.ndarray) -> np.ndarray:
    """Residual correlation across grid points ``(L, L)``: ``w + (1 - w) exp(-|i - j| / (L ell))``
    fit by least squares to the empirical correlation of ``z (N, L)``.

    Two parameters instead of L^2/2: a few hundred in-sample residual curves give a noisy and
    optimistic empirical matrix, and conditioning on it over-trusts chance structure. The constant
    ``w`` is the share of a curve's offset that persists; the exponential part is local.
    """
    from scipy.optimize import minimize

    emp = np.corrcoef(z, rowvar=False)
    emp = np.where(np.isfinite(emp), emp, 0.0)
    length = emp.shape[0]
    dist = np.abs(np.subtract.outer(np.arange(length), np.arange(length))) / length

    def kernel(p: np.ndarray) -> np.ndarray:
        w = 1.0 / (1.0 + np.exp(-p[0]))
        return w + (1.0 - w) * np.exp(-dist / np.exp(np.clip(p[1], -8.0, 3.0)))

    best = minimize(lambda p: float(((kernel(p) - emp) ** 2).sum()), np.array([0.0, np.log(0.1)]),
                    method="Nelder-Mead", options={"xatol": 1e-4, "fatol": 1e-8, "maxiter": 400})
    out = kernel(best.x)
    np.fill_diagonal(out, 1.0)
    return out


def _condition(mean: np.ndarray, std: np.ndarray, corr: np.ndarray, o: np.ndarray,
               y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian conditional of the unobserved points given observed ones (one curve, model scale)."""
    cov = corr * np.outer(std, std)
    u = ~o
    k_oo = cov[np.ix_(o, o)] + 1e-9 * np.eye(int(o.sum()))
    k_uo = cov[np.ix_(u, o)]
    sol = np.linalg.solve(k_oo, np.stack([y[o] - mean[o], *k_uo], axis=1))  # (|O|, 1 + |U|)
    m, s = mean.copy(), np.zeros_like(std)
    m[o] = y[o]
    m[u] = mean[u] + k_uo @ sol[:, 0]
    var_u = std[u] ** 2 - np.einsum("uo,ou->u", k_uo, sol[:, 1:])
    s[u] = np.sqrt(np.maximum(var_u, 1e-12))
    return m, s
