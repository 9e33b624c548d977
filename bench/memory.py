"""Benchmark: memory of the training process tree (main process + `dataset.num_workers` loader
workers) on the sampler benchmark's XLSR-53-scale corpus, with and without pyarrow.

fairseq's FileAudioDataset keeps the manifest's file names in a pyarrow array when pyarrow imports,
else in a Python list; a forked worker that looks names up by index touches the list's objects
(reference counts) and so copies their pages. This runs the plugin task's training iterator with
4 workers over `--items` random utterances (2% of the corpus by default) in a fresh process per
setting, and prints Rss, Pss and private (Uss) memory of the whole tree; Pss and Uss count shared
pages once. Each name a worker looks up in a list dirties the page it sits on, so a worker's
private memory grows with what it has read, up to the whole list by the end of an epoch; a short
run shows the growth, not the end state. Audio is not decoded (see _memory_child.py). Not a test.

    python bench/memory.py [--utterances 10000000] [--workers 4] [--items 200000] [--workdir DIR] [--smoke]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _smoke import parse_args
from sampler import corpus

BENCH = Path(__file__).resolve().parent


def measure(data, langs, args, pyarrow: bool) -> dict:
    command = [sys.executable, str(BENCH / "_memory_child.py"), "--data", str(data), "--langs", ",".join(langs),
               "--user-dir", str(BENCH.parent / "xlsr_plugin"), "--workers", str(args.workers),
               "--items", str(args.items)] + ([] if pyarrow else ["--no-pyarrow"])
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"memory child failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--utterances", type=int, default=10_000_000)
    parser.add_argument("--languages", type=int, default=53)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--workdir", default=None, help="the corpus is kept here between runs (and shared "
                        "with bench/sampler.py --workdir)")
    args = parse_args(parser, {"utterances": 20_000, "workers": 2, "items": 2_000})
    work = Path(args.workdir or tempfile.mkdtemp(prefix="xlsr_bench_memory_")).resolve()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    data, langs, _ = corpus(work, args.utterances, args.languages)
    results = {}
    print("\n  pyarrow  file names      items  processes   Rss MiB   Pss MiB   Uss MiB  (tree)  Uss per worker")
    for pyarrow in (True, False):
        r = results[pyarrow] = measure(data, langs, args, pyarrow)
        workers = [p["uss"] for p in r["per_process"][1:]]
        print(f"  {'yes' if pyarrow else 'no':7s}  {r['names']:12s} {r['items']:9,} {r['processes']:10d} "
              f"{r['rss']:9.0f} {r['pss']:9.0f} {r['uss']:9.0f}          "
              f"{sum(workers) / max(1, len(workers)):.0f}")
    print(f"\nwithout / with pyarrow, tree Pss: {results[False]['pss'] / results[True]['pss']:.2f}, "
          f"tree Uss: {results[False]['uss'] / results[True]['uss']:.2f}")
    if not args.workdir:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
