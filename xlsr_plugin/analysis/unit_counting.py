"""Count the quantizer's codewords per language: checkpoint loading, audio selection, batching.

In pretraining the quantizer sees the feature encoder's output after ``layer_norm`` and before
``post_extract_proj`` (``dropout_features`` is the identity in eval mode), which is what
``Wav2Vec2Model.quantize`` computes; the quantizer in eval mode picks each group's argmax.
"""
import logging
import os
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import soundfile as sf
import torch
import torch.nn.functional as F

from xlsr_plugin.checkpoint_loading import TRUST_FLAG, check_checkpoint, fairseq_loads
from xlsr_plugin.data.manifests import read_manifest

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000


@dataclass
class LoadedQuantizer:
    """A pretraining model in eval mode and what the input pipeline must do for it."""

    model: torch.nn.Module  # a fairseq Wav2Vec2Model (or subclass) with a quantizer
    normalize: bool  # the task's per-utterance waveform normalization
    pad_safe: bool  # padding leaves the valid frames' features unchanged

    @property
    def num_codewords(self) -> int:
        q = self.model.quantizer
        return q.num_vars ** q.groups


def load_quantizer_model(checkpoint: str, data: Optional[str] = None,
                         device: str = "cpu", trust: bool = False) -> LoadedQuantizer:
    """Load a pretraining checkpoint (``cfg`` or old ``args`` style) through fairseq's loader,
    under the plugin's checkpoint policy (``trust``: --trust-checkpoint).

    ``data`` replaces the task's data folder, which may not exist on this machine.
    """
    from fairseq import checkpoint_utils
    from fairseq.models.wav2vec.wav2vec2 import Wav2Vec2Model

    import xlsr_plugin  # noqa: F401  registers the ``xlsr`` model and task

    check_checkpoint(checkpoint, trust=trust, opt_in=TRUST_FLAG)
    overrides = {"data": os.path.abspath(data)} if data else None
    with fairseq_loads(trust):
        state = checkpoint_utils.load_checkpoint_to_cpu(checkpoint, overrides)
    if "quantizer.vars" not in state.get("model", {}):
        raise ValueError(
            f"{checkpoint} has no quantizer (no 'quantizer.vars' in its weights): codeword "
            "usage needs a pretraining checkpoint (xlsr or wav2vec2), not a fine-tuned model")
    models, cfg, task = checkpoint_utils.load_model_ensemble_and_task([checkpoint], state=state)
    model = models[0]
    if not isinstance(model, Wav2Vec2Model) or model.quantizer is None:
        raise ValueError(f"{checkpoint} holds a {type(model).__name__} without a quantizer; "
                         "expected a wav2vec2/xlsr pretraining model")
    model.eval().to(device)
    normalize = bool(getattr(cfg.task, "normalize", False))
    # "default" mode group-normalizes the first conv over time, so padding would change features
    pad_safe = getattr(model.cfg, "extractor_mode", "default") == "layer_norm"
    logger.info("loaded %s: %d groups x %d entries, normalize=%s, batched=%s", checkpoint,
                model.quantizer.groups, model.quantizer.num_vars, normalize, pad_safe)
    return LoadedQuantizer(model=model, normalize=normalize, pad_safe=pad_safe)


def select_utterances(rows: Sequence[Tuple[str, int]], max_hours: Optional[float],
                      seed: int = 0) -> List[Tuple[str, int]]:
    """A seeded random subset of at most ``max_hours`` (all rows when None or <= 0)."""
    order = np.random.default_rng(seed).permutation(len(rows))
    if not max_hours or max_hours <= 0:
        return [rows[i] for i in order]
    budget = max_hours * 3600 * SAMPLE_RATE
    chosen, total = [], 0
    for i in order:
        if total + rows[i][1] > budget and chosen:
            break
        chosen.append(rows[i])
        total += rows[i][1]
    return chosen


def load_audio(path: str, normalize: bool) -> torch.Tensor:
    """One utterance as the pretraining dataset gives it to the model: float32 ``[samples]``."""
    wav, rate = sf.read(path, dtype="float32")
    if rate != SAMPLE_RATE:
        raise ValueError(f"{path}: sample rate {rate}, expected {SAMPLE_RATE}")
    feats = torch.from_numpy(wav)
    if feats.dim() == 2:
        feats = feats.mean(-1)
    if normalize:
        feats = F.layer_norm(feats, feats.shape)
    return feats


def make_batches(lengths: Sequence[int], max_samples: int, pad_safe: bool) -> List[List[int]]:
    """Indices grouped by similar length, each batch's padded size at most ``max_samples``."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    if not pad_safe:
        return [[i] for i in order]
    batches, current = [], []
    for i in order:  # ascending, so the newest item sets the padded length
        if current and (len(current) + 1) * lengths[i] > max_samples:
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


@torch.no_grad()
def codeword_ids(loaded: LoadedQuantizer, wavs: Sequence[torch.Tensor],
                 device: str = "cpu") -> List[torch.Tensor]:
    """Codeword indices ``[frames]`` of each utterance, padded frames left out."""
    model = loaded.model
    lengths = torch.tensor([len(w) for w in wavs])
    source = torch.zeros(len(wavs), int(lengths.max()))
    for i, w in enumerate(wavs):
        source[i, : len(w)] = w
    _, targets = model.quantize(source.to(device))  # targets: [batch, frames, groups]
    ids = model.quantizer.to_codebook_index(targets).cpu()
    valid = model._get_feat_extract_output_lengths(lengths)
    return [ids[i, : int(n)] for i, n in enumerate(valid)]


def iter_language_codes(loaded: LoadedQuantizer, root: str, rows: Sequence[Tuple[str, int]],
                        max_samples: int, device: str) -> Iterator[Tuple[int, torch.Tensor]]:
    """Yield ``(samples processed, codeword ids)`` per batch of one language's utterances."""
    batches = make_batches([n for _, n in rows], max_samples, loaded.pad_safe)
    for batch in batches:
        wavs = [load_audio(os.path.join(root, rows[i][0]), loaded.normalize) for i in batch]
        codes = codeword_ids(loaded, wavs, device)
        yield sum(len(w) for w in wavs), torch.cat(codes)


def count_codewords(loaded: LoadedQuantizer, data: str, langs: Sequence[str], split: str,
                    max_hours: Optional[float] = None, max_samples: int = 16000 * 120,
                    device: str = "cpu", seed: int = 0,
                    progress: bool = True) -> Tuple[np.ndarray, Dict[str, Dict[str, float]]]:
    """``counts[language, codeword]`` over ``DATA/<lang>/<split>.tsv``, and what was read."""
    from tqdm import tqdm

    selections = {}
    for lang in langs:
        manifest = os.path.join(data, lang, f"{split}.tsv")
        root, rows = read_manifest(manifest)
        if not rows:
            raise ValueError(f"{manifest} lists no audio")
        selections[lang] = (root, select_utterances(rows, max_hours, seed))
    total = sum(n for _, rows in selections.values() for _, n in rows)
    counts = np.zeros((len(langs), loaded.num_codewords), dtype=np.int64)
    read = {}
    with tqdm(total=total, unit="s", unit_scale=1.0 / SAMPLE_RATE, disable=not progress,
              desc="audio", bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s of audio "
              "[{elapsed}<{remaining}{postfix}]") as bar:
        for li, lang in enumerate(langs):
            root, rows = selections[lang]
            bar.set_postfix_str(lang)
            for samples, ids in iter_language_codes(loaded, root, rows, max_samples, device):
                counts[li] += np.bincount(ids.numpy(), minlength=counts.shape[1])
                bar.update(samples)
            read[lang] = {"utterances": len(rows),
                          "hours": sum(n for _, n in rows) / SAMPLE_RATE / 3600}
    return counts, read
