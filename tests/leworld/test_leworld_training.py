"""The three phases lower their own losses; paired branches; resume; determinism."""

import pytest
import torch

from wmverse.leworld import Phase1Trainer, Phase2Trainer, Phase3Trainer, StateTransitionDataset


def full_batch(ds):
    return ds.batch(torch.arange(len(ds)))


def seq_loss(system, batch, key="total_loss", use_info=True):
    with torch.no_grad():
        out = system.multi_step_forward(
            batch["states"], batch["characteristics"],
            regions=(batch["relevant_starts"], batch["relevant_ends"]), use_info=use_info,
        )  # fmt: skip
    return float(out[key])


def test_phase1_lowers_slm_and_blm_losses(lw):
    system = lw.system()
    ds = lw.dataset(system, 32)
    trainer = Phase1Trainer(system, lw.train_config(), ds)
    b = full_batch(ds)

    def losses():
        with torch.no_grad():
            return float(trainer.slm_loss(b, torch.Generator().manual_seed(5))), float(trainer.blm_loss(b))

    slm0, blm0 = losses()
    for _ in range(4):
        metrics = trainer.train_epoch()
    slm1, blm1 = losses()
    assert slm1 < 0.9 * slm0 and blm1 < blm0
    assert set(metrics) >= {"slm_loss", "blm_loss", "epoch"} and metrics["epoch"] == 4


def test_phase2_lowers_its_loss_and_anneals(lw):
    system = lw.system()
    ds = lw.dataset(system, 32)
    cfg = lw.train_config(temp_anneal_rate=0.05, temp_min=0.2)
    trainer = Phase2Trainer(system, cfg, ds)
    before = seq_loss(system, full_batch(ds))
    temps = [trainer.train_epoch()["temperature"] for _ in range(3)]
    assert seq_loss(system, full_batch(ds)) < before
    assert temps[0] > temps[1] > temps[2] >= 0.2
    assert float(system.blm.router.temperature) == pytest.approx(
        max(0.2, torch.exp(torch.tensor(-0.05 * 6)).item())
    )


def test_phase3_lowers_its_loss(lw):
    system = lw.system()
    ds = lw.dataset(system, 32)
    trainer = Phase3Trainer(system, lw.train_config(phase3_lr=1e-2), ds)
    before = seq_loss(system, full_batch(ds), "next_state_loss")
    for _ in range(3):
        metrics = trainer.train_epoch()
    assert seq_loss(system, full_batch(ds), "next_state_loss") < before
    assert set(metrics) >= {"loss_with_info", "loss_without_info", "improvement", "total_loss"}


def test_paired_branch_improvement_and_objective(lw):
    system = lw.system()
    torch.nn.init.normal_(system.info_to_slm.weight, std=1.0)  # make the info request matter
    ds = lw.dataset(system, 16)
    cfg = lw.train_config(lambda_info_util=0.5)
    trainer = Phase3Trainer(system, cfg, ds)
    b = full_batch(ds)
    parts = trainer.paired_losses(b)
    with_info = seq_loss(system, b, "next_state_loss", use_info=True)
    without = seq_loss(system, b, "next_state_loss", use_info=False)
    assert with_info != pytest.approx(without, rel=1e-6)  # the branches differ
    assert float(parts["improvement"].detach()) == pytest.approx(without - with_info, rel=1e-4, abs=1e-7)
    total_with = seq_loss(system, b, "total_loss")
    assert float(parts["objective"].detach()) == pytest.approx(
        total_with - 0.5 * (without - with_info), rel=1e-5
    )
    assert parts["improvement"].requires_grad  # the reward trains the request (through branch A only)


def test_trainers_resume_epoch_by_epoch(lw):
    cfg = lw.train_config()

    def run(split: bool):
        system = lw.system()
        ds = lw.dataset(system, 16)
        trainer = Phase2Trainer(system, cfg, ds)
        trainer.train_epoch()
        if split:
            state = trainer.state_dict()
            trainer = Phase2Trainer(system, cfg, ds)
            trainer.load_state_dict(state)
        trainer.train_epoch()
        return system.state_dict()

    a, b = run(False), run(True)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_training_is_deterministic_with_a_seed(lw):
    def run(seed):
        system = lw.system(seed=seed)
        ds = lw.dataset(system, 16, seed=seed)
        cfg = lw.train_config(seed=seed)
        out = [Phase1Trainer(system, cfg, ds).train_epoch(), Phase2Trainer(system, cfg, ds).train_epoch()]
        out.append(Phase3Trainer(system, cfg, ds).train_epoch())
        return out

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_phase1_rejects_more_slms_than_ranges(lw):
    from wmverse.leworld import BLMConfig, LeWorldSystem

    system = LeWorldSystem(lw.MEM, lw.SLM, BLMConfig(state_dim=8, d_model=16, n_slms=4, info_dim=4))
    ds = StateTransitionDataset(8, 5, 8, 32, system.memory, "easy")
    with pytest.raises(ValueError, match="4 SLMs but only 3"):
        Phase1Trainer(system, lw.train_config(), ds).train_epoch()
    with pytest.raises(ValueError, match="needs batches"):
        Phase2Trainer(system, lw.train_config()).train_epoch()


def test_phase1_slms_find_unseen_ranges(lw):
    """The bit-factorised address head decodes addresses it never saw in training."""
    system = lw.system()
    train, held_out = lw.dataset(system, 256, "easy", seed=0), lw.dataset(system, 64, "easy", seed=9)
    trainer = Phase1Trainer(system, lw.train_config(phase1_lr=1e-2), train)
    for _ in range(12):
        for batch in train.batches(32, shuffle=True, generator=trainer.generator):
            trainer.train_slms_step(batch)
    seen = set(train.relevant_starts[:, 0].tolist())
    unseen = torch.tensor([s not in seen for s in held_out.relevant_starts[:, 0].tolist()])
    with torch.no_grad():
        out = system.slms[0](held_out.states[:, 0], held_out.states[:, 1], held_out.characteristics)
    hit = out["start_addr"] == held_out.relevant_starts[:, 0]
    assert unseen.sum() > 30 and hit[unseen].float().mean() > 0.8  # chance: 1 in 1024
