"""Edit counts between reference and hypothesis unit sequences (no fairseq inside).

Rates are corpus level: the sum of errors over the sum of reference units, never a mean of
per-utterance rates.
"""
import re
from dataclasses import dataclass
from typing import List, Sequence

import editdistance

WORD_BOUNDARY = "|"
# `<unk-speech>` and the like: non-linguistic symbols, left out of every rate as ESPnet's
# scoring leaves out its `nlsyms` (fairseq's own `<unk>` included).
NON_LINGUISTIC = re.compile(r"<[^<>\s|]+>")


def phones(text: str) -> List[str]:
    """Phones of a `.phn`-style string: space-separated symbols, without word boundaries `|`
    and non-linguistic `<...>` units (Rivière et al.'s PER on Common Voice)."""
    return [unit for unit in text.split()
            if unit != WORD_BOUNDARY and not NON_LINGUISTIC.fullmatch(unit)]


def characters(text: str) -> List[str]:
    """Characters of a string, without white space, word boundaries `|` and `<...>` units:
    the same units whether the string is in `.ltr` form (`h e l l o |`) or post-processed
    (`hello`)."""
    return [c for c in NON_LINGUISTIC.sub(" ", text) if not c.isspace() and c != WORD_BOUNDARY]


def characters_and_boundaries(text: str) -> List[str]:
    """Characters with one `|` between words, as ESPnet's BABEL recipe scores CER (`<space>`
    a unit of its own, so merged and split words count): `h e l l o | w o |` and `hello wo`
    both give h e l l o | w o. `<...>` units are left out, repeated boundaries merged."""
    text = NON_LINGUISTIC.sub(" ", text)
    words = text.replace(" ", "").split(WORD_BOUNDARY) if WORD_BOUNDARY in text else text.split()
    units: List[str] = []
    for word in filter(None, words):
        units += ([WORD_BOUNDARY] if units else []) + list(word)
    return units


def words(text: str) -> List[str]:
    return text.split()


UNITS = {"phone": phones, "char": characters_and_boundaries, "word": words}


@dataclass
class EditCounts:
    """Summed edit counts; `errors` is the Levenshtein distance."""

    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0
    reference_length: int = 0
    utterances: int = 0

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def rate(self) -> float:
        """Error rate in percent (0 for an empty reference set)."""
        return 100.0 * self.errors / self.reference_length if self.reference_length else 0.0

    def __iadd__(self, other: "EditCounts") -> "EditCounts":
        self.substitutions += other.substitutions
        self.deletions += other.deletions
        self.insertions += other.insertions
        self.reference_length += other.reference_length
        self.utterances += other.utterances
        return self


def distance(reference: Sequence[str], hypothesis: Sequence[str]) -> int:
    return editdistance.eval(reference, hypothesis)


def edit_counts(reference: Sequence[str], hypothesis: Sequence[str]) -> EditCounts:
    """Substitutions, deletions and insertions of one minimal alignment; among alignments of
    the same cost, the one with most substitutions (the usual sclite convention)."""
    n, m = len(reference), len(hypothesis)
    # previous[j]: counts of reference[:i-1] against hypothesis[:j], one row of the DP table
    previous = [(j, 0, 0, j) for j in range(m + 1)]  # (errors, subs, dels, ins)
    for i in range(1, n + 1):
        current = [(i, 0, i, 0)]
        for j in range(1, m + 1):
            e, s, d, ins = previous[j - 1]
            same = reference[i - 1] == hypothesis[j - 1]
            diagonal = (e + (not same), s + (not same), d, ins)
            e, s, d, ins = previous[j]
            deletion = (e + 1, s, d + 1, ins)
            e, s, d, ins = current[j - 1]
            insertion = (e + 1, s, d, ins + 1)
            current.append(min(diagonal, deletion, insertion, key=lambda c: (c[0], -c[1])))
        previous = current
    _, subs, dels, ins = previous[m]
    return EditCounts(subs, dels, ins, reference_length=n, utterances=1)
