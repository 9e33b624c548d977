"""The exported model against fairseq's, layer by layer: every utterance alone (no padding) and
all of them as one zero-padded batch with its mask. Both models get the same input values (the
exported feature extractor's); hidden states, CTC logits (pretraining: the projected context and
quantized vectors) are compared on the frames that are not padding, and for CTC the greedy
transcripts: fairseq's decoder as fairseq-generate prints its H- line (letter models with
`letter` post-processing) against `processor.batch_decode` (see `hf_transcripts`)."""
import argparse
import copy
import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from fairseq.models.wav2vec.wav2vec2 import Wav2Vec2Model
from fairseq.models.wav2vec.wav2vec2_asr import Wav2VecCtc
from omegaconf import OmegaConf

from xlsr_plugin.decoding.ctc import ViterbiDecoder
from xlsr_plugin.hf.checkpoint import FairseqCheckpoint
from xlsr_plugin.hf.tokenizer import PHONE_LABELS, never_targets
from xlsr_plugin.hf.weights import as_in

logger = logging.getLogger(__name__)

TOLERANCE = 1e-4


@dataclass
class Comparison:
    setting: str
    diffs: Dict[str, float]  # output name -> max |fairseq - transformers| over valid frames
    fairseq_text: List[str] = field(default_factory=list)
    hf_text: List[str] = field(default_factory=list)  # processor.batch_decode's

    @property
    def transcripts_match(self) -> bool:
        return self.fairseq_text == self.hf_text

    @property
    def max_diff(self) -> float:
        return max(self.diffs.values())


@dataclass
class CheckReport:
    comparisons: List[Comparison]
    tolerance: float = TOLERANCE
    normalization_diff: Optional[float] = None  # task.normalize: input values, see below

    @property
    def max_diff(self) -> float:
        return max(c.max_diff for c in self.comparisons)

    @property
    def transcripts_match(self) -> bool:
        return all(c.transcripts_match for c in self.comparisons)

    @property
    def ok(self) -> bool:
        return self.max_diff <= self.tolerance and self.transcripts_match

    def lines(self) -> List[str]:
        lines = []
        for c in self.comparisons:
            diffs = ", ".join(f"{name} {value:.2e}" for name, value in c.diffs.items())
            lines.append(f"{c.setting}: max |diff| {c.max_diff:.2e} ({diffs})")
            for ours, theirs in zip(c.fairseq_text, c.hf_text):
                mark = "same as fairseq's" if ours == theirs else f"DIFFERENT, fairseq {ours!r}"
                lines.append(f"  transcript {theirs!r}: {mark}")
        if self.normalization_diff is not None:
            lines.append(f"input normalization (not part of the check): transformers' feature "
                         f"extractor differs from fairseq's by {self.normalization_diff:.2e} "
                         "(variance epsilon 1e-7, fairseq's 1e-5)")
        verdict = "passed" if self.ok else "FAILED"
        lines.append(f"check {verdict}: max |diff| {self.max_diff:.2e} (tolerance {self.tolerance:g})"
                     + ("" if self.transcripts_match else ", transcripts differ"))
        return lines


def fairseq_model(checkpoint: FairseqCheckpoint) -> torch.nn.Module:
    """The checkpoint's network built by stock fairseq (plugin names read as stock ones)."""
    if not checkpoint.is_ctc:
        model = Wav2Vec2Model(checkpoint.encoder)
    else:
        cfg = copy.deepcopy(checkpoint.ctc)
        encoder = dict(dataclasses.asdict(checkpoint.encoder), _name="wav2vec2")
        cfg.w2v_args = OmegaConf.create({"model": encoder, "task": checkpoint.pretraining_task})
        cfg.data = ""
        cfg.normalize = bool(checkpoint.pretraining_task.get("normalize", False))
        task = argparse.Namespace(target_dictionary=checkpoint.dictionary)
        model = Wav2VecCtc.build_model(cfg, task)
    expected = model.state_dict()
    model.load_state_dict({as_in(k, expected): v for k, v in checkpoint.weights.items()}, strict=True)
    return model.eval()


@torch.no_grad()
def fairseq_outputs(model, source, padding_mask) -> Dict[str, torch.Tensor]:
    """[batch, frame, feature] tensors: each Transformer layer's output, and the CTC logits or
    (pretraining) the projected context and quantized vectors."""
    if isinstance(model, Wav2VecCtc):
        net = model(source=source, padding_mask=padding_mask)
        outputs = {"logits": model.get_logits(net).transpose(0, 1)}
    else:
        net = model.extract_features(source, padding_mask)
        outputs = {"projected": model.final_proj(net["x"]),
                   "quantized": model.project_q(model.quantize(source)[0])}
    layers = {f"layer {i}": x.transpose(0, 1) for i, (x, _, _) in enumerate(net["layer_results"])}
    return {**layers, **outputs}


@torch.no_grad()
def hf_outputs(model, input_values, attention_mask) -> Dict[str, torch.Tensor]:
    out = model(input_values, attention_mask=attention_mask, output_hidden_states=True)
    layers = {f"layer {i}": x for i, x in enumerate(out.hidden_states[1:])}
    if hasattr(out, "logits"):
        return {**layers, "logits": out.logits}
    return {**layers, "projected": out.projected_states, "quantized": out.projected_quantized_states}


def compare(ours: Dict[str, torch.Tensor], theirs: Dict[str, torch.Tensor], lengths) -> Dict[str, float]:
    diffs = {}
    for name, reference in ours.items():
        diffs[name] = max(float((reference[b, :n] - theirs[name][b, :n]).abs().max())
                          for b, n in enumerate(lengths))
    return diffs


def fairseq_transcripts(checkpoint: FairseqCheckpoint, logits, lengths) -> List[str]:
    """fairseq's greedy hypotheses as fairseq-generate prints them: phones as they are, letters
    with --post-process letter (`logits`: [batch, frame, class])."""
    decoder = ViterbiDecoder(checkpoint.dictionary)
    hypotheses = decoder.decode(torch.log_softmax(logits.float(), -1), torch.tensor(lengths))
    ignore = decoder.symbols_to_strip_from_output
    post_process = None if checkpoint.labels in PHONE_LABELS else "letter"
    return [checkpoint.dictionary.string(h[0]["tokens"], post_process, extra_symbols_to_ignore=ignore)
            for h in hypotheses]


def hf_transcripts(processor, logits, lengths) -> List[str]:
    """processor.batch_decode of the greedy classes of each utterance's frames, fairseq's
    never-target classes read as the blank (as fairseq's decoder reads them; docs/export.md)."""
    tokenizer = processor.tokenizer
    classes = logits.argmax(-1)
    classes[torch.isin(classes, torch.tensor(never_targets(tokenizer)))] = tokenizer.pad_token_id
    return processor.batch_decode([classes[b, :n] for b, n in enumerate(lengths)])


def run_check(checkpoint: FairseqCheckpoint, hf_model, processor, audio: Sequence[np.ndarray],
              tolerance: float = TOLERANCE) -> CheckReport:
    """`audio`: 1-D float waveforms at the checkpoint's sample rate."""
    reference = fairseq_model(checkpoint)
    hf_model = hf_model.eval()
    rate = checkpoint.sample_rate
    batches = [([a], f"utterance {i} alone ({len(a) / rate:.2f} s)") for i, a in enumerate(audio)]
    # one utterance: batched with its own first half, so that the batch has padding
    batch = list(audio) if len(audio) > 1 else [audio[0], audio[0][: len(audio[0]) // 2]]
    batches.append((batch, f"padded batch of {len(batch)}"))
    comparisons = []
    for waveforms, setting in batches:
        comparisons.append(_compare_batch(checkpoint, reference, hf_model, processor, waveforms, setting))
    report = CheckReport(comparisons, tolerance)
    if checkpoint.normalize:
        report.normalization_diff = normalization_diff(processor, audio, rate)
    for line in report.lines():
        logger.info("%s", line)
    return report


def _compare_batch(checkpoint, reference, hf_model, processor, waveforms, setting) -> Comparison:
    inputs = processor(waveforms, sampling_rate=checkpoint.sample_rate, padding=True,
                       return_attention_mask=True, return_tensors="pt")
    values, mask = inputs["input_values"].float(), inputs["attention_mask"]
    if len(waveforms) == 1:
        mask = None
    ours = fairseq_outputs(reference, values, None if mask is None else ~mask.bool())
    theirs = hf_outputs(hf_model, values, mask)
    frames = next(iter(theirs.values())).size(1)
    lengths = ([frames] if mask is None
               else hf_model._get_feat_extract_output_lengths(mask.sum(-1)).tolist())
    comparison = Comparison(setting, compare(ours, theirs, lengths))
    if checkpoint.is_ctc:
        comparison.fairseq_text = fairseq_transcripts(checkpoint, ours["logits"], lengths)
        comparison.hf_text = hf_transcripts(processor, theirs["logits"], lengths)
    return comparison


def normalization_diff(processor, audio: Sequence[np.ndarray], sample_rate: int) -> float:
    """Max |difference| between the feature extractor's input values and fairseq's
    normalization of the same waveforms (layer norm over the utterance, as its datasets do)."""
    diffs = []
    for waveform in audio:
        ours = torch.nn.functional.layer_norm(torch.from_numpy(waveform).float(), waveform.shape)
        theirs = processor(waveform, sampling_rate=sample_rate, return_tensors="pt")["input_values"][0]
        diffs.append(float((ours - theirs.float()).abs().max()))
    return max(diffs)


def default_audio(sample_rate: int, seconds: Sequence[float] = (3.0, 2.2), seed: int = 0) -> List[np.ndarray]:
    """Seeded noise bursts of a few seconds, for checkpoints checked without --check-audio."""
    rng = np.random.default_rng(seed)
    audio = []
    for duration in seconds:
        n = int(duration * sample_rate)
        envelope = 0.5 + 0.5 * np.sin(np.linspace(0, 6 * np.pi, n)) ** 2
        audio.append((0.1 * envelope * rng.standard_normal(n)).astype(np.float32))
    return audio


def compared_audio(paths: Optional[Sequence[str]], sample_rate: int) -> List[np.ndarray]:
    if not paths:
        return default_audio(sample_rate)
    import soundfile as sf

    audio = []
    for path in paths:
        samples, rate = sf.read(path, dtype="float32")
        if rate != sample_rate or samples.ndim != 1:
            channels = 1 if samples.ndim == 1 else samples.shape[1]
            raise ValueError(f"{path}: {rate} Hz, {channels} channel(s): the check needs mono "
                             f"{sample_rate} Hz audio")
        audio.append(samples)
    return audio
