"""Model `xlsr`: wav2vec 2.0 as XLSR trains it (Conneau et al. 2020), one quantizer shared by all
languages.

The network and its state dict are fairseq's Wav2Vec2Model unchanged, so checkpoints load into
stock `wav2vec2`, `wav2vec_ctc` (w2v_path) and torchaudio's importer. What it adds is in the
training output: `codes`, the codeword each group of the quantizer picked for every quantized
frame ([batch, frame, group]; argmax of the quantizer logits, the choice stock fairseq's
`code_perplexity` counts), from which the `xlsr` criterion reports code usage per language.
"""
from dataclasses import dataclass

import torch
from fairseq.models import register_model
from fairseq.models.wav2vec.wav2vec2 import Wav2Vec2Config, Wav2Vec2Model

from xlsr_plugin.models.architecture import check_same_architecture


@dataclass
class XlsrConfig(Wav2Vec2Config):
    """Wav2Vec2Config; the XLSR values live in config/pretraining/*.yaml."""


@register_model("xlsr", dataclass=XlsrConfig)
class XlsrModel(Wav2Vec2Model):
    def __init__(self, cfg: XlsrConfig):
        super().__init__(cfg)
        self._codes = None
        if self.quantizer is not None:
            # Hooks, not a copy of GumbelVectorQuantizer.forward: they read the logits it computes.
            self.quantizer.weight_proj.register_forward_hook(self._keep_code_choices)

    @classmethod
    def build_model(cls, cfg: XlsrConfig, task=None):
        return cls(cfg)

    def load_state_dict(self, state_dict, strict=True, model_cfg=None, args=None):
        # A checkpoint of other flags (checkpoint.restore_file=xlsr_53_56k.pt) fails naming them.
        # (Fine-tuning builds the model from the checkpoint's own flags, then drops the
        # pretraining modules: nothing to compare there.)
        if self.final_proj is not None:
            check_same_architecture(self.state_dict(), state_dict)
        return super().load_state_dict(state_dict, strict=strict, model_cfg=model_cfg, args=args)

    def _keep_code_choices(self, module, inputs, logits):
        groups = self.quantizer.groups
        with torch.no_grad():
            self._codes = logits.view(logits.size(0), groups, -1).argmax(-1)

    def forward(self, source, *args, **kwargs):
        self._codes = None
        result = super().forward(source, *args, **kwargs)
        if self._codes is not None and "x" in result and "features_pen" in result:
            # [batch * frames, groups] -> [batch, frames, groups]
            result["codes"] = self._codes.view(source.size(0), -1, self._codes.size(-1))
        self._codes = None
        return result
