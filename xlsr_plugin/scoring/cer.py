"""Scorer `cer`: character error rate with the word boundary as one unit (ESPnet's BABEL CER);
`--cer-ignore-word-boundaries` scores characters alone. `<...>` units are never scored."""
from dataclasses import dataclass, field

from fairseq.dataclass import FairseqDataclass
from fairseq.scoring import register_scorer

from xlsr_plugin.scoring.edit_counts import characters, characters_and_boundaries
from xlsr_plugin.scoring._unit_scorer import UnitErrorScorer


@dataclass
class CerConfig(FairseqDataclass):
    cer_ignore_word_boundaries: bool = field(default=False, metadata={
        "help": "score characters only, spaces and `|` dropped (word merges and splits free); "
                "default: `|` between words is a unit, as ESPnet's BABEL recipe"})


@register_scorer("cer", dataclass=CerConfig)
class CerScorer(UnitErrorScorer):
    name = "CER"

    def __init__(self, cfg):
        super().__init__(cfg)
        ignore = getattr(cfg, "cer_ignore_word_boundaries", False)
        self.tokenize = characters if ignore else characters_and_boundaries
