"""Scorer `per`: phone error rate over space-separated phones, word boundaries `|` and `<...>`
units ignored, the reference's unknown symbol `<<unk>>` one phone (Rivière et al. 2020, as the
XLSR paper reports it on Common Voice)."""
from fairseq.dataclass import FairseqDataclass
from fairseq.scoring import register_scorer

from xlsr_plugin.scoring._unit_scorer import UnitErrorScorer
from xlsr_plugin.scoring.edit_counts import UNITS


@register_scorer("per", dataclass=FairseqDataclass)
class PerScorer(UnitErrorScorer):
    name = "PER"
    units = staticmethod(UNITS["phone"])
