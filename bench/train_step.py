"""Benchmark: training updates per second of the plugin against stock fairseq, same data and model.

Both stacks train on the same audio with one config's model, values and seed (xlsr_tiny, or
xlsr_base's architecture with --size base), through fairseq's own Trainer:
  * plugin: task xlsr_pretraining + model xlsr + criterion xlsr (per-language metrics, code hooks);
  * stock:  task audio_pretraining with multi_corpus_keys over the same DATA/<lang>/train.tsv and
            the alpha=0.5 weights worked out by hand + model wav2vec2 + criterion wav2vec (the
            config's plugin-only keys removed).
By default each repetition is one process holding both stacks (bench/_interleaved.py), which run
one update each in turn, so that other load on the machine slows both alike; updates/s counts the
updates after the first k0 (start-up left out), each timed with its batch fetch, epoch changes and
metric logging. With --separate-processes each run is a fairseq-hydra-train process of its own
(bench/_timed_train.py), runs alternating stack by stack. Medians over the repetitions are
compared. Checkpoints and validation are off (identical for both, and not what is measured).
The samplers draw different batches, so the audio trained on per second is printed too.

Per stack it also prints peak memory (GPU: torch.cuda.max_memory_allocated, split between the
stacks of one process by what each allocates; CPU: the process's peak RSS, both stacks' unless
--separate-processes), model FLOP/s and MFU (bench/_measures.py: conv feature encoder +
Transformer, backward = 2x forward, over the timed updates' batch shapes, divided by the device's
datasheet dense FLOP/s for the precision and by a matrix product measured at start), and the
training loss (finite? first and last tenth of the updates).
Target: plugin >= 0.97 x stock updates/s. Not part of the test suite (--smoke is: seconds).

    python bench/train_step.py [--updates 60] [--warmup 10] [--reps 3] [--utterances 12]
    python bench/train_step.py --device cuda --precision bf16 --size base --audio tones \\
        --utterances 100 --updates 300 --warmup 20 --reps 1
"""
import argparse
import dataclasses
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _stock import alpha_weights, multi_corpus_split, weights_string

REPO = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
CONFIG_DIR = REPO / "config" / "pretraining"

TARGET = 0.97
STACKS = ("plugin", "stock")
# Per model size: config, audio per batch (samples), crops, tone-utterance lengths (s).
SIZES = {
    "tiny": {"config": "xlsr_tiny", "max_tokens": 80000, "min_sample": 4000, "max_sample": 48000,
             "seconds": (1.5, 4.0)},
    "base": {"config": "xlsr_base", "max_tokens": 1400000, "min_sample": 32000, "max_sample": 250000,
             "seconds": (4.0, 16.0)},
}


def write_tones(data: Path, lang: str, utterances: int, seconds, seed: int) -> None:
    """DATA/<lang>/train.tsv of synthetic 16 kHz 'speech' without espeak-ng: 100 ms steps of a
    harmonic tone whose pitch walks over a range of its own per language, plus noise."""
    import numpy as np
    import soundfile as sf

    rng = np.random.default_rng(seed)
    folder = data / lang / "audio"
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(utterances):
        steps = int(rng.uniform(*seconds) * 10)
        pitch = 100 * 2 ** (seed / 4 + np.cumsum(rng.normal(0, 0.08, steps)))
        phase = 2 * np.pi * np.cumsum(np.repeat(pitch, 1600)) / 16000
        audio = sum(np.sin(h * phase) / h for h in (1, 2, 3)) * 0.2 + rng.normal(0, 0.01, phase.size)
        sf.write(folder / f"train_{i:04d}.wav", audio.astype("float32"), 16000)
        rows.append(f"audio/train_{i:04d}.wav\t{phase.size}")
    (data / lang / "train.tsv").write_text(f"{(data / lang).resolve()}\n" + "\n".join(rows) + "\n")


def make_data(data: Path, langs, args) -> None:
    for i, lang in enumerate(langs):
        if (data / lang / "train.tsv").exists():
            continue
        if args.audio == "tones":
            write_tones(data, lang, args.utterances, args.seconds, seed=i)
        else:
            from xlsr_plugin.synthetic.data_folders import write_language

            write_language(str(data), lang, {"train": args.utterances, "valid": 2}, seed=i)


def hours(manifest: Path) -> float:
    from xlsr_plugin.data.manifests import read_manifest

    return sum(frames for _, frames in read_manifest(str(manifest))[1]) / 16000 / 3600


def plugin_only_keys(config_name: str) -> list:
    """Hydra deletions (`~task.langs`) of the config's task/model/criterion keys that stock
    audio_pretraining / wav2vec2 / wav2vec do not have."""
    from fairseq.criterions.wav2vec_criterion import Wav2VecCriterionConfig
    from fairseq.models.wav2vec.wav2vec2 import Wav2Vec2Config
    from fairseq.tasks.audio_pretraining import AudioPretrainingConfig
    from omegaconf import OmegaConf

    config = OmegaConf.load(CONFIG_DIR / f"{config_name}.yaml")
    # Every config lists the task's options first (config/pretraining/task_options/).
    config.task = OmegaConf.merge(OmegaConf.load(CONFIG_DIR / "task_options" / "xlsr_pretraining.yaml"),
                                  config.task)
    stock = {"task": AudioPretrainingConfig, "model": Wav2Vec2Config, "criterion": Wav2VecCriterionConfig}
    return [f"~{group}.{key}" for group, schema in stock.items() for key in config.get(group, {})
            if key != "_name" and key not in {f.name for f in dataclasses.fields(schema)}]


def stack_overrides(stack: str, data: Path, langs, config_name: str) -> list:
    if stack == "plugin":
        return [f"++task.langs=[{','.join(langs)}]"]
    weights = alpha_weights([hours(data / lang / "train.tsv") for lang in langs], 0.5)
    return [
        *plugin_only_keys(config_name),
        "task._name=audio_pretraining", "model._name=wav2vec2", "criterion._name=wav2vec",
        f"+task.multi_corpus_keys='{','.join(langs)}'",
        f"+task.multi_corpus_sampling_weights='{weights_string(weights)}'",
        f"dataset.train_subset='{multi_corpus_split(langs)}'",
    ]


def common_overrides(data: Path, args) -> list:
    size = SIZES[args.size]
    overrides = [
        f"common.user_dir={REPO / 'xlsr_plugin'}", f"task.data={data}", "checkpoint.no_save=true",
        "dataset.disable_validation=true", f"optimization.max_update={args.updates}",
        "common.log_format=simple", "common.log_interval=10", f"common.seed={args.seed}",
        f"task.min_sample_size={size['min_sample']}", f"task.max_sample_size={size['max_sample']}",
        f"dataset.max_tokens={args.max_tokens}", "distributed_training.distributed_world_size=1",
        f"common.cpu={str(args.device == 'cpu').lower()}",
        f"common.fp16={str(args.precision == 'fp16').lower()}",
        f"common.bf16={str(args.precision == 'bf16').lower()}",
    ]
    if args.size != "tiny":  # the config's warm-up (32k updates) would keep the lr near 0 here
        overrides.append(f"lr_scheduler.warmup_updates={max(1, args.updates // 10)}")
    if args.num_workers is not None:
        overrides.append(f"dataset.num_workers={args.num_workers}")
    return overrides


def all_overrides(stack: str, data: Path, langs, args) -> list:
    return common_overrides(data, args) + stack_overrides(stack, data, langs, SIZES[args.size]["config"])


def run_interleaved(data: Path, langs, args) -> dict:
    """One process, both stacks, one update of each in turn (bench/_interleaved.py)."""
    request = {
        "config_dir": str(CONFIG_DIR), "config_name": SIZES[args.size]["config"],
        "updates": args.updates, "warmup": args.warmup, "device": args.device,
        "same_batches": args.same_batches,
        "overrides": {s: all_overrides(s, data, langs, args) for s in STACKS},
    }
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    proc = subprocess.run([sys.executable, str(BENCH / "_interleaved.py"), json.dumps(request)],
                          capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"interleaved run failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_once(stack: str, data: Path, run_dir: Path, langs, args) -> dict:
    """The figures of one fairseq-hydra-train run (as Stack.summary), between update `warmup`
    and the last."""
    run_dir.mkdir(parents=True, exist_ok=True)
    times = run_dir / "times.jsonl"
    times.unlink(missing_ok=True)
    command = [
        sys.executable, str(BENCH / "_timed_train.py"), "--config-dir", str(CONFIG_DIR),
        "--config-name", SIZES[args.size]["config"], f"hydra.run.dir={run_dir}/hydra",
        *all_overrides(stack, data, langs, args),
    ]
    env = dict(os.environ, XLSR_BENCH_TIMES=str(times), XLSR_BENCH_DEVICE=args.device,
               OMP_NUM_THREADS=str(args.threads))
    proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=run_dir, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{stack} run failed ({proc.returncode}):\n{(proc.stdout + proc.stderr)[-4000:]}")
    records = [json.loads(line) for line in times.read_text().splitlines()]
    steps, peak = [r for r in records if "t" in r], records[-1]["peak_bytes"]
    if len(steps) < args.updates:
        raise SystemExit(f"{stack}: {len(steps)} updates timed, expected {args.updates}")
    timed = steps[args.warmup:args.updates]
    seconds = timed[-1]["t"] - steps[args.warmup - 1]["t"]
    return {"ups": len(timed) / seconds, "audio_per_s": sum(r["samples"] for r in timed) / 16000 / seconds,
            "flops_per_s": sum(r["flops"] for r in timed) / seconds, "peak_bytes": peak,
            "losses": [r["loss"] for r in steps], "updates_done": len(steps)}


def peak_flops(args) -> dict:
    """{name: FLOP/s} the MFU is given against: the datasheet's (GPUs it lists) and a measured
    matrix product in the same precision, or --peak-tflops."""
    if args.peak_tflops:
        return {"given": args.peak_tflops * 1e12}
    import torch
    from _measures import datasheet_peak, measured_peak

    torch.set_num_threads(args.threads)
    peaks = {"datasheet": datasheet_peak(args.device, args.precision),
             "measured matmul": measured_peak(args.device, args.precision)}
    return {name: value for name, value in peaks.items() if value}


def loss_summary(losses) -> str:
    """'first tenth -> last tenth' of the updates' losses, whether all are finite, overflow skips."""
    skipped = sum(1 for loss in losses if loss is None or math.isnan(loss))
    kept = [loss for loss in losses if loss is not None and not math.isnan(loss)]
    if not kept:
        return "no update applied"
    tenth = max(1, len(kept) // 10)
    first, last = statistics.mean(kept[:tenth]), statistics.mean(kept[-tenth:])
    finite = all(math.isfinite(loss) for loss in kept)
    return (f"loss {first:.3f} -> {last:.3f} ({'down' if last < first else 'NOT down'}; "
            f"{'all finite' if finite else 'NOT finite'}" + (f"; {skipped} skipped (fp16 overflow)" if skipped else "") + ")")


def flop_rate(flops_per_s: float) -> str:
    return f"{flops_per_s / 1e12:.1f} TFLOP/s" if flops_per_s >= 1e12 else f"{flops_per_s / 1e9:.2f} GFLOP/s"


def report_stack(stack: str, results: list, peaks: dict) -> None:
    ups = statistics.median(r["ups"] for r in results)
    flops = statistics.median(r["flops_per_s"] for r in results)
    memory = max((r["peak_bytes"] for r in results if r["peak_bytes"]), default=None)
    mfu = ", ".join(f"{100 * flops / peak:.1f}% of {name} {flop_rate(peak)}" for name, peak in peaks.items())
    print(f"{stack:>6}: {ups:.2f} updates/s, model {flop_rate(flops)} (MFU {mfu})"
          + (f", peak memory {memory / 2**30:.2f} GiB" if memory else "")
          + f"; {loss_summary(results[-1]['losses'])}")


def report(results: dict, args, peaks: dict) -> None:
    for stack in STACKS:
        report_stack(stack, results[stack], peaks)
    if args.device == "cpu" and not args.separate_processes:
        print("(CPU, one process: the peak RSS above is both stacks')")
    ups = {stack: [r["ups"] for r in results[stack]] for stack in STACKS}
    if args.separate_processes:
        ratio = statistics.median(ups["plugin"]) / statistics.median(ups["stock"])
        how = "ratio of the medians"
    else:  # the two stacks of one repetition ran side by side: compare them pair by pair
        ratio = statistics.median(p / s for p, s in zip(ups["plugin"], ups["stock"]))
        how = "median of the per-repetition ratios"
    print(f"plugin / stock = {ratio:.3f} ({how}; target >= {TARGET}: {'met' if ratio >= TARGET else 'NOT met'})")
    if args.same_batches:
        return
    audio = statistics.median(p["audio_per_s"] / s["audio_per_s"] for p, s in zip(results["plugin"], results["stock"]))
    print(f"seconds of audio trained on per second, plugin / stock = {audio:.3f} "
          "(the two samplers draw different batches; this corrects for their sizes)")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--updates", type=int, default=60, help="updates per run (N)")
    parser.add_argument("--warmup", type=int, default=10, help="updates left out of the timing (k0)")
    parser.add_argument("--reps", type=int, default=3, help="runs per stack, interleaved")
    parser.add_argument("--utterances", type=int, default=12, help="training utterances per language")
    parser.add_argument("--langs", default="es,fi,sw", help="languages (of xlsr_plugin/synthetic/data_folders.py for --audio speech)")
    parser.add_argument("--audio", choices=("speech", "tones"), default="speech",
                        help="espeak-ng speech (xlsr_plugin/synthetic/data_folders.py) or synthetic tones (no espeak-ng)")
    parser.add_argument("--seconds", default=None, help="LO,HI: length range of --audio tones utterances")
    parser.add_argument("--size", choices=tuple(SIZES), default="tiny",
                        help="tiny: xlsr_tiny; base: xlsr_base (12 x 768, paper Base), crops as its config")
    parser.add_argument("--max-tokens", type=int, default=None, help="audio samples per batch (default per --size)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--precision", choices=("fp32", "fp16", "bf16"), default="fp32")
    parser.add_argument("--num-workers", type=int, default=None, help="dataset.num_workers (default: the config's)")
    parser.add_argument("--peak-tflops", type=float, default=None, help="the device's peak for MFU (default: "
                        "the datasheet's for known GPUs, and a matrix product measured at start)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS of each run (1: robust on shared cores)")
    parser.add_argument("--workdir", default=None, help="kept, data reused (default: a temporary folder, removed)")
    parser.add_argument("--separate-processes", action="store_true",
                        help="one fairseq-hydra-train process per run, stacks alternating run by run "
                        "(default: both stacks in one process, alternating update by update)")
    parser.add_argument("--same-batches", action="store_true",
                        help="(one process) both stacks train on the plugin's batches: the model, "
                        "criterion and metrics alone are compared, not the data paths")
    parser.add_argument("--smoke", action="store_true", help="a few seconds' run of every path (for the tests)")
    args = parser.parse_args()
    if args.smoke:
        args.updates, args.warmup, args.reps, args.utterances, args.audio = 3, 1, 1, 3, "tones"
        shortest = max(0.5, SIZES[args.size]["min_sample"] / 16000)
        args.seconds = args.seconds or f"{shortest},{shortest + 0.5}"
    if not 0 < args.warmup < args.updates:
        parser.error("need 0 < --warmup < --updates")
    if args.same_batches and args.separate_processes:
        parser.error("--same-batches needs both stacks in one process")
    args.max_tokens = args.max_tokens or SIZES[args.size]["max_tokens"]
    args.seconds = tuple(map(float, args.seconds.split(","))) if args.seconds else SIZES[args.size]["seconds"]
    return args


def main():
    args = parse_args()
    if args.workdir:
        run(args, Path(args.workdir).resolve())
    else:
        with tempfile.TemporaryDirectory(prefix="xlsr_bench_train_") as work:
            run(args, Path(work))


def run(args, work: Path) -> None:
    langs = args.langs.split(",")
    data = work / (f"data_{args.audio}_{args.utterances}" + (f"_{args.seconds[0]}-{args.seconds[1]}s" if args.audio == "tones" else ""))
    make_data(data, langs, args)
    peaks = peak_flops(args)
    print(f"data: {len(langs)} languages x {args.utterances} utterances of {args.audio} ({data}); "
          f"{args.size} ({SIZES[args.size]['config']}), {args.precision} on {args.device}, "
          f"{args.max_tokens} samples per batch; {args.updates} updates per run, timed from update "
          f"{args.warmup}; {os.cpu_count()} CPUs, OMP_NUM_THREADS={args.threads}")
    results = {"plugin": [], "stock": []}
    for rep in range(args.reps):
        start = time.perf_counter()
        if args.separate_processes:
            for stack in STACKS if rep % 2 == 0 else STACKS[::-1]:
                results[stack].append(run_once(stack, data, work / f"{stack}_{rep}", langs, args))
        else:
            for stack, measured in run_interleaved(data, langs, args).items():
                results[stack].append(measured)
        plugin, stock = results["plugin"][-1], results["stock"][-1]
        print(f"  rep {rep + 1}: plugin {plugin['ups']:6.2f}, stock {stock['ups']:6.2f} updates/s, "
              f"ratio {plugin['ups'] / stock['ups']:.3f}; audio s/s ratio "
              f"{plugin['audio_per_s'] / stock['audio_per_s']:.3f}  ({time.perf_counter() - start:.0f} s, "
              f"load average {os.getloadavg()[0]:.1f})", flush=True)
    report(results, args, peaks)

if __name__ == "__main__":
    main()
