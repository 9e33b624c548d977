"""transformers' Wav2Vec2Config and feature extractor derived from a fairseq checkpoint's own
config (fairseq option -> transformers field), instead of given by hand."""
from transformers import Wav2Vec2Config as HfWav2Vec2Config
from transformers import Wav2Vec2FeatureExtractor

from xlsr_plugin.hf.checkpoint import CheckpointError, FairseqCheckpoint
from xlsr_plugin.layer_spec import parse_layer_spec

# fairseq activation_fn -> transformers hidden_act (same functions).
ACTIVATIONS = {"gelu": "gelu", "relu": "relu", "tanh": "tanh", "linear": "linear",
               "gelu_accurate": "gelu_new"}
EXTRACTOR_MODES = {"default": "group", "layer_norm": "layer"}  # -> feat_extract_norm


def conv_layers(conv_feature_layers: str) -> list:
    """fairseq's `conv_feature_layers`, a Python expression such as
    "[(512, 10, 5)] + [(512, 3, 2)] * 4", as [(channels, kernel, stride), ...]."""
    return list(parse_layer_spec(conv_feature_layers))  # (fairseq evals it: read as data here)


def check_supported(checkpoint: FairseqCheckpoint) -> None:
    """Options whose network transformers' Wav2Vec2 cannot express: an error naming them."""
    enc = checkpoint.encoder
    unsupported = {
        "layer_type": enc.layer_type != "transformer",
        "pos_conv_depth": enc.pos_conv_depth > 1,
        "conv_pos_batch_norm": getattr(enc, "conv_pos_batch_norm", False),
        "quantize_input": enc.quantize_input,
        "quantizer_depth": enc.quantizer_depth > 1,
        "target_glu": enc.target_glu,
        "activation_fn": enc.activation_fn not in ACTIVATIONS,
        "extractor_mode": enc.extractor_mode not in EXTRACTOR_MODES,
        # transformers' Wav2Vec2ForPreTraining always has a quantizer
        "quantize_targets": not checkpoint.is_ctc and not enc.quantize_targets,
        "blank_mode": checkpoint.is_ctc and checkpoint.ctc.blank_weight != 0
        and checkpoint.ctc.blank_mode != "add",
    }
    found = [f"{name}={_value(checkpoint, name)!r}" for name, bad in unsupported.items() if bad]
    if found:
        raise CheckpointError(f"{checkpoint.path}: transformers' Wav2Vec2 has no equivalent of "
                              f"{', '.join(found)}")


def _value(checkpoint: FairseqCheckpoint, name: str):
    owner = checkpoint.ctc if name == "blank_mode" else checkpoint.encoder
    return getattr(owner, name, None)


def hf_config(checkpoint: FairseqCheckpoint) -> HfWav2Vec2Config:
    check_supported(checkpoint)
    enc = checkpoint.encoder
    layers = conv_layers(enc.conv_feature_layers)
    final_dim = enc.final_dim if enc.final_dim > 0 else enc.encoder_embed_dim
    fields = dict(
        hidden_size=enc.encoder_embed_dim,
        num_hidden_layers=enc.encoder_layers,
        num_attention_heads=enc.encoder_attention_heads,
        intermediate_size=enc.encoder_ffn_embed_dim,
        hidden_act=ACTIVATIONS[enc.activation_fn],
        feat_extract_norm=EXTRACTOR_MODES[enc.extractor_mode],
        feat_extract_activation="gelu",  # fairseq's feature encoder and positional conv: GELU
        conv_dim=[c for c, _, _ in layers],
        conv_kernel=[k for _, k, _ in layers],
        conv_stride=[s for _, _, s in layers],
        conv_bias=bool(enc.conv_bias),
        num_conv_pos_embeddings=enc.conv_pos,
        num_conv_pos_embedding_groups=enc.conv_pos_groups,
        do_stable_layer_norm=bool(enc.layer_norm_first),
        num_codevectors_per_group=enc.latent_vars,
        num_codevector_groups=enc.latent_groups,
        codevector_dim=enc.latent_dim if enc.latent_dim > 0 else final_dim,
        proj_codevector_dim=final_dim,
        num_negatives=enc.num_negatives,
        contrastive_logits_temperature=enc.logit_temp,
        **_training_fields(checkpoint),
    )
    if checkpoint.diversity_loss_weight is not None:
        fields["diversity_loss_weight"] = checkpoint.diversity_loss_weight
    if checkpoint.is_ctc:
        fields.update(_ctc_fields(checkpoint))
    return HfWav2Vec2Config(**fields)


def _training_fields(checkpoint: FairseqCheckpoint) -> dict:
    """Dropouts and masking: a CTC model's own (fairseq overrides the pretrained network's with
    them when fine-tuning), else the pretraining ones."""
    src = checkpoint.ctc if checkpoint.is_ctc else checkpoint.encoder
    return dict(
        hidden_dropout=src.dropout,
        attention_dropout=src.attention_dropout,
        activation_dropout=src.activation_dropout,
        feat_proj_dropout=src.dropout_input,
        layerdrop=src.layerdrop if checkpoint.is_ctc else src.encoder_layerdrop,
        mask_time_prob=src.mask_prob,
        mask_time_length=src.mask_length,
        mask_feature_prob=src.mask_channel_prob,
        mask_feature_length=src.mask_channel_length,
        apply_spec_augment=bool(src.apply_mask) if checkpoint.is_ctc else True,
        feat_quantizer_dropout=checkpoint.encoder.dropout_features,
    )


def _ctc_fields(checkpoint: FairseqCheckpoint) -> dict:
    dictionary = checkpoint.dictionary
    return dict(
        vocab_size=len(dictionary),
        final_dropout=checkpoint.ctc.final_dropout,
        # transformers' CTC blank is pad_token_id: fairseq's blank, class 0 (its `ctc` criterion)
        pad_token_id=0,
        bos_token_id=dictionary.pad(),
        eos_token_id=dictionary.eos(),
    )


def feature_extractor(checkpoint: FairseqCheckpoint) -> Wav2Vec2FeatureExtractor:
    """do_normalize: the task's `normalize`; attention masks for layer-norm feature encoders
    (transformers' convention: a group-norm encoder's first layer normalizes over time, padding
    included, so its models are run on zero-padded batches without a mask)."""
    return Wav2Vec2FeatureExtractor(
        feature_size=1,
        sampling_rate=checkpoint.sample_rate,
        padding_value=0.0,
        do_normalize=checkpoint.normalize,
        return_attention_mask=checkpoint.encoder.extractor_mode == "layer_norm",
    )
