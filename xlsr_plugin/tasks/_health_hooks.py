"""The run-health checks in the xlsr tasks: thin hooks that hand the run's own aggregated
metrics (the train_inner values of every log line, the stats of every validation) to the
fairseq-free detectors of xlsr_plugin.health, warn once per finding, and log health_<key> = 1
while it fires (log lines, the end-of-epoch summary, TensorBoard)."""
import logging
import math
from dataclasses import dataclass, field, fields

from fairseq.dataclass import FairseqDataclass
from fairseq.logging import metrics
from omegaconf import II

from xlsr_plugin.health.monitor import HealthMonitor, is_read
from xlsr_plugin.health.records import Record, Thresholds, run_settings
from xlsr_plugin.tasks._interpolated import configured

logger = logging.getLogger("xlsr_plugin.health")


def _help(text: str) -> dict:
    return {"help": text + " (docs/troubleshooting.md)"}


@dataclass
class HealthConfig(FairseqDataclass):
    health_chance: bool = field(default=True, metadata=_help(
        "warn when the contrastive accuracy stays at chance, overall or for one language; false: off"))
    health_chance_margin: float = field(default=1.0, metadata=_help(
        "at chance: accuracy below (1 + margin) / (K+1), K = num_negatives + cross_sample_negatives"))
    health_chance_after: float = field(default=2.0, metadata=_help(
        "judge chance from this many warm-ups on (warm-up: the updates until the logged lr stops rising)"))
    health_collapse: bool = field(default=True, metadata=_help(
        "warn when the quantizer collapses to a few codewords; false: off"))
    health_collapse_share: float = field(default=0.05, metadata=_help(
        "collapse: code_perplexity or prob_perplexity below this share of latent_vars x latent_groups"))
    health_collapse_fall: float = field(default=0.2, metadata=_help(
        "collapse: or below this share of its own peak"))
    health_divergence: bool = field(default=True, metadata=_help(
        "warn when loss or gradient norm turn non-finite or explode, or the fp16 loss scale sinks; false: off"))
    health_divergence_factor: float = field(default=100.0, metadata=_help(
        "divergence: loss or gnorm above this many times the median of the previous logs"))
    health_loss_scale: float = field(default=1e-3, metadata=_help(
        "divergence: fp16 loss scale at or below this in health_patience logs in a row"))
    health_blank: bool = field(default=True, metadata=_help(
        "warn when fine-tuning validation outputs (almost) only blanks after the frozen phase; false: off"))
    health_blank_output: float = field(default=20.0, metadata=_help(
        "blank: validation hypotheses with at most this many symbols per 100 reference symbols (hyp_len)"))
    health_blank_uer: float = field(default=90.0, metadata=_help(
        "blank: without hyp_len (stock logs), uer from this to 100"))
    health_patience: int = field(default=3, metadata=_help(
        "logged lines (common.log_interval updates each) a condition must hold in a row"))
    # Read, not set, here: the detectors judge the lines fairseq logs. No help text, so that
    # fairseq adds no second --log-interval option.
    log_interval: int = II("common.log_interval")


def thresholds_of(cfg) -> Thresholds:
    return Thresholds(**{f.name: getattr(cfg, "health_" + f.name)
                         for f in fields(Thresholds) if hasattr(cfg, "health_" + f.name)})


def log_interval_of(cfg) -> int:
    """common.log_interval as the task config sees it; fairseq's default without the rest
    of the configuration."""
    try:
        return int(configured(cfg, "log_interval"))
    except (TypeError, ValueError):
        return 100


def warn(findings) -> None:
    for finding in findings:
        logger.warning(finding.message())


class HealthHooksMixin:
    """For a task whose cfg is a HealthConfig; put it first among the bases. Costs, per update,
    a few look-ups; per log line, the detectors over a bounded history (health/monitor.py)."""

    _health = None
    _health_update = 0
    _health_interval = 100
    _health_subset = ""

    @property
    def health(self) -> HealthMonitor:
        if self._health is None:
            self._health = HealthMonitor(thresholds_of(self.cfg))
            self._health_interval = log_interval_of(self.cfg)  # read once: resolving costs
        return self._health

    def build_model(self, model_cfg, from_checkpoint=False):
        model = super().build_model(model_cfg, from_checkpoint)
        self.health.run = run_settings(model_cfg, self.cfg)
        return model

    def get_batch_iterator(self, dataset, **kwargs):
        # The subset that post_validate's stats are of (fairseq does not pass its name).
        self._health_subset = next((name for name, d in self.datasets.items() if d is dataset), "")
        return super().get_batch_iterator(dataset, **kwargs)

    def train_step(self, sample, model, criterion, optimizer, update_num, ignore_grad=False, **kwargs):
        loss, sample_size, logging_output = super().train_step(
            sample, model, criterion, optimizer, update_num, ignore_grad, **kwargs)
        self._health_update = update_num + 1
        self._check_step_loss(logging_output.get("loss"), sample_size)
        return loss, sample_size, logging_output

    def _check_step_loss(self, loss, sample_size) -> None:
        """A non-finite or exploding loss is reported at once: fairseq stops on the gradients
        it gives before logging it."""
        if not isinstance(loss, float) or not sample_size or not self.health.thresholds.divergence:
            return
        bits = loss / float(sample_size) / math.log(2)
        if not math.isfinite(bits) or bits > self.health.divergence_reference():
            warn(self.health.add_train(Record(self._health_update, {"loss": bits})))

    def reduce_metrics(self, logging_outputs, criterion):
        super().reduce_metrics(logging_outputs, criterion)
        inner = metrics.get_meters("train_inner")
        if inner is None or not any(agg is inner for agg in metrics.get_active_aggregators()):
            return  # validation, or outside fairseq's training loop
        update, th = self._health_update, self.health.thresholds
        if update and update % self._health_interval == 0 and (th.chance or th.collapse or th.divergence):
            # Only the values the detectors read: train.py derives the rest for the log line.
            values = {k: inner.get_smoothed_value(k) for k in list(inner.keys()) if is_read(k)}
            warn(self.health.add_train(Record(update, values)))
        for key, finding in self.health.firing.items():
            if finding.detector != "blank":
                metrics.log_scalar(f"health_{key}", 1, weight=0, priority=9000)

    def post_validate(self, model, stats, agg):
        """fairseq calls it with each validation subset's stats before printing them."""
        warn(self.health.add_valid(Record(int(stats.get("num_updates", 0)), stats, self._health_subset)))
        if "blank" in self.health.firing:
            stats["health_blank"] = 1
