"""Scorer `cer`: character error rate, white space and word boundaries `|` ignored."""
from fairseq.dataclass import FairseqDataclass
from fairseq.scoring import register_scorer

from xlsr_plugin.scoring.edit_counts import characters
from xlsr_plugin.scoring._unit_scorer import UnitErrorScorer


@register_scorer("cer", dataclass=FairseqDataclass)
class CerScorer(UnitErrorScorer):
    name = "CER"
    tokenize = staticmethod(characters)
