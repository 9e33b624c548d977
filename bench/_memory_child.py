"""One measured run of bench/memory.py: the plugin task on the sampler corpus, its training batch
iterator with `--workers` loader workers reading `--items` random utterances, then the memory of
the process tree (this process and its workers) while they are alive. Prints one JSON line.

Audio is not decoded (the corpus has none): each item still looks its path up in the dataset's
file-name table, which is what costs a forked worker its private copy when the table is a Python
list, and then yields 320 zero samples.
"""
import argparse
import json
import logging
import os
import sys

import torch

from _sampler_child import plugin_task

logging.disable(logging.WARNING)


def block_pyarrow():
    sys.modules["pyarrow"] = None  # `import pyarrow` now raises ImportError, as when not installed


def path_lookup_only(dataset_class):
    def checked_item(self, index):
        self.audio_path(index)
        return {"id": index, "source": torch.zeros(320)}, None

    dataset_class.checked_item = checked_item


def children(pid: int):
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            for child in f.read().split():
                found += [int(child)] + children(int(child))
    return found


def memory_mib(pid: int) -> dict:
    """Rss, Pss and private (Uss) MiB of one process, from /proc/<pid>/smaps_rollup."""
    fields = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            name, _, rest = line.partition(":")
            if rest.strip().endswith("kB"):
                fields[name] = int(rest.split()[0]) / 1024
    return {"rss": fields["Rss"], "pss": fields["Pss"],
            "uss": fields["Private_Clean"] + fields["Private_Dirty"]}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--langs", required=True)
    parser.add_argument("--user-dir", required=True)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--no-pyarrow", action="store_true")
    parser.add_argument("--max-tokens", type=int, default=1_400_000)
    parser.add_argument("--max-sample-size", type=int, default=250_000)
    parser.add_argument("--min-sample-size", type=int, default=32_000)
    args = parser.parse_args()
    if args.no_pyarrow:
        block_pyarrow()
    task, split = plugin_task(args)
    from xlsr_plugin.data.checked_audio import CheckedFileAudioDataset
    from xlsr_plugin.data.multilingual_dataset import raw_audio

    path_lookup_only(CheckedFileAudioDataset)
    task.load_dataset(split)
    dataset = task.dataset(split)
    names_type = type(raw_audio(dataset.datasets[0]).fnames).__name__
    itr = task.get_batch_iterator(dataset, max_tokens=args.max_tokens, seed=1, num_workers=args.workers, epoch=1)
    seen = 0
    for batch in itr.next_epoch_itr(shuffle=True):
        seen += len(batch["id"])
        if seen >= args.items:
            break
    pids = [os.getpid()] + children(os.getpid())
    per_process = [memory_mib(pid) for pid in pids]
    json.dump({"names": names_type, "items": seen, "processes": len(pids), "per_process": per_process,
               **{k: sum(p[k] for p in per_process) for k in ("rss", "pss", "uss")}}, sys.stdout)
    print(flush=True)
    os._exit(0)  # do not wait for the workers' remaining prefetch


if __name__ == "__main__":
    main()
