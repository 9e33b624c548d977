"""The wav2vec 2.0 architecture flags of a checkpoint, so that loading it into a model built from
other flags (continuing xlsr_53_56k.pt with `checkpoint.restore_file=`) fails naming the flags
that differ, not the first tensor whose shape does, nor silently when no shape changes.

The checkpoint's `cfg.model` holds every flag (layer_norm_first, encoder_attention_heads,
activation_fn, conv strides... leave the tensors' shapes as they are): the tasks compare it
before fairseq loads the file (`check_same_flags`). Without it (a bare state dict) the model's
load_state_dict reads back from the tensors the flags that shape or name parameters.
"""
import re
from typing import Dict, List, Mapping

from xlsr_plugin.layer_spec import LayerSpecError, parse_layer_spec

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


# Wav2Vec2Config fields that shape the network (not dropout, masking, negatives, temperatures,
# feature_grad_mult and the other training-only fields).
NETWORK_FIELDS = (
    "extractor_mode", "conv_feature_layers", "conv_bias", "encoder_layers", "encoder_embed_dim",
    "encoder_ffn_embed_dim", "encoder_attention_heads", "activation_fn", "layer_type",
    "layer_norm_first", "conv_pos", "conv_pos_groups", "pos_conv_depth", "max_positions",
    "final_dim", "quantize_targets", "quantize_input", "same_quantizer", "target_glu",
    "quantizer_depth", "quantizer_factor", "latent_vars", "latent_groups", "latent_dim",
    "depthwise_conv_kernel_size", "attn_type", "pos_enc_type",
    "adp_num", "adp_dim", "adp_act_fn", "adp_trf_idx",
)


def _layer_list(text: str):
    """``[(512, 10, 5)] + [(512, 3, 2)] * 4`` as a list (spacing aside); the text itself when it
    is not such an expression."""
    try:
        return parse_layer_spec(text)
    except LayerSpecError:
        return text


def _comparable(field: str, value):
    if field == "conv_feature_layers" and isinstance(value, str):
        return _layer_list(value)
    return str(value) if value is not None and not isinstance(value, (bool, int, float)) else value


def differing_cfg(model_cfg, checkpoint_cfg: Mapping) -> List[str]:
    """`flag: <checkpoint value> in the checkpoint, <model value> in the model` for each network
    field of both configs that differs (a field the checkpoint predates is not compared)."""
    out = []
    for field in NETWORK_FIELDS:
        if field not in checkpoint_cfg or not hasattr(model_cfg, field):
            continue
        theirs, ours = checkpoint_cfg.get(field), getattr(model_cfg, field)
        if _comparable(field, theirs) != _comparable(field, ours):
            out.append(f"{field}: {theirs} in the checkpoint, {ours} in the model")
    return out


def mismatch(differences: List[str]) -> ArchitectureMismatch:
    return ArchitectureMismatch(
        "the checkpoint was trained with other model.* flags than this config:\n  "
        + "\n  ".join(differences)
        + "\nSet them to the checkpoint's values (config/pretraining/xlsr_53.yaml holds XLSR-53's)."
    )


def check_same_flags(model_cfg, checkpoint_cfg: Mapping) -> None:
    """Raise ArchitectureMismatch naming every network flag of the checkpoint's cfg.model that
    the model's config does not share."""
    differences = differing_cfg(model_cfg, checkpoint_cfg)
    if differences:
        raise mismatch(differences)


def check_same_architecture(model_state: Mapping, checkpoint_state: Mapping) -> None:
    """Raise ArchitectureMismatch naming every flag the tensors of the checkpoint show it does
    not share with the model."""
    differences = differing_flags(model_state, checkpoint_state)
    if differences:
        raise mismatch(differences)
