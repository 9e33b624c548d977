"""Audio files that turn out bad at training time (missing, unreadable, much shorter than their
manifest says), without fairseq.

Pretraining replaces such a file by another utterance of the same part (language and corpus),
chosen as a function of (seed, epoch, index) so that every rank and every resumed run picks the
same one; the training process logs each bad file once and stops when a part has too many.
"""
import logging
from dataclasses import dataclass
from typing import Dict, Iterable, Iterator, List

import numpy as np

logger = logging.getLogger(__name__)

# A file that decodes to less than this share of the frames its manifest announces was cut short
# after the manifest was written (a full copy decodes to exactly the announced frames).
SHORT_SHARE = 0.5
# Candidates tried before giving up on replacing an utterance (each is read, and may be bad too).
MAX_REPLACEMENT_TRIES = 8


class BadAudioError(RuntimeError):
    """A bad audio file where none may be replaced, or too many bad files in one part."""


@dataclass(frozen=True)
class BadAudio:
    """One bad file: `row` is its 0-based utterance row in `manifest` (line row + 2)."""

    manifest: str
    row: int
    path: str
    reason: str

    def describe(self) -> str:
        return f"{self.path} ({self.manifest}, line {self.row + 2}): {self.reason}"


def shortfall(decoded_frames: int, manifest_frames: int) -> str:
    """Why a decoded length is bad ('' when it is not)."""
    if decoded_frames < SHORT_SHARE * manifest_frames:
        return f"decodes to {decoded_frames} frames, the manifest says {manifest_frames}"
    return ""


def replacement_candidates(seed: int, epoch: int, index: int, size: int) -> Iterator[int]:
    """Utterances (of `size`) that may stand in for utterance `index` in `epoch`, in the order to
    try them: a function of (seed, epoch, index) alone, never of a global random state."""
    if size < 2:
        return
    rng = np.random.default_rng([seed, epoch, index, 0xBAD])
    for _ in range(MAX_REPLACEMENT_TRIES):
        candidate = int(rng.integers(size - 1))
        yield candidate + (candidate >= index)  # any utterance but `index` itself


def row_of(index: int, skipped_rows: Iterable[int]) -> int:
    """The manifest row of FileAudioDataset item `index` (rows under min_sample_size skipped)."""
    row = index
    for skipped in sorted(skipped_rows):
        if skipped <= row:
            row += 1
    return row


class BadAudioLog:
    """The training process's record of bad files, per manifest: logs each file once, fails when
    more than `max_share` of a manifest's utterances are bad.

    Args:
        max_share: the share of one manifest's utterances that may be bad before the run stops
    """

    def __init__(self, max_share: float):
        self.max_share = max_share
        self.sizes: Dict[str, int] = {}
        self.bad: Dict[str, Dict[int, BadAudio]] = {}

    def add_manifest(self, manifest: str, utterances: int) -> None:
        self.sizes[manifest] = utterances

    def record(self, reports: Iterable[BadAudio]) -> int:
        """Records what items met while being read; returns how many files were new."""
        new = 0
        for bad in reports:
            known = self.bad.setdefault(bad.manifest, {})
            if bad.row in known:
                continue
            known[bad.row] = bad
            new += 1
            logger.warning("bad audio, replaced by another utterance of its manifest: %s", bad.describe())
            self.check(bad.manifest)
        return new

    def check(self, manifest: str) -> None:
        bad = self.bad.get(manifest, {})
        size = self.sizes.get(manifest, len(bad))
        if len(bad) > self.max_share * size:
            listed = "\n  ".join(b.describe() for _, b in sorted(bad.items()))
            raise BadAudioError(
                f"{manifest}: {len(bad)} of {size} utterances are bad, more than "
                f"task.bad_audio_max_share={self.max_share} of them:\n  {listed}"
            )

    def files(self) -> List[BadAudio]:
        return [b for manifest in sorted(self.bad) for _, b in sorted(self.bad[manifest].items())]
