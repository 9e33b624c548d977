"""Real-time factor of `fairseq-generate` CTC decoding of a Base-size model on CPU.

    python bench/decode.py [--threads 2] [--utterances 16] [--seconds 6] [--beam 16] [--smoke]

Builds a wav2vec 2.0 Base model with random weights (official checkpoint format), fine-tunes it
for a few updates with ctc_tiny so that a real fine-tuned checkpoint exists, then runs
fairseq-generate's own main() on noise utterances with greedy and with beam-search decoding.
The model's forward pass is timed inside the same run, so the decoding overhead (everything
generate's timer sees beyond the forward: log-softmax, decoding) is measured over the same
batches. A random-weight model emits nearly one class throughout, so both decoders are also
timed on random peaky emissions of the same shapes. Greedy's overhead should stay under 10% of
the forward time. Prints figures only. `--smoke` runs the same steps on a 1-layer model (the
tests' size) and two 1-second utterances.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import soundfile as sf
import torch
from _smoke import parse_args

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
USER_DIR = os.path.join(ROOT, "xlsr_plugin")
LETTERS = "abcdefghij"
# wav2vec 2.0 options of the model: stock defaults (Base, 12 x 768), or the tests' 1-layer model
ARCHITECTURES = {
    "base": [],
    "tiny": ["--encoder-layers", "1", "--encoder-embed-dim", "32", "--encoder-ffn-embed-dim", "64",
             "--encoder-attention-heads", "2", "--final-dim", "16", "--latent-vars", "8",
             "--conv-feature-layers", "[(32, 10, 5)] + [(32, 3, 2)] * 4 + [(32, 2, 2)] * 2",
             "--conv-pos", "16", "--conv-pos-groups", "4"],
}


def speech_like(rng, seconds, segment=0.08):
    """Tones and noise changing every 80 ms: frames that differ, so that a random-weight model
    emits a token on many frames, not one class throughout as on stationary noise."""
    n = int(segment * 16000)
    t = np.arange(n) / 16000
    parts = [rng.uniform(0.05, 0.5) * np.sin(2 * np.pi * rng.uniform(100, 3000) * t)
             + rng.uniform(0, 0.2) * rng.standard_normal(n) for _ in range(int(seconds / segment))]
    return np.concatenate(parts).astype(np.float32)


def write_data(data, utterances, seconds):
    folder = os.path.join(data, "xx")
    os.makedirs(folder)
    rng = np.random.default_rng(0)
    rows, labels = [], []
    for i in range(utterances):
        audio = speech_like(rng, seconds)
        sf.write(os.path.join(folder, f"{i}.wav"), audio, 16000)
        rows.append(f"{i}.wav\t{len(audio)}")
        labels.append(" | ".join(" ".join(rng.choice(list(LETTERS), 5)) for _ in range(4)))
    for split in ("train", "valid", "test"):
        with open(os.path.join(folder, f"{split}.tsv"), "w") as f:
            f.write(folder + "\n" + "\n".join(rows) + "\n")
        with open(os.path.join(folder, f"{split}.ltr"), "w") as f:
            f.write("\n".join(labels) + "\n")
    with open(os.path.join(folder, "dict.ltr.txt"), "w") as f:
        f.writelines(f"{s} 1\n" for s in "|" + LETTERS)
    return utterances * seconds


def write_pretrained_checkpoint(data, path, model="base"):
    """wav2vec 2.0 with random weights in the format of the released files (argparse `args`)."""
    from fairseq import options, tasks

    parser = options.get_training_parser(default_task="audio_pretraining")
    args = options.parse_args_and_arch(parser, [data, "--task", "audio_pretraining", "--arch",
                                                "wav2vec2", "--criterion", "wav2vec",
                                                *ARCHITECTURES[model]])
    model = tasks.setup_task(args).build_model(args)
    history = [{"criterion_name": "Wav2vecCriterion", "optimizer_name": "FairseqAdam",
                "lr_scheduler_state": {"best": None}, "num_updates": 0}]
    torch.save({"args": args, "model": model.state_dict(), "optimizer_history": history,
                "extra_state": {}}, path)


def finetune_briefly(data, pretrained, work, model):
    command = [
        os.path.join(os.path.dirname(sys.executable), "fairseq-hydra-train"),
        "--config-dir", os.path.join(ROOT, "config", "finetuning"), "--config-name", "ctc_tiny",
        f"common.user_dir={USER_DIR}", f"task.data={data}", "task.labels=ltr",
        "checkpoint.best_checkpoint_metric=cer",  # ctc_tiny selects by per, which ltr does not log
        f"model.w2v_path={pretrained}", f"checkpoint.save_dir={work}/ckpt",
        f"hydra.run.dir={work}/hydra", "optimization.max_update=10", "optimization.max_epoch=1",
        "dataset.max_tokens=200000", "checkpoint.no_save_optimizer_state=true",
        "dataset.disable_validation=true",
        # base_10h.yaml's 64 for Base's 768 channels; ctc_tiny's 8 for the tiny model's 32
        *(["model.mask_channel_length=64"] if model == "base" else []),
    ]
    subprocess.run(command, check=True, capture_output=True, cwd=work)
    return os.path.join(work, "ckpt", "checkpoint_last.pt")


class ForwardTimer:
    """Times every Wav2VecCtc.forward of the run."""

    def __init__(self):
        from fairseq.models.wav2vec.wav2vec2_asr import Wav2VecCtc

        self.seconds = 0.0
        self.original = Wav2VecCtc.forward
        timer = self

        def forward(model, **kwargs):
            start = time.perf_counter()
            out = timer.original(model, **kwargs)
            timer.seconds += time.perf_counter() - start
            return out

        Wav2VecCtc.forward = forward


def run_generate(data, checkpoint, work, *extra):
    """fairseq-generate's main() in this process. Returns the seconds spent in the generator,
    in the model's forward pass, and the emission shapes [batch, frame, vocabulary] decoded."""
    from fairseq import options
    from fairseq.models.wav2vec.wav2vec2_asr import Wav2VecCtc
    from fairseq_cli import generate

    from xlsr_plugin.decoding import ctc

    spent = {"generate": 0.0}
    shapes = []
    original_generate, original_emissions = ctc._CtcDecoder.generate, ctc._emissions

    def timed_generate(self, *args, **kwargs):
        start = time.perf_counter()
        out = original_generate(self, *args, **kwargs)
        spent["generate"] += time.perf_counter() - start
        return out

    def recorded_emissions(models, sample):
        lprobs, lengths = original_emissions(models, sample)
        shapes.append(tuple(lprobs.shape))
        return lprobs, lengths

    ctc._CtcDecoder.generate, ctc._emissions = timed_generate, recorded_emissions
    timer = ForwardTimer()
    parser = options.get_generation_parser()
    args = options.parse_args_and_arch(parser, [
        data, "--user-dir", USER_DIR, "--task", "xlsr_finetuning", "--labels", "ltr",
        "--path", checkpoint, "--gen-subset", "test", "--scoring", "cer", "--cpu",
        "--batch-size", "4", "--results-path", work, "--quiet", *extra,
    ])
    try:
        generate.main(args)
    finally:
        ctc._CtcDecoder.generate, ctc._emissions = original_generate, original_emissions
        Wav2VecCtc.forward = timer.original
    return spent["generate"], timer.seconds, shapes


def decode_varied_emissions(decoder, shapes):
    """Seconds `decoder` takes on random peaky emissions of the run's shapes, and the tokens it
    emits: a trained model changes class every few frames, a random-weight one hardly ever."""
    generator = torch.Generator().manual_seed(0)
    seconds, tokens = 0.0, 0
    for batch, frames, vocabulary in shapes:
        lprobs = torch.log_softmax(4 * torch.randn(batch, frames, vocabulary, generator=generator), -1)
        lengths = torch.full((batch,), frames, dtype=torch.long)
        start = time.perf_counter()
        hypotheses = decoder.decode(lprobs, lengths)
        seconds += time.perf_counter() - start
        tokens += sum(len(h[0]["tokens"]) for h in hypotheses)
    return seconds, tokens


def report(name, audio_seconds, generate_seconds, forward_seconds):
    overhead = generate_seconds - forward_seconds
    sys.stdout.write(
        f"{name}: RTF {generate_seconds / audio_seconds:.4f} "
        f"(forward alone {forward_seconds / audio_seconds:.4f}); decoding overhead "
        f"{overhead:.3f} s = {100 * overhead / forward_seconds:.1f}% of the forward "
        f"{forward_seconds:.3f} s\n"
    )
    return overhead / forward_seconds


def report_varied(name, decoder, shapes, forward_seconds, audio_seconds):
    seconds, tokens = decode_varied_emissions(decoder, shapes)
    sys.stdout.write(f"{name} on varied emissions of the same shapes: {seconds:.3f} s for {tokens} "
                     f"tokens = {100 * seconds / forward_seconds:.1f}% of the forward, "
                     f"RTF {seconds / audio_seconds:.4f} on top of it\n")
    return seconds / forward_seconds


def main():
    from fairseq.data import Dictionary

    from xlsr_plugin.decoding.ctc import BeamSearchDecoder, ViterbiDecoder

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--utterances", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--beam", type=int, default=16)
    parser.add_argument("--model", choices=sorted(ARCHITECTURES), default="base")
    args = parse_args(parser, smoke={"utterances": 2, "seconds": 1.0, "beam": 4, "model": "tiny"})
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as work:
        data = os.path.join(work, "data")
        audio_seconds = write_data(data, args.utterances, args.seconds)
        pretrained = os.path.join(work, "pretrained.pt")
        write_pretrained_checkpoint(data, pretrained, args.model)
        checkpoint = finetune_briefly(data, pretrained, work, args.model)
        sys.stdout.write(f"{args.utterances} utterances, {audio_seconds:.0f} s of audio, "
                         f"{args.threads} threads, wav2vec 2.0 {args.model} (random weights)\n")
        generate_seconds, forward_seconds, shapes = run_generate(data, checkpoint, work)
        ratio = report("greedy", audio_seconds, generate_seconds, forward_seconds)
        report(f"beam {args.beam}", audio_seconds, *run_generate(
            data, checkpoint, work, "--ctc-decoder", "beam", "--beam", str(args.beam))[:2])
        dictionary = Dictionary.load(os.path.join(data, "xx", "dict.ltr.txt"))
        varied = report_varied("greedy", ViterbiDecoder(dictionary), shapes, forward_seconds, audio_seconds)
        report_varied(f"beam {args.beam}", BeamSearchDecoder(dictionary, beam=args.beam), shapes,
                      forward_seconds, audio_seconds)
        worst = max(ratio, varied)
        sys.stdout.write(f"greedy overhead / forward = {worst:.3f} at most (target <= 0.10): "
                         f"{'ok' if worst <= 0.10 else 'OVER'}\n")


if __name__ == "__main__":
    main()
