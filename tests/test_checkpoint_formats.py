"""Fine-tuning starts from both formats of the released wav2vec 2.0 / XLSR files: an argparse
`args` namespace (wav2vec_small.pt) and `args: None` with a `cfg` dict written by an older fairseq
whose task section has keys today's AudioPretrainingConfig lacks (xlsr_53_56k.pt; fairseq#3025)."""
import re

import pytest
import torch
from fairseq.dataclass.configs import CommonConfig
from fairseq.models.wav2vec.wav2vec2 import Wav2Vec2Config
from fairseq.tasks.audio_pretraining import AudioPretrainingConfig
from omegaconf import OmegaConf

from test_finetuning_e2e import (SPLITS, check_generate_output, finetune, generate,
                                 write_finetuning_data, write_official_checkpoint)

# The task keys of an audio_pretraining cfg from fairseq of late 2020, gone since.
OLD_TASK_KEYS = {
    "eval_wer": False, "eval_wer_tokenizer": None, "eval_wer_post_process": "letter",
    "autoregressive": False,
    "eval_wer_config": {"_name": None, "beam": 5, "nbest": 1, "max_len_a": 0, "max_len_b": 200,
                        "print_alignment": False},
}


def as_cfg_dict_checkpoint(argparse_checkpoint, path):
    """The xlsr_53_56k.pt layout: `args` None, `cfg` a plain dict with the old task keys.
    (Built from the dataclasses, not with convert_namespace_to_omegaconf, whose Hydra call
    fails once another test has initialized Hydra.)"""
    state = torch.load(argparse_checkpoint, weights_only=False)
    args = state["args"]
    sections = {"common": CommonConfig, "model": Wav2Vec2Config, "task": AudioPretrainingConfig}
    cfg = {name: OmegaConf.to_container(OmegaConf.structured(dc.from_namespace(args)),
                                        enum_to_str=True)
           for name, dc in sections.items()}
    cfg["model"]["_name"], cfg["task"]["_name"] = "wav2vec2", "audio_pretraining"
    cfg["task"].update(OLD_TASK_KEYS)
    state.update(args=None, cfg=cfg)
    torch.save(state, path)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    data = str(tmp_path_factory.mktemp("formats") / "data")
    write_finetuning_data(data)
    return data


def test_finetune_and_generate_from_cfg_dict_checkpoint(data, tmp_path):
    argparse_format = str(tmp_path / "wav2vec_small_format.pt")
    write_official_checkpoint(data, argparse_format)
    released = str(tmp_path / "xlsr_53_56k_format.pt")
    as_cfg_dict_checkpoint(argparse_format, released)
    state = torch.load(released, weights_only=True)  # as fairseq reads it under torch >= 2.6
    assert state["args"] is None and state["cfg"]["task"]["eval_wer"] is False
    checkpoint, log = finetune(data, released, str(tmp_path), "optimization.max_update=2")
    assert "num_updates 2" in log
    # validation logs PER as the `per` scorer counts it; ctc_tiny keeps the best checkpoint by it
    valid = [line for line in log.splitlines() if "valid on 'valid_fi' subset" in line]
    assert valid and re.search(r"\| per [\d.]+", valid[-1]), log[-3000:]
    assert "checkpoint_best.pt" in log
    stdout, _ = generate(data, checkpoint, "test_fi", cwd=tmp_path)
    check_generate_output(stdout, SPLITS["test"])
