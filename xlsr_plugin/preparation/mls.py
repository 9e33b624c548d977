"""Multilingual LibriSpeech (MLS, Pratap et al. 2020) -> DATA/<lang>/ (README, "Data layout").

Each language is released as ``mls_<language>_opus`` (16 kHz Opus) or ``mls_<language>`` (16 kHz
FLAC), holding ``train``, ``dev`` and ``test``: ``transcripts.txt`` (``<speaker>_<book>_<seg>``
TAB lowercase text), ``audio/<speaker>/<book>/<id>.opus|flac`` and, in train,
``limited_supervision/1hr/{0..5}/handles.txt`` and ``9hr/handles.txt``. dev and test become
valid and test. The official few-shot sets are kept: ``train_10min`` (1hr/0), ``train_1h``
(the six 1hr folds) and ``train_10h`` (9hr and the six folds), as the MLS recipes build them.
16 kHz audio is used in place. Where both releases of a language are present, FLAC is used.
Opus stays Opus: bench/loader.py reads it at about 730x real time per worker CPU second, 13x
what a worker must deliver to an A100 at XLSR-53 Large's batch, at a fifth of FLAC's disk space.

    python manifests/mls.py --root MLS_DIR --langs polish,portuguese --dest DATA
    python -m xlsr_plugin.preparation.mls ...   # the same tool (the script calls main)
"""
import argparse
import logging
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Set

from xlsr_plugin.preparation.conversion import Item, Report, SplitStats
from xlsr_plugin.preparation.pipeline import (Options, add_common_args, finish, options_from_args,
                                              prepare_language, run_cli)
from xlsr_plugin.preparation.provenance import claim_languages
from xlsr_plugin.preparation.commonvoice import select
from xlsr_plugin.preparation.languages import MLS_LANGUAGES

logger = logging.getLogger(__name__)

SPLITS = {"train": "train", "valid": "dev", "test": "test"}


def find_languages(root: Path) -> Dict[str, Path]:
    """Language code -> release folder (``mls_polish`` preferred to ``mls_polish_opus``)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"no MLS folder at {root}")
    folders = [root] if root.name.startswith("mls_") else sorted(root.glob("mls_*"))
    found = {}
    for folder in sorted(folders, key=lambda p: p.name.endswith("_opus"), reverse=True):
        name = folder.name[len("mls_"):].replace("_opus", "")
        if folder.is_dir() and name in MLS_LANGUAGES:
            found[MLS_LANGUAGES[name]] = folder  # the flac folder comes last and wins
    return found


def read_split(folder: Path, stats: Optional[SplitStats] = None) -> List[Item]:
    """Items of one split folder from its ``transcripts.txt``; a line that is not
    ``<speaker>_<book>_<segment><TAB>text`` is skipped (counted in ``stats``, named)."""
    path = folder / "transcripts.txt"
    if not path.exists():
        logger.warning("%s is missing", path)
        return []
    ext = "opus" if folder.parent.name.endswith("_opus") else "flac"
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        uid, _, text = line.partition("\t")
        parts, origin = uid.split("_"), f"{path}:{number}"
        if len(parts) != 3:
            if stats is not None:
                stats.skip(Item(uid=uid, src="", origin=origin), "malformed",
                           f"expected <speaker>_<book>_<segment><TAB>text, found {line[:60]!r}")
            continue
        src = folder / "audio" / parts[0] / parts[1] / f"{uid}.{ext}"
        items.append(Item(uid=uid, src=str(src), text=text, speaker=parts[0], origin=origin))
    return items


def limited_supervision(train: Path) -> Dict[str, Set[str]]:
    """The official few-shot handles: train_10min, train_1h, train_10h (absent ones omitted)."""
    base = train / "limited_supervision"

    def handles(*parts) -> Set[str]:
        out = set()
        for path in sorted(base.glob("/".join(parts))):
            out.update(h.strip() for h in path.read_text().split() if h.strip())
        return out

    one_hour = handles("1hr", "*", "handles.txt")
    subsets = {"train_10min": handles("1hr", "0", "handles.txt"), "train_1h": one_hour,
               "train_10h": one_hour | handles("9hr", "handles.txt")}
    return {name: uids for name, uids in subsets.items() if uids}


def prepare_mls(root, langs: Optional[Sequence[str]], opts: Options) -> Report:
    """Write ``opts.dest/<lang>/`` for each requested MLS language (names or codes)."""
    available = find_languages(root)
    names = {name: code for name, code in MLS_LANGUAGES.items()}
    requested = [names.get(lang, lang) for lang in (langs or [])]
    report = Report()
    chosen = select(available, requested, "MLS")
    claim_languages(opts.dest, {lang: f"MLS {folder.name}" for lang, folder in chosen.items()})
    for lang, folder in chosen.items():
        splits = {split: read_split(folder / name, report.split(lang, split))
                  for split, name in SPLITS.items()}
        prepare_language(lang, splits, opts, report, limited_supervision(folder / "train"))
    finish(opts.dest)
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", required=True, type=Path,
                        help="folder holding mls_<language>[_opus] folders (or one of them)")
    parser.add_argument("--langs", default="", help="comma-separated MLS language names or "
                        "codes (polish,pt); default: all")
    add_common_args(parser, phonemes=False, fewshot=())
    args = parser.parse_args(argv)
    langs = [s.strip() for s in args.langs.split(",") if s.strip()]
    return run_cli(parser, lambda a: prepare_mls(a.root, langs, options_from_args(a)), args)


if __name__ == "__main__":
    sys.exit(main())
