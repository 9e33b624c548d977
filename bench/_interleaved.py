"""Both stacks of train_step.py in one process, one update of each in turn, so that whatever else
runs on the machine slows both alike. Each stack is built as fairseq_cli.train builds it (task,
model, criterion, Trainer, train iterator) and stepped as its loop steps: train_inner metrics,
a log every `log_interval` updates (derived metrics computed), a new epoch iterator at epoch end.

Memory on GPU is split between the stacks by the allocator: what a stack's build and steps leave
allocated is its own, and its peak is the highest allocation during one of its steps above what
the other stack held then. On CPU the process's peak RSS is both stacks'."""
import math
import time
from pathlib import Path

import numpy as np
import torch
from _measures import CudaPeak, peak_rss_bytes, sync, update_flops
from fairseq import tasks, utils
from fairseq.data import iterators
from fairseq.dataclass.initialize import add_defaults, hydra_init
from fairseq.logging import metrics
from fairseq.trainer import Trainer
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf, open_dict


class Stack:
    def __init__(self, name: str, config_dir: Path, config_name: str, overrides: list, cuda_peak=None):
        self.name, self.cuda_peak = name, cuda_peak
        allocated = self._allocated()
        with initialize_config_dir(config_dir=str(config_dir), version_base="1.1"):
            cfg = compose(config_name=config_name, overrides=overrides, return_hydra_config=True)
        # As in a fairseq-hydra-train job: ${hydra:...} (checkpoint.save_dir) resolves, and the
        # job's config has no hydra node.
        HydraConfig.instance().set_config(cfg)
        with open_dict(cfg):
            del cfg["hydra"]
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
        self.times, self.flops, self.samples, self.losses = [], [], [], []
        self.held = self._allocated() - allocated  # bytes this stack keeps allocated between steps
        self.peak = self.held

    def _allocated(self) -> int:
        return torch.cuda.memory_allocated() if self.cuda_peak else 0

    def _epoch(self):
        self.trainer.begin_epoch(self.epoch_itr.epoch)
        itr = self.epoch_itr.next_epoch_itr(shuffle=True)
        return iterators.GroupedIterator(itr, self.cfg.optimization.update_freq[0])

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
        before = self._allocated()
        if self.cuda_peak:
            self.cuda_peak.restart()
        sync(self.trainer.device.type)
        start = time.perf_counter()
        samples = [dict(s) for s in given] if given is not None else self.next_samples()
        with metrics.aggregate(f"train_inner_{self.name}"):
            output = self.trainer.train_step(samples)
        if self.trainer.get_num_updates() % self.cfg.common.log_interval == 0:
            metrics.get_smoothed_values(f"train_inner_{self.name}")
            metrics.reset_meters(f"train_inner_{self.name}")
        sync(self.trainer.device.type)
        self.times.append(time.perf_counter() - start)
        shapes = [tuple(s["net_input"]["source"].shape) for s in samples if s]
        self.flops.append(update_flops(self.trainer.get_model().cfg, shapes))
        self.samples.append(sum(b * t for b, t in shapes))
        self.losses.append(output["loss"] if output else math.nan)  # None: fp16 overflow, skipped
        if self.cuda_peak:
            self.peak = max(self.peak, self.cuda_peak.peak() - before + self.held)
            self.held += self._allocated() - before

    def summary(self, warmup: int) -> dict:
        seconds = sum(self.times[warmup:])
        return {
            "ups": (len(self.times) - warmup) / seconds,
            "audio_per_s": sum(self.samples[warmup:]) / 16000 / seconds,
            "flops_per_s": sum(self.flops[warmup:]) / seconds,
            "peak_bytes": self.peak if self.cuda_peak else peak_rss_bytes(),
            "losses": self.losses,
            "updates_done": self.trainer.get_num_updates(),
        }


def run_interleaved(config_dir: Path, config_name: str, overrides: dict, updates: int, warmup: int,
                    device: str, same_batches=False) -> dict:
    """Figures of each stack over updates warmup+1..updates (Stack.summary), stepping the stacks
    in turn; with `same_batches`, every stack trains on the first stack's batches (fetched outside
    the timing)."""
    hydra_init(config_name)
    cuda_peak = CudaPeak() if device == "cuda" else None
    stacks = [Stack(name, config_dir, config_name, extra, cuda_peak) for name, extra in overrides.items()]
    for i in range(updates):
        given = stacks[0].next_samples() if same_batches else None
        for stack in stacks if i % 2 == 0 else reversed(stacks):
            stack.step(given)
    return {s.name: s.summary(warmup) for s in stacks}


if __name__ == "__main__":
    import json
    import sys

    request = json.loads(sys.argv[1])
    result = run_interleaved(Path(request["config_dir"]), request["config_name"], request["overrides"],
                             request["updates"], request["warmup"], request["device"], request["same_batches"])
    print(json.dumps(result))
