"""Benchmark: what the run-health hooks (xlsr_plugin/tasks/_health_hooks.py) add to a training
update, against the same update without them, in one process.

Per update, fairseq's Trainer reduces the logging outputs through task.reduce_metrics inside a
fresh aggregator whose smoothed values it reads, and train.py reads and resets the train_inner
meters every common.log_interval updates. Both paths run that sequence on the same real
logging outputs of the xlsr criterion (a tiny model, 3 languages), in turn so that other
load slows both alike (blocks of 5 log intervals, in turn):
  * without: a task whose reduce_metrics is the criterion's (what the tasks do without hooks);
  * with: the same task under HealthHooksMixin: the step-loss check of train_step, and in
    reduce_metrics the detectors over every train_inner line so far at each log interval and
    the health_<key> flags while one fires. The model is untrained, so the accuracy sits at
    chance and the chance detector fires from twice the emulated warm-up: the flags are logged
    on most updates (the costlier path).
It prints the microseconds per update of both, their ratio, and the hooks' added time as a
share of one forward and backward pass of the model on the batch (a lower bound on an update).

    python bench/health.py [--smoke] [--updates 3000] [--log-interval 10]
"""
import argparse
import statistics
import time
from dataclasses import dataclass

import torch

from _smoke import parse_args
from fairseq.logging import metrics

from xlsr_plugin.criterions.xlsr import XlsrCriterion
from xlsr_plugin.tasks._health_hooks import HealthConfig, HealthHooksMixin
from xlsr_plugin.testing.criterion_runs import LANGS, batch, build_model, criterion_outputs


@dataclass
class Step:
    """What a task's train_step returns, computed once: the bench times the logging path."""

    loss: float
    sample_size: int
    output: dict


class WithoutHooks:
    def __init__(self, cfg, criterion, step: Step):
        self.cfg, self.criterion, self.step, self.datasets = cfg, criterion, step, {}

    def train_step(self, sample, model, criterion, optimizer, update_num, ignore_grad=False):
        return self.step.loss, self.step.sample_size, self.step.output

    def reduce_metrics(self, logging_outputs, criterion):
        criterion.reduce_metrics(logging_outputs)


class WithHooks(HealthHooksMixin, WithoutHooks):
    pass


def one_update(task, update: int, outputs, log_interval: int, warmup: int) -> float:
    """Seconds of one update's logging path, as fairseq's Trainer and train.py run it."""
    start = time.perf_counter()
    with metrics.aggregate("train_inner"):
        task.train_step(None, None, task.criterion, None, update - 1)
        metrics.log_scalar("num_updates", update, weight=0)
        metrics.log_scalar("lr", min(update, warmup) / warmup - update * 1e-6, weight=0)
        metrics.log_scalar("gnorm", 1.0)
        with metrics.aggregate() as agg:
            task.reduce_metrics(outputs, task.criterion)
            agg.get_smoothed_values()
    if update % log_interval == 0:
        metrics.get_smoothed_values("train_inner")
        metrics.reset_meters("train_inner")
    return time.perf_counter() - start


def forward_backward_seconds(model, criterion, repeats: int = 3) -> float:
    sample = batch([0, 1, 2, 0], seed=7)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        criterion(model, sample)[0].backward()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=3000)
    parser.add_argument("--log-interval", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=100, help="updates of the emulated lr warm-up")
    args = parse_args(parser, {"updates": 40, "warmup": 5})
    torch.set_num_threads(1)
    model = build_model(latent_vars=8)
    criterion = XlsrCriterion(argparse.Namespace(languages=LANGS), infonce=True, loss_weights=[0.1, 0],
                              log_keys=["prob_perplexity", "code_perplexity", "temp"])
    outputs = criterion_outputs(criterion, model, [[0, 1, 2, 0]])
    step = Step(outputs[0]["loss"], outputs[0]["sample_size"], outputs[0])
    cfg = HealthConfig(log_interval=args.log_interval)
    tasks = {"without": WithoutHooks(cfg, criterion, step), "with": WithHooks(cfg, criterion, step)}
    tasks["with"].health.run.negatives = model.cfg.num_negatives
    seconds = {name: [] for name in tasks}
    block = 5 * args.log_interval  # each block ends on a log line: train_inner starts empty
    with metrics.aggregate("train"):
        for first in range(1, args.updates + 1, block):
            order = list(tasks) if (first // block) % 2 else list(tasks)[::-1]  # neither always first
            for name in order:
                seconds[name] += [one_update(tasks[name], update, outputs, args.log_interval, args.warmup)
                                  for update in range(first, first + block)]
    report(args, seconds, tasks["with"], forward_backward_seconds(model, criterion))


def detectors_seconds(monitor) -> float:
    """Seconds of the detectors on one more train_inner line, over the run's history."""
    start = time.perf_counter()
    monitor.add_train(monitor.train[-1])
    return time.perf_counter() - start


def report(args, seconds, hooked, update_seconds) -> None:
    without, with_hooks = (1e6 * statistics.median(seconds[k]) for k in ("without", "with"))
    means = {k: 1e6 * statistics.mean(v) for k, v in seconds.items()}
    fired = ", ".join(sorted(hooked.health.first)) or "none"
    print(f"{args.updates} updates, log_interval {args.log_interval}, {hooked.health.train_lines} "
          f"train_inner lines judged; fired: {fired}")
    print(f"  logging path per update, median: without hooks {without:8.1f} us, with {with_hooks:8.1f} us, "
          f"with/without {with_hooks / without:5.3f}")
    print(f"  mean (log-interval updates included): without {means['without']:8.1f} us, with "
          f"{means['with']:8.1f} us, with/without {means['with'] / means['without']:5.3f}")
    added = max(means["with"] - means["without"], 0.0)
    print(f"  detectors on one more line after {hooked.health.train_lines}: "
          f"{1e6 * detectors_seconds(hooked.health):.1f} us (once per log_interval updates)")
    print(f"  added per update (mean difference, floored at 0): {added:.1f} us = "
          f"{added / (1e6 * update_seconds):.2e} of one forward+backward of this tiny model "
          f"({1e3 * update_seconds:.1f} ms): with/without for a training update "
          f"{1 + added / (1e6 * update_seconds):.4f}")


if __name__ == "__main__":
    main()
