"""Scorer `cer`: character error rate with the word boundary as one unit (ESPnet's BABEL CER);
`--cer-ignore-word-boundaries` scores characters alone. `<...>` units are never scored, the
reference's unknown symbol `<<unk>>` is one character."""
from dataclasses import dataclass, field

from fairseq.dataclass import FairseqDataclass
from fairseq.scoring import register_scorer

from xlsr_plugin.scoring._unit_scorer import UnitErrorScorer
from xlsr_plugin.scoring.score_line import BOUNDARIES_IGNORED
from xlsr_plugin.scoring.edit_counts import UNITS


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
        if getattr(cfg, "cer_ignore_word_boundaries", False):
            self.units = UNITS["char_only"]
            self.note = BOUNDARIES_IGNORED  # the score line says so: the report reads it
        else:
            self.units = UNITS["char"]
