"""Mozilla Common Voice -> DATA/<lang>/ (layout: README, "Data layout").

A release folder (``cv-corpus-<version>/``) holds one folder per locale: ``clips/*.mp3`` (48 kHz,
some early clips 32 kHz) and the tables ``validated.tsv``, ``train.tsv``, ``dev.tsv``,
``test.tsv``, ``invalidated.tsv``, ``other.tsv``. Tables are tab-separated with a header; recent
releases have ``client_id path sentence_id sentence sentence_domain up_votes down_votes age
gender accents variant locale segment``, early ones ``client_id path sentence up_votes
down_votes age gender accent``: columns are found by name. ``train``/``dev``/``test`` share no
sentence and no speaker (CorporaCreator) and become ``train``/``valid``/``test``;
``--use-validated`` trains on every validated clip instead, less those that share a sentence or
a speaker with dev or test (counted as ``shares_dev_test``): ``validated.tsv`` holds other
readings of the dev/test sentences and the dev/test speakers' other clips. Labels default to
phonemes too, as the paper's Common Voice experiments report phoneme error rates.

Refused, with the folder named: a delta release (10.0 on: clips added since the previous
release, no train/dev/test tables), and two locale folders that would become one language
(``zh-HK`` and, since 9.0, ``yue`` are both Cantonese: name the one to prepare in ``--langs``).
Early releases unpack as ``cv-corpus-1_<locale>/``: the locale is the part after ``_``.

    python manifests/commonvoice.py --root cv-corpus-5.1-2020-06-22 --langs fi,hu --dest DATA
    python -m xlsr_plugin.preparation.commonvoice ...   # the same tool (the script calls main)
"""
import argparse
import csv
import logging
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Set, Tuple

from xlsr_plugin.preparation.conversion import Item, Report
from xlsr_plugin.preparation.labels import normalize_words
from xlsr_plugin.preparation.pipeline import (Options, add_common_args, finish, options_from_args,
                                              prepare_language, run_cli)
from xlsr_plugin.preparation.provenance import claim_languages
from xlsr_plugin.preparation.languages import lang_code

logger = logging.getLogger(__name__)

SPLITS = {"train": "train", "valid": "dev", "test": "test"}
ORIGIN = "\0origin"  # the key of a row's `table:line` (no column of a release is named so)
_EARLY_FOLDER = re.compile(r"^cv[-_]corpus[-_][^_]*_(.+)$")  # cv-corpus-1_fi (before 5.0)


def locale_of(folder: Path) -> str:
    """The Common Voice locale a folder holds: its name, less an early release's prefix."""
    match = _EARLY_FOLDER.match(folder.name)
    return match.group(1) if match else folder.name


def find_locales(root: Path, requested: Sequence[str] = ()) -> Dict[str, Path]:
    """Language code -> locale folder, for every folder of ``root`` holding ``validated.tsv``
    (or ``root`` itself when it is one locale's folder). Where two folders give one code, the
    one named in ``requested`` (``zh-HK``) is taken; an error names both when it is unclear."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"no Common Voice release at {root}")
    folders = [root] if (root / "validated.tsv").exists() else sorted(
        p for p in root.iterdir() if (p / "validated.tsv").exists())
    by_code = defaultdict(list)
    for folder in folders:
        code = lang_code(locale_of(folder))
        if "_" in code:
            raise ValueError(f"{folder}: cannot tell the locale of this folder ({code!r} "
                             f"would be a language code with '_', the split separator)")
        by_code[code].append(folder)
    found = {}
    for code, paths in sorted(by_code.items()):
        named = [p for p in paths if p.name in requested or locale_of(p) in requested]
        if len(paths) > 1 and len(named) != 1:
            if requested and code not in requested and not named:
                continue  # not asked for
            raise ValueError(
                f"{' and '.join(str(p) for p in paths)} would both become language {code!r}: "
                f"prepare one of them, named in --langs "
                f"({' or '.join(locale_of(p) for p in paths)}), the other into another --dest")
        found[code] = named[0] if named else paths[0]
    return found


def select(available: Dict[str, Path], requested: Optional[Sequence[str]], corpus: str):
    """The requested languages (codes or release names); an error lists what the release has."""
    if not requested:
        return dict(sorted(available.items()))
    by_name = {**{p.name: code for code, p in available.items()}, **{c: c for c in available}}
    missing = [r for r in requested if r not in by_name]
    if missing:
        have = ", ".join(f"{c} ({p.name})" if p.name != c else c
                         for c, p in sorted(available.items()))
        raise ValueError(f"{corpus} release has no {', '.join(missing)}; it has: {have or 'none'}")
    return {by_name[r]: available[by_name[r]] for r in sorted(set(requested))}


def read_table(path: Path) -> List[dict]:
    """Rows of a Common Voice TSV as dicts, each with its ``table:line`` under ``ORIGIN``;
    [] (with a warning) when the table is absent."""
    if not path.exists():
        logger.warning("%s is missing", path)
        return []
    csv.field_size_limit(sys.maxsize)
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [{**row, ORIGIN: f"{path}:{reader.line_num}"} for row in reader]


def _item(folder: Path, row: dict) -> Item:
    name = row.get("path") or ""
    if name and not Path(name).suffix:  # the first releases listed clips without extension
        name += ".mp3"
    return Item(uid=Path(name).stem, src=str(folder / "clips" / name),
                text=row.get("sentence") or "", speaker=row.get("client_id") or "",
                origin=row.get(ORIGIN, ""))


def check_full_release(folder: Path) -> None:
    """A locale folder without its split tables would write empty splits: refuse it."""
    absent = [f"{name}.tsv" for name in SPLITS.values() if not (folder / f"{name}.tsv").exists()]
    if absent:
        raise ValueError(f"{folder} has no {', '.join(absent)}: a Common Voice delta release "
                         f"(10.0 on: only the clips added since the previous release) or an "
                         f"incomplete one. Prepare the full release's folder instead.")


def held_out(tables: Dict[str, List[dict]], lang: str) -> Tuple[Set[str], Set[str]]:
    """Normalized sentences and speakers (client ids) of dev and test."""
    rows = tables["valid"] + tables["test"]
    sentences = {normalize_words(r.get("sentence") or "", lang) for r in rows} - {""}
    speakers = {r.get("client_id") or "" for r in rows} - {""}
    return sentences, speakers


def locale_splits(folder: Path, use_validated: bool,
                  lang: str = "") -> Tuple[Dict[str, List[Item]], List[Item]]:
    """Items per split, and the train candidates dropped for sharing a sentence or a speaker
    with dev or test (none from ``train.tsv`` in a real release)."""
    check_full_release(folder)
    tables = {split: read_table(folder / f"{name}.tsv") for split, name in SPLITS.items()}
    if use_validated:  # every validated clip but dev's and test's own
        held_paths = {r.get("path") for split in ("valid", "test") for r in tables[split]}
        tables["train"] = [r for r in read_table(folder / "validated.tsv")
                           if r.get("path") not in held_paths]
    sentences, speakers = held_out(tables, lang)
    train = [r for r in tables["train"] if r.get("path")]
    tables["train"] = [r for r in train if (r.get("client_id") or "") not in speakers
                       and normalize_words(r.get("sentence") or "", lang) not in sentences]
    kept = {id(r) for r in tables["train"]}
    splits = {split: [_item(folder, r) for r in rows if r.get("path")]
              for split, rows in tables.items()}
    return splits, [_item(folder, r) for r in train if id(r) not in kept]


def release_name(folder: Path) -> str:
    """How a locale folder is recorded in DATA/<lang>/source.txt: release and locale folder."""
    folder = folder.resolve()
    return f"Common Voice {folder.parent.name}/{folder.name}"


def prepare_commonvoice(root, langs: Optional[Sequence[str]], opts: Options,
                        use_validated: bool = False) -> Report:
    """Write ``opts.dest/<lang>/`` for each requested locale of the release at ``root``."""
    report = Report()
    chosen = select(find_locales(root, langs or ()), langs, "Common Voice")
    splits = {lang: locale_splits(folder, use_validated, lang) for lang, folder in chosen.items()}
    claim_languages(opts.dest, {lang: release_name(folder) for lang, folder in chosen.items()})
    for lang, (lang_splits, overlapping) in splits.items():
        for item in overlapping:
            report.split(lang, "train").skip(item, "shares_dev_test",
                                             "shares its sentence or its speaker with dev or test")
        prepare_language(lang, lang_splits, opts, report)
    finish(opts.dest)
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", required=True, type=Path, help="Common Voice release folder")
    parser.add_argument("--langs", default="", help="comma-separated codes or locales "
                        "(fi,sv-SE or sv); default: all")
    parser.add_argument("--use-validated", action="store_true",
                        help="train on every validated clip that shares no sentence and no "
                        "speaker with dev or test")
    add_common_args(parser, phonemes=True)
    args = parser.parse_args(argv)
    langs = [s.strip() for s in args.langs.split(",") if s.strip()]
    return run_cli(parser, lambda a: prepare_commonvoice(
        a.root, langs, options_from_args(a), a.use_validated), args)


if __name__ == "__main__":
    sys.exit(main())
