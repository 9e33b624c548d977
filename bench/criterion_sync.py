"""Benchmark: syncing and reducing one update's logging outputs across workers, the xlsr criterion
against stock wav2vec (Wav2vecCriterion), at 128 gathered outputs.

Both paths get real logging outputs of their criterion on the same batch (a tiny model with
XLSR-53's quantizer, G = 2 x V = 320, and 53 languages, 12 of them in every micro-batch), and
are timed on what every rank does per update in fairseq's Trainer:
  * stock: logging outputs cannot be summed, so Trainer._all_gather_list_sync pickles the rank's
    outputs, all-reduces a max_size x world_size buffer (common.all_gather_list_size, 16 KiB by
    default) and unpickles every rank's outputs; then reduce_metrics over all of them. Timed:
    pickle of the rank's outputs, unpickling of the world's, reduce_metrics.
  * plugin: its outputs can be summed, so Trainer._fast_stat_sync_sum (run here in a one-process
    gloo group) sums the rank's outputs and all-reduces one float64 buffer; then reduce_metrics
    over the one summed output.
  * plugin, one GPU: no sync; reduce_metrics over the 128 outputs of update_freq 128 (what the
    configs ask of a single GPU).
Network time is not included (one process); the bytes every rank puts into all-reduce are
printed instead. Figures are medians over repeats on a loaded, shared CPU: read the ratios.

    python bench/criterion_sync.py [--smoke] [--repeats 20]
"""
import argparse
import os
import pickle
import statistics
import tempfile
import time

import torch
import torch.distributed as dist
from fairseq.criterions.wav2vec_criterion import Wav2vecCriterion
from fairseq.logging import metrics

from xlsr_plugin.criterions.xlsr import XlsrCriterion
from xlsr_plugin.testing.criterion_runs import (
    SyncingTrainer,
    build_model,
    count_all_reduced_bytes,
    criterion_outputs,
)


CRITERION_ARGS = {"infonce": True, "loss_weights": [0.1, 0], "log_keys": ["prob_perplexity", "code_perplexity", "temp"]}
STOCK_GATHER_SIZE = 16384  # common.all_gather_list_size default


def median_ms(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def reduce(criterion_cls, logging_outputs) -> None:
    with metrics.aggregate():
        criterion_cls.reduce_metrics(logging_outputs)


def outputs_of(criterion_cls, model, langs, batches, per_batch):
    criterion = criterion_cls(argparse.Namespace(languages=langs), **CRITERION_ARGS)
    batches_langs = [[(b * per_batch + i) % len(langs) for i in range(per_batch)] for b in range(batches)]
    return criterion, criterion_outputs(criterion, model, batches_langs, samples=4000)


def stock_update(outputs_per_rank, world):
    """What a rank does with stock outputs: pickle its own, unpickle the world's, reduce."""
    payload = pickle.dumps(outputs_per_rank)
    gathered = []
    for _ in range(world):
        gathered.extend(pickle.loads(payload))
    reduce(Wav2vecCriterion, gathered)
    return len(payload)


def plugin_update(trainer, outputs_per_rank):
    synced, _ = trainer._fast_stat_sync_sum(outputs_per_rank, 1)
    reduce(XlsrCriterion, synced)


def run(args) -> None:
    langs = [f"x{i:02d}" for i in range(args.languages)]
    model = build_model(latent_vars=args.vars, latent_groups=2)
    stock_criterion, stock = outputs_of(Wav2vecCriterion, model, langs, args.update_freq, args.per_batch)
    plugin_criterion, plugin = outputs_of(XlsrCriterion, model, langs, args.update_freq, args.per_batch)
    world = args.outputs // args.update_freq
    trainer = SyncingTrainer(plugin_criterion, STOCK_GATHER_SIZE)
    all_reduce = dist.all_reduce
    count_all_reduced_bytes(sent := [])
    plugin_update(trainer, plugin)
    plugin_bytes = sum(sent)
    dist.all_reduce = all_reduce
    stock_payload = stock_update(stock, 1)
    many_plugin = plugin * (args.outputs // len(plugin))
    many_stock = stock * (args.outputs // len(stock))

    stock_ms = median_ms(lambda: stock_update(stock, world), args.repeats)
    plugin_ms = median_ms(lambda: plugin_update(trainer, plugin), args.repeats)
    one_gpu_stock_ms = median_ms(lambda: reduce(Wav2vecCriterion, many_stock), args.repeats)
    one_gpu_ms = median_ms(lambda: reduce(XlsrCriterion, many_plugin), args.repeats)

    print(f"{args.outputs} outputs per update ({world} ranks x update_freq {args.update_freq}), "
          f"{args.languages} languages ({args.per_batch} per micro-batch), G x V = 2 x {args.vars}; "
          f"median of {args.repeats}, loaded shared CPU")
    print(f"  multi-GPU, per rank  stock {stock_ms:8.3f} ms  plugin {plugin_ms:8.3f} ms  "
          f"plugin/stock {plugin_ms / stock_ms:6.2f}")
    print(f"  one GPU (no sync)    stock {one_gpu_stock_ms:8.3f} ms  plugin {one_gpu_ms:8.3f} ms  "
          f"plugin/stock {one_gpu_ms / one_gpu_stock_ms:6.2f}")
    print(f"  bytes all-reduced per rank and update: stock {STOCK_GATHER_SIZE * world} "
          f"(all_gather_list buffer, max_size x world; payload {stock_payload}), plugin {plugin_bytes} "
          f"(fixed: languages x 6 + stock scalars, float64)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="a few outputs and languages: seconds")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    scenarios = [(128, 1), (128, 16)]  # 128 GPUs x update_freq 1; 8 GPUs x 16
    args.languages, args.per_batch, args.vars = 53, 12, 320
    if args.smoke:
        scenarios, args.repeats = [(4, 2)], 2
        args.languages, args.per_batch, args.vars = 3, 4, 8
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as folder:
        dist.init_process_group("gloo", init_method=f"file://{os.path.join(folder, 'rendezvous')}", rank=0, world_size=1)
        for outputs, update_freq in scenarios:
            args.outputs, args.update_freq = outputs, update_freq
            run(args)
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
