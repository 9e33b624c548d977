"""xlsr_tiny through fairseq-hydra-train: checkpoints, per-language logs, exact resumption."""
import os
import re

import pytest
import torch

from _pretraining_runs import train_tiny
from _run_outputs import train_losses, weight_differences


def test_training_writes_checkpoint_and_logs_every_language(pretrained_checkpoint, pretraining_data):
    assert os.path.isfile(pretrained_checkpoint)
    state = torch.load(pretrained_checkpoint, map_location="cpu", weights_only=False)
    assert state["cfg"]["model"]["_name"] == "xlsr"
    assert state["cfg"]["task"]["_name"] == "xlsr_pretraining"
    assert state["optimizer_history"][-1]["num_updates"] == 4


def test_log_has_sampling_plan_and_per_language_metrics(pretraining_data, tmp_path):
    run = train_tiny(pretraining_data, tmp_path, 2, "dataset.validate_interval_updates=2",
                     "dataset.valid_subset='valid,valid_sw'", "task.langs=[es,fi,sw]")
    # One line per language at the start of the epoch: hours, utterances, p_l, drawn.
    plan = dict(re.findall(r"epoch 1 language (\w+): [\d.]+ hours, \d+ utterances, p=([\d.]+)", run.log))
    assert set(plan) == {"es", "fi", "sw"}
    assert abs(sum(float(p) for p in plan.values()) - 1) < 1e-3
    assert float(plan["sw"]) > 3 / 21  # alpha=0.5 up-samples the smallest language
    for lang in ("es", "fi", "sw"):
        assert re.search(rf"\| loss_{lang} [\d.]+ \| accuracy_{lang} [\d.]+ \| code_ppl_{lang} [\d.]+", run.log)
    valid_sw = [line for line in run.log.splitlines() if "valid on 'valid_sw' subset" in line]
    assert valid_sw and "loss_sw" in valid_sw[0] and "loss_es" not in valid_sw[0]
    # loss_<lang> is the contrastive loss of the language's frames: on valid_sw, all of them,
    # so the subset's own contrastive loss (loss_0; `loss` adds the weighted penalties).
    for line in valid_sw:
        values = dict(re.findall(r"\| (\w+) ([-\d.]+)", line))
        # (both rounded to 3 decimals from sums in another order: one unit of slack)
        assert float(values["loss_sw"]) == pytest.approx(float(values["loss_0"]), abs=1.001e-3)
        assert float(values["loss_0"]) > 0


def _lines(path):
    with open(path) as f:
        return f.read().splitlines()


@pytest.fixture(scope="module")
def resume_runs(pretraining_data, tmp_path_factory):
    """An uninterrupted run of 2k updates, and a run stopped at k and resumed to 2k.
    4 batches per epoch at this batch size: k=3 stops mid-epoch, 2k=6 ends in epoch 2. The
    uninterrupted run also keeps its checkpoint at k, the weights of a second run of k updates;
    the stopped run keeps the lr schedule of 2k updates, as an interrupted run would."""
    k, tmp_path = 3, tmp_path_factory.mktemp("resume")
    keep = (f"checkpoint.save_interval_updates={k}", "checkpoint.keep_interval_updates=-1",
            f"+lr_scheduler.total_num_update={2 * k}")
    whole = train_tiny(pretraining_data, tmp_path / "whole", 2 * k, *keep, record=True)
    first = train_tiny(pretraining_data, tmp_path / "resumed", k, *keep, record=True)
    first_batches = _lines(first.batches)  # the resumed run appends to the same file
    second = train_tiny(pretraining_data, tmp_path / "resumed", 2 * k, *keep, record=True)
    return k, whole, first, second, first_batches


def test_resume_continues_exactly_as_uninterrupted_run(resume_runs):
    k, whole, first, second, first_batches = resume_runs
    assert first_batches == _lines(whole.batches)[:k]
    assert f"(epoch 1 @ {k} updates)" in second.log  # resumed, not restarted
    assert _lines(second.batches) == _lines(whole.batches)
    assert len(set(_lines(whole.batches))) > 1
    at_k = os.path.join(whole.save_dir, f"checkpoint_1_{k}.pt")
    assert weight_differences(at_k, os.path.join(whole.save_dir, "checkpoint_last.pt"))  # it trained


def test_resumed_weights_and_losses_equal_uninterrupted(resume_runs):
    # Same seed, same weights: masks, crops and LayerDrop are seeded by (seed, update, rank, item).
    k, whole, first, second, _ = resume_runs
    at_k = os.path.join(whole.save_dir, f"checkpoint_1_{k}.pt")
    assert weight_differences(at_k, os.path.join(first.save_dir, f"checkpoint_1_{k}.pt")) == {}
    last = os.path.join(whole.save_dir, "checkpoint_last.pt")
    assert weight_differences(last, os.path.join(second.save_dir, "checkpoint_last.pt")) == {}
    losses = train_losses(whole.log)
    assert sorted(losses) == list(range(1, 2 * k + 1))
    assert {**train_losses(first.log), **train_losses(second.log)} == losses
