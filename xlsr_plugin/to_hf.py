"""Export a wav2vec 2.0 / XLSR checkpoint to Hugging Face transformers, verified layer by layer.

    python -m xlsr_plugin.to_hf checkpoint_best.pt OUT_DIR [--check-audio a.wav b.wav]

A pretraining checkpoint (`xlsr` or stock `wav2vec2`; today's `cfg`, the released XLSR-53
file's or the argparse `args` of older releases) becomes Wav2Vec2ForPreTraining with a
Wav2Vec2FeatureExtractor; a CTC fine-tuned one (`wav2vec_ctc`) Wav2Vec2ForCTC with a
Wav2Vec2Processor whose tokenizer holds the fine-tuning dictionary. The config is derived from
the checkpoint's; weights are written as safetensors. Unless --no-check, both models run on a
few seconds of audio, alone and padded, and every layer's hidden states, the CTC logits and the
greedy transcripts must agree (max |diff| <= 1e-4) before OUT_DIR is written.
"""
import argparse
import logging
import sys

from xlsr_plugin.checkpoint_loading import TRUST_HELP, UntrustedCheckpoint
from xlsr_plugin.hf import MISSING_EXTRA, require_transformers


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="fairseq checkpoint (pretraining or CTC fine-tuning)")
    parser.add_argument("destination", help="folder to write (from_pretrained reads it)")
    parser.add_argument("--check", action=argparse.BooleanOptionalAction, default=True,
                        help="compare the exported model with fairseq's before writing (default: on)")
    parser.add_argument("--check-audio", nargs="+", default=(), metavar="WAV",
                        help="mono audio at the model's rate for the check (default: seeded noise)")
    parser.add_argument("--dictionary", help="fine-tuning dictionary, for CTC checkpoints of older "
                        "fairseq versions that do not store it")
    parser.add_argument("--trust-checkpoint", action="store_true", help=TRUST_HELP)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        require_transformers()
    except ImportError:
        sys.exit(MISSING_EXTRA)
    from xlsr_plugin.hf.checkpoint import CheckpointError
    from xlsr_plugin.hf.export import CheckFailed, export
    from xlsr_plugin.hf.weights import WeightMappingError

    try:
        export(args.source, args.destination, check=args.check, check_audio=args.check_audio,
               dictionary=args.dictionary, trust=args.trust_checkpoint)
    except (UntrustedCheckpoint, CheckpointError, WeightMappingError, CheckFailed) as error:
        sys.exit(f"error: {error}")


if __name__ == "__main__":
    main()
