"""Writing a fairseq wav2vec 2.0 checkpoint as a transformers folder (safetensors weights,
config, feature extractor; for CTC models the tokenizer), checked against fairseq before it
replaces anything in the destination."""
import logging
import os
import shutil
from typing import Optional, Sequence

from transformers import Wav2Vec2FeatureExtractor, Wav2Vec2ForCTC, Wav2Vec2ForPreTraining, Wav2Vec2Processor

from xlsr_plugin.hf.check import CheckReport, compared_audio, run_check
from xlsr_plugin.hf.checkpoint import FairseqCheckpoint, read_checkpoint
from xlsr_plugin.hf.config import feature_extractor, hf_config
from xlsr_plugin.hf.tokenizer import BLANK, ctc_tokenizer
from xlsr_plugin.hf.weights import CTC_RULES, PRETRAINING_RULES, hf_state_dict, identity_projection

logger = logging.getLogger(__name__)


class CheckFailed(RuntimeError):
    """The exported model does not compute what the fairseq one does."""


def hf_model(checkpoint: FairseqCheckpoint):
    """Wav2Vec2ForCTC or Wav2Vec2ForPreTraining holding the checkpoint's weights."""
    config = hf_config(checkpoint)
    model = (Wav2Vec2ForCTC if checkpoint.is_ctc else Wav2Vec2ForPreTraining)(config)
    prefix = "w2v_encoder.w2v_model." if checkpoint.is_ctc else ""
    weights = checkpoint.weights
    if config.conv_dim[-1] == config.hidden_size:
        weights = identity_projection(weights, prefix, config.hidden_size)
    # fairseq keeps its mask embedding when it never masks; transformers then has none
    unused = () if hasattr(model.wav2vec2, "masked_spec_embed") else ("wav2vec2.masked_spec_embed",)
    state = hf_state_dict(weights, CTC_RULES if checkpoint.is_ctc else PRETRAINING_RULES,
                          model.state_dict(), unused)
    if checkpoint.is_ctc and checkpoint.ctc.blank_weight:
        # fairseq adds blank_weight to the blank's logit (blank_mode=add): the same as its bias
        state["lm_head.bias"] = state["lm_head.bias"].clone()
        state["lm_head.bias"][BLANK] += checkpoint.ctc.blank_weight
    model.load_state_dict(state, strict=True)
    return model.eval()


def write_folder(checkpoint: FairseqCheckpoint, folder: str) -> None:
    model = hf_model(checkpoint)
    os.makedirs(folder, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    extractor = feature_extractor(checkpoint)
    if checkpoint.is_ctc:
        tokenizer = ctc_tokenizer(checkpoint.dictionary, folder, checkpoint.labels)
        Wav2Vec2Processor(feature_extractor=extractor, tokenizer=tokenizer).save_pretrained(folder)
    else:
        extractor.save_pretrained(folder)


def load_folder(checkpoint: FairseqCheckpoint, folder: str):
    """The exported model and its processor (feature extractor), as a user loads them."""
    if checkpoint.is_ctc:
        return Wav2Vec2ForCTC.from_pretrained(folder), Wav2Vec2Processor.from_pretrained(folder)
    return Wav2Vec2ForPreTraining.from_pretrained(folder), Wav2Vec2FeatureExtractor.from_pretrained(folder)


def export(source: str, destination: str, check: bool = True, check_audio: Sequence[str] = (),
           dictionary: Optional[str] = None, trust: bool = False) -> Optional[CheckReport]:
    """Writes `destination` from the fairseq checkpoint `source`; with `check`, only once the
    written folder, loaded back with from_pretrained, matches fairseq (else CheckFailed, and
    the files stay in `destination`.tmp)."""
    checkpoint = read_checkpoint(source, dictionary, trust)
    staging = destination.rstrip(os.sep) + ".tmp"
    shutil.rmtree(staging, ignore_errors=True)
    write_folder(checkpoint, staging)
    report = None
    if check:
        model, processor = load_folder(checkpoint, staging)
        report = run_check(checkpoint, model, processor, compared_audio(check_audio, checkpoint.sample_rate))
        if not report.ok:
            raise CheckFailed(f"{source}: the exported model differs from fairseq's (folder left "
                              f"in {staging}):\n" + "\n".join(report.lines()))
    _move_into(staging, destination)
    logger.info("wrote %s (%s, %s)", destination, type_name(checkpoint), ", ".join(sorted(os.listdir(destination))))
    return report


def type_name(checkpoint: FairseqCheckpoint) -> str:
    return "Wav2Vec2ForCTC" if checkpoint.is_ctc else "Wav2Vec2ForPreTraining"


def _move_into(staging: str, destination: str) -> None:
    """Each file replaces its namesake whole; other files in `destination` stay."""
    os.makedirs(destination, exist_ok=True)
    for name in os.listdir(staging):
        os.replace(os.path.join(staging, name), os.path.join(destination, name))
    os.rmdir(staging)
