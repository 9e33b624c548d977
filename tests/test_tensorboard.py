"""TensorBoard: a tiny pretraining run with common.tensorboard_logdir writes the criterion's
per-language curves (loss, accuracy, code perplexity) for every language, and
`xlsr_plugin.analysis.tensorboard_curves` draws them."""
from pathlib import Path

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import PRETRAINING_LANGUAGES
from _pretraining_runs import train_tiny
from xlsr_plugin.analysis import tensorboard_curves


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


def test_curves_figure_has_a_line_per_language_and_metric(logdir, tmp_path):
    """tensorboard_curves draws, in one panel per metric, each language's training curve (from
    train_inner) and validation curve (from valid), with the values of the event files."""
    out = tmp_path / "curves.png"
    tensorboard_curves.main([str(logdir), str(out)])
    assert out.stat().st_size > 10_000  # a PNG with three panels, not an empty canvas
    figure = tensorboard_curves.plot_curves(tensorboard_curves.read_scalars(str(logdir)))
    train, valid = read_events(logdir / "train_inner"), read_events(logdir / "valid")
    assert [ax.get_title() for ax in figure.axes] == ["loss_<lang>", "accuracy_<lang>", "code_ppl_<lang>"]
    for ax, metric in zip(figure.axes, ("loss", "accuracy", "code_ppl")):
        lines = {line.get_label(): line for line in ax.get_lines()}
        assert set(lines) == {f"{lang} {kind}" for lang in PRETRAINING_LANGUAGES
                              for kind in ("train", "valid")}
        for lang in PRETRAINING_LANGUAGES:
            for kind, events in (("train", train), ("valid", valid)):
                points = events.Scalars(f"{metric}_{lang}")
                line = lines[f"{lang} {kind}"]
                assert list(line.get_xdata()) == [p.step for p in points]
                np.testing.assert_array_equal(line.get_ydata(), [p.value for p in points])
    assert [len(lines) for lines in (train.Scalars("loss_es"), valid.Scalars("loss_es"))] == [2, 1]
