"""Audio conversion in worker processes, atomic writes, the skipped files and the report table."""
import logging
import multiprocessing
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import soundfile as sf
import soxr
from tqdm import tqdm

logger = logging.getLogger(__name__)

RATE = 16000
SKIP_REASONS = ("missing", "unreadable", "truncated", "too_short", "too_long", "empty_text",
                "no_speech", "no_phonemes", "shares_dev_test", "duplicate", "malformed")
SKIPPED_FILE = "skipped.tsv"  # DATA/<lang>/skipped.tsv: every utterance left out, and why
# A decoded length this far below the header's frame count means a cut-off file (MP3 headers
# are estimates, hence the slack).
_TRUNCATED = 0.95


@dataclass
class Item:
    """One utterance of a release: ``src`` (whole file, or ``start``-``end`` seconds of it)."""
    uid: str
    src: str
    text: Optional[str] = None
    speaker: str = ""
    start: Optional[float] = None
    end: Optional[float] = None
    origin: str = ""  # where the release lists it: ``table.tsv:12`` (file and line)


class Converted(NamedTuple):
    """What ``convert`` made of a job: the 16 kHz file and its frames, or why it was skipped."""
    path: Optional[str]
    frames: int
    reason: Optional[str] = None
    detail: str = ""  # the reason in words, with the numbers behind it


@dataclass
class ConversionJob:
    """What a worker process gets: where to read, where to write, which lengths to keep."""
    src: str
    dst: str
    min_frames: int
    max_frames: int
    start: Optional[float] = None
    end: Optional[float] = None
    band_limit: Optional[int] = None  # Hz: resampled to this rate first when above it


def _length_skip(frames: int, job: ConversionJob) -> Optional[Converted]:
    seconds = f"{frames / RATE:.2f} s"
    if frames < job.min_frames:
        return Converted(None, 0, "too_short",
                         f"{seconds}, shorter than --min-seconds {job.min_frames / RATE:g}")
    if frames > job.max_frames:
        return Converted(None, 0, "too_long",
                         f"{seconds}, longer than --max-seconds {job.max_frames / RATE:g}")
    return None


def _read(job: ConversionJob, info) -> np.ndarray:
    if job.start is None:
        return sf.read(job.src, dtype="float32", always_2d=True)[0]
    first = int(round(job.start * info.samplerate))
    last = int(round(job.end * info.samplerate))
    return sf.read(job.src, start=first, stop=last, dtype="float32", always_2d=True)[0]


def _decode(job: ConversionJob):
    """(soundfile info, audio), or the Converted of a file that is missing, cannot be decoded,
    or whose announced length is out of bounds (not decoded then)."""
    if not os.path.exists(job.src):
        return Converted(None, 0, "missing", "no such file")
    try:
        info = sf.info(job.src)
        seconds = info.duration if job.start is None else job.end - job.start
        skip = _length_skip(int(seconds * RATE), job)
        return skip or (info, _read(job, info))
    except (RuntimeError, ValueError, EOFError, OSError) as err:  # LibsndfileError included
        logger.debug("unreadable %s: %s", job.src, err)
        return Converted(None, 0, "unreadable", _decode_error(err))


def _decode_error(err: Exception) -> str:
    """libsndfile's reason, less its prefix; its "File does not exist" means, for a file that
    exists, a format it does not recognise."""
    message = str(err).split("': ", 1)[-1]
    if "does not exist" in message:
        return "exists, but libsndfile recognises no audio format in it (not audio, or damaged)"
    return f"cannot be decoded: {message}"


def convert(job: ConversionJob) -> Converted:
    """Make ``job.src`` a 16 kHz mono file, or say why it is skipped.

    A finished ``job.dst`` is reused. A whole 16 kHz mono source is used in place (decoded once
    to check it). Everything else is down-mixed, resampled with soxr and written as FLAC.
    """
    if os.path.exists(job.dst):
        frames = sf.info(job.dst).frames
        return _length_skip(frames, job) or Converted(job.dst, frames)
    decoded = _decode(job)
    if isinstance(decoded, Converted):
        return decoded
    info, audio = decoded
    expected = info.frames if job.start is None else int((job.end - job.start) * info.samplerate)
    if len(audio) == 0:
        return Converted(None, 0, "unreadable", "decodes to no audio")
    if len(audio) < _TRUNCATED * expected:
        return Converted(None, 0, "truncated", f"decodes to {len(audio)} of the {expected} "
                         f"frames its header announces (cut off)")
    in_place = job.start is None and info.samplerate == RATE and info.channels == 1 and (
        job.band_limit is None or job.band_limit >= RATE)
    if not in_place:
        audio = _to_16k_mono(audio, info.samplerate, job.band_limit)
    skip = _length_skip(len(audio), job)
    if skip:
        return skip
    if in_place:
        return Converted(job.src, len(audio))
    _write_flac(job.dst, audio)
    return Converted(job.dst, len(audio))


def _to_16k_mono(audio: np.ndarray, rate: int,
                 band_limit: Optional[int] = None) -> np.ndarray:
    mono = audio.mean(axis=1) if audio.shape[1] > 1 else audio[:, 0]
    if band_limit and rate > band_limit:  # as Kaldi's `sox ... -r 8000`: the same bandwidth
        mono, rate = soxr.resample(mono, rate, band_limit), band_limit  # as the other files
    if rate != RATE:
        mono = soxr.resample(mono, rate, RATE)
    return np.clip(mono, -1.0, 1.0)


def _write_flac(dst: str, audio: np.ndarray) -> None:
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    tmp = f"{dst}.{os.getpid()}.part"
    sf.write(tmp, audio, RATE, format="FLAC", subtype="PCM_16")
    os.replace(tmp, dst)


def progress(total: int, desc: str, unit: str) -> tqdm:
    """A tqdm bar with rate and ETA on stderr; silent when stderr is not a terminal (logs)."""
    return tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True,
                disable=not sys.stderr.isatty())


def convert_all(jobs: Sequence[ConversionJob], workers: int,
                desc: str = "converting") -> List[Converted]:
    """``convert`` every job, in ``workers`` processes; results in job order."""
    results = []
    with progress(len(jobs), desc, "file") as bar:
        if workers <= 1 or len(jobs) < 2:
            for job in jobs:
                results.append(convert(job))
                bar.update()
            return results
        chunk = max(1, min(32, len(jobs) // (4 * workers)))
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for result in pool.imap(convert, jobs, chunksize=chunk):
                results.append(result)
                bar.update()
    return results


SPHERE_MAGIC = b"NIST_1A"


def sphere_coding(path) -> Optional[str]:
    """The ``sample_coding`` of a NIST Sphere header (``pcm``, ``ulaw``,
    ``pcm,embedded-shorten-v2.00``...); None for another format or a header without it."""
    try:
        with open(path, "rb") as f:
            head = f.read(1024)
    except OSError:
        return None
    if not head.startswith(SPHERE_MAGIC):
        return None
    for line in head.decode("ascii", errors="replace").splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[0] == "sample_coding":
            return fields[2]
    return None


def refuse_shorten(paths: Iterable[str]) -> None:
    """Stop before converting when a Sphere file is shorten-compressed: libsndfile reads PCM,
    u-law and A-law Sphere only, so every such file would be counted unreadable."""
    shortened = sorted({p for p in paths if p.lower().endswith(".sph")
                        and "shorten" in (sphere_coding(p) or "")})
    if shortened:
        raise ValueError(
            f"{len(shortened)} NIST Sphere files are shorten-compressed (sample_coding "
            f"{sphere_coding(shortened[0])}), which libsndfile cannot decode, e.g. "
            f"{shortened[0]}. Decompress them first with sph2pipe (Kaldi's tools/, or LDC), "
            f"keeping names and folders: `sph2pipe -f sph IN.sph OUT.sph` (PCM Sphere), "
            f"then run this script on the decompressed copy.")


def remove_partial(folder) -> int:
    """Delete the half-written files an interrupted run left below ``folder``."""
    folder = Path(folder)
    stale = sorted(folder.rglob("*.part")) + sorted(folder.glob(".*.tmp")) if folder.is_dir() \
        else []
    for path in stale:
        path.unlink()
    if stale:
        logger.info("removed %d half-written files of an interrupted run", len(stale))
    return len(stale)


def atomic_write_text(path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary name: the file appears whole or not at all."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_tsv(path, rows: Iterable[Tuple[str, int]]) -> None:
    """fairseq manifest: the common root folder, then ``relative/path<TAB>frames``."""
    rows = list(rows)
    if rows:
        root = os.path.commonpath([os.path.dirname(os.path.abspath(p)) for p, _ in rows])
    else:
        root = str(Path(path).parent.resolve())
    lines = [root] + [f"{os.path.relpath(os.path.abspath(p), root)}\t{n}" for p, n in rows]
    atomic_write_text(path, "\n".join(lines) + "\n")


class Skip(NamedTuple):
    """One utterance left out: its audio, why, the release's line that lists it."""
    path: str
    reason: str
    origin: str
    detail: str


@dataclass
class SplitStats:
    kept: int = 0
    frames: int = 0
    skipped: Counter = field(default_factory=Counter)
    named: List[Skip] = field(default_factory=list)

    def skip(self, item: Item, reason: str, detail: str) -> None:
        """Count ``item`` as skipped for ``reason`` and keep its name for skipped.tsv."""
        if item.start is not None:
            detail = f"segment {item.start:.3f}-{item.end:.3f} s: {detail}"
        self.skipped[reason] += 1
        self.named.append(Skip(item.src or "-", reason, item.origin or "-", detail))


def _release_order(row: tuple) -> tuple:
    """Split, then the release's file and line (``table.tsv:12`` sorts by number), then path."""
    split, path, _, origin, _ = row
    table, _, line = origin.rpartition(":")
    return (split, table, int(line) if line.isdigit() else 0, path)


class Report:
    """Utterances kept, hours and skips per reason, per (language, split); the files that name
    the skipped utterances."""

    def __init__(self) -> None:
        self.stats: Dict[Tuple[str, str], SplitStats] = {}
        self.skip_files: Dict[str, Tuple[Path, int]] = {}

    def split(self, lang: str, split: str) -> SplitStats:
        return self.stats.setdefault((lang, split), SplitStats())

    def total_kept(self) -> int:
        return sum(s.kept for s in self.stats.values())

    def write_skipped(self, lang: str, lang_dir) -> Path:
        """``lang_dir/skipped.tsv``: split, path, reason, source (file:line), detail, one line
        per skipped utterance of ``lang`` (the header alone when none was)."""
        rows = sorted(((split, *skip) for (name, split), stats in self.stats.items()
                       if name == lang for skip in stats.named), key=_release_order)
        lines = ["split\tpath\treason\tsource\tdetail"] + [
            "\t".join(" ".join(str(v).split()) for v in row) for row in rows]
        path = Path(lang_dir) / SKIPPED_FILE
        atomic_write_text(path, "\n".join(lines) + "\n")
        self.skip_files[lang] = (path, len(rows))
        return path

    def format(self) -> str:
        reasons = [r for r in SKIP_REASONS if any(s.skipped[r] for s in self.stats.values())]
        head = ["lang", "split", "kept", "hours"] + reasons
        rows = [[lang, split, str(s.kept), f"{s.frames / RATE / 3600:.3f}"]
                + [str(s.skipped[r]) for r in reasons]
                for (lang, split), s in sorted(self.stats.items())]
        widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
        fmt = "  ".join(f"{{:<{w}}}" if i < 2 else f"{{:>{w}}}" for i, w in enumerate(widths))
        table = [fmt.format(*r) for r in [head] + rows]
        named = [f"{lang}: {n} skipped, named with reason and source line in {path}"
                 for lang, (path, n) in sorted(self.skip_files.items()) if n]
        return "\n".join(table + named)
