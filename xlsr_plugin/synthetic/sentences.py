"""Sentences of real localized words, drawn from CLDR data (the ``babel`` package).

Each language's vocabulary is the names of languages, territories, months and weekdays written in
that language's own locale, so the words are real and in the right script, with no download.
"""
import random
import unicodedata
from functools import lru_cache
from typing import List

from babel import Locale

from xlsr_plugin.preparation.languages import cldr_locale, is_unspaced


def _is_word(word: str) -> bool:
    # Letters and combining marks only (an inner apostrophe or hyphen allowed): no digits, so
    # the labels need no number verbalization.
    inner = word.strip("'-")
    return bool(inner) and inner == word and all(
        unicodedata.category(c)[0] in "LM" or c in "'-" for c in word)


@lru_cache(maxsize=None)
def vocabulary(lang: str) -> List[str]:
    """Sorted distinct words of ``lang`` (a language code such as ``fi`` or ``zh-CN``)."""
    loc = Locale.parse(cldr_locale(lang))
    names = list(loc.languages.values()) + list(loc.territories.values())
    names += list(loc.months["format"]["wide"].values())
    names += list(loc.days["format"]["wide"].values())
    words = {w for name in names for w in name.split() if _is_word(w)}
    if len(words) < 20:
        raise ValueError(f"CLDR has only {len(words)} words for {lang!r}; need at least 20")
    return sorted(words)


def make_sentences(lang: str, n: int, seed: int = 0, min_words: int = 3,
                   max_words: int = 7) -> List[str]:
    """``n`` sentences of ``lang`` words, capitalized, with a comma and a final full stop, so
    that label normalization has case and punctuation to remove. Deterministic from ``seed``."""
    vocab = vocabulary(lang)
    rng = random.Random(f"{lang}:{seed}")
    sep = "" if is_unspaced(lang) else " "
    out = []
    for _ in range(n):
        words = rng.sample(vocab, rng.randint(min_words, max_words))
        if len(words) > 3:
            words[1] += ","
        text = sep.join(words)
        out.append(text[:1].upper() + text[1:] + ("。" if not sep else "."))
    return out
