"""Benchmark: training updates per second of the plugin against stock fairseq, same data and model.

Both stacks train on the same espeak-ng speech (tests/_speech_data.py, 3 languages) with
xlsr_tiny's config, model values and seed, through fairseq's own Trainer:
  * plugin: task xlsr_pretraining + model xlsr + criterion xlsr (per-language metrics, code hooks);
  * stock:  task audio_pretraining with multi_corpus_keys over the same DATA/<lang>/train.tsv and
            the alpha=0.5 weights worked out by hand + model wav2vec2 + criterion wav2vec.
By default each repetition is one process holding both stacks (bench/_interleaved.py), which run
one update each in turn, so that other load on the machine slows both alike; updates/s counts the
updates after the first k0 (start-up left out), each timed with its batch fetch, epoch changes and
metric logging. With --separate-processes each run is a fairseq-hydra-train process of its own
(bench/_timed_train.py), runs alternating stack by stack. Medians over the repetitions are
compared. Checkpoints and validation are off (identical for both, and not what is measured).
The samplers draw different batches, so the audio trained on per second is printed too.
Target: plugin >= 0.97 x stock updates/s. Not part of the test suite.

    python bench/train_step.py [--updates 60] [--warmup 10] [--reps 3] [--utterances 12]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(REPO / "tests"))  # the tests' espeak-ng speech writer
sys.path.insert(0, str(BENCH))

from _speech_data import write_language  # noqa: E402
from _stock import alpha_weights, multi_corpus_split, weights_string  # noqa: E402

TARGET = 0.97
STACKS = ("plugin", "stock")


def make_data(data: Path, langs, utterances: int) -> None:
    for i, lang in enumerate(langs):
        if not (data / lang / "train.tsv").exists():
            write_language(str(data), lang, {"train": utterances, "valid": 2}, seed=i)


def hours(manifest: Path) -> float:
    lines = manifest.read_text().splitlines()[1:]
    return sum(int(line.split("\t")[1]) for line in lines) / 16000 / 3600


def stack_overrides(stack: str, data: Path, langs) -> list:
    if stack == "plugin":
        return [f"common.user_dir={REPO / 'xlsr_plugin'}", f"+task.langs=[{','.join(langs)}]"]
    weights = alpha_weights([hours(data / lang / "train.tsv") for lang in langs], 0.5)
    return [
        "task._name=audio_pretraining", "model._name=wav2vec2", "criterion._name=wav2vec",
        f"+task.multi_corpus_keys='{','.join(langs)}'",
        f"+task.multi_corpus_sampling_weights='{weights_string(weights)}'",
        f"dataset.train_subset='{multi_corpus_split(langs)}'",
    ]


def common_overrides(data: Path, args) -> list:
    return [
        f"task.data={data}", "checkpoint.no_save=true", "dataset.disable_validation=true",
        f"optimization.max_update={args.updates}", "common.log_interval=10",
        "task.min_sample_size=4000", "dataset.max_tokens=80000", f"common.seed={args.seed}",
    ]


def run_interleaved(data: Path, langs, args) -> dict:
    """One process, both stacks, one update of each in turn (bench/_interleaved.py)."""
    request = {
        "config_dir": str(REPO / "config" / "pretraining"), "updates": args.updates,
        "warmup": args.warmup, "same_batches": args.same_batches,
        "overrides": {s: common_overrides(data, args) + stack_overrides(s, data, langs) for s in STACKS},
    }
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    proc = subprocess.run([sys.executable, str(BENCH / "_interleaved.py"), json.dumps(request)],
                          capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"interleaved run failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_once(stack: str, data: Path, run_dir: Path, langs, args) -> float:
    """Updates/s of one fairseq-hydra-train run, between update `warmup` and the last."""
    run_dir.mkdir(parents=True, exist_ok=True)
    times = run_dir / "times.txt"
    times.unlink(missing_ok=True)
    command = [
        sys.executable, str(BENCH / "_timed_train.py"),
        "--config-dir", str(REPO / "config" / "pretraining"), "--config-name", "xlsr_tiny",
        f"hydra.run.dir={run_dir}/hydra", *common_overrides(data, args),
        *stack_overrides(stack, data, langs),
    ]
    env = dict(os.environ, XLSR_BENCH_TIMES=str(times), OMP_NUM_THREADS=str(args.threads))
    proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=run_dir)
    if proc.returncode != 0:
        raise SystemExit(f"{stack} run failed ({proc.returncode}):\n{(proc.stdout + proc.stderr)[-4000:]}")
    stamps = [float(t) for t in times.read_text().split()]
    if len(stamps) < args.updates:
        raise SystemExit(f"{stack}: {len(stamps)} updates timed, expected {args.updates}")
    return (args.updates - args.warmup) / (stamps[args.updates - 1] - stamps[args.warmup - 1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--updates", type=int, default=60, help="updates per run (N)")
    parser.add_argument("--warmup", type=int, default=10, help="updates left out of the timing (k0)")
    parser.add_argument("--reps", type=int, default=3, help="runs per stack, interleaved")
    parser.add_argument("--utterances", type=int, default=12, help="training utterances per language")
    parser.add_argument("--langs", default="es,fi,sw", help="languages of tests/_speech_data.py")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS of each run (1: robust on shared cores)")
    parser.add_argument("--workdir", default=None, help="default: a temporary folder")
    parser.add_argument("--separate-processes", action="store_true",
                        help="one fairseq-hydra-train process per run, stacks alternating run by run "
                        "(default: both stacks in one process, alternating update by update)")
    parser.add_argument("--same-batches", action="store_true",
                        help="(one process) both stacks train on the plugin's batches: the model, "
                        "criterion and metrics alone are compared, not the data paths")
    args = parser.parse_args()
    if not 0 < args.warmup < args.updates:
        parser.error("need 0 < --warmup < --updates")
    if args.same_batches and args.separate_processes:
        parser.error("--same-batches needs both stacks in one process")
    langs = args.langs.split(",")
    work = Path(args.workdir or tempfile.mkdtemp(prefix="xlsr_bench_train_")).resolve()
    data = work / "data"
    make_data(data, langs, args.utterances)
    print(f"data: {len(langs)} languages x {args.utterances} utterances ({work}); "
          f"{args.updates} updates per run, timed from update {args.warmup}; "
          f"{os.cpu_count()} CPUs, OMP_NUM_THREADS={args.threads}")
    results, audio = {"plugin": [], "stock": []}, {"plugin": [], "stock": []}
    for rep in range(args.reps):
        start = time.perf_counter()
        if args.separate_processes:
            for stack in STACKS if rep % 2 == 0 else STACKS[::-1]:
                results[stack].append(run_once(stack, data, work / f"{stack}_{rep}", langs, args))
        else:
            for stack, measured in run_interleaved(data, langs, args).items():
                results[stack].append(measured["ups"])
                audio[stack].append(measured["audio_per_s"])
        print(f"  rep {rep + 1}: plugin {results['plugin'][-1]:6.2f}, stock {results['stock'][-1]:6.2f} "
              f"updates/s, ratio {results['plugin'][-1] / results['stock'][-1]:.3f}"
              + (f"; audio s/s ratio {audio['plugin'][-1] / audio['stock'][-1]:.3f}" if audio["plugin"] else "")
              + f"  ({time.perf_counter() - start:.0f} s, load average {os.getloadavg()[0]:.1f})", flush=True)
    medians = {stack: statistics.median(values) for stack, values in results.items()}
    print(f"median updates/s: plugin {medians['plugin']:.2f}, stock {medians['stock']:.2f}")
    if args.separate_processes:
        ratio, how = medians["plugin"] / medians["stock"], "ratio of the medians"
    else:  # the two stacks of one repetition ran side by side: compare them pair by pair
        ratio = statistics.median(p / s for p, s in zip(results["plugin"], results["stock"]))
        how = "median of the per-repetition ratios"
    print(f"plugin / stock = {ratio:.3f} ({how}; target >= {TARGET}: {'met' if ratio >= TARGET else 'NOT met'})")
    if audio["plugin"]:
        audio_ratio = statistics.median(p / s for p, s in zip(audio["plugin"], audio["stock"]))
        print(f"seconds of audio trained on per second, plugin / stock = {audio_ratio:.3f} "
              "(the two samplers draw different batches; this corrects for their sizes)")


if __name__ == "__main__":
    main()
