import json

import pytest

from wmverse.debate import (
    AgentPool,
    LexicalJudge,
    Tendency,
    TrainConfig,
    Trainer,
    WorldModel,
    create_world_model,
)


def test_create_world_model_has_seven_default_agents(sample_path):
    model = create_world_model("Mara", sample_path, judge="lexical")
    assert len(model.observations) == 140
    assert [a.tendency for a in model.agents.all()] == list(Tendency)
    assert model.agents[Tendency.CONNECTION].allocation == 0.20
    assert model.claims == []
    # untrained: predictions come from the tendency anchors
    assert len(model.predict(["She checked every smoke alarm in the flat."])) == 1


def test_predict_accepts_observations_and_strings_in_one_batch(sample):
    cfg = TrainConfig(max_epochs=2, judge="lexical")
    model = WorldModel("Mara", sample, judge=LexicalJudge()).configure(cfg)
    Trainer(cfg, judge=model.judge).train(sample, model.agents)
    from_obs = model.predict(list(sample)[:10])
    from_text = model.predict(sample.texts[:10])
    assert from_obs == from_text and all(isinstance(t, Tendency) for t in from_obs)
    assert model.predict([]) == []
    with pytest.raises(TypeError):
        model.predict([42])


def test_save_load_round_trip_predicts_identically(sample, tmp_path, embedding_judge):
    cfg = TrainConfig(max_epochs=2, prior_weight=0.01)
    model = WorldModel("Mara", sample, AgentPool(), judge=embedding_judge).configure(cfg)
    Trainer(cfg, judge=model.judge).train(sample, model.agents)
    path = tmp_path / "mara.json"
    model.save(path)
    saved = json.loads(path.read_text())
    assert saved["judge"]["name"] == "embedding" and len(saved["agents"]) == 7
    assert saved["pooled"] and any(a["offset"] != 0 for a in saved["agents"])
    again = WorldModel.load(path, judge=model.judge)
    assert again.name == "Mara" and again.observations.ids == sample.ids
    assert again.allocations() == model.allocations()
    assert again.claims == model.claims
    assert again.predict(sample.texts) == model.predict(sample.texts)
    rebuilt = WorldModel.load(path)  # judge rebuilt from the saved settings
    assert rebuilt.judge.name == "embedding" and rebuilt.judge.anchor_weight == embedding_judge.anchor_weight
    assert rebuilt.judge.descriptions == "exemplars" and rebuilt.pooled
    assert rebuilt.predict(sample.texts) == model.predict(sample.texts)


def test_load_rejects_other_files(tmp_path, sample_path):
    with pytest.raises(ValueError, match="not a saved debate world model"):
        WorldModel.load(sample_path)
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(ValueError, match="cannot read"):
        WorldModel.load(bad)


def test_lexical_model_round_trip_keeps_the_fitted_vocabulary(sample, tmp_path):
    cfg = TrainConfig(max_epochs=2, judge="lexical")
    model = WorldModel("Mara", sample, judge=LexicalJudge()).configure(cfg)
    Trainer(cfg, judge=model.judge).train(sample, model.agents)
    model.save(tmp_path / "lex.json")
    again = WorldModel.load(tmp_path / "lex.json")
    assert again.judge.fitted
    assert again.predict(sample.texts) == model.predict(sample.texts)
