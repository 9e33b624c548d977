"""fairseq wav2vec 2.0 weight names -> transformers Wav2Vec2 ones, in one table.

Every fairseq weight must land on a transformers weight of the same shape and every transformers
weight must be filled: anything else is an error naming the weights (transformers' own converter
only logs them).
"""
import logging
import re
from typing import Dict, List, Optional, Tuple

import torch

logger = logging.getLogger(__name__)

# Wav2Vec2Model (fairseq) -> Wav2Vec2Model (transformers, under `wav2vec2.`).
ENCODER_RULES: List[Tuple[str, str]] = [
    (r"feature_extractor\.conv_layers\.(\d+)\.0\.(weight|bias)", r"feature_extractor.conv_layers.\1.conv.\2"),
    # extractor_mode=default: GroupNorm after the first conv; layer_norm: LayerNorm after each
    (r"feature_extractor\.conv_layers\.0\.2\.(weight|bias)", r"feature_extractor.conv_layers.0.layer_norm.\1"),
    (r"feature_extractor\.conv_layers\.(\d+)\.2\.1\.(weight|bias)", r"feature_extractor.conv_layers.\1.layer_norm.\2"),
    (r"layer_norm\.(weight|bias)", r"feature_projection.layer_norm.\1"),
    (r"post_extract_proj\.(weight|bias)", r"feature_projection.projection.\1"),
    (r"mask_emb", r"masked_spec_embed"),
    (r"encoder\.pos_conv\.0\.bias", r"encoder.pos_conv_embed.conv.bias"),
    # weight norm: torch's old names and its parametrization's
    (r"encoder\.pos_conv\.0\.(?:weight_g|parametrizations\.weight\.original0)",
     r"encoder.pos_conv_embed.conv.weight_g"),
    (r"encoder\.pos_conv\.0\.(?:weight_v|parametrizations\.weight\.original1)",
     r"encoder.pos_conv_embed.conv.weight_v"),
    (r"encoder\.layer_norm\.(weight|bias)", r"encoder.layer_norm.\1"),
    (r"encoder\.layers\.(\d+)\.self_attn\.(q|k|v|out)_proj\.(weight|bias)", r"encoder.layers.\1.attention.\2_proj.\3"),
    (r"encoder\.layers\.(\d+)\.self_attn_layer_norm\.(weight|bias)", r"encoder.layers.\1.layer_norm.\2"),
    (r"encoder\.layers\.(\d+)\.fc1\.(weight|bias)", r"encoder.layers.\1.feed_forward.intermediate_dense.\2"),
    (r"encoder\.layers\.(\d+)\.fc2\.(weight|bias)", r"encoder.layers.\1.feed_forward.output_dense.\2"),
    (r"encoder\.layers\.(\d+)\.final_layer_norm\.(weight|bias)", r"encoder.layers.\1.final_layer_norm.\2"),
]
PRETRAINING_RULES = [(f, f"wav2vec2.{t}") for f, t in ENCODER_RULES] + [
    (r"quantizer\.vars", r"quantizer.codevectors"),
    (r"quantizer\.weight_proj\.(weight|bias)", r"quantizer.weight_proj.\1"),
    (r"project_q\.(weight|bias)", r"project_q.\1"),
    (r"final_proj\.(weight|bias)", r"project_hid.\1"),
]
CTC_RULES = [(rf"w2v_encoder\.w2v_model\.{f}", f"wav2vec2.{t}") for f, t in ENCODER_RULES] + [
    (r"w2v_encoder\.proj\.(weight|bias)", r"lm_head.\1"),
]
# A weight-normed conv's two weights, as torch's old weight_norm and its parametrization name them.
WEIGHT_NORM_NAMES = [("weight_g", "parametrizations.weight.original0"),
                     ("weight_v", "parametrizations.weight.original1")]


class WeightMappingError(ValueError):
    """fairseq weights with no transformers counterpart, or transformers weights left unset."""


def hf_name(fairseq_name: str, rules: List[Tuple[str, str]]) -> Optional[str]:
    for pattern, target in rules:
        match = re.fullmatch(pattern, fairseq_name)
        if match:
            return match.expand(target)
    return None


def as_in(name: str, expected) -> str:
    """`name` with its weight-norm part spelt as in `expected` (a state dict's names)."""
    if name in expected:
        return name
    for old, new in WEIGHT_NORM_NAMES:
        for ours, theirs in ((old, new), (new, old)):
            if name.endswith(ours) and name[: -len(ours)] + theirs in expected:
                return name[: -len(ours)] + theirs
    return name


def hf_state_dict(weights: Dict[str, torch.Tensor], rules, expected: Dict[str, torch.Tensor],
                  unused: Tuple[str, ...] = ()) -> Dict[str, torch.Tensor]:
    """`weights` (fairseq names) renamed for a transformers model whose state dict is `expected`.
    `unused`: transformers names of fairseq weights the exported model does without (dropped
    with a log line)."""
    mapped, problems = {}, []
    for name, tensor in weights.items():
        target = hf_name(name, rules)
        target = target and as_in(target, expected)
        if target in unused:
            logger.info("dropped %s: unused by the exported model (%s)", name, target)
        elif target is None:
            problems.append(f"{name} {tuple(tensor.shape)} matches no transformers weight")
        elif target not in expected:
            problems.append(f"{name} -> {target}, which the transformers model does not have")
        elif tensor.shape != expected[target].shape:
            problems.append(f"{name} {tuple(tensor.shape)} -> {target} {tuple(expected[target].shape)}: shapes differ")
        else:
            mapped[target] = tensor.float() if tensor.is_floating_point() else tensor
    if problems:
        raise WeightMappingError("fairseq weights that cannot be exported:\n  " + "\n  ".join(problems))
    missing = sorted(set(expected) - set(mapped))
    if missing:
        raise WeightMappingError("transformers weights no fairseq weight initialises:\n  " + "\n  ".join(missing))
    return mapped


def identity_projection(weights: Dict[str, torch.Tensor], prefix: str, dim: int) -> Dict[str, torch.Tensor]:
    """fairseq has no post_extract_proj when the feature encoder's channels equal the model
    dimension; transformers always projects: an identity projection is the same network."""
    if f"{prefix}post_extract_proj.weight" in weights:
        return weights
    logger.info("no post_extract_proj in the checkpoint (%d channels = model dimension): "
                "identity feature projection", dim)
    return dict(weights, **{f"{prefix}post_extract_proj.weight": torch.eye(dim),
                            f"{prefix}post_extract_proj.bias": torch.zeros(dim)})
