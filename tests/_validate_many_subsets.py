"""Child process of test_validation_workers: under a file-descriptor limit, validates every
`valid_<lang>` of DATA one after another as fairseq's trainer does (Trainer.get_valid_iterator,
then a pass over it; the iterator stays bound until the next subset's replaces it), and prints
JSON: subsets, utterances, and after each subset's pass the open descriptors and live worker
processes.

    python _validate_many_subsets.py DATA NUM_WORKERS FD_LIMIT DATA_BUFFER_SIZE
"""
import json
import multiprocessing
import os
import resource
import sys

from fairseq.tasks import setup_task
from omegaconf import OmegaConf

from xlsr_plugin.tasks.xlsr_pretraining import XlsrPretrainingConfig


def main(data: str, num_workers: int, fd_limit: int, data_buffer_size: int) -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (fd_limit, fd_limit))
    cfg = OmegaConf.structured(XlsrPretrainingConfig(_name="xlsr_pretraining", data=data, train_subset="train", seed=1, tpu=False))
    task = setup_task(cfg)
    result = {"subsets": 0, "utterances": 0, "descriptors": [], "workers": [],
              "start_descriptors": len(os.listdir("/proc/self/fd"))}
    # Every subset once, then the first two again (their cached iterators, new workers).
    for lang in task.languages + task.languages[:2]:
        subset = f"valid_{lang}"
        if subset not in task.datasets:
            task.load_dataset(subset)
        # Trainer.get_valid_iterator's call, then a pass as fairseq_cli.train.validate makes it.
        iterator = task.get_batch_iterator(
            dataset=task.dataset(subset), max_tokens=48000, seed=1, num_workers=num_workers, epoch=1,
            data_buffer_size=data_buffer_size, skip_remainder_batch=False,
        )
        for batch in iterator.next_epoch_itr(shuffle=False, set_dataset_epoch=False):
            result["utterances"] += len(batch["id"])
        result["subsets"] += 1
        result["descriptors"].append(len(os.listdir("/proc/self/fd")))
        result["workers"].append(len(multiprocessing.active_children()))
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1], *map(int, sys.argv[2:5]))
