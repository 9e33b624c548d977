"""Label files: normalized words, letters, phonemes (phonemizer + espeak-ng), dictionaries."""
import logging
import unicodedata
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from xlsr_plugin.preparation.conversion import atomic_write_text
from xlsr_plugin.preparation.languages import espeak_voice_candidates

logger = logging.getLogger(__name__)

_APOSTROPHES = {"\u2019": "'", "\u02bc": "\u02bc", "`": "'"}
_HYPHENS = {"\u2010": "-", "\u2011": "-"}
LABEL_KINDS = ("ltr", "phn")
# Speech no one could transcribe (BABEL's `(())`, `<foreign>`...): one label unit of its own in
# .wrd, .ltr and .phn, left out of PER and CER as ESPnet's non-linguistic symbols are. Not
# fairseq's `<unk>`, which every Dictionary already holds.
UNKNOWN_SPEECH = "<unk-speech>"


def normalize_words(text: str, lang: str = "") -> str:
    """NFKC, lowercase (Turkish dotted/dotless i kept apart), punctuation and symbols removed
    except apostrophes and hyphens between two letters (``l'eau``, ``Hämeen-linna``);
    ``UNKNOWN_SPEECH`` kept as a word."""
    pieces = [_normalize_plain(piece, lang) for piece in text.split(UNKNOWN_SPEECH)]
    return " ".join(f" {UNKNOWN_SPEECH} ".join(pieces).split())


def _normalize_plain(text: str, lang: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = "".join(_APOSTROPHES.get(c, _HYPHENS.get(c, c)) for c in text)
    if lang in ("tr", "az", "tt", "crh"):
        text = text.replace("I", "ı").replace("İ", "i")
    text = text.lower()
    keep = [_is_word_char(c) for c in text]
    out = []
    for i, c in enumerate(text):
        if keep[i]:
            out.append(c)
        elif c in "'-" and 0 < i < len(text) - 1 and keep[i - 1] and keep[i + 1]:
            out.append(c)
        else:
            out.append(" ")
    return " ".join("".join(out).split())


def _is_word_char(c: str) -> bool:
    return unicodedata.category(c)[0] in "LMN"


def letters(words: str) -> str:
    """fairseq's libri_labels letters: ``a b | c d |`` (``UNKNOWN_SPEECH`` one unit)."""
    units = []
    for word in words.split():
        units += [word] if word == UNKNOWN_SPEECH else list(word)
        units.append("|")
    return " ".join(units)


def installed_espeak_voice(lang: str) -> Optional[str]:
    """The espeak-ng voice phonemizer uses for ``lang``: the first of its candidates that the
    installed espeak-ng has, or None when it has none."""
    supported = _espeak_languages()
    for voice in espeak_voice_candidates(lang):
        if voice in supported:
            return voice
    return None


@lru_cache(maxsize=None)
def _espeak_languages() -> frozenset:
    from phonemizer.backend import EspeakBackend
    return frozenset(EspeakBackend.supported_languages())


def phonemize(sentences: Sequence[str], voice: str) -> List[str]:
    """IPA phones separated by spaces, `` | `` between words; '' where espeak-ng gave nothing."""
    from phonemizer import phonemize as _phonemize
    from phonemizer.separator import Separator
    quiet = logging.getLogger("phonemizer.quiet")
    quiet.setLevel(logging.ERROR)
    # phonemizer drops empty lines, which would misalign the output: send only the others.
    todo = [i for i, s in enumerate(sentences) if s.strip()]
    raw = _phonemize([sentences[i] for i in todo], language=voice, backend="espeak",
                     separator=Separator(phone=" ", word="|", syllable=""), strip=True,
                     preserve_punctuation=False, language_switch="remove-flags",
                     words_mismatch="ignore", njobs=1, logger=quiet)
    if len(raw) != len(todo):
        raise RuntimeError(f"phonemizer returned {len(raw)} lines for {len(todo)} sentences")
    out = [""] * len(sentences)
    for i, line in zip(todo, raw):
        words = [" ".join(w.split()) for w in line.split("|")]
        out[i] = " | ".join(w for w in words if w)
    return out


def count_symbols(files: Sequence[Path]) -> Counter:
    counts = Counter()
    for path in files:
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                counts.update(line.split())
    return counts


def write_dict(path: Path, counts: Counter) -> None:
    """A fairseq Dictionary file: ``symbol count``, most frequent first, ties by symbol."""
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    atomic_write_text(path, "".join(f"{s} {n}\n" for s, n in items))


def write_language_dicts(lang_dir: Path, splits: Sequence[str] = ("train",)):
    """``<lang>/dict.{ltr,phn}.txt`` from the labels of its training split only, as fairseq's
    and ESPnet's recipes build them: a symbol seen only in valid or test gets no output of the
    model (a fine-tuned model could never emit it) and is read as ``<unk>``."""
    for kind in LABEL_KINDS:
        files = [lang_dir / f"{s}.{kind}" for s in splits if (lang_dir / f"{s}.{kind}").exists()]
        if files:
            write_dict(lang_dir / f"dict.{kind}.txt", count_symbols(files))


def write_union_dicts(dest: Path) -> Dict[str, int]:
    """``DATA/dict.{ltr,phn}.txt``: the sum of every language folder's dictionary in DATA."""
    sizes = {}
    for kind in LABEL_KINDS:
        counts = Counter()
        for lang_dict in sorted(Path(dest).glob(f"*/dict.{kind}.txt")):
            for line in lang_dict.read_text(encoding="utf-8").splitlines():
                symbol, n = line.rsplit(" ", 1)
                counts[symbol] += int(n)
        union = Path(dest) / f"dict.{kind}.txt"
        if counts:
            write_dict(union, counts)
            sizes[kind] = len(counts)
        elif union.exists():  # no language has these labels any more
            union.unlink()
    return sizes
