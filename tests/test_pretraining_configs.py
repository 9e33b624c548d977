"""The pretraining YAMLs: the paper's numbers, and every key a field fairseq knows."""
import dataclasses
from pathlib import Path

import pytest
from omegaconf import OmegaConf

CONFIG_DIR = Path(__file__).resolve().parents[1] / "config" / "pretraining"
NAMES = ["xlsr_base", "xlsr_large", "xlsr_53"]
TASK_EXTRA = {"langs", "sampling_alpha", "sampling_unit", "corpora", "corpus_alpha", "bad_audio_max_share"}
# (layers, dim, FFN, heads), paper section 4
ARCH = {"xlsr_base": (12, 768, 3072, 8), "xlsr_large": (24, 1024, 4096, 16),
        "xlsr_53": (24, 1024, 4096, 16)}


def _load(name):
    return OmegaConf.load(CONFIG_DIR / f"{name}.yaml")


def _model(name):
    """The model block over the stock Wav2Vec2Config defaults, as fairseq would build it."""
    from fairseq.models.wav2vec.wav2vec2 import Wav2Vec2Config

    block = OmegaConf.to_container(_load(name).model)
    block.pop("_name")
    return OmegaConf.merge(OmegaConf.structured(Wav2Vec2Config), block)


def _field_names(cls):
    return {f.name for f in dataclasses.fields(cls)}


def _group_classes():
    from fairseq.criterions.wav2vec_criterion import Wav2VecCriterionConfig
    from fairseq.dataclass.configs import FairseqConfig
    from fairseq.models.wav2vec.wav2vec2 import Wav2Vec2Config
    from fairseq.optim.adam import FairseqAdamConfig
    from fairseq.optim.lr_scheduler.polynomial_decay_schedule import (
        PolynomialDecayLRScheduleConfig,
    )
    from fairseq.tasks.audio_pretraining import AudioPretrainingConfig

    classes = {f.name: f.type for f in dataclasses.fields(FairseqConfig)
               if dataclasses.is_dataclass(f.type)}
    classes.update(task=AudioPretrainingConfig, model=Wav2Vec2Config,
                   criterion=Wav2VecCriterionConfig, optimizer=FairseqAdamConfig,
                   lr_scheduler=PolynomialDecayLRScheduleConfig)
    return FairseqConfig, classes


@pytest.mark.parametrize("name", NAMES)
def test_no_deprecated_package_header(name):
    """Hydra >= 1.1 warns of `# @package _group_` on every run; a primary config is global."""
    assert "@package _group_" not in (CONFIG_DIR / f"{name}.yaml").read_text()


@pytest.mark.parametrize("name", NAMES)
def test_every_key_is_a_fairseq_field(name):
    fairseq_config, classes = _group_classes()
    cfg = _load(name)
    assert cfg.hydra.job.chdir is False  # paths stay relative to the folder typed in
    assert list(cfg.pop("defaults")) == [{"task_options": "xlsr_pretraining"}, "_self_"]
    cfg.pop("hydra")
    assert set(cfg) <= _field_names(fairseq_config)
    for group, block in cfg.items():
        known = _field_names(classes[group]) | {"_name"}
        if group == "task":
            known |= TASK_EXTRA
        unknown = set(block) - known
        assert not unknown, f"{name}.yaml {group}: unknown keys {sorted(unknown)}"


@pytest.mark.parametrize("name", NAMES)
def test_registered_names_and_sampling(name):
    cfg = _load(name)
    assert (cfg.task._name, cfg.model._name, cfg.criterion._name) == (
        "xlsr_pretraining", "xlsr", "xlsr")
    assert OmegaConf.is_missing(cfg.task, "data")
    assert list(cfg.task.langs) == []
    assert cfg.task.sampling_alpha == 0.5
    assert cfg.task.sampling_unit == "hours"
    assert cfg.criterion.infonce is True


@pytest.mark.parametrize("name", NAMES)
def test_paper_architecture_and_quantizer(name):
    model = _model(name)
    arch = (model.encoder_layers, model.encoder_embed_dim, model.encoder_ffn_embed_dim,
            model.encoder_attention_heads)
    assert arch == ARCH[name]
    assert (model.latent_groups, model.latent_vars) == (2, 320)
    assert model.quantize_targets is True
    assert (model.mask_prob, model.mask_length, model.num_negatives) == (0.65, 10, 100)


@pytest.mark.parametrize("name,seconds,gpus", [
    ("xlsr_base", 87.5, 64), ("xlsr_large", 75.0, 128), ("xlsr_53", 75.0, 128)])
def test_batch_seconds_and_gpus(name, seconds, gpus):
    cfg = _load(name)
    assert cfg.dataset.max_tokens / 16000 == seconds
    assert cfg.distributed_training.distributed_world_size == gpus
    assert cfg.distributed_training.ddp_backend == "no_c10d"
    assert cfg.common.fp16 is True


def test_xlsr_53_reads_three_corpora_pooled():
    task = _load("xlsr_53").task
    assert list(task.corpora) == ["cv", "mls", "babel"] and task.corpus_alpha == 1.0


# The released xlsr_53_56k.pt's network: Large (paper §4) with a layer-norm feature encoder of
# 7 conv layers of 512 channels, conv bias, pre-LN blocks, 768-dim targets, 128-wide positional
# convolution in 16 groups, G=2 x V=320 codewords.
XLSR_53_NETWORK = {
    "extractor_mode": "layer_norm", "layer_norm_first": True, "conv_bias": True, "final_dim": 768,
    "conv_feature_layers": "[(512, 10, 5)] + [(512, 3, 2)] * 4 + [(512, 2, 2)] * 2",
    "conv_pos": 128, "conv_pos_groups": 16, "latent_vars": 320, "latent_groups": 2, "latent_dim": 0,
    "activation_fn": "gelu", "target_glu": False, "quantize_input": False, "quantize_targets": True,
    "encoder_layers": 24, "encoder_embed_dim": 1024, "encoder_ffn_embed_dim": 4096,
    "encoder_attention_heads": 16,
}


def test_xlsr_53_writes_out_every_network_flag_of_the_released_checkpoint():
    block = _load("xlsr_53").model
    assert {flag: block.get(flag) for flag in XLSR_53_NETWORK} == XLSR_53_NETWORK
