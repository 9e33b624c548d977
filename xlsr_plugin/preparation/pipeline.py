"""From a release's utterances to one language folder of the README's "Data layout".

Corpus scripts list ``Item``s per split; this module converts their audio, drops what cannot be
used (counting why), writes ``<split>.tsv`` with its ``.wrd``/``.ltr``/``.phn``, the few-shot
subsets and the dictionaries, and keeps the report.
"""
import argparse
import logging
import os
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Mapping, NamedTuple, Optional, Sequence, Set

from xlsr_plugin.preparation.conversion import (RATE, ConversionJob, Item, Report,
                                                atomic_write_text, convert_all, progress,
                                                refuse_shorten, remove_partial, write_tsv)
from xlsr_plugin.preparation.labels import (UNKNOWN_SPEECH, installed_espeak_voice, letters,
                                            normalize_words, phonemize, write_language_dicts,
                                            write_union_dicts)
from xlsr_plugin.preparation.provenance import remove_stale
from xlsr_plugin.preparation.fewshot import fewshot_name, fewshot_names, nested_subsets

logger = logging.getLogger(__name__)


@dataclass
class Options:
    """What every corpus script shares (see ``add_common_args``)."""
    dest: Path
    workers: int = os.cpu_count() or 1
    min_seconds: float = 0.5
    max_seconds: float = 30.0
    phonemes: bool = True
    fewshot_hours: Sequence[float] = (1.0, 10.0)
    seed: int = 1
    band_limit: Optional[int] = None  # Hz: audio above it is band-limited to it (BABEL: 8000)

    def __post_init__(self) -> None:
        fewshot_names(self.fewshot_hours)  # a size that is not positive, two with one name


class Row(NamedTuple):
    item: Item
    path: str
    frames: int
    words: str
    phones: str = ""


def convert_splits(lang: str, splits: Mapping[str, Sequence[Item]], opts: Options,
                   report: Report, labeled: bool = True) -> Dict[str, List[Row]]:
    """Convert every usable item of every split in one pool; rows sorted by uid per split."""
    jobs, owners = [], []
    audio_dir = Path(opts.dest).resolve() / lang / "audio"
    remove_partial(audio_dir.parent)
    bounds = (int(opts.min_seconds * RATE), int(opts.max_seconds * RATE))
    for split in sorted(splits):
        stats, seen = report.split(lang, split), set()
        for item in sorted(splits[split], key=lambda it: it.uid):
            if item.uid in seen:
                stats.skip(item, "duplicate", f"utterance {item.uid} is listed again (first kept)")
                continue
            seen.add(item.uid)
            words = normalize_words(item.text or "", lang) if labeled else ""
            if labeled and not words:
                stats.skip(item, "empty_text", "no words left in its transcript once normalized")
                continue
            jobs.append(ConversionJob(item.src, str(audio_dir / f"{item.uid}.flac"), *bounds,
                                      item.start, item.end, opts.band_limit))
            owners.append((split, item, words))
    refuse_shorten({job.src for job in jobs})
    rows = {split: [] for split in splits}
    results = convert_all(jobs, opts.workers, f"{lang}: converting")
    for (split, item, words), done in zip(owners, results):
        if done.reason:
            report.split(lang, split).skip(item, done.reason, done.detail)
        else:
            rows[split].append(Row(item, done.path, done.frames, words))
    return rows


def add_phonemes(lang: str, rows: Dict[str, List[Row]], report: Report) -> bool:
    """Phonemize every row with the language's espeak-ng voice (one batch); rows whose phones
    come out empty are dropped. False when espeak-ng has no voice for ``lang``."""
    voice = installed_espeak_voice(lang)
    if voice is None:
        logger.warning("espeak-ng has no voice for %s: no .phn files for it", lang)
        return False
    sentences = sorted({r.words for split_rows in rows.values() for r in split_rows})
    phones = dict(zip(sentences, phonemize_sentences(sentences, voice, lang)))
    for split in rows:
        for row in rows[split]:
            if not phones[row.words]:
                report.split(lang, split).skip(row.item, "no_phonemes",
                                               f"espeak-ng voice {voice} reads its words as nothing")
        rows[split] = [r._replace(phones=phones[r.words]) for r in rows[split] if phones[r.words]]
    return True


def phonemize_sentences(sentences: Sequence[str], voice: str, lang: str = "",
                        batch: int = 2000) -> List[str]:
    """``phonemize`` in batches (with a progress bar), ``UNKNOWN_SPEECH`` kept as a unit of
    its own between the phones of the words around it."""
    fragments = sorted({f.strip() for s in sentences for f in s.split(UNKNOWN_SPEECH)} - {""})
    phones = {}
    with progress(len(fragments), f"{lang}: phonemizing", "sentence") as bar:
        for first in range(0, len(fragments), batch):
            chunk = fragments[first:first + batch]
            phones.update(zip(chunk, phonemize(chunk, voice)))
            bar.update(len(chunk))
    out = []
    for sentence in sentences:
        pieces = sentence.split(UNKNOWN_SPEECH)
        units = []
        for k, fragment in enumerate(pieces):
            units += ([UNKNOWN_SPEECH] if k else []) + [phones.get(fragment.strip(), "")]
        read = any(u and u != UNKNOWN_SPEECH for u in units)
        has_words = any(piece.strip() for piece in pieces)
        # words that espeak-ng read as nothing give '' (counted as no_phonemes)
        out.append(" | ".join(u for u in units if u) if read or not has_words else "")
    return out


def write_split(lang_dir: Path, split: str, rows: Sequence[Row], report_stats,
                labeled: bool = True, with_phones: bool = False) -> None:
    """``<split>.tsv`` and, when labeled, ``.wrd``, ``.ltr`` (and ``.phn``), row by row."""
    if labeled:
        texts = {"wrd": [r.words for r in rows], "ltr": [letters(r.words) for r in rows]}
        if with_phones:
            texts["phn"] = [r.phones for r in rows]
        for ext, lines in texts.items():
            atomic_write_text(lang_dir / f"{split}.{ext}", "".join(f"{s}\n" for s in lines))
    write_tsv(lang_dir / f"{split}.tsv", [(r.path, r.frames) for r in rows])
    report_stats.kept = len(rows)
    report_stats.frames = sum(r.frames for r in rows)


def write_fewshot(lang: str, train: Sequence[Row], opts: Options, report: Report,
                  official: Optional[Mapping[str, Set[str]]] = None,
                  with_phones: bool = False) -> None:
    """Official subsets (name -> uids) as given; the ``--fewshot-hours`` not covered by them
    drawn speaker-balanced and nested, inside the smallest official subset that is larger
    (BABEL's 1 h inside its Limited LP 10 h), else from ``train``."""
    lang_dir = Path(opts.dest) / lang
    subsets = {name: [r for r in train if r.item.uid in uids]
               for name, uids in (official or {}).items()}
    pools = defaultdict(list)
    for h in opts.fewshot_hours:
        if fewshot_name(h) not in subsets:
            pools[_smallest_above(subsets, h * 3600 * RATE)].append(h)
    drawn_sets = {}
    for pool_name, hours in sorted(pools.items(), key=lambda kv: kv[0] or ""):
        pool = subsets[pool_name] if pool_name else list(train)
        drawn = nested_subsets([r.item.speaker for r in pool], [r.frames for r in pool], hours,
                               opts.seed)
        for h, (indices, frames) in drawn.items():
            if frames < h * 3600 * RATE:
                logger.warning("%s: train has %.2f h, less than the %g h of %s: it takes all "
                               "of it", lang, frames / RATE / 3600, h, fewshot_name(h))
            drawn_sets[fewshot_name(h)] = [pool[i] for i in indices]
    subsets.update(drawn_sets)
    for name in sorted(subsets):
        write_split(lang_dir, name, subsets[name], report.split(lang, name), True, with_phones)


def _smallest_above(subsets: Mapping[str, Sequence[Row]], frames: float) -> Optional[str]:
    sizes = {name: sum(r.frames for r in rows) for name, rows in subsets.items()}
    larger = [name for name, size in sizes.items() if size >= frames]
    return min(larger, key=lambda name: (sizes[name], name), default=None)


def prepare_language(lang: str, splits: Mapping[str, Sequence[Item]], opts: Options,
                     report: Report, official: Optional[Mapping[str, Set[str]]] = None) -> None:
    """Everything for one labeled language: splits, few-shot subsets, its dictionaries."""
    logger.info("%s: %s", lang, ", ".join(f"{s} {len(v)} items" for s, v in splits.items()))
    rows = convert_splits(lang, splits, opts, report)
    with_phones = opts.phonemes and add_phonemes(lang, rows, report)
    lang_dir = Path(opts.dest) / lang
    remove_stale(lang_dir)
    for split in sorted(rows):
        write_split(lang_dir, split, rows[split], report.split(lang, split), True, with_phones)
    if "train" in rows:
        write_fewshot(lang, rows["train"], opts, report, official, with_phones)
    write_language_dicts(lang_dir)
    report.write_skipped(lang, lang_dir)


def finish(dest: Path) -> None:
    """The union dictionaries over every language now in ``dest``."""
    write_union_dicts(dest)


def add_common_args(parser: argparse.ArgumentParser, phonemes: bool = False,
                    fewshot: Sequence[float] = (1.0, 10.0), labeled: bool = True) -> None:
    parser.add_argument("--dest", required=True, type=Path, help="DATA folder to write")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="conversion processes (default: number of cores)")
    parser.add_argument("--min-seconds", type=float, default=0.5, help="skip shorter clips")
    parser.add_argument("--max-seconds", type=float, default=30.0, help="skip longer clips")
    parser.add_argument("--seed", type=int, default=1, help="seed of few-shot and valid draws")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    if labeled:
        parser.add_argument("--phonemes", action=argparse.BooleanOptionalAction,
                            default=phonemes,
                            help="write .phn (phonemizer, espeak-ng voice of the language)")
        parser.add_argument("--fewshot-hours", default=",".join(f"{h:g}" for h in fewshot),
                            help="comma-separated sizes of the nested few-shot train subsets")


def options_from_args(args: argparse.Namespace) -> Options:
    hours = str(getattr(args, "fewshot_hours", ""))
    return Options(dest=args.dest, workers=max(1, args.workers), min_seconds=args.min_seconds,
                   max_seconds=args.max_seconds, phonemes=getattr(args, "phonemes", False),
                   fewshot_hours=[float(h) for h in hours.split(",") if h.strip()],
                   seed=args.seed)


def run_cli(parser: argparse.ArgumentParser, prepare: Callable[..., Report], args) -> int:
    """Call ``prepare(args)``, print the report; exit status 1 when nothing was kept."""
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        report = prepare(args)
    except (ValueError, FileNotFoundError) as err:
        parser.error(str(err))
    print(report.format())
    if report.total_kept() == 0:
        print("nothing usable was found", file=sys.stderr)
        return 1
    return 0
