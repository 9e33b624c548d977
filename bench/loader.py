"""Benchmark: audio seconds read per second by one loader worker, for the formats the manifests
leave on disk (16 kHz FLAC, written by the conversions and used by MLS's FLAC release; 16 kHz
Opus, MLS's Opus release, listed in place), through the plugin task's dataset against stock
fairseq's FileAudioDataset on the same files in the same run.

Clips are espeak-ng speech (xlsr_plugin.synthetic) joined into utterances of about `--seconds`,
written once per format. Each path reads every clip once per repetition in this one process (one
worker = one core, torch on one thread); the best of `--repeats` is kept, in CPU time of this
process (what a worker costs, little changed by other load on a shared machine) and in wall time.
Then it says whether Opus must be converted: a worker must deliver the audio a GPU trains on per
second divided by the workers per GPU (`--gpu-audio-per-s` 330: wav2vec 2.0 Large took 0.45 s per
update of 75 s of audio per V100 (1M updates in 5.2 days on 128), twice that speed on an A100;
`--workers-per-gpu` 6, xlsr_53.yaml), with a margin of 3 for longer files, slower disks and
augmentation. Not a test.

    python bench/loader.py [--clips 40] [--seconds 12] [--repeats 3] [--smoke]
"""
import argparse
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from fairseq.data import FileAudioDataset
from fairseq.tasks import setup_task
from omegaconf import OmegaConf

from _smoke import parse_args
from xlsr_plugin.synthetic.sentences import make_sentences
from xlsr_plugin.synthetic.speech import speaker_voices, synthesize
from xlsr_plugin.tasks.xlsr_pretraining import XlsrPretrainingConfig

logging.disable(logging.WARNING)
FORMATS = {"flac": {"format": "FLAC"}, "opus": {"format": "OGG", "subtype": "OPUS"}}
MARGIN = 3  # a format is fast enough when one worker reads 3x what it must deliver


def write_clips(work: Path, clips: int, seconds: float):
    """DATA_<format>/xx/train.tsv of `clips` utterances of about `seconds` of speech."""
    sentences = make_sentences("es", clips * 6, 0)
    voices = speaker_voices("es", 3)
    speech = synthesize(sentences, [voices[i % 3] for i in range(len(sentences))])
    pool = np.concatenate(speech)
    frames = int(seconds * 16000)
    pool = np.tile(pool, int(np.ceil(clips * frames / len(pool))))
    for ext, fmt in FORMATS.items():
        folder = work / f"DATA_{ext}" / "xx"
        (folder / "audio").mkdir(parents=True, exist_ok=True)
        rows = []
        for i in range(clips):
            path = folder / "audio" / f"{i:04d}.{ext}"
            sf.write(str(path), pool[i * frames:(i + 1) * frames], 16000, **fmt)
            rows.append(f"audio/{path.name}\t{sf.info(str(path)).frames}")
        (folder / "train.tsv").write_text(f"{folder}\n" + "\n".join(rows) + "\n")
    return clips * frames / 16000


def plugin_dataset(data: Path):
    cfg = XlsrPretrainingConfig(_name="xlsr_pretraining", data=str(data), train_subset="train", seed=1,
                                tpu=False, min_sample_size=0, max_sample_size=10**9)
    task = setup_task(OmegaConf.structured(cfg))
    task.load_dataset("train")
    return task.dataset("train")


def seconds_per_second(dataset, audio_seconds: float, repeats: int):
    """Audio seconds read per CPU second and per wall second (best of `repeats`)."""
    cpu = wall = float("inf")
    for _ in range(repeats):
        start_cpu, start_wall = time.process_time(), time.perf_counter()
        read = sum(dataset[i]["source"].shape[-1] for i in range(len(dataset)))
        cpu = min(cpu, time.process_time() - start_cpu)
        wall = min(wall, time.perf_counter() - start_wall)
    assert abs(read / 16000 - audio_seconds) < 1, (read, audio_seconds)
    return audio_seconds / cpu, audio_seconds / wall


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--gpu-audio-per-s", type=float, default=330.0)
    parser.add_argument("--workers-per-gpu", type=int, default=6)
    args = parse_args(parser, {"clips": 4, "seconds": 3.0, "repeats": 1})
    torch.set_num_threads(1)
    work = Path(tempfile.mkdtemp(prefix="xlsr_bench_loader_"))
    audio = write_clips(work, args.clips, args.seconds)
    need = args.gpu_audio_per_s / args.workers_per_gpu
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; {args.clips} clips, {audio:.0f} s "
          f"of audio per format; best of {args.repeats}")
    print("\n  audio seconds read per second of one worker, CPU time (wall time)")
    print("  format        plugin            stock    plugin / stock (CPU)")
    rates = {}
    for ext in FORMATS:
        manifest = work / f"DATA_{ext}" / "xx" / "train.tsv"
        plugin = seconds_per_second(plugin_dataset(work / f"DATA_{ext}"), audio, args.repeats)
        stock = seconds_per_second(FileAudioDataset(str(manifest), sample_rate=16000), audio, args.repeats)
        rates[ext] = plugin[0]
        size = sum(f.stat().st_size for f in (manifest.parent / "audio").iterdir()) / audio / 1000
        print(f"  {ext:6s} {plugin[0]:7,.0f}x ({plugin[1]:5,.0f}x) {stock[0]:7,.0f}x ({stock[1]:5,.0f}x)"
              f" {plugin[0] / stock[0]:12.2f}   {size:5.1f} kB per audio second on disk")
    verdict = "keep Opus in place" if rates["opus"] >= MARGIN * need else "convert Opus to FLAC"
    print(f"\na worker must deliver {need:.0f} s of audio per s ({args.gpu_audio_per_s:.0f} s/s per GPU, "
          f"{args.workers_per_gpu} workers); Opus gives {rates['opus'] / need:.0f}x that, FLAC "
          f"{rates['flac'] / need:.0f}x: {verdict} (threshold {MARGIN}x)")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
