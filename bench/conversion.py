"""Benchmark: Common Voice manifest generation against a sequential scan-then-convert baseline.

Builds a synthetic Common Voice folder of MP3 clips at 48 kHz (default 2,000), then times
  * ours: ``manifests/commonvoice.py``'s ``prepare_commonvoice`` with ``--workers 2``: probing,
    decoding, soxr resampling and FLAC writing in worker processes;
  * baseline: what fairseq's ``examples/wav2vec/wav2vec_manifest.py`` does (a sequential
    ``soundfile.info`` over every file) followed by the conversion a user does by hand, one file
    after another: soundfile decode, torchaudio's resampler, FLAC write.
Prints wall time per hour of audio for each and the ratio (target: >= 1.7x on 2 cores), ours
with one worker (the share of the gain due to parallelism) and soxr against torchaudio on the
resampling alone (where the rest comes from: torchaudio builds its sinc kernel on every call).

    python bench/conversion.py [--clips 2000] [--workers 2] [--torch-threads 1] [--smoke]

The baseline's torch threads matter more than anything else on a shared machine: with 2 threads
on busy cores each torchaudio resample waits on its thread pool (about 60 ms a clip instead of 7),
which made the baseline 10x slower in earlier runs of this bench.
"""
import argparse
import shutil
import tempfile
import time
from pathlib import Path

import soundfile as sf
from _smoke import parse_args

from xlsr_plugin.preparation.pipeline import Options
from xlsr_plugin.preparation.commonvoice import prepare_commonvoice
from xlsr_plugin.synthetic import make_commonvoice_release


def build_release(root: Path, clips: int) -> list:
    """A Common Voice folder of ``clips`` MP3s: up to 40 synthesized clips, copied under new
    names."""
    make_commonvoice_release(root, {"es": min(40, clips)}, speakers_per_lang=5, seed=0)
    folder = root / "es"
    lines = (folder / "train.tsv").read_text().splitlines()
    header, rows = lines[0], [line.split("\t") for line in lines[1:]]
    sources = sorted((folder / "clips").glob("*.mp3"))
    out = []
    for i in range(clips):
        name = f"common_voice_es_bench{i:06d}.mp3"
        shutil.copyfile(sources[i % len(sources)], folder / "clips" / name)
        row = list(rows[i % len(rows)])
        row[0], row[1] = f"client{i % 50:03d}", name
        out.append("\t".join(row))
    for split in ("train", "validated"):
        (folder / f"{split}.tsv").write_text("\n".join([header] + out) + "\n")
    for split in ("dev", "test"):
        (folder / f"{split}.tsv").write_text(header + "\n")
    return sorted((folder / "clips").glob("common_voice_es_bench*.mp3"))


def baseline(files: list, dest: Path, threads: int) -> float:
    """Sequential soundfile.info scan, then decode + torchaudio resample + write, per file."""
    import torch
    import torchaudio.functional as F
    torch.set_num_threads(threads)
    start = time.perf_counter()
    infos = [(f, sf.info(str(f))) for f in files]
    dest.mkdir(parents=True)
    for f, _ in infos:
        audio, rate = sf.read(str(f), dtype="float32", always_2d=True)
        mono = torch.from_numpy(audio.mean(axis=1))
        out = F.resample(mono, rate, 16000).numpy()
        sf.write(str(dest / f"{f.stem}.flac"), out, 16000, format="FLAC", subtype="PCM_16")
    return time.perf_counter() - start


def ours(root: Path, dest: Path, workers: int):
    start = time.perf_counter()
    report = prepare_commonvoice(root, ["es"], Options(dest=dest, workers=workers,
                                                       phonemes=False, fewshot_hours=[]))
    return time.perf_counter() - start, report


def resamplers(files: list, n: int = 100) -> tuple:
    """Seconds to resample ``n`` decoded clips 48 kHz -> 16 kHz with soxr and torchaudio."""
    import soxr
    import torch
    import torchaudio.functional as F
    clips = [sf.read(str(f), dtype="float32")[0] for f in files[:n]]
    t0 = time.perf_counter()
    for c in clips:
        soxr.resample(c, 48000, 16000)
    t1 = time.perf_counter()
    for c in clips:
        F.resample(torch.from_numpy(c), 48000, 16000)
    return t1 - t0, time.perf_counter() - t1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="torch threads of the baseline (torch's default: the core count)")
    args = parse_args(parser, smoke={"clips": 8})
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        files = build_release(tmp / "cv", args.clips)
        for f in files:  # both runs then read from the page cache
            f.read_bytes()
        t_base = baseline(files, tmp / "baseline", args.torch_threads)
        t_ours, report = ours(tmp / "cv", tmp / "data", args.workers)
        t_one, _ = ours(tmp / "cv", tmp / "data1", 1)
        hours = report.stats[("es", "train")].frames / 16000 / 3600
        soxr_s, torch_s = resamplers(files)
    print(f"{len(files)} MP3 clips at 48 kHz, {hours:.2f} h of audio")
    print(f"baseline (sequential sf.info scan + torchaudio conversion, {args.torch_threads} torch "
          f"thread(s)): {t_base:7.1f} s, "
          f"{t_base / hours:6.1f} s per hour of audio")
    print(f"ours (--workers {args.workers}, soxr):{'':24}{t_ours:7.1f} s, "
          f"{t_ours / hours:6.1f} s per hour of audio")
    print(f"ours (--workers 1, soxr):{'':24}{t_one:7.1f} s, {t_one / hours:6.1f} s per hour of audio")
    print(f"speed-up: {t_base / t_ours:.2f}x (target >= 1.7x); from the workers alone: "
          f"{t_one / t_ours:.2f}x")
    print(f"resampling {min(100, len(files))} clips 48->16 kHz: soxr {soxr_s:.2f} s, torchaudio {torch_s:.2f} s")


if __name__ == "__main__":
    main()
