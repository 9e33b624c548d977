"""A run killed while fairseq copied its checkpoint to checkpoint_last.pt (left truncated, or
empty) resumes, relaunched with the same command, from the newest checkpoint that loads, and
goes on exactly as an uninterrupted run: same losses from the resumed update on, same weights."""
import os

import pytest

from _pretraining_runs import train_tiny
from _run_outputs import train_losses, weight_differences
from test_finetuning_e2e import finetune, finetuning_data  # noqa: F401

K = 2  # updates before the kill; the runs save every K updates and keep every save


def break_last(save_dir, size):
    """checkpoint_last.pt as a kill during fairseq's copy leaves it: its first `size` bytes."""
    last = os.path.join(save_dir, "checkpoint_last.pt")
    with open(last, "rb") as f:
        head = f.read(size)
    with open(last, "wb") as f:
        f.write(head)
    return last, head


def check_resumed(save_dir, log, head, last_update):
    last = os.path.join(save_dir, "checkpoint_last.pt")
    assert f"{last} does not load" in log
    assert f"resuming from {os.path.join(save_dir, f'checkpoint_1_{K}.pt')} ({K} updates)" in log
    assert f"@ {K} updates)" in log and f"num_updates {last_update}" in log  # resumed, not restarted
    with open(last + ".unreadable", "rb") as f:
        assert f.read() == head


def check_same_run(whole_log, whole_dir, first_log, second_log, resumed_dir):
    losses = train_losses(whole_log)
    assert sorted(losses) == list(range(1, 2 * K + 1))
    assert train_losses(first_log) == {u: losses[u] for u in range(1, K + 1)}
    assert train_losses(second_log) == {u: losses[u] for u in range(K + 1, 2 * K + 1)}
    assert weight_differences(os.path.join(whole_dir, "checkpoint_last.pt"),
                              os.path.join(resumed_dir, "checkpoint_last.pt")) == {}


def test_pretraining_resumes_past_a_truncated_checkpoint_last(pretraining_data, tmp_path):
    keep = (f"checkpoint.save_interval_updates={K}", "checkpoint.keep_interval_updates=-1",
            f"+lr_scheduler.total_num_update={2 * K}")
    whole = train_tiny(pretraining_data, tmp_path / "whole", 2 * K, *keep)
    first = train_tiny(pretraining_data, tmp_path / "resumed", K, *keep)
    _, head = break_last(first.save_dir, os.path.getsize(os.path.join(first.save_dir, "checkpoint_last.pt")) // 2)
    second = train_tiny(pretraining_data, tmp_path / "resumed", 2 * K, *keep)
    check_resumed(second.save_dir, second.log, head, 2 * K)
    check_same_run(whole.log, whole.save_dir, first.log, second.log, second.save_dir)


def test_finetuning_resumes_past_an_empty_checkpoint_last(finetuning_data, pretrained_checkpoint, tmp_path):  # noqa: F811
    options = (f"checkpoint.save_interval_updates={K}", "checkpoint.keep_interval_updates=-1",
               f"+lr_scheduler.max_update={2 * K}")
    runs = {}
    for name, updates in (("whole", 2 * K), ("first", K), ("second", 2 * K)):
        run_dir = str(tmp_path / ("whole" if name == "whole" else "resumed"))
        os.makedirs(run_dir, exist_ok=True)
        if name == "second":
            _, head = break_last(os.path.join(run_dir, "checkpoints"), 0)
        runs[name] = finetune(finetuning_data, pretrained_checkpoint, run_dir, *options,
                              f"optimization.max_update={updates}")
    save_dir = os.path.dirname(runs["second"][0])
    check_resumed(save_dir, runs["second"][1], head, 2 * K)
    check_same_run(runs["whole"][1], os.path.dirname(runs["whole"][0]), runs["first"][1],
                   runs["second"][1], save_dir)


def test_nothing_that_loads_stops_the_relaunch(pretraining_data, tmp_path):
    save_dir = tmp_path / "checkpoints"  # what a kill during the first copies would leave
    os.makedirs(save_dir)
    for name, size in (("checkpoint_best.pt", 0), ("checkpoint_last.pt", 100)):
        (save_dir / name).write_bytes(b"PK\x03\x04" * (size // 4))
    with pytest.raises(AssertionError) as error:
        train_tiny(pretraining_data, tmp_path, 2)
    log = str(error.value)
    assert "ResumeError" in log and "no checkpoint loads (checkpoint_best.pt: EOFError" in log
    assert "checkpoint_last.pt: RuntimeError" in log and "[train_inner]" not in log
    assert sorted(os.listdir(save_dir)) == ["checkpoint_best.pt.unreadable", "checkpoint_last.pt.unreadable"]
