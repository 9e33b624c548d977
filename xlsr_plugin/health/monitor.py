"""The state of the health checks over a run: the records seen so far, what fires now, and
which findings were already reported (each is warned about once)."""
from typing import Dict, List

from xlsr_plugin.health.detectors import BASELINE_RECORDS, PERPLEXITIES, TRAIN_DETECTORS, VALID_DETECTORS
from xlsr_plugin.health.records import Finding, Record, RunSettings, Thresholds, finite

# The keys the detectors read; a record keeps only these (and accuracy_<lang>).
READ_KEYS = {"loss", "loss_0", "accuracy", "gnorm", "lr", "loss_scale", "min_loss_scale",
             "code_perplexity", "prob_perplexity", "uer", "hyp_len"}


def is_read(key: str) -> bool:
    return key in READ_KEYS or key.startswith("accuracy_")


def kept_values(values: Dict[str, object]) -> Dict[str, float]:
    return {k: float(v) for k, v in values.items() if is_read(k) and isinstance(v, (int, float))}


def compacted(train: List[Record], keep_last: int) -> List[Record]:
    """The records the detectors read, in order: the last `keep_last`, the records of the
    perplexity peaks, and the two lr records around the first fall of the lr (or the last lr
    record while it still rises). The detectors find on them what they find on every record,
    and the checks cost the same at the end of a long run as at its start."""
    lr_at = [i for i, r in enumerate(train) if r.get("lr") is not None]
    drop = next((b for a, b in zip(lr_at, lr_at[1:]) if train[b].get("lr") <= train[a].get("lr")), None)
    warm = {lr_at[lr_at.index(drop) - 1], drop} if drop is not None else set(lr_at[-1:])
    peaks = {max((i for i, r in enumerate(train) if finite(r.get(key))), key=lambda i, key=key: train[i].get(key))
             for key in PERPLEXITIES if any(finite(r.get(key)) for r in train)}
    keep = warm | peaks | set(range(max(0, len(train) - keep_last), len(train)))
    return [train[i] for i in sorted(keep)]


class HealthMonitor:
    """Feed it the records of a run in order; each add_* returns the findings that fire for
    the first time (to warn about), `firing` holds what fires now (health_<key> = 1)."""

    def __init__(self, thresholds: Thresholds = None, run: RunSettings = None):
        self.thresholds = thresholds or Thresholds()
        self.run = run or RunSettings()
        self.train: List[Record] = []
        self.valid: List[Record] = []
        self.firing: Dict[str, Finding] = {}
        self.first: Dict[str, Finding] = {}
        self.train_lines = 0
        self.train_keys = set()

    def add_train(self, record: Record) -> List[Finding]:
        values = kept_values(record.values)
        self.train_lines += 1
        self.train_keys.update(values)
        self.train.append(Record(record.update, values, record.subset))
        found = [f for detect in TRAIN_DETECTORS for f in detect(self.train, self.run, self.thresholds)]
        self.train = compacted(self.train, max(BASELINE_RECORDS + 1, self.thresholds.patience))
        return self._update("train", found)

    def add_valid(self, record: Record) -> List[Finding]:
        self.valid.append(Record(record.update, kept_values(record.values), record.subset))
        found = [f for detect in VALID_DETECTORS for f in detect(self.valid, self.run, self.thresholds)]
        return self._update("valid", found)

    def _update(self, phase: str, found: List[Finding]) -> List[Finding]:
        """What fires now replaces what fired at the phase's previous check."""
        detectors = {"train": ("chance", "collapse", "divergence"), "valid": ("blank",)}[phase]
        self.firing = {k: f for k, f in self.firing.items() if f.detector not in detectors}
        self.firing.update((f.key, f) for f in found)
        new = [f for f in found if f.key not in self.first]
        self.first.update((f.key, f) for f in new)
        return new

    def divergence_reference(self) -> float:
        """The loss a single step must stay under: divergence_factor x the last logged loss
        (infinite before the first record)."""
        losses = [r.get("loss") for r in self.train[-1:] if r.get("loss") is not None]
        return self.thresholds.divergence_factor * losses[0] if losses else float("inf")
