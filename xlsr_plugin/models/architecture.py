"""The wav2vec 2.0 architecture flags a state dict reveals, so that loading a checkpoint into a
model built from other flags (continuing xlsr_53_56k.pt with `checkpoint.restore_file=`) fails
naming the flags that differ, not the first tensor whose shape does.

Only flags that shape or name parameters can be read back (not encoder_attention_heads,
layer_norm_first or activation_fn, which leave the state dict as it is).
"""
import re
from typing import Dict, List, Mapping

CONV = re.compile(r"feature_extractor\.conv_layers\.(\d+)\.0\.weight$")
LAYER = re.compile(r"encoder\.layers\.(\d+)\.")


class ArchitectureMismatch(ValueError):
    """A checkpoint whose architecture flags differ from the model's."""


def _shape(state_dict: Mapping, key: str, dim: int):
    return int(state_dict[key].shape[dim]) if key in state_dict else None


def _pos_conv(state_dict: Mapping):
    """The positional convolution's weight (weight-normed: weight_v, or a parametrization)."""
    for key in ("encoder.pos_conv.0.weight_v", "encoder.pos_conv.0.parametrizations.weight.original1",
                "encoder.pos_conv.0.weight"):
        if key in state_dict:
            return state_dict[key]
    return None


def architecture_of(state_dict: Mapping) -> Dict[str, object]:
    """model.* flags of a wav2vec 2.0 state dict (stock `wav2vec2` or `xlsr` names)."""
    convs = sorted((int(m.group(1)), state_dict[k]) for k in state_dict if (m := CONV.match(k)))
    layers = {int(m.group(1)) for k in state_dict if (m := LAYER.match(k))}
    flags = {
        "conv_feature_layers (dim, kernel)": [(int(w.shape[0]), int(w.shape[-1])) for _, w in convs],
        "extractor_mode": "layer_norm" if "feature_extractor.conv_layers.0.2.1.weight" in state_dict else "default",
        "conv_bias": "feature_extractor.conv_layers.0.0.bias" in state_dict,
        "encoder_layers": len(layers),
        "encoder_embed_dim": _shape(state_dict, "encoder.layer_norm.weight", 0),
        "encoder_ffn_embed_dim": _shape(state_dict, "encoder.layers.0.fc1.weight", 0),
        "final_dim": _shape(state_dict, "final_proj.weight", 0),
        "quantize_targets": "quantizer.vars" in state_dict,
        "latent_groups x latent_vars": _shape(state_dict, "quantizer.vars", 1),
        "latent_dim (quantizer output)": _shape(state_dict, "project_q.weight", 1),
        "target_glu": "target_glu.0.weight" in state_dict,
    }
    pos = _pos_conv(state_dict)
    if pos is not None and flags["encoder_embed_dim"]:
        flags["conv_pos"] = int(pos.shape[-1])
        flags["conv_pos_groups"] = flags["encoder_embed_dim"] // int(pos.shape[1])
    return flags


def differing_flags(model_state: Mapping, checkpoint_state: Mapping) -> List[str]:
    """`flag: <checkpoint value> in the checkpoint, <model value> in the model` per difference."""
    ours, theirs = architecture_of(model_state), architecture_of(checkpoint_state)
    return [f"{flag}: {theirs.get(flag)} in the checkpoint, {value} in the model"
            for flag, value in ours.items() if theirs.get(flag) != value]


def check_same_architecture(model_state: Mapping, checkpoint_state: Mapping) -> None:
    differences = differing_flags(model_state, checkpoint_state)
    if differences:
        raise ArchitectureMismatch(
            "the checkpoint was trained with other model.* flags than this config:\n  "
            + "\n  ".join(differences)
            + "\nSet them to the checkpoint's values (config/pretraining/xlsr_53.yaml holds XLSR-53's)."
        )
