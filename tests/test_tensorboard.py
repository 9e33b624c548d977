"""TensorBoard: a tiny pretraining run with common.tensorboard_logdir writes the criterion's
per-language curves (loss, accuracy, code perplexity) for every language."""
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import PRETRAINING_LANGUAGES
from _pretraining_runs import train_tiny


def read_events(folder: Path) -> EventAccumulator:
    accumulator = EventAccumulator(str(folder))
    accumulator.Reload()
    return accumulator


@pytest.fixture(scope="module")
def logdir(pretraining_data, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("tensorboard")
    logdir = run_dir / "tb"
    run = train_tiny(pretraining_data, run_dir, 2, f"common.tensorboard_logdir={logdir}")
    assert "Please install tensorboardX" not in run.log and "tensorboard not found" not in run.log
    return logdir


@pytest.mark.parametrize("tag", ["train", "valid"])
def test_event_files_hold_every_language_curve(logdir, tag):
    events = read_events(logdir / tag)
    tags = set(events.Tags()["scalars"])
    assert {"loss", "accuracy", "code_perplexity"} <= tags
    for lang in PRETRAINING_LANGUAGES:
        assert {f"loss_{lang}", f"accuracy_{lang}", f"code_ppl_{lang}"} <= tags, sorted(tags)
        [point] = events.Scalars(f"loss_{lang}")  # one value per epoch (train) or validation
        assert point.step == 2 and 0 < point.value < 20


def test_inner_curves_have_a_point_per_update(logdir):
    events = read_events(logdir / "train_inner")
    assert [point.step for point in events.Scalars("loss")] == [1, 2]
