import io
import json
import re

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from wmverse.debate import (
    AgentPool,
    ConsoleLogger,
    JSONLogger,
    LexicalJudge,
    MultiLogger,
    TensorBoardLogger,
    TrainConfig,
    Trainer,
    WandbLogger,
)


def _train(sample, labels, logger, epochs=3):
    cfg = TrainConfig(max_epochs=epochs, convergence_threshold=0.0, judge="lexical")
    return Trainer(cfg, judge=LexicalJudge()).train(sample, AgentPool(), logger=logger, labels=labels)


def test_console_lines_have_the_seed_shape(sample, labels):
    out = io.StringIO()
    _train(sample, labels, ConsoleLogger(out), epochs=2)
    lines = out.getvalue().splitlines()
    assert lines[0] == "EPOCH 1 (lr=0.150)"
    assert re.fullmatch(r"  Winner: [A-Z]+ \(score: -?\d+\.\d{3}\)", lines[1])
    assert re.fullmatch(r"  Allocations: ([a-z]+=\d+\.\d%, ){6}[a-z]+=\d+\.\d%", lines[2])
    assert re.fullmatch(r"  Validation: \d+\.\d% accuracy \(p=[0-9.e-]+\)\**", lines[3])
    assert lines[4] == "EPOCH 2 (lr=0.135)"
    shares = [float(x) for x in re.findall(r"=(\d+\.\d)%", lines[2])]
    assert shares == sorted(shares, reverse=True)


def test_verbose_without_logger_prints_console_and_progress(sample, capsys):
    Trainer(TrainConfig(max_epochs=2, judge="lexical"), judge=LexicalJudge()).train(
        sample, AgentPool(), verbose=True
    )
    out = capsys.readouterr().out
    assert "EPOCH 2 (lr=0.135)" in out and "agreement" in out
    assert re.search(r"\[epoch 2/2\] \d+\.\d\ds delta=\d\.\d{4} calm=\d/3 stakes=\d+", out)


def test_json_log_has_config_and_epochs(sample, labels, tmp_path):
    path = tmp_path / "log" / "training_log.json"
    history, result = _train(sample, labels, JSONLogger(path))
    log = json.loads(path.read_text())
    assert log["config"]["initial_lr"] == 0.15 and log["config"]["judge"] == "lexical"
    assert log["data"] == {"n_train": 112, "n_validation": 28}
    assert [e["epoch"] for e in log["epochs"]] == [1, 2, 3]
    first = log["epochs"][0]
    assert first["winner"] == history.metrics[0].winner.value
    assert set(first["scores"]) == set(first["allocations"]) == {t.value for t in result.scores}
    assert first["validation"]["metric"] == "accuracy" and first["validation"]["n"] == 28
    assert log["summary"]["epochs_run"] == 3


def test_tensorboard_event_files_read_back(sample, labels, tmp_path):
    _train(sample, labels, TensorBoardLogger(tmp_path / "runs"))
    acc = EventAccumulator(str(tmp_path / "runs"))
    acc.Reload()
    tags = acc.Tags()["scalars"]
    assert {"allocations/survival", "scores/comfort", "train/learning_rate", "validation/accuracy"} <= set(
        tags
    )
    lr = acc.Scalars("train/learning_rate")
    assert [e.step for e in lr] == [1, 2, 3]
    assert lr[1].value == __import__("pytest").approx(0.135, abs=1e-6)


def test_wandb_runs_offline_only(sample, labels, tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "online")  # the logger must force offline anyway
    monkeypatch.setenv("WANDB_API_KEY", "")
    logger = WandbLogger(project="wmverse-test", run_name="mara", dir=tmp_path)
    json_logger = JSONLogger(tmp_path / "log.json")
    _train(sample, labels, MultiLogger(logger, json_logger), epochs=2)
    runs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 1
    data = list(runs[0].glob("run-*.wandb"))
    assert data and data[0].stat().st_size > 0
    assert b"allocations/survival" in data[0].read_bytes()
    assert json.loads((tmp_path / "log.json").read_text())["summary"]["epochs_run"] == 2
