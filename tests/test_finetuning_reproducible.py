"""CTC fine-tuning of an xlsr checkpoint is reproducible: its masks are drawn by the plugin's
`xlsr` model (the wav2vec_ctc encoder), seeded by (seed, update, rank, item)."""
import glob
import os

import pytest

from _run_outputs import train_losses, weight_differences
from test_finetuning_e2e import finetune, write_finetuning_data


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("reproducible") / "data")
    write_finetuning_data(folder)
    return folder


def test_resumed_finetuning_equals_uninterrupted(data, pretrained_checkpoint, tmp_path):
    # 3 batches per epoch: k=2 stops mid-epoch, before ctc_tiny unfreezes the Transformer. The
    # stopped run keeps the schedule of 2k updates (tri_stage reads its length from max_update),
    # as an interrupted run would.
    k = 2
    options = (f"checkpoint.save_interval_updates={k}", "checkpoint.keep_interval_updates=-1",
               f"+lr_scheduler.max_update={2 * k}")
    whole_dir, resumed_dir = str(tmp_path / "whole"), str(tmp_path / "resumed")
    os.makedirs(whole_dir), os.makedirs(resumed_dir)
    whole, whole_log = finetune(data, pretrained_checkpoint, whole_dir, *options,
                                f"optimization.max_update={2 * k}")
    _, first_log = finetune(data, pretrained_checkpoint, resumed_dir, *options,
                            f"optimization.max_update={k}")
    resumed, second_log = finetune(data, pretrained_checkpoint, resumed_dir, *options,
                                   f"optimization.max_update={2 * k}")
    assert f"@ {k} updates)" in second_log  # resumed, not restarted
    saves = [os.path.join(os.path.dirname(c), "checkpoint_last.pt") for c in (whole, resumed)]
    assert weight_differences(*saves) == {}
    losses = train_losses(whole_log)
    assert sorted(losses) == list(range(1, 2 * k + 1))
    assert {**train_losses(first_log), **train_losses(second_log)} == losses
    # The first k updates of the two runs: same seed, same weights; and training moved them.
    (whole_at_k,), (first_at_k,) = (glob.glob(os.path.join(d, "checkpoints", f"checkpoint_*_{k}.pt"))
                                    for d in (whole_dir, resumed_dir))
    assert weight_differences(whole_at_k, first_at_k) == {}
    moved = weight_differences(whole_at_k, saves[0])
    assert any(name.startswith("w2v_encoder.w2v_model.encoder.layers") for name in moved)
