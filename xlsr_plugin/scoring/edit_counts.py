"""Edit counts between reference and hypothesis unit sequences (no fairseq inside).

Rates are corpus level: the sum of errors over the sum of reference units, never a mean of
per-utterance rates.
"""
import re
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import editdistance

WORD_BOUNDARY = "|"
# fairseq-generate prints a reference symbol that the dictionary lacks as `<<unk>>` (its escaped
# `<unk>`): a unit like any other, which no hypothesis can match.
UNKNOWN_REFERENCE = "<<unk>>"
# `<unk-speech>` and the like: non-linguistic symbols, left out of every rate as ESPnet's
# scoring leaves out its `nlsyms` (a hypothesis's `<unk>` and `<pad>` included).
NON_LINGUISTIC = re.compile(r"<[^<>\s|]+>")
# One character unit: the escaped `<unk>`, a `<...>` symbol, or one other non-space character.
CHARACTER = re.compile(r"<<unk>>|<[^<>\s|]+>|\S")

Units = Tuple[List[str], List[str]]


def _scored(unit: str) -> bool:
    return unit != WORD_BOUNDARY and not NON_LINGUISTIC.fullmatch(unit)


def phones(text: str) -> List[str]:
    """Phones of a `.phn`-style string: space-separated symbols, without word boundaries `|`
    and non-linguistic `<...>` units (Rivière et al.'s PER on Common Voice)."""
    return [unit for unit in text.split() if _scored(unit)]


def characters(text: str) -> List[str]:
    """Characters of a string, without white space, word boundaries `|` and `<...>` units:
    the same units whether the string is in `.ltr` form (`h e l l o |`) or post-processed
    (`hello`). `<<unk>>` is one character."""
    return [unit for unit in CHARACTER.findall(text) if _scored(unit)]


def characters_and_boundaries(text: str, spelled: Optional[bool] = None) -> List[str]:
    """Characters with one `|` between words, as ESPnet's BABEL recipe scores CER (`<space>`
    a unit of its own, so merged and split words count): `h e l l o | w o |` (spelled, `.ltr`
    form: only `|` separates words) and `hello wo` (post-processed: spaces do) both give
    h e l l o | w o. `spelled` defaults to whether the text has a `|`. `<...>` units are left
    out, repeated boundaries merged."""
    spelled = WORD_BOUNDARY in text if spelled is None else spelled
    units: List[str] = []
    for word in text.split(WORD_BOUNDARY) if spelled else text.split():
        letters = characters(word)
        if letters:
            units += ([WORD_BOUNDARY] if units else []) + letters
    return units


def words(text: str) -> List[str]:
    return text.split()


def character_units(reference: str, hypothesis: str) -> Units:
    """Both strings' characters and word boundaries. fairseq-generate post-processes both or
    neither, and a `.ltr` reference always has a `|`: a hypothesis with no `|` beside one is
    one spelled word, not one word per character."""
    spelled = WORD_BOUNDARY in reference or WORD_BOUNDARY in hypothesis
    return (characters_and_boundaries(reference, spelled),
            characters_and_boundaries(hypothesis, spelled))


def each(tokenize: Callable[[str], List[str]]) -> Callable[[str, str], Units]:
    """Units of a (reference, hypothesis) pair, each string tokenized alone."""
    def units(reference: str, hypothesis: str) -> Units:
        return tokenize(reference), tokenize(hypothesis)
    return units


# The units of every scorer and report: (reference, hypothesis) -> their unit lists.
UNITS: Dict[str, Callable[[str, str], Units]] = {
    "phone": each(phones),
    "char": character_units,
    "char_only": each(characters),  # --cer-ignore-word-boundaries
    "word": each(words),
}


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
