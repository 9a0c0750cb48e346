"""Diffusion over the canvas: cosine noise schedule, frequency-aware noise, DDIM sampling.

Noise on field ``i`` is scaled by ``1 / (1 + log(period_i))`` (period in days, at least
one), so slow fields (GDP, population) are perturbed less than fast ones (prices). The
denoiser is the canvas world model predicting the clean canvas ``x0``; conditioning
positions (observed context) are given clean and re-injected after every sampling step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from wmverse.canvas.losses import diffusion_x0_loss
from wmverse.canvas.model import NOISY, OBSERVED, CanvasWorldModel
from wmverse.canvas.schema import BoundSchema


class CosineNoiseSchedule:
    """Nichol & Dhariwal's cosine schedule: ``alpha_bar(t) = f(t) / f(0)``,
    ``f(t) = cos(((t / T + s) / (1 + s)) * pi / 2) ** 2``, betas clipped at ``max_beta``."""

    def __init__(self, n_steps: int = 100, s: float = 0.008, max_beta: float = 0.999) -> None:
        if n_steps < 1:
            raise ValueError(f"n_steps must be >= 1, got {n_steps}")
        self.n_steps, self.s = n_steps, s
        t = torch.arange(n_steps + 1, dtype=torch.float64)
        f = torch.cos(((t / n_steps + s) / (1 + s)) * math.pi / 2) ** 2
        raw = f / f[0]
        betas = (1 - raw[1:] / raw[:-1]).clamp(max=max_beta)
        self.betas = betas.float()
        #: alpha_bar[0] = 1 (clean) ... alpha_bar[n_steps] ~ 0 (pure noise), consistent with the clipped betas
        self.alpha_bar = torch.cat([torch.ones(1, dtype=torch.float64), torch.cumprod(1 - betas, 0)]).float()

    def __call__(self, t: torch.Tensor) -> torch.Tensor:
        """alpha_bar at integer steps ``t`` in ``[0, n_steps]``."""
        return self.alpha_bar[t]


@dataclass
class DiffusionConfig:
    """Training and sampling of :class:`DiffusionWorldModelTrainer`."""

    lr: float = 1e-3
    """AdamW learning rate."""
    n_steps: int = 100
    """Diffusion steps of the schedule."""
    sample_steps: int = 20
    """DDIM steps when sampling."""
    context_drop: float = 0.15
    """Fraction of present context positions moved from conditioning to the noised target."""
    frequency_aware: bool = True
    """Scale each field's noise by ``1 / (1 + log period)``."""
    grad_clip: float = 1.0
    """Max gradient norm (0 disables)."""
    seed: int = 0
    """Seed of the trainer's own generator (times, noise, masks)."""


class DiffusionWorldModelTrainer:
    """Trains ``model`` as an ``x0``-predicting denoiser of the last time step (and dropped context)."""

    def __init__(
        self,
        bound_schema: BoundSchema,
        model: CanvasWorldModel,
        optimizer: torch.optim.Optimizer | None = None,
        schedule: CosineNoiseSchedule | None = None,
        config: DiffusionConfig | None = None,
    ) -> None:
        self.bound, self.model = bound_schema, model
        self.config = config or DiffusionConfig()
        self.schedule = schedule or CosineNoiseSchedule(self.config.n_steps)
        self.optimizer = optimizer or torch.optim.AdamW(model.parameters(), lr=self.config.lr)
        scales = bound_schema.noise_scales() if self.config.frequency_aware else [1.0] * bound_schema.n_fields
        self.noise_scale = torch.tensor(scales, dtype=torch.float32)
        self.gen = torch.Generator().manual_seed(self.config.seed)

    def noise(
        self, x0: torch.Tensor, t: torch.Tensor, eps: torch.Tensor, field_ids: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Forward process ``x_t = sqrt(ab) x0 + sqrt(1 - ab) * scale_field * eps`` for (B,) steps ``t``."""
        ab = self.schedule(t).view(-1, *([1] * (x0.dim() - 1)))
        scale = self.noise_scale if field_ids is None else self.noise_scale[field_ids]
        return ab.sqrt() * x0 + (1 - ab).sqrt() * scale * eps

    def step(self, batch: dict, field_ids: torch.Tensor | None = None) -> dict[str, float]:
        """One denoising step: condition on kept context, noise the rest, predict x0."""
        self.model.train()
        x0, presence, weight = batch["values"], batch["presence"], batch["loss_weight"]
        semantic = batch.get("semantic_type")
        if field_ids is not None:
            x0, presence, weight = x0[..., field_ids], presence[..., field_ids], weight[..., field_ids]
            semantic = None if semantic is None else semantic[:, field_ids]
        b = x0.shape[0]
        cond = (presence > 0) & (torch.rand(x0.shape, generator=self.gen) >= self.config.context_drop)
        cond[:, -1, :] = False
        t = torch.randint(1, self.schedule.n_steps + 1, (b,), generator=self.gen)
        eps = torch.randn(x0.shape, generator=self.gen)
        xt = torch.where(cond, x0, self.noise(x0, t, eps, field_ids))
        state = torch.where(cond, OBSERVED, NOISY)
        with torch.random.fork_rng(devices=[]):  # dropout: seeded from the trainer's own generator
            torch.manual_seed(int(torch.randint(2**62, (1,), generator=self.gen)))
            level = t.float() / self.schedule.n_steps
            pred = self.model(xt, state, field_ids, noise_level=level, semantic_type=semantic)
            loss = diffusion_x0_loss(pred, x0, presence, weight[:, None, :], (~cond).float())
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
        if self.config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
        self.optimizer.step()
        return {"loss": float(loss.detach())}

    @torch.no_grad()
    def sample(
        self,
        values: torch.Tensor,
        cond_mask: torch.Tensor,
        n_samples: int = 1,
        seed: int = 0,
        field_ids: torch.Tensor | None = None,
        semantic_type: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """DDIM (eta = 0) sampling of the non-conditioned positions.

        ``values``/``cond_mask`` are ``(B, T, n)``; returns ``(n_samples, B, T, n)`` where
        conditioned positions equal ``values``. ``seed`` fixes the initial noise; ``semantic_type``
        ``(B, n, SEMANTIC_TYPE_DIM)`` as in training.
        """
        self.model.eval()
        gen = torch.Generator().manual_seed(seed)
        cond = cond_mask.bool().unsqueeze(0).expand(n_samples, *values.shape).reshape(-1, *values.shape[1:])
        v = values.unsqueeze(0).expand(n_samples, *values.shape).reshape(-1, *values.shape[1:])
        scale = self.noise_scale if field_ids is None else self.noise_scale[field_ids]
        x = torch.where(cond, v, scale * torch.randn(v.shape, generator=gen))
        state = torch.where(cond, OBSERVED, NOISY)
        if semantic_type is not None:
            semantic_type = semantic_type.repeat(n_samples, 1, 1)
        times = torch.linspace(self.schedule.n_steps, 0, self.config.sample_steps + 1).round().long()
        for t, t_prev in zip(times[:-1].tolist(), times[1:].tolist(), strict=True):
            tt = torch.full((x.shape[0],), t)
            level = tt.float() / self.schedule.n_steps
            x0_hat = self.model(x, state, field_ids, noise_level=level, semantic_type=semantic_type)
            ab, ab_prev = self.schedule.alpha_bar[t], self.schedule.alpha_bar[t_prev]
            eps_hat = (x - ab.sqrt() * x0_hat) / ((1 - ab).sqrt() * scale).clamp_min(1e-8)
            x = ab_prev.sqrt() * x0_hat + (1 - ab_prev).sqrt() * scale * eps_hat
            x = torch.where(cond, v, x)  # re-inject the conditioning every step
        return x.view(n_samples, *values.shape)
