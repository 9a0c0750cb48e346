"""LeWorldSystem: SLMs -> memory reads -> BLM -> next state, with the info-request loop.

One step (``forward``): the info request of the previous step modulates every SLM
(FiLM through ``info_to_slm``); each SLM picks a range; the memory is read (one batched
straight-through read for all SLMs); the BLM routes over the reads and predicts the
next state and the next info request.

``read_mode`` selects where reads come from, which is how the Evaluator's baselines
share this exact architecture:
- ``"slm"``: the SLMs' addresses (LeWorld itself);
- ``"zero"``: reads zeroed (the memory-free baseline);
- ``"oracle"``: the true relevant regions passed as ``regions`` (the oracle baseline).
"""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import losses as L
from .blm import BigLeWorldModel
from .config import BLMConfig, MemoryConfig, SLMConfig
from .memory import ArtificialMemory
from .slm import SmallLeWorldModel

READ_MODES = ("slm", "zero", "oracle")
#: default weights of the auxiliary losses (phases 2 and 3 set them from TrainingConfig)
DEFAULT_LOSS_WEIGHTS = {
    "balance": 0.01,
    "diversity": 0.001,
    "entropy": 0.01,
    "sparsity": 0.0,
    "load_balance": 0.0,
}


class LeWorldSystem(nn.Module):
    """The full LeWorld model; owns its random generator through ``seed``."""

    def __init__(
        self,
        memory_config: MemoryConfig | None = None,
        slm_config: SLMConfig | None = None,
        blm_config: BLMConfig | None = None,
        *,
        read_mode: str = "slm",
        loss_weights: dict[str, float] | None = None,
        seed: int = 0,
        use_info: bool = True,
    ) -> None:
        super().__init__()
        mc, sc, bc = memory_config or MemoryConfig(), slm_config or SLMConfig(), blm_config or BLMConfig()
        if sc.state_dim != bc.state_dim:
            raise ValueError(
                f"mismatched dimensions: SLM state_dim {sc.state_dim} != BLM state_dim {bc.state_dim}"
            )
        if sc.info_dim != bc.info_dim:
            raise ValueError(
                f"mismatched dimensions: SLM info_dim {sc.info_dim} != BLM info_dim {bc.info_dim}"
            )
        if read_mode not in READ_MODES:
            raise ValueError(f"read_mode must be one of {READ_MODES}, got {read_mode!r}")
        self.memory_config, self.slm_config, self.blm_config = mc, sc, bc
        self.read_mode = read_mode
        #: whether sequences run the info-request loop by default (``multi_step_forward``)
        self.use_info = bool(use_info)
        self.loss_weights = {**DEFAULT_LOSS_WEIGHTS, **(loss_weights or {})}
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.memory = ArtificialMemory(mc)
            self.slms = nn.ModuleList(SmallLeWorldModel(sc, mc) for _ in range(bc.n_slms))
            self.blm = BigLeWorldModel(bc, sc.d_model, mc.encoder_dim)
            self.info_to_slm = nn.Linear(bc.info_dim, bc.n_slms * 2 * sc.d_model)
            nn.init.normal_(self.info_to_slm.weight, std=0.01)
            nn.init.zeros_(self.info_to_slm.bias)

    @property
    def n_slms(self) -> int:
        return self.blm_config.n_slms

    # ------------------------------------------------------------------ reads
    def _reads(
        self, slm_outputs: list[dict[str, Tensor]], regions: tuple[Tensor, Tensor] | None
    ) -> list[Tensor]:
        n, batch = self.n_slms, slm_outputs[0]["hidden"].shape[0]
        if self.read_mode == "zero":
            zero = slm_outputs[0]["hidden"].new_zeros(batch, self.memory_config.encoder_dim)
            return [zero] * n
        if self.read_mode == "oracle":
            if regions is None:
                raise ValueError("read_mode 'oracle' needs regions=(relevant_starts, relevant_ends)")
            starts, ends = regions
            k = min(n, starts.shape[1])
            pad = starts.new_zeros(batch, n - k)
            encoded = self.memory.read(
                torch.cat([starts[:, :k], pad], 1), torch.cat([ends[:, :k], pad], 1)
            ).encoded
            return list(encoded.unbind(1))

        def stack(key: str) -> Tensor:
            return torch.stack([o[key] for o in slm_outputs], dim=1)

        read = self.memory.read_straight_through(
            stack("start_high"),
            stack("start_low"),
            stack("range_len"),
            F.softmax(stack("start_logits_high"), -1),
            F.softmax(stack("start_logits_low"), -1),
            F.softmax(stack("range_logits"), -1),
        )
        return list(read.encoded.unbind(1))

    # ------------------------------------------------------------------ one step
    def forward(
        self,
        past_state: Tensor,
        current_state: Tensor,
        characteristics: Tensor,
        next_state: Tensor | None = None,
        info_query_prev: Tensor | None = None,
        regions: tuple[Tensor, Tensor] | None = None,
    ) -> dict:
        """One step. Returns ``next_state``, ``info_query``, ``mask``, ``router_probs``,
        ``slm_outputs``, ``reads`` and ``losses`` (empty unless ``next_state`` is given;
        otherwise ``next_state_loss``, ``balance_loss``, ``diversity_loss``,
        ``entropy_loss``, ``sparsity_loss``, ``load_balance_loss``, ``total``)."""
        if past_state.dim() != 2 or current_state.shape != past_state.shape:
            raise ValueError(f"states must be (B, state_dim) of equal shape, got {tuple(past_state.shape)}")
        modulation = None
        if info_query_prev is not None:
            modulation = self.info_to_slm(info_query_prev).view(-1, self.n_slms, 2, self.slm_config.d_model)
        x = self.slms[0].trunk_input(past_state, current_state, characteristics)  # shared by every SLM
        slm_outputs = [
            slm.from_input(x, None if modulation is None else modulation[:, i])
            for i, slm in enumerate(self.slms)
        ]
        reads = self._reads(slm_outputs, regions)
        out = self.blm(past_state, current_state, slm_outputs, reads)
        out.update(slm_outputs=slm_outputs, reads=reads, losses={})
        if next_state is not None:
            out["losses"] = self.step_losses(out, next_state)
        return out

    def step_losses(self, out: dict, next_state: Tensor) -> dict[str, Tensor]:
        """The per-step losses and their weighted total."""
        w = self.loss_weights
        p_high = torch.stack([F.softmax(o["start_logits_high"], -1) for o in out["slm_outputs"]], 1)
        p_low = torch.stack([F.softmax(o["start_logits_low"], -1) for o in out["slm_outputs"]], 1)
        parts = {
            "next_state_loss": L.next_state_loss(out["next_state"], next_state),
            "balance_loss": L.balance_loss(out["router_probs"]),
            "diversity_loss": L.diversity_loss(p_high, p_low),
            "entropy_loss": L.routing_entropy_loss(out["router_probs"]),
            "sparsity_loss": L.sparsity_loss(out["router_probs"]),
            "load_balance_loss": L.load_balance_loss(out["mask"], out["router_probs"]),
        }
        parts["total"] = (
            parts["next_state_loss"]
            + w["balance"] * parts["balance_loss"]
            + w["diversity"] * parts["diversity_loss"]
            + w["entropy"] * parts["entropy_loss"]
        )
        if w["sparsity"]:  # skipped at 0: the reference's total, bit for bit
            parts["total"] = parts["total"] + w["sparsity"] * parts["sparsity_loss"]
        if w["load_balance"]:
            parts["total"] = parts["total"] + w["load_balance"] * parts["load_balance_loss"]
        return parts

    # ------------------------------------------------------------------ sequences
    def multi_step_forward(
        self,
        states: Tensor,
        characteristics: Tensor,
        n_steps: int | None = None,
        *,
        regions: tuple[Tensor, Tensor] | None = None,
        use_info: bool | None = None,
        open_loop: bool = False,
    ) -> dict:
        """Run over a sequence ``states`` (B, T, state_dim).

        Predicts ``states[:, t + 1]`` for ``t < n_steps`` (default ``T - 1``). Teacher-forced
        unless ``open_loop`` (then from ``t = 1`` on the model's own predictions are its
        past and current states). ``use_info=False`` cuts the info-request loop (default:
        ``self.use_info``).
        Returns ``total_loss`` (mean over steps of the weighted total), the mean of each
        loss part, ``predictions`` (B, S, state_dim), ``masks`` and ``router_probs``
        (B, S, n_slms), ``info_queries`` (B, S, info_dim), ``addresses`` (B, S, n, 2) and the
        SLMs' ``confidences`` (B, S, n).
        """
        if states.dim() != 3 or states.shape[1] < 2:
            raise ValueError(f"states must be (B, T >= 2, state_dim), got {tuple(states.shape)}")
        steps = states.shape[1] - 1 if n_steps is None else min(int(n_steps), states.shape[1] - 1)
        if steps < 1:
            raise ValueError(f"n_steps must be >= 1, got {n_steps}")
        if use_info is None:
            use_info = self.use_info
        info = None
        preds, masks, probs, infos, addrs, confs = [], [], [], [], [], []  # addrs: n starts then n ends
        sums: dict[str, Tensor] = {}
        past, current = states[:, 0], states[:, 0]
        for t in range(steps):
            if not open_loop or t == 0:
                past, current = states[:, max(0, t - 1)], states[:, t]
            out = self(past, current, characteristics, states[:, t + 1], info if use_info else None, regions)
            for key, value in out["losses"].items():
                sums[key] = sums[key] + value if key in sums else value
            info = out["info_query"]
            preds.append(out["next_state"])
            masks.append(out["mask"])
            probs.append(out["router_probs"])
            infos.append(info)
            confs.append(torch.stack([o["confidence"] for o in out["slm_outputs"]], -1))
            addrs.append(
                torch.stack([o[k] for k in ("start_addr", "end_addr") for o in out["slm_outputs"]], -1)
            )
            if open_loop:
                past, current = current, out["next_state"]
        result = {key: value / steps for key, value in sums.items()}
        result["total_loss"] = result.pop("total")
        result.update(
            predictions=torch.stack(preds, 1),
            masks=torch.stack(masks, 1),
            router_probs=torch.stack(probs, 1),
            info_queries=torch.stack(infos, 1),
            addresses=torch.stack(addrs, 1).unflatten(-1, (2, self.n_slms)).transpose(-1, -2),
            confidences=torch.stack(confs, 1),
        )
        return result

    def next_state_loss_without_info(
        self, states: Tensor, characteristics: Tensor, *, regions: tuple[Tensor, Tensor] | None = None
    ) -> Tensor:
        """``multi_step_forward(states, characteristics, regions=regions, use_info=False)["next_state_loss"]``
        in one pass over all the steps.

        Without the info request a teacher-forced step depends only on the data, so the steps
        are stacked along the batch (step-major rows) and run as one batch; the per-step MSEs
        are then taken from each step's rows and summed in step order, as ``multi_step_forward``
        does. Every operation of a step treats rows independently, so on CPU the result equals
        the loop's bit for bit (the tests check it). Meant for values only: phase 3's branch
        without info runs it under ``no_grad``.
        """
        if states.dim() != 3 or states.shape[1] < 2:
            raise ValueError(f"states must be (B, T >= 2, state_dim), got {tuple(states.shape)}")
        b, t, d = states.shape
        steps = t - 1
        past_idx = torch.clamp(torch.arange(steps, device=states.device) - 1, min=0)

        def by_step(x: Tensor) -> Tensor:  # (B, S, ...) -> (S * B, ...), step-major
            return x.transpose(0, 1).reshape(steps * b, *x.shape[2:])

        rows = None if regions is None else (regions[0].repeat(steps, 1), regions[1].repeat(steps, 1))
        out = self(
            by_step(states[:, past_idx]),
            by_step(states[:, :-1]),
            characteristics.repeat(steps, 1),
            regions=rows,
        )
        predictions = out["next_state"].view(steps, b, d)
        total = L.next_state_loss(predictions[0], states[:, 1])
        for k in range(1, steps):
            total = total + L.next_state_loss(predictions[k], states[:, k + 1])
        return total / steps

    # ------------------------------------------------------------------ checkpoints
    def checkpoint_state(self) -> dict[str, Any]:
        """A copy of everything training changes: ``module`` (``state_dict()``: the weights, the
        memory bits and the router's annealed temperature), ``use_info`` and ``loss_weights``
        (set by the phase trainers, outside the ``state_dict``). Plain values and tensors only.

        (Not an override of ``state_dict``: torch recurses through that one with its own contract.)
        """
        return {
            "module": copy.deepcopy(self.state_dict()),
            "use_info": self.use_info,
            "loss_weights": dict(self.loss_weights),
        }

    def restore_checkpoint_state(self, state: dict[str, Any]) -> None:
        """Put back what :meth:`checkpoint_state` captured (same architecture, else ``RuntimeError``)."""
        self.load_state_dict(state["module"])
        self.use_info = bool(state["use_info"])
        self.loss_weights = dict(state["loss_weights"])


def count_params(module: nn.Module, name: str | None = None, *, verbose: bool = True) -> int:
    """Number of trainable parameters; prints a line when ``verbose`` and ``name`` is given."""
    total = sum(p.numel() for p in module.parameters() if p.requires_grad)
    if verbose and name:
        print(f"{name}: {total:,} parameters")
    return total
