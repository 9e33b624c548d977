"""Both stacks of train_step.py in one process, one update of each in turn, so that whatever else
runs on the machine slows both alike. Each stack is built as fairseq_cli.train builds it (task,
model, criterion, Trainer, train iterator) and stepped as its loop steps: train_inner metrics,
a log every `log_interval` updates (derived metrics computed), a new epoch iterator at epoch end."""
import time
from pathlib import Path

import numpy as np
from fairseq import tasks, utils
from fairseq.data import iterators
from fairseq.dataclass.initialize import add_defaults, hydra_init
from fairseq.logging import metrics
from fairseq.trainer import Trainer
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf


class Stack:
    def __init__(self, name: str, config_dir: Path, overrides: list):
        self.name = name
        with initialize_config_dir(config_dir=str(config_dir), version_base="1.1"):
            cfg = compose(config_name="xlsr_tiny", overrides=overrides)
        add_defaults(cfg)
        cfg = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True, enum_to_str=True))
        OmegaConf.set_struct(cfg, True)
        self.cfg = cfg
        utils.import_user_module(cfg.common)
        np.random.seed(cfg.common.seed)
        utils.set_torch_seed(cfg.common.seed)
        task = tasks.setup_task(cfg.task)
        task.load_dataset(cfg.dataset.train_subset, combine=False, epoch=1)
        self.trainer = Trainer(cfg, task, task.build_model(cfg.model), task.build_criterion(cfg.criterion))
        self.epoch_itr = self.trainer.get_train_iterator(epoch=1, load_dataset=False)
        self.itr = self._epoch()
        self.times, self.samples = [], []

    def _epoch(self):
        self.trainer.begin_epoch(self.epoch_itr.epoch)
        itr = self.epoch_itr.next_epoch_itr(shuffle=True)
        return iterators.GroupedIterator(itr, 1)

    def next_samples(self):
        samples = next(self.itr, None)
        if samples is None:
            self.epoch_itr = self.trainer.get_train_iterator(self.epoch_itr.next_epoch_idx, load_dataset=False)
            self.itr = self._epoch()
            samples = next(self.itr)
        return samples

    def step(self, given=None) -> None:
        """One update (and the epoch change or log that comes with it), timed; on `given`
        samples (a copy of each) instead of this stack's own when set."""
        start = time.perf_counter()
        samples = [dict(s) for s in given] if given is not None else self.next_samples()
        with metrics.aggregate(f"train_inner_{self.name}"):
            self.trainer.train_step(samples)
        if self.trainer.get_num_updates() % self.cfg.common.log_interval == 0:
            metrics.get_smoothed_values(f"train_inner_{self.name}")
            metrics.reset_meters(f"train_inner_{self.name}")
        self.times.append(time.perf_counter() - start)
        self.samples.append(sum(s["net_input"]["source"].numel() for s in samples if s))


def run_interleaved(config_dir: Path, overrides: dict, updates: int, warmup: int, same_batches=False) -> dict:
    """Updates/s of each stack over updates warmup+1..updates, stepping the stacks in turn; with
    `same_batches`, every stack trains on the first stack's batches (fetched outside the timing)."""
    hydra_init("xlsr_tiny")
    stacks = [Stack(name, config_dir, extra) for name, extra in overrides.items()]
    for i in range(updates):
        given = stacks[0].next_samples() if same_batches else None
        for stack in stacks if i % 2 == 0 else reversed(stacks):
            stack.step(given)
    return {
        s.name: {"ups": (updates - warmup) / sum(s.times[warmup:]),
                 "audio_per_s": sum(s.samples[warmup:]) / 16000 / sum(s.times[warmup:])}
        for s in stacks
    }


if __name__ == "__main__":
    import json
    import sys

    request = json.loads(sys.argv[1])
    print(json.dumps(run_interleaved(Path(request["config_dir"]), request["overrides"],
                                     request["updates"], request["warmup"], request["same_batches"])))
