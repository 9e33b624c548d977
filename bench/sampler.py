"""Benchmark: loading and planning an epoch of an XLSR-53-scale corpus, plugin against stock fairseq.

Synthesizes 53 languages' train.tsv manifests (about 10 million utterances, a long tail of hours
shaped like XLSR-53's mix, split over the corpora as in XLSR-53: DATA/{cv,mls,babel}/<lang>/; see
bench/_corpus.py; `--layout languages`: one DATA/<lang>/ per language; no audio: neither path reads
any), then measures in a fresh process per path (peak memory = that process's VmHWM):
  * plugin: task xlsr_pretraining (alpha 0.5 by hours, task.corpora=[babel,cv,mls], corpus_alpha 1),
            `load_dataset("train")`;
  * stock:  task audio_pretraining, multi_corpus_keys = the (corpus, language) parts,
            multi_corpus_sampling_weights = the same probabilities worked out here, split
            `mls_en:mls/en/train,cv_en:cv/en/train,...` over the very same files;
and for each: load time, then epoch 1 and epoch 2 each built as the trainer does (get_batch_iterator
with max_tokens 1.4M as xlsr_base, size filter, batch_by_size, next_epoch_itr). The plugin draws
epoch 1's plan while loading, stock draws it in ordered_indices: epoch 2 is the like-for-like
"plan + batches" figure. Stock's MultiCorpusDataset maps every index in Python, so it gets a time
limit; when it runs out, stock is measured at smaller scales and extrapolated (said in the output).
Targets: plugin epoch plan + batches < 10 s, peak < 4 GiB, no slower than stock. Not a test.

    python bench/sampler.py [--utterances 10000000] [--languages 53] [--layout corpora|languages]
                            [--workdir DIR] [--skip-stock] [--smoke]
"""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _corpus import write_corpus
from _smoke import parse_args
from _stock import alpha_weights, pooled_part_weights, weights_string

BENCH = Path(__file__).resolve().parent

PLAN_TARGET_S, MEMORY_TARGET_MIB = 10.0, 4096.0
HEADER = "\n  utterances path    load s  epoch1 s  epoch2 s  total s  peak MiB   batches"


def measure(path, data: Path, langs, hours, timeout):
    command = [sys.executable, str(BENCH / "_sampler_child.py"), path, "--data", str(data),
               "--langs", ",".join(langs), "--user-dir", str(BENCH.parent / "xlsr_plugin")]
    if path == "stock":
        weights = (pooled_part_weights(langs, hours, 0.5) if "/" in langs[0]
                   else alpha_weights([hours[lang] for lang in langs], 0.5))
        command += ["--weights", weights_string(weights)]
    start = time.perf_counter()
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"timeout": timeout}
    if proc.returncode != 0:
        raise SystemExit(f"{path} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_s"] = time.perf_counter() - start
    return result


def measured(scale, path, data, langs, hours, timeout):
    result = measure(path, data, langs, hours, timeout)
    print(row(scale, path, result), flush=True)
    return result


def corpus(work: Path, utterances, languages, layout="corpora"):
    corpora = layout == "corpora"
    data = work / f"u{utterances}_l{languages}{'_corpora' if corpora else ''}"
    start = time.perf_counter()
    langs, hours = write_corpus(data, utterances, languages, corpora=corpora)
    took = time.perf_counter() - start
    largest, smallest = max(langs, key=hours.get), min(langs, key=hours.get)
    print(f"corpus {utterances:,} utterances, {len({p.rpartition('/')[2] for p in langs})} languages in "
          f"{len(langs)} parts, {sum(hours.values()):,.0f} hours (largest {largest} {hours[largest]:,.0f} h, "
          f"smallest {smallest} {hours[smallest]:.1f} h), ready in {took:.0f} s: {data}")
    return data, langs, hours


def row(scale, path, r):
    if "timeout" in r:
        return f"  {scale:>11,} {path:6s}  did not finish within {r['timeout']} s"
    return (f"  {scale:>11,} {path:6s} {r['load_s']:8.1f} {r['epoch1_s']:9.2f} {r['epoch2_s']:9.2f}"
            f" {r['load_s'] + r['epoch1_s']:9.1f} {r['peak_mib']:9.0f} {r['batches']:9,}")


def extrapolate(points, scale, key):
    """Power law through the two largest measured scales (t = a * n^b)."""
    (n1, t1), (n2, t2) = sorted(points)[-2:]
    b = math.log(t2 / t1) / math.log(n2 / n1)
    return t2 * (scale / n2) ** b, b


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--utterances", type=int, default=10_000_000)
    parser.add_argument("--languages", type=int, default=53)
    parser.add_argument("--workdir", default=None, help="manifests are kept here between runs (default: a temporary folder)")
    parser.add_argument("--layout", choices=["corpora", "languages"], default="corpora",
                        help="DATA/<corpus>/<lang>/ split as in XLSR-53, or one DATA/<lang>/ per language")
    parser.add_argument("--skip-stock", action="store_true")
    parser.add_argument("--stock-timeout", type=int, default=600, help="seconds for one stock measurement")
    parser.add_argument("--scales", default="", help="smaller scales measured too, e.g. 100000,1000000 "
                        "(default: only when stock runs out of time at full scale)")
    args = parse_args(parser, {"utterances": 20_000, "stock_timeout": 120})
    work = Path(args.workdir or tempfile.mkdtemp(prefix="xlsr_bench_sampler_")).resolve()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; pyarrow {'installed' if _has_pyarrow() else 'not installed'} "
          "(stock FileAudioDataset keeps file names in a pyarrow array when it is, else a list)")
    full = args.utterances
    scales = sorted({int(s) for s in args.scales.split(",") if s} | {full})
    results = {}
    for scale in reversed(scales):
        data, langs, hours = corpus(work, scale, args.languages, args.layout)
        if not results:
            print(HEADER)
        results[scale] = {"plugin": measured(scale, "plugin", data, langs, hours, None)}
        if not args.skip_stock:
            results[scale]["stock"] = measured(scale, "stock", data, langs, hours, args.stock_timeout)
            if scale == full and "timeout" in results[scale]["stock"] and len(scales) == 1:
                scales = [full // 100, full // 10, full]
                for small in reversed(scales[:-1]):
                    data, langs, hours = corpus(work, small, args.languages, args.layout)
                    results[small] = {path: measured(small, path, data, langs, hours, args.stock_timeout)
                                      for path in ("plugin", "stock")}
    report(results, full, args.skip_stock)
    if not args.workdir:
        shutil.rmtree(work)


def report(results, full, skip_stock):
    print(HEADER)
    for scale in sorted(results):
        for path, r in results[scale].items():
            print(row(scale, path, r))
    plugin = results[full]["plugin"]
    plan = max(plugin["epoch1_s"], plugin["epoch2_s"])
    print(f"\nplugin at {full:,}: epoch plan + batches {plan:.2f} s (target < {PLAN_TARGET_S:.0f} s: "
          f"{'met' if plan < PLAN_TARGET_S else 'NOT met'}), peak {plugin['peak_mib']:.0f} MiB "
          f"(target < {MEMORY_TARGET_MIB:.0f}: {'met' if plugin['peak_mib'] < MEMORY_TARGET_MIB else 'NOT met'})")
    if skip_stock:
        return
    stock = results[full]["stock"]
    for key, label in (("load_s", "load"), ("epoch2_s", "epoch plan + batches"), ("total", "load + epoch 1")):
        value = (lambda r: r["load_s"] + r["epoch1_s"]) if key == "total" else (lambda r: r[key])  # noqa: B023  (called at once)
        if "timeout" not in stock:
            print(f"stock / plugin, {label}: {value(stock) / value(plugin):.2f}")
            continue
        points = [(n, value(r["stock"])) for n, r in results.items() if "timeout" not in r.get("stock", {"timeout": 1})]
        if len(points) < 2:
            print(f"stock / plugin, {label}: stock did not finish; too few scales to extrapolate")
            continue
        estimate, slope = extrapolate(points, full, key)
        print(f"stock / plugin, {label}: ~{estimate / value(plugin):.2f} (stock EXTRAPOLATED to {full:,}: "
              f"~{estimate:.0f} s, t ~ n^{slope:.2f} from {sorted(points)[-2][0]:,} and {sorted(points)[-1][0]:,})")


def _has_pyarrow():
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
