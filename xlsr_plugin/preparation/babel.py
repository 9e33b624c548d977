"""An IARPA BABEL language pack -> DATA/<lang>/ (layout: README, "Data layout").

A pack (e.g. ``IARPA_BABEL_OP3_404``) holds ``conversational/{training,dev[,eval]}/audio/*.sph``
(8 kHz u-law NIST Sphere, one side of a telephone call each, named
``BABEL_<phase>_<pack>_<speaker>_<date>_<time>_<inLine|outLine>``), some packs ``.wav`` too, and
``transcription/*.txt``: ``[seconds]`` lines, each followed by the text spoken until the next
one. Every transcribed segment becomes one 16 kHz utterance file.

Splits, as ESPnet's BABEL recipe: the pack's ``dev`` (dev10h; eval transcripts were not
released) is ``test``, the evaluation set; ``valid``, which selects checkpoints, is a seeded
``--valid-percent`` of the training speakers (the ``<speaker>`` field of the file name, both
sides of their calls), held out of ``train``; a transcribed ``eval`` becomes split ``eval``.
Where the pack has ``conversational/sub-train`` (the Limited LP list of Kaldi and ESPnet, about
10 h), its recordings are ``train_10h`` and are never held out as valid; other
``--fewshot-hours`` are drawn.

Audio: ``.wav`` recordings are band-limited to 8 kHz (as Kaldi's ``sox ... -r 8000``) like the
telephone ``.sph`` files, so that one language has one bandwidth; everything is then resampled
to 16 kHz. Shorten-compressed Sphere (``sample_coding ... embedded-shorten``) is refused with
how to decompress it (``sph2pipe``), since libsndfile cannot read it.

Tokens, as in the Kaldi/ESPnet BABEL recipes (``local/prepare_acoustic_training_data.pl``) and
lhotse's ``recipes/babel.py``: unintelligible, foreign, overlapping, prompt speech and
hesitations (``(())``, ``<foreign>``, ``<overlap>``, ``<prompt>``, ``<hes>``) become one
``<unk-speech>`` unit (repeats merged), so the target still says that something was spoken
there; the speaker noises ``<breath>``, ``<cough>``, ``<lipsmack>``, ``<laugh>``, the noises
``<click>``, ``<ring>``, ``<dtmf>``, ``<int>``, ``<sta>``, ``<no-speech>`` and the
``<male-to-female>`` markers are removed, and segments left empty (noise only) are dropped
(``no_speech``). PER and CER leave ``<unk-speech>`` out, as ESPnet's scoring leaves its
non-linguistic symbols out.

    python manifests/babel.py --root BABEL_PACK_DIR --lang ka --dest DATA
    python -m xlsr_plugin.preparation.babel ...   # the same tool (the script calls main)
"""
import argparse
import logging
import random
import re
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Dict, List, Set, Tuple

from xlsr_plugin.preparation.conversion import Item, Report
from xlsr_plugin.preparation.labels import UNKNOWN_SPEECH
from xlsr_plugin.preparation.pipeline import (Options, add_common_args, finish, options_from_args,
                                              prepare_language, run_cli)
from xlsr_plugin.preparation.provenance import claim_languages

logger = logging.getLogger(__name__)

# BABEL pack numbers (lhotse's BABELCODE2LANG) as ISO 639-1 codes, else 639-3.
PACKS = {"101": "yue", "102": "as", "103": "bn", "104": "ps", "105": "tr", "106": "tl",
         "107": "vi", "201": "ht", "202": "sw", "203": "lo", "204": "ta", "205": "kmr",
         "206": "zu", "207": "tpi", "301": "ceb", "302": "kk", "303": "te", "304": "lt",
         "305": "gn", "306": "ig", "307": "am", "401": "mn", "402": "jv", "403": "luo",
         "404": "ka"}
UNKNOWN_TOKENS = ("(())", "<foreign>", "<overlap>", "<prompt>", "<hes>")
NON_SPEECH = re.compile(r"<[^<>\s]*>|\(\(\)\)")
TELEPHONE_RATE = 8000
_TIME = re.compile(r"^\[(\d+(?:\.\d*)?)\]$")


def find_conversational(root: Path) -> Path:
    """The pack's ``conversational`` folder, found at any depth (the first one, sorted)."""
    found = sorted(p for p in Path(root).rglob("conversational") if p.is_dir())
    if not found:
        raise FileNotFoundError(f"no 'conversational' folder below {root}")
    if len(found) > 1:
        logger.warning("several 'conversational' folders below %s: using %s", root, found[0])
    return found[0]


def clean_text(text: str) -> str:
    """The segment's words, ``UNKNOWN_SPEECH`` for unintelligible, foreign, overlapping,
    prompt speech and hesitations (repeats merged), without noise tokens; '' for noise only."""
    units = []
    for word in text.split():
        unit = UNKNOWN_SPEECH if word in UNKNOWN_TOKENS else NON_SPEECH.sub(" ", word).strip()
        if unit and not (unit == UNKNOWN_SPEECH and units and units[-1] == UNKNOWN_SPEECH):
            units.append(unit)
    return " ".join(units)


def read_segments(path: Path) -> List[Tuple[float, float, str, int]]:
    """(start, end, raw text, line number of its ``[start]``) of each segment of one
    transcription file."""
    segments, start, text, first = [], None, [], 0
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    for number, line in enumerate(lines, start=1):
        match = _TIME.match(line.strip())
        if not match:
            text.append(line.strip())
            continue
        time = float(match.group(1))
        if start is not None and text and time > start:
            segments.append((start, time, " ".join(text), first))
        start, text, first = time, [], number
    return segments


def split_items(folder: Path, stats) -> List[Item]:
    """Items of one split (``conversational/<split>``); drops and counts non-speech segments."""
    items = []
    for txt in sorted((folder / "transcription").glob("*.txt")):
        audio = next((p for p in (folder / "audio" / f"{txt.stem}{e}" for e in (".sph", ".wav"))
                      if p.exists()), folder / "audio" / f"{txt.stem}.sph")
        speaker = speaker_of(txt.stem)
        for start, end, raw, line in read_segments(txt):
            item = Item(uid=f"{txt.stem}_{round(start * 100):07d}", src=str(audio),
                        text=clean_text(raw), speaker=speaker, start=start, end=end,
                        origin=f"{txt}:{line}")
            if item.text:
                items.append(item)
            else:
                stats.skip(item, "no_speech", "its transcript holds only noise tokens")
    return items


def speaker_of(stem: str) -> str:
    """``<pack>_<speaker>_<side>`` of a BABEL file name (one side of one call)."""
    fields = stem.split("_")
    return "_".join(fields[2:4] + fields[6:7])


def held_out_person(item: Item) -> str:
    """What valid holds out whole: the ``<speaker>`` field, both sides of the call."""
    return item.speaker.rsplit("_", 1)[0]


def split_valid(train: List[Item], fraction: float, seed: int,
                keep: Set[str] = frozenset()) -> Tuple[List[Item], List[Item]]:
    """(train, valid): a seeded ``fraction`` of the training speakers (at least one, never
    all, none whose recordings are in ``keep``) with all their segments as valid."""
    people = sorted({held_out_person(it) for it in train})
    kept = {held_out_person(it) for it in train if it.uid.rsplit("_", 1)[0] in keep}
    candidates = [p for p in people if p not in kept]
    random.Random(seed).shuffle(candidates)
    n = min(len(candidates), len(people) - 1, max(1, round(fraction * len(people))))
    valid = set(candidates[:n]) if fraction > 0 else set()
    if not valid:
        logger.warning("no training speaker held out as valid (%d speakers, --valid-percent "
                       "%g): valid is empty", len(people), fraction)
    return ([it for it in train if held_out_person(it) not in valid],
            [it for it in train if held_out_person(it) in valid])


def limited_lp(conv: Path) -> Set[str]:
    """Recordings (file stems) of the pack's ``sub-train`` (the Limited LP list), if any."""
    return {p.stem for p in (conv / "sub-train" / "transcription").glob("*.txt")}


def pack_language(conv: Path) -> str:
    """The language of the pack, from the pack number in its file names."""
    numbers = Counter(p.stem.split("_")[2] for p in conv.glob("*/transcription/*.txt")
                      if len(p.stem.split("_")) > 2)
    if not numbers:
        raise FileNotFoundError(f"no transcription files below {conv}")
    number = numbers.most_common(1)[0][0]
    return PACKS.get(number, number)


def prepare_babel(root, lang: str, opts: Options, valid_fraction: float = 0.05) -> Report:
    """Write ``opts.dest/<lang>/`` from the BABEL pack at ``root``."""
    conv = find_conversational(root)
    found = pack_language(conv)
    if lang != found:
        raise ValueError(f"the pack at {root} is language {found}, not {lang}; it has: {found}")
    report = Report()
    names = {"train": "training", "test": "dev"}
    if list((conv / "eval" / "transcription").glob("*.txt")):
        names["eval"] = "eval"
    splits: Dict[str, List[Item]] = {}
    for split, name in names.items():
        splits[split] = split_items(conv / name, report.split(lang, split))
    sub_train = limited_lp(conv)
    splits["train"], splits["valid"] = split_valid(splits["train"], valid_fraction, opts.seed,
                                                   sub_train)
    official = {"train_10h": {it.uid for it in splits["train"]
                              if it.uid.rsplit("_", 1)[0] in sub_train}} if sub_train else None
    claim_languages(opts.dest, {lang: f"BABEL {conv.resolve().parent.name}"})
    prepare_language(lang, splits, replace(opts, band_limit=TELEPHONE_RATE), report, official)
    finish(opts.dest)
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", required=True, type=Path, help="BABEL language pack folder")
    parser.add_argument("--lang", required=True, help="language code of the pack (e.g. ka)")
    parser.add_argument("--valid-percent", type=float, default=0.05,
                        help="fraction of the training speakers held out as valid (0 to 1)")
    add_common_args(parser, phonemes=False)
    args = parser.parse_args(argv)
    return run_cli(parser, lambda a: prepare_babel(a.root, a.lang, options_from_args(a),
                                                   a.valid_percent), args)


if __name__ == "__main__":
    sys.exit(main())
