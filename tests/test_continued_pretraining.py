"""Continued pretraining of a released model (checkpoint.restore_file=xlsr_53_56k.pt and the reset
flags), and the error that names the differing flags when the config's architecture is not the
checkpoint's."""
import os
from pathlib import Path

import pytest
import torch
from fairseq import checkpoint_utils
from fairseq.models.wav2vec.wav2vec2 import Wav2Vec2Config, Wav2Vec2Model
from omegaconf import OmegaConf

from _pretraining_runs import train_tiny
from xlsr_plugin.checkpoint_loading import load_checkpoint
from xlsr_plugin.models.architecture import ArchitectureMismatch, architecture_of, check_same_flags
from xlsr_plugin.models.xlsr import XlsrConfig, XlsrModel

TINY = Path(__file__).resolve().parents[1] / "config" / "pretraining" / "xlsr_tiny.yaml"
RESET = ["checkpoint.reset_optimizer=true", "checkpoint.reset_lr_scheduler=true",
         "checkpoint.reset_meters=true", "checkpoint.reset_dataloader=true"]


def tiny_flags(**overrides) -> dict:
    flags = OmegaConf.to_container(OmegaConf.load(TINY).model)
    flags.pop("_name")
    return {**flags, **overrides}


def write_released_format(path: str, **overrides) -> dict:
    """A stock wav2vec2 pretraining checkpoint saved as xlsr_53_56k.pt is: `args` None, `cfg` a
    plain dict (model `wav2vec2`, task `audio_pretraining`), the optimizer state dropped."""
    flags = tiny_flags(**overrides)
    torch.manual_seed(0)
    model = Wav2Vec2Model(Wav2Vec2Config(**flags))
    cfg = {"_name": None, "common": {"seed": 1}, "model": {"_name": "wav2vec2", **flags},
           "task": {"_name": "audio_pretraining", "data": "/datasets/xlsr53", "normalize": False},
           "criterion": {"_name": "wav2vec", "infonce": True}}
    history = [{"criterion_name": "Wav2vecCriterion", "optimizer_name": "FairseqAdam",
                "lr_scheduler_state": {"best": None}, "num_updates": 400000}]
    state = {"args": None, "cfg": cfg, "model": model.state_dict(), "optimizer_history": history,
             "extra_state": {"train_iterator": {"epoch": 40, "iterations_in_epoch": 0, "shuffle": True}},
             "last_optimizer_state": None}
    torch.save(state, path)
    return state["model"]


def test_released_format_checkpoint_continues_for_a_few_updates(pretraining_data, tmp_path):
    released = str(tmp_path / "xlsr_53_56k_format.pt")
    weights = write_released_format(released)
    run = train_tiny(pretraining_data, tmp_path / "run", 3, f"checkpoint.restore_file={released}", *RESET)
    assert f"Loaded checkpoint {released}" in run.log
    state = torch.load(os.path.join(run.save_dir, "checkpoint_last.pt"), map_location="cpu", weights_only=False)
    assert state["optimizer_history"][-1]["num_updates"] == 3
    # Continued from the released weights (3 Adam steps of lr <= 5e-4 away), not a fresh init.
    for name in ("feature_extractor.conv_layers.0.0.weight", "encoder.layers.1.fc1.weight", "quantizer.vars"):
        change = (state["model"][name] - weights[name]).abs().max().item()
        assert 0 < change < 5e-3, (name, change)


def test_other_flags_fail_naming_them_not_a_tensor_shape():
    theirs = Wav2Vec2Model(Wav2Vec2Config(**tiny_flags(encoder_layers=1, final_dim=16, latent_vars=8))).state_dict()
    ours = XlsrModel(XlsrConfig(**tiny_flags()))
    with pytest.raises(ArchitectureMismatch) as error:
        ours.load_state_dict(theirs)
    message = str(error.value)
    assert "encoder_layers: 1 in the checkpoint, 2 in the model" in message
    assert "final_dim: 16 in the checkpoint, 32 in the model" in message
    assert "latent_groups x latent_vars: 16 in the checkpoint, 64 in the model" in message
    assert "encoder_embed_dim" not in message and "size mismatch" not in message


def test_architecture_read_from_a_state_dict():
    flags = architecture_of(XlsrModel(XlsrConfig(**tiny_flags())).state_dict())
    assert flags["conv_feature_layers (dim, kernel)"] == [(32, 10)] + [(32, 3)] * 4 + [(32, 2)] * 2
    assert (flags["encoder_layers"], flags["encoder_embed_dim"], flags["encoder_ffn_embed_dim"]) == (2, 64, 128)
    assert (flags["conv_pos"], flags["conv_pos_groups"], flags["extractor_mode"]) == (32, 4, "default")
    assert flags["latent_groups x latent_vars"] == 64 and flags["conv_bias"] is False


def load_like_the_task_and_trainer(path: str, model: XlsrModel) -> None:
    """What the plugin's tasks do before fairseq's trainer loads a restore_file (compare the
    checkpoint's cfg.model), then what Trainer.load_checkpoint does (the model handed the
    checkpoint's `model` entry)."""
    check_same_flags(model.cfg, load_checkpoint(path)["cfg"]["model"])
    state = checkpoint_utils.load_checkpoint_to_cpu(path)
    model.load_state_dict(state["model"], strict=True, model_cfg=model.cfg)


@pytest.mark.parametrize("checkpoint,config,named", [
    ({"layer_norm_first": True}, {"layer_norm_first": False},
     "layer_norm_first: True in the checkpoint, False in the model"),
    ({"encoder_attention_heads": 2}, {"encoder_attention_heads": 4},
     "encoder_attention_heads: 2 in the checkpoint, 4 in the model"),
    ({"activation_fn": "gelu"}, {"activation_fn": "relu"},
     "activation_fn: gelu in the checkpoint, relu in the model"),
    ({}, {"conv_feature_layers": "[(32, 10, 4)] + [(32, 3, 2)] * 4 + [(32, 2, 2)] * 2"},
     "conv_feature_layers: [(32, 10, 5)] + [(32, 3, 2)] * 4 + [(32, 2, 2)] * 2 in the "
     "checkpoint, [(32, 10, 4)] + [(32, 3, 2)] * 4 + [(32, 2, 2)] * 2 in the model"),
])
def test_flags_that_keep_every_shape_are_compared_too(tmp_path, checkpoint, config, named):
    """The issue's four cases: each keeps every tensor's shape (another network all the same)."""
    path = str(tmp_path / "released.pt")
    write_released_format(path, **checkpoint)
    model = XlsrModel(XlsrConfig(**tiny_flags(**config)))
    with pytest.raises(ArchitectureMismatch) as error:
        load_like_the_task_and_trainer(path, model)
    message = str(error.value)
    assert named in message and len(message.splitlines()) == 3  # the one difference, named


def test_training_only_flags_and_spacing_may_differ(tmp_path):
    path = str(tmp_path / "released.pt")
    weights = write_released_format(path, conv_feature_layers="[(32,10,5)]+[(32,3,2)]*4+[(32,2,2)]*2")
    model = XlsrModel(XlsrConfig(**tiny_flags(dropout=0.0, mask_prob=0.3, num_negatives=5,
                                              feature_grad_mult=1.0, latent_temp=[1.0, 0.5, 0.9])))
    load_like_the_task_and_trainer(path, model)
    assert torch.equal(model.state_dict()["encoder.layers.0.fc1.weight"],
                       weights["encoder.layers.0.fc1.weight"])


def test_continuing_with_another_layer_norm_position_fails_naming_it(pretraining_data, tmp_path):
    """The README's continuation command, end to end: fails before training, naming the flag."""
    released = str(tmp_path / "xlsr_53_56k_format.pt")
    write_released_format(released, layer_norm_first=True)
    with pytest.raises(AssertionError) as failed:
        train_tiny(pretraining_data, tmp_path / "run", 2, f"checkpoint.restore_file={released}",
                   *RESET)
    assert "layer_norm_first: True in the checkpoint, False in the model" in str(failed.value)
    assert not (tmp_path / "run" / "checkpoints" / "checkpoint_last.pt").exists()  # no update
