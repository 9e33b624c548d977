"""Fault test of the whole loop: an xlsr_tiny pretraining run killed with SIGKILL at five points
(during an update, during validation, while a checkpoint is written, while fairseq copies it to
checkpoint_best.pt and to checkpoint_last.pt) and relaunched with the same command each time
ends with an uninterrupted run's weights, bit for bit (CPU, one thread)."""
import os
import re
import signal
import subprocess

from _pretraining_runs import tiny_command, train_tiny
from _run_outputs import one_thread_env, weight_differences

HERE = os.path.dirname(os.path.abspath(__file__))
# One epoch of 7+ batches at this batch size: validations and saves at 3 and 6 (interval saves
# checkpoint_1_3.pt, checkpoint_1_6.pt, each then copied to checkpoint_best.pt when better and to
# checkpoint_last.pt) and 7 (the end).
MAX_UPDATE = 7
OPTIONS = ("checkpoint.save_interval_updates=3", "dataset.validate_interval_updates=3")
# Each kill, and the update the relaunch after it resumes from.
KILLS = [
    ("copy_best@3", 3),  # best truncated, no last yet: resumed from checkpoint_1_3.pt
    ("update@5", 3),
    ("valid@6", 3),
    ("write@6", 3),  # a half-written checkpoint_1_6.pt.tmp
    ("copy_last@6", 6),  # last truncated: resumed from checkpoint_1_6.pt
]


def launch(command, run_dir, kill_at=""):
    proc = subprocess.run(command, capture_output=True, text=True, cwd=run_dir,
                          env=one_thread_env(XLSR_KILL_AT=kill_at))
    return proc.returncode, proc.stdout + proc.stderr


def resumed_from(log):
    return [int(n) for n in re.findall(r"Loaded checkpoint \S+ \(epoch \d+ @ (\d+) updates\)", log)]


def test_killed_anywhere_and_relaunched_ends_as_uninterrupted(pretraining_data, tmp_path):
    whole = train_tiny(pretraining_data, tmp_path / "whole", MAX_UPDATE, *OPTIONS)
    run_dir = str(tmp_path / "killed")
    os.makedirs(run_dir)
    save_dir = os.path.join(run_dir, "checkpoints")
    command = tiny_command(pretraining_data, save_dir, run_dir, MAX_UPDATE, *OPTIONS,
                           entry=os.path.join(HERE, "_killed_training.py"))
    logs = []
    for kill_at, _ in KILLS:
        rc, log = launch(command, run_dir, kill_at)
        assert rc == -signal.SIGKILL, f"{kill_at} was not reached ({rc}):\n{log[-3000:]}"
        logs.append(log)
    rc, log = launch(command, run_dir)
    assert rc == 0, log[-3000:]
    logs.append(log)
    assert [resumed_from(log) for log in logs] == [[]] + [[updates] for _, updates in KILLS]
    assert f"resuming from {os.path.join(save_dir, 'checkpoint_1_3.pt')} (3 updates)" in logs[1]
    assert f"resuming from {os.path.join(save_dir, 'checkpoint_1_6.pt')} (6 updates)" in logs[-1]
    kept = sorted(n for n in os.listdir(save_dir) if "unreadable" in n)
    assert kept == ["checkpoint_best.pt.unreadable", "checkpoint_last.pt.unreadable"]
    assert weight_differences(os.path.join(whole.save_dir, "checkpoint_last.pt"),
                              os.path.join(save_dir, "checkpoint_last.pt")) == {}
