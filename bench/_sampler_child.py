"""One measured path of bench/sampler.py, run in a fresh process so that its peak memory is its
own: loads DATA/<lang>/train.tsv (or DATA/<corpus>/<lang>/train.tsv for `--langs cv/en,...`), then builds epochs 1 and 2 (plan, ordered indices, size filter,
batches) as fairseq's trainer does. Prints one JSON line."""
import argparse
import json
import logging
import sys
import time
from argparse import Namespace


from fairseq import utils
from omegaconf import OmegaConf

from _stock import key, multi_corpus_split

logging.disable(logging.WARNING)  # per-language epoch logs are not what is measured


def peak_rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def plugin_task(args):
    utils.import_user_module(Namespace(user_dir=args.user_dir))
    from xlsr_plugin.tasks.xlsr_pretraining import XlsrPretrainingConfig, XlsrPretrainingTask

    parts = args.langs.split(",")
    corpora = sorted({p.rpartition("/")[0] for p in parts} - {""})
    cfg = XlsrPretrainingConfig(
        data=args.data, langs=list(dict.fromkeys(p.rpartition("/")[2] for p in parts)), corpora=corpora,
        sampling_alpha=0.5, train_subset="train",
        max_sample_size=args.max_sample_size, min_sample_size=args.min_sample_size, seed=1, tpu=False,
    )
    return XlsrPretrainingTask.setup_task(OmegaConf.structured(cfg)), "train"


def stock_task(args):
    from fairseq.tasks.audio_pretraining import AudioPretrainingConfig, AudioPretrainingTask

    parts = args.langs.split(",")
    cfg = AudioPretrainingConfig(
        data=args.data, multi_corpus_keys=",".join(key(p) for p in parts), multi_corpus_sampling_weights=args.weights,
        max_sample_size=args.max_sample_size, min_sample_size=args.min_sample_size, seed=1, tpu=False,
    )
    return AudioPretrainingTask.setup_task(OmegaConf.structured(cfg)), multi_corpus_split(parts)


def epoch_batches(task, dataset, epoch, max_tokens):
    """get_batch_iterator as Trainer.get_train_iterator calls it, then the epoch's batches."""
    itr = task.get_batch_iterator(
        dataset=dataset, max_tokens=max_tokens, max_sentences=None,
        max_positions=utils.resolve_max_positions(task.max_positions(), max_tokens),
        ignore_invalid_inputs=True, required_batch_size_multiple=1, seed=1, epoch=epoch,
        disable_iterator_cache=True,
    )
    itr.next_epoch_itr(shuffle=True)
    return len(itr.frozen_batches)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("path", choices=["plugin", "stock"])
    parser.add_argument("--data", required=True)
    parser.add_argument("--langs", required=True)
    parser.add_argument("--weights", default=None)
    parser.add_argument("--user-dir", default=None)
    parser.add_argument("--max-tokens", type=int, default=1_400_000)
    parser.add_argument("--max-sample-size", type=int, default=250_000)
    parser.add_argument("--min-sample-size", type=int, default=32_000)
    args = parser.parse_args()
    task, split = (plugin_task if args.path == "plugin" else stock_task)(args)
    start = time.perf_counter()
    task.load_dataset(split)
    dataset = task.dataset(split)
    loaded = time.perf_counter()
    batches = epoch_batches(task, dataset, 1, args.max_tokens)
    epoch1 = time.perf_counter()
    epoch_batches(task, dataset, 2, args.max_tokens)
    epoch2 = time.perf_counter()
    json.dump({
        "load_s": loaded - start, "epoch1_s": epoch1 - loaded, "epoch2_s": epoch2 - epoch1,
        "items": len(dataset), "batches": batches, "peak_mib": peak_rss_mib(),
    }, sys.stdout)
    print()


if __name__ == "__main__":
    main()
