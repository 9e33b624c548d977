"""Model `xlsr`: wav2vec 2.0 as XLSR trains it (Conneau et al. 2020), one quantizer shared by all
languages.

The network and its state dict are fairseq's Wav2Vec2Model unchanged, so checkpoints load into
stock `wav2vec2`, `wav2vec_ctc` (w2v_path) and torchaudio's importer. What it adds is in the
training output: `codes`, the codeword each group of the quantizer picked for every quantized
frame ([batch, frame, group]; argmax of the quantizer logits, the choice stock fairseq's
`code_perplexity` counts), from which the `xlsr` criterion reports code usage per language.

Its masks are reproducible: stock `apply_mask` draws every item's spans from
`np.random.default_rng(None)` (fresh OS entropy). Within `seeded_draws` (the tasks wrap each
training and validation step in it) each item's time and channel spans come from a generator
seeded with (seed, update, rank, item id), so two runs with one seed, or a resumed run and an
uninterrupted one, mask alike. The same holds when a `wav2vec_ctc` model fine-tunes an `xlsr`
checkpoint: its encoder is this model.
"""
import contextlib
import logging
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
import torch.distributed as dist
from fairseq.data.data_utils import compute_mask_indices, numpy_seed
from fairseq.models import register_model
from fairseq.models.wav2vec.wav2vec2 import Wav2Vec2Config, Wav2Vec2Model

from xlsr_plugin.models.architecture import check_same_architecture

logger = logging.getLogger(__name__)

VALIDATION_STEP = -1  # the "update" of validation draws: the same masks at every validation
_TIME, _CHANNEL = 0, 1  # which mask a generator draws, so time and channel spans differ


@dataclass(frozen=True)
class DrawKey:
    """What the random draws of one step are a function of."""

    seed: int  # the run's seed (common.seed)
    step: int  # the update number, or VALIDATION_STEP
    rank: int  # the data-parallel worker
    ids: np.ndarray  # [batch] the items' dataset indices, sample["id"]

    def mask_seed(self, kind: int) -> int:
        """compute_mask_indices' `seed`; it hashes it with `epoch` (the step) and each item's id."""
        return hash((self.seed, self.rank, kind))


def current_rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


@contextlib.contextmanager
def seeded_draws(model: torch.nn.Module, seed: int, step: int, sample: Optional[dict]):
    """Within: the masks of every `xlsr` model inside `model` (itself, or the encoder of a
    wav2vec_ctc) and numpy's global draws (LayerDrop) are functions of (seed, step, rank, items).
    torch's draws (dropout, negatives, Gumbel noise) are fairseq's: seeded with seed + update."""
    ids = sample.get("id") if sample else None
    if ids is None:
        yield
        return
    ids = ids.cpu().numpy()
    key = DrawKey(seed, step, current_rank(), ids)
    xlsr_models = [m for m in model.modules() if isinstance(m, XlsrModel)]
    for m in xlsr_models:
        m.draw_key = key
    try:
        with numpy_seed(seed, step, key.rank, *ids[:1].tolist()):
            yield
    finally:
        for m in xlsr_models:
            m.draw_key = None


@dataclass
class XlsrConfig(Wav2Vec2Config):
    """Wav2Vec2Config; the XLSR values live in config/pretraining/*.yaml."""


@register_model("xlsr", dataclass=XlsrConfig)
class XlsrModel(Wav2Vec2Model):
    draw_key: Optional[DrawKey] = None  # set by seeded_draws; None: stock (unseeded) masks

    def __init__(self, cfg: XlsrConfig):
        super().__init__(cfg)
        self._codes = None
        if self.mask_channel_prob > 0 and self.mask_channel_before:
            logger.warning("mask_channel_before: stock apply_mask draws these channel masks "
                           "itself, unseeded; runs will not be reproducible")
        if self.quantizer is not None:
            # Hooks, not a copy of GumbelVectorQuantizer.forward: they read the logits it computes.
            self.quantizer.weight_proj.register_forward_hook(self._keep_code_choices)

    @classmethod
    def build_model(cls, cfg: XlsrConfig, task=None):
        return cls(cfg)

    def load_state_dict(self, state_dict, strict=True, model_cfg=None, args=None):
        # A checkpoint of other flags (checkpoint.restore_file=xlsr_53_56k.pt) fails naming them:
        # its cfg.model was compared by the task; what shapes tensors is compared here too (a
        # bare state dict). (Fine-tuning builds the model from the checkpoint's own flags, then
        # drops the pretraining modules: nothing to compare there.)
        if self.final_proj is not None:
            check_same_architecture(self.state_dict(), state_dict)
        return super().load_state_dict(state_dict, strict=strict, model_cfg=model_cfg, args=args)

    def _keep_code_choices(self, module, inputs, logits):
        groups = self.quantizer.groups
        with torch.no_grad():
            self._codes = logits.view(logits.size(0), groups, -1).argmax(-1)

    def apply_mask(self, x, padding_mask, mask_indices=None, mask_channel_indices=None):
        """Stock masking, with the spans drawn from `draw_key` when it is set.
        x: [batch, frame, channel]; padding_mask: [batch, frame] or None."""
        key = self.draw_key
        if key is not None and len(key.ids) == x.size(0):
            batch, frames, channels = x.shape
            if mask_indices is None and self.mask_prob > 0:
                mask_indices = self._spans(
                    key, _TIME, (batch, frames), padding_mask, self.mask_prob, self.mask_length,
                    self.mask_selection, self.mask_other, min_masks=2,
                    no_overlap=self.no_mask_overlap, min_space=self.mask_min_space,
                    require_same_masks=self.cfg.require_same_masks,
                    mask_dropout=self.cfg.mask_dropout,
                ).to(x.device)
            if mask_channel_indices is None and self.mask_channel_prob > 0 and not self.mask_channel_before:
                channel_mask = self._spans(
                    key, _CHANNEL, (batch, channels), None, self.mask_channel_prob,
                    self.mask_channel_length, self.mask_channel_selection,
                    self.mask_channel_other, no_overlap=self.no_mask_channel_overlap,
                    min_space=self.mask_channel_min_space,
                )
                mask_channel_indices = channel_mask.to(x.device).unsqueeze(1).expand(-1, frames, -1)
        return super().apply_mask(x, padding_mask, mask_indices, mask_channel_indices)

    @staticmethod
    def _spans(key: DrawKey, kind: int, shape, padding_mask, *args, **kwargs) -> torch.Tensor:
        """compute_mask_indices with one generator per item, seeded from the key and its id."""
        mask = compute_mask_indices(shape, padding_mask, *args, seed=key.mask_seed(kind),
                                    epoch=key.step, indices=key.ids, **kwargs)
        return torch.from_numpy(mask)

    def forward(self, source, *args, **kwargs):
        self._codes = None
        result = super().forward(source, *args, **kwargs)
        if self._codes is not None and "x" in result and "features_pen" in result:
            # [batch * frames, groups] -> [batch, frames, groups]
            result["codes"] = self._codes.view(source.size(0), -1, self._codes.size(-1))
        self._codes = None
        return result
