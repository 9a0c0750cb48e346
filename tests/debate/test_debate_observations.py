import json
from collections import Counter
from pathlib import Path

import pytest

from wmverse.debate import (
    Observation,
    ObservationFileError,
    ObservationStore,
    Tendency,
    load_labels,
    load_observations,
)

DATA = Path(__file__).resolve().parent / "data"


def test_sample_is_balanced_and_well_formed(sample, labels):
    assert len(sample) >= 140
    assert set(labels) == set(sample.ids)
    counts = Counter(labels.values())
    assert set(counts) == set(Tendency)
    assert all(c == 20 for c in counts.values())
    assert all(len(o.content.encode()) <= 280 for o in sample)
    assert all(o.timestamp and o.source_id for o in sample)
    # the gold label never travels with the observation itself
    assert all("tendency" not in o.metadata for o in sample)


def test_store_access_by_id_and_position(sample):
    first = sample[0]
    assert sample[first.id] is first
    assert first.id in sample
    assert sample.position(first.id) == 0
    assert [o.id for o in sample] == sample.ids
    with pytest.raises(KeyError, match="no observation"):
        sample["does-not-exist"]


def test_split_is_seeded_disjoint_and_complete(sample):
    train, val = sample.split(0.2, seed=3)
    assert len(val) == 28 and len(train) == 112
    assert not set(train.ids) & set(val.ids)
    assert set(train.ids) | set(val.ids) == set(sample.ids)
    again = sample.split(0.2, seed=3)
    assert again[1].ids == val.ids
    assert sample.split(0.2, seed=4)[1].ids != val.ids
    assert len(sample.split(0.0)[1]) == 0
    with pytest.raises(ValueError):
        sample.split(1.0)


def test_plain_list_of_strings():
    store = load_observations(DATA / "plain_list.json")
    assert len(store) == 3
    assert store.ids == ["obs-0001", "obs-0002", "obs-0003"]
    assert store[1].content.startswith("She reads")
    assert store[0].source_id == "plain_list"


def test_round_trip_through_seed_format(sample, tmp_path):
    path = tmp_path / "copy.json"
    sample.save(path)
    again = load_observations(path)
    assert again.ids == sample.ids and again.texts == sample.texts
    assert json.loads(path.read_text())["count"] == len(sample)


def test_invalid_json_names_file_and_position():
    with pytest.raises(ObservationFileError) as err:
        load_observations(DATA / "invalid_syntax.json")
    msg = str(err.value)
    assert "invalid_syntax.json" in msg and "line 2" in msg and "fix the syntax" in msg


def test_bad_entries_are_all_reported_and_nothing_loads():
    with pytest.raises(ObservationFileError) as err:
        load_observations(DATA / "bad_entries.json")
    msg = str(err.value)
    problems = err.value.problems
    assert "bad_entries.json" in msg and "nothing was loaded" in msg
    assert any("'no-content'" in p and "missing field 'content'" in p for p in problems)
    assert any("'empty'" in p and "'content' is empty" in p for p in problems)
    assert any("duplicate id" in p and "observations[0]" in p for p in problems)
    assert any("observations[4]" in p and "'id' must be a non-empty string" in p for p in problems)
    assert any("'bad-time'" in p and "ISO 8601" in p for p in problems)
    assert any("'bad-meta'" in p and "'metadata' must be an object" in p for p in problems)
    assert len(problems) == 6


def _write(tmp_path, data) -> str:
    path = tmp_path / "obs.json"
    path.write_text(json.dumps(data))
    return path


def _entry(**kw):
    base = {"id": "a", "content": "She locked the door.", "source_id": "s", "timestamp": None}
    base.update(kw)
    return base


@pytest.mark.parametrize(
    "data, expected",
    [
        ({"observations": [_entry(content="x" * 3000)]}, "3000 characters (limit 2000)"),
        ({"observations": [_entry(content=5)]}, "'content' must be a string"),
        ({"observations": [_entry(source_id=["s"])]}, "'source_id' must be a string"),
        (
            {"observations": [_entry(embedding=["a"])]},
            "'embedding' must be null or a non-empty list of numbers",
        ),
        ({"observations": [_entry(colour="red")]}, "unknown field 'colour'"),
        ({"count": 3, "observations": [_entry()]}, "'count' is 3 but there are 1"),
        ({"observations": ["just a string"]}, "expected an object"),
        ({"observations": []}, "holds no observations"),
        ({"entries": []}, "'observations' list"),
        (["fine", 3], "a plain list must hold strings only"),
        (["fine", ""], "'content' is empty"),
        (42, "top level must be an object or a list"),
    ],
)
def test_each_kind_of_bad_file_is_explained(tmp_path, data, expected):
    with pytest.raises(ObservationFileError, match="obs.json") as err:
        load_observations(_write(tmp_path, data))
    assert expected in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(ObservationFileError, match="file not found"):
        load_observations(tmp_path / "nope.json")


def test_labels_load_and_bad_labels(labels_path):
    labels = load_labels(labels_path)
    assert all(isinstance(v, Tendency) for v in labels.values())
    with pytest.raises(ObservationFileError, match="freedom") as err:
        load_labels(DATA / "bad_labels.json")
    assert "mara-002" in str(err.value) and "bad_labels.json" in str(err.value)


def test_store_rejects_duplicates_in_code():
    with pytest.raises(ValueError, match="duplicate observation id"):
        ObservationStore([Observation("a", "x"), Observation("a", "y")])
