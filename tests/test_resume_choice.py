"""Which checkpoint a relaunched run resumes from (xlsr_plugin/tasks/_resume.py), on save_dir
folders as a kill leaves them: a truncated or empty checkpoint_last.pt, a newer interval
checkpoint than checkpoint_last.pt, nothing that loads, a file the loading policy refuses."""
import logging
import os

import pytest
import torch

from _crafted_checkpoints import Command
from xlsr_plugin.checkpoint_loading import UntrustedCheckpoint
from xlsr_plugin.tasks._resume import ResumeError, prepare_resume


def save(folder, name, updates):
    path = os.path.join(folder, name)
    torch.save({"model": {"w": torch.full((1000,), float(updates))},
                "optimizer_history": [{"num_updates": updates}]}, path)
    return path


def updates_of(path):
    return torch.load(path, weights_only=True)["optimizer_history"][-1]["num_updates"]


def truncate(path, size):
    with open(path, "rb") as f:
        head = f.read(size)
    with open(path, "wb") as f:
        f.write(head)
    return head


@pytest.mark.parametrize("size", [0, 1500], ids=["zero_bytes", "truncated"])
def test_broken_last_is_kept_aside_and_the_newest_that_loads_replaces_it(tmp_path, size, caplog):
    save(tmp_path, "checkpoint_1_2.pt", 2)
    save(tmp_path, "checkpoint_1_4.pt", 4)
    last = save(tmp_path, "checkpoint_last.pt", 6)
    head = truncate(last, size)
    with caplog.at_level(logging.INFO):
        chosen = prepare_resume(str(tmp_path))
    assert os.path.basename(chosen.path) == "checkpoint_1_4.pt"
    assert updates_of(last) == 4
    with open(str(last) + ".unreadable", "rb") as f:
        assert f.read() == head  # the evidence, byte for byte
    assert f"{last} does not load" in caplog.text
    assert "resuming from" in caplog.text and "checkpoint_1_4.pt (4 updates)" in caplog.text
    assert "checkpoint_last.pt did not load" in caplog.text


def test_a_newer_interval_checkpoint_wins_over_last(tmp_path, caplog):
    # killed after checkpoint_1_6.pt was renamed into place, before the copy to last began
    save(tmp_path, "checkpoint_last.pt", 4)
    save(tmp_path, "checkpoint_1_6.pt", 6)
    with caplog.at_level(logging.INFO):
        prepare_resume(str(tmp_path))
    assert updates_of(os.path.join(tmp_path, "checkpoint_last.pt")) == 6
    assert "checkpoint_last.pt held 4 updates, checkpoint_1_6.pt 6" in caplog.text
    assert not [n for n in os.listdir(tmp_path) if "unreadable" in n or n.endswith(".tmp")]


def test_last_on_a_tie_and_first_launch_change_nothing(tmp_path):
    assert prepare_resume(str(tmp_path / "absent")) is None
    assert prepare_resume(str(tmp_path)) is None
    torch.save({"model": {}}, os.path.join(tmp_path, "checkpoint_released.pt"))  # no training state
    assert prepare_resume(str(tmp_path)) is None
    save(tmp_path, "checkpoint_best.pt", 4)
    last = save(tmp_path, "checkpoint_last.pt", 4)
    before = os.stat(last).st_mtime_ns
    assert prepare_resume(str(tmp_path)).path == last
    assert os.stat(last).st_mtime_ns == before
    assert "checkpoint_released.pt" in os.listdir(tmp_path)


def test_nothing_loads_stops_naming_the_files(tmp_path):
    truncate(save(tmp_path, "checkpoint_last.pt", 4), 0)
    truncate(save(tmp_path, "checkpoint_best.pt", 2), 700)
    with pytest.raises(ResumeError) as error:
        prepare_resume(str(tmp_path))
    message = str(error.value)
    assert "no checkpoint loads" in message and "checkpoint_last.pt: " in message
    assert "checkpoint_best.pt: " in message and "empty folder" in message
    assert sorted(os.listdir(tmp_path)) == ["checkpoint_best.pt.unreadable", "checkpoint_last.pt.unreadable"]


def test_a_second_unreadable_copy_gets_its_own_name(tmp_path):
    save(tmp_path, "checkpoint_1_2.pt", 2)
    for _ in range(2):
        truncate(save(tmp_path, "checkpoint_last.pt", 4), 10)
        prepare_resume(str(tmp_path))
    assert {"checkpoint_last.pt.unreadable", "checkpoint_last.pt.unreadable1"} <= set(os.listdir(tmp_path))


def test_a_refused_checkpoint_stops_the_run_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    save(tmp_path, "checkpoint_1_2.pt", 2)
    torch.save({"model": {}, "optimizer_history": [{"num_updates": 9, "x": Command(marker)}]},
               os.path.join(tmp_path, "checkpoint_last.pt"))
    with pytest.raises(UntrustedCheckpoint, match="posix.system.*TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1"):
        prepare_resume(str(tmp_path))
    assert not marker.exists()
    assert os.path.exists(os.path.join(tmp_path, "checkpoint_last.pt"))
