"""What the health detectors read: the metrics a run logs (one record per logged line), the
settings they are judged against, and what a detector reports.

fairseq-free, so that the live hooks of the tasks and `python -m xlsr_plugin.health` (reading a
finished log) feed the same detectors the same records."""
import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

DOCS = "docs/troubleshooting.md"


@dataclass
class Record:
    """The metrics of one logged line: `train_inner` (smoothed over common.log_interval
    updates) or the validation of one subset."""

    update: int
    values: Dict[str, float]
    subset: str = ""

    def get(self, key: str) -> Optional[float]:
        value = self.values.get(key)
        return value if isinstance(value, (int, float)) else None


@dataclass(frozen=True)
class Thresholds:
    """The task options health_* (defaults documented there and in docs/troubleshooting.md)."""

    chance: bool = True
    chance_margin: float = 1.0
    chance_after: float = 2.0
    collapse: bool = True
    collapse_share: float = 0.05
    collapse_fall: float = 0.2
    divergence: bool = True
    divergence_factor: float = 100.0
    loss_scale: float = 1e-3
    blank: bool = True
    blank_output: float = 20.0
    blank_uer: float = 90.0
    patience: int = 3


@dataclass
class RunSettings:
    """The settings of the run that the detectors need (None: unknown). `negatives` is K =
    num_negatives + cross_sample_negatives; `codebook` latent_vars x latent_groups."""

    negatives: Optional[int] = None
    codebook: Optional[int] = None
    extractor_mode: Optional[str] = None
    layer_norm_first: Optional[bool] = None
    feature_grad_mult: Optional[float] = None
    freeze_finetune_updates: Optional[int] = None
    normalize: Optional[bool] = None


def _option(cfg: Any, name: str) -> Any:
    if cfg is None:
        return None
    return cfg.get(name) if hasattr(cfg, "get") else getattr(cfg, name, None)


def run_settings(model: Any, task: Any = None) -> RunSettings:
    """RunSettings from a model config (pretraining or fine-tuning) and the task config:
    dataclasses, OmegaConf configs or the plain dicts a log prints."""
    negatives = _option(model, "num_negatives")
    quantized = _option(model, "quantize_targets") or _option(model, "quantize_input")
    latent_vars, latent_groups = _option(model, "latent_vars"), _option(model, "latent_groups")
    return RunSettings(
        negatives=None if negatives is None else int(negatives) + int(_option(model, "cross_sample_negatives") or 0),
        codebook=int(latent_vars) * int(latent_groups) if quantized and latent_vars and latent_groups else None,
        extractor_mode=_option(model, "extractor_mode"),
        layer_norm_first=_option(model, "layer_norm_first"),
        feature_grad_mult=_option(model, "feature_grad_mult"),
        freeze_finetune_updates=_option(model, "freeze_finetune_updates"),
        normalize=_option(task, "normalize"),
    )


@dataclass
class Finding:
    """A detector that fired: `key` names it in the log and TensorBoard (health_<key>)."""

    detector: str
    key: str
    update: int
    evidence: str
    causes: List[str] = field(default_factory=list)

    @property
    def link(self) -> str:
        return f"{DOCS}#{ANCHORS[self.detector]}"

    def message(self) -> str:
        causes = "".join(f"\n  - {cause}" for cause in self.causes)
        return (f"health: {TITLES[self.detector]} (health_{self.key}=1) at update {self.update}: "
                f"{self.evidence}. Likely causes, with the settings that fix them:{causes}\n"
                f"  See {self.link}")


TITLES = {
    "chance": "pretraining at the contrastive chance level",
    "collapse": "codebook collapse",
    "divergence": "training diverges",
    "blank": "fine-tuning outputs only blanks",
}
ANCHORS = {
    "chance": "pretraining-at-chance",
    "collapse": "codebook-collapse",
    "divergence": "divergence",
    "blank": "fine-tuning-outputs-only-blanks",
}


def finite(value: Optional[float]) -> bool:
    return value is not None and math.isfinite(value)
