"""config/finetuning: every recipe composes the way fairseq-hydra-train composes it, with the
values of the official fairseq fine-tuning config it cites."""
import os

import pytest
from fairseq.dataclass.initialize import hydra_init
from hydra import compose, initialize_config_dir

import xlsr_plugin  # noqa: F401

CONFIG_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          "config", "finetuning")
# recipe: (normalize, max_update, lr, mask_prob, mask_channel_prob, freeze, GPUs x update_freq)
OFFICIAL = {
    "base_1h": (False, 13000, 5e-5, 0.65, 0.25, 10000, (2, 4)),
    "base_10h": (False, 20000, 5e-5, 0.65, 0.5, 10000, (2, 4)),
    "base_100h": (False, 80000, 3e-5, 0.65, 0.5, 0, (2, 4)),
    "base_full": (False, 320000, 1e-5, 0.5, 0.1, 0, (8, 1)),
    "large_1h": (True, 13000, 3e-4, 0.75, 0.25, 10000, (4, 5)),
    "large_10h": (True, 20000, 1e-4, 0.75, 0.25, 10000, (4, 5)),
    "large_100h": (True, 80000, 3e-5, 0.5, 0.5, 10000, (4, 5)),
    "large_full": (True, 320000, 3e-5, 0.5, 0.25, 10000, (24, 1)),
}


def compose_ctc(*overrides):
    hydra_init("ctc")
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base=None):
        return compose("ctc", overrides=list(overrides))


@pytest.mark.parametrize("recipe", sorted(OFFICIAL))
def test_recipe_has_official_values(recipe):
    cfg = compose_ctc(f"recipe={recipe}")
    normalize, max_update, lr, mask, channel, freeze, (gpus, accumulate) = OFFICIAL[recipe]
    assert cfg.task.normalize is normalize
    assert cfg.optimization.max_update == max_update
    assert list(cfg.optimization.lr) == [pytest.approx(lr)]
    assert (cfg.model.mask_prob, cfg.model.mask_channel_prob) == (mask, channel)
    assert cfg.model.get("freeze_finetune_updates", 0) == freeze  # 0 is the default
    assert cfg.model.feature_grad_mult == 0.0
    assert cfg.distributed_training.distributed_world_size == gpus
    assert list(cfg.optimization.update_freq) == [accumulate]
    assert (cfg.task._name, cfg.model._name, cfg.criterion._name) == ("xlsr_finetuning", "wav2vec_ctc", "ctc")


def test_labels_choose_units_and_best_checkpoint_metric():
    phn = compose_ctc()
    assert (phn.task.labels, phn.checkpoint.best_checkpoint_metric) == ("phn", "per")
    ltr = compose_ctc("labels=ltr", "task.langs=[fi,sw]")
    assert (ltr.task.labels, ltr.checkpoint.best_checkpoint_metric) == ("ltr", "wer")
    assert list(ltr.task.langs) == ["fi", "sw"]
