"""A fairseq wav2vec 2.0 checkpoint read for export: its network's config with fairseq's
defaults filled in, its weights and, when CTC fine-tuned, its dictionary.

Reads every format fairseq wrote: today's `cfg`, the released XLSR-53 file's `args: None` with a
`cfg` dict from an older fairseq (its task has keys today's AudioPretrainingConfig lacks: only
the keys a stock dataclass knows are kept, as `to_stock` does), and the argparse `args` of older
releases. Plugin names (`xlsr`, `xlsr_pretraining`) read as their stock equivalents.
"""
import argparse
import contextlib
import logging
from dataclasses import dataclass
from typing import Optional

from fairseq.data import Dictionary
from fairseq.dataclass.utils import convert_namespace_to_omegaconf
from fairseq.models.wav2vec.wav2vec2 import Wav2Vec2Config
from fairseq.models.wav2vec.wav2vec2_asr import Wav2Vec2CtcConfig
from fairseq.tasks.audio_pretraining import AudioPretrainingConfig
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from xlsr_plugin.checkpoint_loading import load_checkpoint
from xlsr_plugin.to_stock import as_stock

logger = logging.getLogger(__name__)

PRETRAINING_MODELS = ("wav2vec2", "xlsr")
CTC_MODELS = ("wav2vec_ctc",)


class CheckpointError(ValueError):
    """A checkpoint this exporter cannot read, with the reason."""


@dataclass
class FairseqCheckpoint:
    path: str
    encoder: Wav2Vec2Config  # the wav2vec 2.0 network (of a CTC model: the one it fine-tuned)
    pretraining_task: dict  # its pretraining task, as stock audio_pretraining's fields
    weights: dict  # state dict, fairseq's names (`w2v_encoder.w2v_model.` prefix for CTC)
    normalize: bool  # waveforms normalized to zero mean, unit variance before the model
    sample_rate: int
    ctc: Optional[Wav2Vec2CtcConfig] = None
    dictionary: Optional[Dictionary] = None  # CTC output classes, index 0 the blank
    labels: Optional[str] = None  # the fine-tuning task's label extension (phn, ltr, ...)
    diversity_loss_weight: Optional[float] = None

    @property
    def is_ctc(self) -> bool:
        return self.ctc is not None


@contextlib.contextmanager
def fairseq_hydra_version():
    """fairseq's convert_namespace_to_omegaconf calls hydra.experimental.initialize, which
    raises once anything in the process has set hydra's version base to 1.2 or later (as
    hydra.initialize(version_base=None) does): hydra 1.1's base while it runs. The saved base
    is put back as it was, "never set" included (which setbase refuses)."""
    from hydra import version

    base = version.VersionBase.instance()
    saved = base.getbase()
    version.setbase("1.1")
    try:
        yield
    finally:  # assigned, not setbase: hydra's "never set" marker is no Version
        base.version_base = saved


def plain_config(cfg) -> dict:
    """A checkpoint's config (DictConfig, dict or argparse Namespace) as plain resolved dicts."""
    if isinstance(cfg, argparse.Namespace):
        with fairseq_hydra_version():
            cfg = convert_namespace_to_omegaconf(cfg)
    if not OmegaConf.is_config(cfg):
        cfg = OmegaConf.create(cfg, flags={"allow_objects": True})
    try:
        return OmegaConf.to_container(cfg, resolve=True)
    except OmegaConfBaseException:  # an interpolation to a group the checkpoint lacks
        return OmegaConf.to_container(cfg, resolve=False)


def training_config(state: dict, path: str) -> dict:
    if state.get("cfg") is not None:
        return plain_config(state["cfg"])
    if state.get("args") is not None:
        return plain_config(state["args"])
    raise CheckpointError(f"{path}: neither `cfg` nor `args`: not a fairseq training checkpoint")


def stock_fields(group: dict, stock_name: str, stock_dataclass):
    """The stock dataclass built from the fields it knows (fairseq's defaults for the others)."""
    fields = as_stock(group, stock_name, stock_dataclass)
    fields.pop("_name")
    return stock_dataclass(**fields)


def read_checkpoint(path: str, dictionary_path: Optional[str] = None,
                    trust: bool = False) -> FairseqCheckpoint:
    state = load_checkpoint(path, trust=trust)
    cfg = training_config(state, path)
    name = (cfg.get("model") or {}).get("_name")
    if name in PRETRAINING_MODELS:
        return _pretraining(path, state, cfg)
    if name in CTC_MODELS:
        return _ctc(path, state, cfg, dictionary_path)
    raise CheckpointError(
        f"{path}: model {name!r} is neither wav2vec 2.0 pretraining ({', '.join(PRETRAINING_MODELS)}) "
        f"nor CTC fine-tuning ({', '.join(CTC_MODELS)})"
    )


def _task_fields(task: dict) -> dict:
    return as_stock(task or {}, "audio_pretraining", AudioPretrainingConfig)


def _pretraining(path: str, state: dict, cfg: dict) -> FairseqCheckpoint:
    task = _task_fields(cfg.get("task"))
    loss_weights = (cfg.get("criterion") or {}).get("loss_weights") or []
    return FairseqCheckpoint(
        path=path,
        encoder=stock_fields(cfg["model"], "wav2vec2", Wav2Vec2Config),
        pretraining_task=task,
        weights=state["model"],
        normalize=bool(task.get("normalize", False)),
        sample_rate=int(task.get("sample_rate", 16000)),
        diversity_loss_weight=float(loss_weights[0]) if loss_weights else None,
    )


def _ctc(path: str, state: dict, cfg: dict, dictionary_path: Optional[str]) -> FairseqCheckpoint:
    model = cfg["model"]
    if model.get("w2v_args") is None:
        raise CheckpointError(f"{path}: its model config has no w2v_args (the pretrained network's "
                              "config, which fairseq stores when fine-tuning starts)")
    w2v = plain_config(model["w2v_args"])
    task = cfg.get("task") or {}
    ctc = stock_fields(dict(model, w2v_args=None), "wav2vec_ctc", Wav2Vec2CtcConfig)
    return FairseqCheckpoint(
        path=path,
        encoder=stock_fields(w2v["model"], "wav2vec2", Wav2Vec2Config),
        pretraining_task=_task_fields(w2v.get("task")),
        weights=state["model"],
        normalize=bool(task.get("normalize", ctc.normalize)),
        sample_rate=int(task.get("sample_rate", 16000)),
        ctc=ctc,
        dictionary=_dictionary(path, state, dictionary_path),
        labels=task.get("labels"),
    )


def _dictionary(path: str, state: dict, dictionary_path: Optional[str]) -> Dictionary:
    if dictionary_path:
        return Dictionary.load(dictionary_path)
    dictionary = (state.get("task_state") or {}).get("target_dictionary")
    if dictionary is None:
        raise CheckpointError(f"{path}: no target dictionary in its task state (older fairseq): "
                              "pass the fine-tuning dictionary with --dictionary DATA/dict.ltr.txt")
    return dictionary
