from pathlib import Path

import pytest

from wmverse.debate import TrainConfig
from worlds.training.src.config import DEFAULT_JUDGE, WORLD_MAX_EPOCHS, TrainingWorldConfig


def test_defaults_are_the_debate_trainconfig_defaults_with_room_to_converge():
    cfg = TrainingWorldConfig.from_env({})
    ref = TrainConfig(judge=DEFAULT_JUDGE, max_epochs=WORLD_MAX_EPOCHS)
    assert cfg.train == ref
    assert cfg.train == TrainingWorldConfig().train  # from_env({}) and the constructor agree
    assert cfg.significance == 0.01
    assert cfg.stats_db_path.name == "world_stats.db" and cfg.dashboard_path.name == "dashboard.html"


def test_environment_sets_seed_epochs_judge_out_and_any_train_field(tmp_path):
    cfg = TrainingWorldConfig.from_env(
        {
            "WMVERSE_SEED": "7",
            "WMVERSE_EPOCHS": "3",
            "WMVERSE_JUDGE": "Lexical",
            "WMVERSE_OUT_DIR": str(tmp_path),
            "WMVERSE_TRAIN_CONVERGENCE_THRESHOLD": "0.05",
            "WMVERSE_TRAIN_PATIENCE": "1",
            "WMVERSE_LABELS": "",
        }
    )
    assert (cfg.seed, cfg.train.max_epochs, cfg.train.judge) == (7, 3, "lexical")
    assert cfg.train.min_epochs == 2  # clipped to max_epochs only when needed
    assert cfg.train.convergence_threshold == 0.05 and cfg.train.patience == 1
    assert cfg.out_dir == Path(tmp_path) and cfg.labels_path is None
    assert TrainingWorldConfig.from_env({"WMVERSE_EPOCHS": "1"}).train.min_epochs == 1


@pytest.mark.parametrize(
    "env, match",
    [
        ({"WMVERSE_SEED": "x"}, "WMVERSE_SEED must be int"),
        ({"WMVERSE_TRAIN_LR_DECAY": "fast"}, "WMVERSE_TRAIN_LR_DECAY must be float"),
        ({"WMVERSE_EPOCHS": "0"}, "max_epochs must be >= 1"),
        ({"WMVERSE_JUDGE": "llm"}, "judge must be one of"),
    ],
)
def test_bad_settings_fail_with_the_variable_named(env, match):
    with pytest.raises(ValueError, match=match):
        TrainingWorldConfig.from_env(env)


def test_significance_and_split_are_validated():
    with pytest.raises(ValueError, match="significance"):
        TrainingWorldConfig(significance=1.5)
    with pytest.raises(ValueError, match="held-out split"):
        TrainingWorldConfig(train=TrainConfig(validation_split=0.0))
