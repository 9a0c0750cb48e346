"""The faster paths give exactly the numbers of the straightforward ones they replace."""

import pytest
import torch
from torch import optim

from wmverse.leworld import Phase2Trainer, Phase3Trainer
from wmverse.leworld.memory import _rows


def _batch(lw, system, n, seed=0):
    ds = lw.dataset(system, n, seed=seed)
    return ds, ds.batch(torch.arange(n))


def _regions(b):
    return b["relevant_starts"], b["relevant_ends"]


@pytest.mark.parametrize("read_mode", ["slm", "zero", "oracle"])
@pytest.mark.parametrize("n", [16, 7])
def test_batched_loss_without_info_equals_the_step_loop(lw, read_mode, n):
    """Phase 3's branch without info: all steps in one batch == multi_step_forward's loop, bit for bit."""
    system = lw.system(read_mode=read_mode)
    torch.nn.init.normal_(system.info_to_slm.weight, std=1.0)  # the info request matters elsewhere
    _, b = _batch(lw, system, n)
    with torch.no_grad():
        loop = system.multi_step_forward(
            b["states"], b["characteristics"], regions=_regions(b), use_info=False
        )["next_state_loss"]
        batched = system.next_state_loss_without_info(b["states"], b["characteristics"], regions=_regions(b))
        with_info = system.multi_step_forward(b["states"], b["characteristics"], regions=_regions(b))
    assert torch.equal(batched, loop)
    if read_mode == "slm" and n == 16:  # here the info request moves some reads: the branches differ
        assert not torch.equal(batched, with_info["next_state_loss"])
    with pytest.raises(ValueError, match="states must be"):
        system.next_state_loss_without_info(b["states"][:, :1], b["characteristics"])


def test_phase3_paired_losses_match_the_two_full_branches(lw):
    system = lw.system()
    torch.nn.init.normal_(system.info_to_slm.weight, std=1.0)
    ds, b = _batch(lw, system, 16)
    parts = Phase3Trainer(system, lw.train_config(), ds).paired_losses(b)
    with torch.no_grad():
        without = system.multi_step_forward(
            b["states"], b["characteristics"], regions=_regions(b), use_info=False
        )["next_state_loss"]
        with_info = system.multi_step_forward(b["states"], b["characteristics"], regions=_regions(b))
    assert torch.equal(parts["loss_without_info"], without)
    assert torch.equal(parts["loss_with_info"].detach(), with_info["next_state_loss"])
    assert torch.equal(parts["improvement"], without - with_info["next_state_loss"])


def test_foreach_adamw_steps_like_the_per_tensor_one(lw):
    """The trainers' AdamW runs the multi-tensor (foreach) kernels: same parameters as the per-tensor loop."""
    cfg = lw.train_config()

    def run(foreach: bool):
        system = lw.system()
        ds = lw.dataset(system, 32)
        trainer = Phase2Trainer(system, cfg, ds)
        if not foreach:
            trainer.optimizer = optim.AdamW(
                system.parameters(), lr=cfg.phase2_lr, weight_decay=cfg.weight_decay, foreach=False
            )
        history = [trainer.train_epoch() for _ in range(2)]
        return history, system.state_dict()

    (h_fast, s_fast), (h_ref, s_ref) = run(True), run(False)
    assert h_fast == h_ref
    assert all(torch.equal(s_fast[k], s_ref[k]) for k in s_ref)


def test_addresses_and_shared_slm_input_match_one_step_at_a_time(lw):
    system = lw.system()
    _, b = _batch(lw, system, 8)
    states, chars = b["states"], b["characteristics"]
    with torch.no_grad():
        out = system.multi_step_forward(states, chars)
        info = None
        for t in range(states.shape[1] - 1):
            past, current = states[:, max(0, t - 1)], states[:, t]
            mod = None if info is None else system.info_to_slm(info).view(-1, 3, 2, system.slm_config.d_model)
            step = system(past, current, chars, info_query_prev=info)
            for i, slm in enumerate(system.slms):
                alone = slm(past, current, chars, None if mod is None else mod[:, i])  # the module call
                assert torch.equal(out["addresses"][:, t, i, 0], alone["start_addr"])
                assert torch.equal(out["addresses"][:, t, i, 1], alone["end_addr"])
                assert torch.equal(step["slm_outputs"][i]["hidden"], alone["hidden"])
            info = step["info_query"]


def test_index_select_rows_equal_advanced_indexing():
    table = torch.randn(17, 5)
    index = torch.randint(0, 17, (3, 4, 2))
    assert torch.equal(_rows(table, index), table[index])
    assert _rows(table, index[:0]).shape == (0, 4, 2, 5)
