"""The verdict of each detector over a whole run: fired (with the first finding and whether it
still fires at the end), ok, or not judged (and why)."""
from dataclasses import dataclass, field
from typing import List, Optional

from xlsr_plugin.health.detectors import warmup_end
from xlsr_plugin.health.log_reader import RunLog
from xlsr_plugin.health.monitor import HealthMonitor
from xlsr_plugin.health.records import Finding, RunSettings, Thresholds

DETECTORS = ("chance", "collapse", "divergence", "blank")


@dataclass
class Verdict:
    detector: str
    status: str  # FIRED, ok, not judged
    detail: str
    findings: List[Finding] = field(default_factory=list)


def judge(log: RunLog, thresholds: Thresholds, run: RunSettings) -> List[Verdict]:
    """Feeds the log's records, in order, to the detectors the live hooks use."""
    monitor = HealthMonitor(thresholds, run)
    for phase, record in log.events:
        (monitor.add_train if phase == "train" else monitor.add_valid)(record)
    return [verdict(name, monitor) for name in DETECTORS]


def verdict(name: str, monitor: HealthMonitor) -> Verdict:
    findings = [f for f in monitor.first.values() if f.detector == name]
    if findings:
        still = [f"health_{f.key}" for f in monitor.firing.values() if f.detector == name]
        detail = f"still firing at the end ({', '.join(still)})" if still else "no longer firing at the end"
        return Verdict(name, "FIRED", detail, findings)
    if not getattr(monitor.thresholds, name):
        return Verdict(name, "not judged", "turned off")
    reason = NOT_JUDGED[name](monitor)
    if reason:
        return Verdict(name, "not judged", reason)
    if name == "blank":
        return Verdict(name, "ok", f"{len(monitor.valid)} validations judged, up to update {monitor.valid[-1].update}")
    return Verdict(name, "ok", f"{monitor.train_lines} logged lines judged, up to update {monitor.train[-1].update}")


def _has(records, *keys) -> bool:
    return any(r.get(key) is not None for r in records for key in keys)


def _chance_not_judged(monitor: HealthMonitor) -> Optional[str]:
    train, th = monitor.train, monitor.thresholds
    if "accuracy" not in monitor.train_keys:
        return "no contrastive accuracy logged (not a wav2vec 2.0 pretraining)"
    end = warmup_end(train)
    if end is None:
        return "the logged lr still rises at the end: the warm-up is not over"
    if len(train) < th.patience or train[-th.patience].update < th.chance_after * end:
        return (f"the log ends at update {train[-1].update}, before chance is judged "
                f"(update {th.chance_after * end:g}: chance_after {th.chance_after:g} x the "
                f"warm-up of {end} updates, then {th.patience} logged lines)")
    return None


def _collapse_not_judged(monitor: HealthMonitor) -> Optional[str]:
    if not monitor.train_keys & {"code_perplexity", "prob_perplexity"}:
        return "no code_perplexity or prob_perplexity logged (criterion.log_keys)"
    return None


def _divergence_not_judged(monitor: HealthMonitor) -> Optional[str]:
    return None if monitor.train_keys & {"loss", "gnorm"} else "no training loss or gnorm logged"


def _blank_not_judged(monitor: HealthMonitor) -> Optional[str]:
    valid = [r for r in monitor.valid if _has([r], "uer", "hyp_len")]
    if not valid:
        return "no validation uer or hyp_len logged (not a CTC fine-tuning)"
    frozen = monitor.run.freeze_finetune_updates or 0
    if all(r.update <= frozen for r in valid):
        return f"every validation is within the frozen phase (model.freeze_finetune_updates={frozen})"
    return None


NOT_JUDGED = {"chance": _chance_not_judged, "collapse": _collapse_not_judged,
              "divergence": _divergence_not_judged, "blank": _blank_not_judged}
