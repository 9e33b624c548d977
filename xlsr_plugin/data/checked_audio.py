"""fairseq's FileAudioDataset, with every audio file checked when it is read.

A file that is missing, unreadable (or of another sample rate) or much shorter than its manifest
says is either an error naming the file and its manifest line (fine-tuning, fairseq-generate), or,
with `replace_bad`, replaced by another utterance of the same manifest (pretraining: one file on a
flaky filesystem must not end a week-long run). A replaced item carries `bad_audio`, the reports
of the bad files it met, for the training process to log and count: the reading happens in loader
workers, whose own state never reaches the trainer.
"""
import contextlib
import os
import threading
from typing import Dict, Optional, Tuple

import numpy as np
from fairseq.data import FileAudioDataset
from fairseq.data.audio.audio_utils import parse_path

from xlsr_plugin.data.bad_audio import BadAudio, BadAudioError, replacement_candidates, row_of, shortfall


_crops = threading.local()


@contextlib.contextmanager
def crop_generator(rng: np.random.Generator):
    """Within, in this thread: crops draw their start from ``rng``. Stock crops draw from numpy's
    global generator, which the training thread reseeds for its own draws while fairseq's
    prefetch thread collates the next batch: the crops then depend on thread timing."""
    _crops.rng = rng
    try:
        yield
    finally:
        _crops.rng = None


class CheckedFileAudioDataset(FileAudioDataset):
    """FileAudioDataset(manifest_path, ...) plus:

    Args:
        replace_bad: replace a bad file by another utterance instead of failing
        seed: with the epoch and the index, chooses the replacement
    """

    def __init__(self, manifest_path: str, *args, replace_bad: bool = False, seed: int = 1, **kwargs):
        super().__init__(manifest_path, *args, **kwargs)
        self.manifest_path = manifest_path
        self.replace_bad = replace_bad
        self.seed = seed
        self.epoch = 1
        self.known_bad: Dict[int, BadAudio] = {}  # per process (each loader worker has its own)

    def set_epoch(self, epoch):
        self.epoch = epoch

    def audio_path(self, index: int) -> str:
        name = self.fnames[index]
        name = name if isinstance(self.fnames, list) else name.as_py()
        return os.path.join(self.root_dir, self.text_compressor.decompress(name))

    def bad_audio(self, index: int, reason: str) -> BadAudio:
        return BadAudio(self.manifest_path, row_of(index, self.skipped_indices), self.audio_path(index), reason)

    def checked_item(self, index: int) -> Tuple[Optional[dict], Optional[BadAudio]]:
        """(item, None) for a good file, (None, why) for a bad one."""
        if index in self.known_bad:
            return None, self.known_bad[index]
        reason = ""
        if not os.path.exists(parse_path(self.audio_path(index))[0]):
            reason = "missing"  # checked first: fairseq retries a failed read for 3 s
        else:
            try:
                item = super().__getitem__(index)
            except Exception as error:  # fairseq raises bare Exception for unreadable files
                reason = f"unreadable ({error})"
            else:
                reason = shortfall(item["source"].shape[-1], int(self.sizes[index]))
        if not reason:
            return item, None
        self.known_bad[index] = self.bad_audio(index, reason)
        return None, self.known_bad[index]

    def crop_to_max_size(self, t, target_size, dim=0):
        rng = getattr(_crops, "rng", None)
        if rng is None or t.size(dim) <= target_size:
            return super().crop_to_max_size(t, target_size, dim)
        # The stock crop (a random window of target_size) with the start drawn from rng.
        start = int(rng.integers(0, t.size(dim) - target_size + 1))
        return t.narrow(dim, start, target_size)

    def __getitem__(self, index):
        item, bad = self.checked_item(index)
        if bad is None:
            return item
        if not self.replace_bad:
            raise BadAudioError(f"bad audio file {bad.describe()}")
        reports = [bad]
        for candidate in replacement_candidates(self.seed, self.epoch, index, len(self)):
            item, bad = self.checked_item(candidate)
            if bad is None:
                item["id"] = index
                item["bad_audio"] = reports
                return item
            reports.append(bad)
        listed = "; ".join(b.describe() for b in reports)
        raise BadAudioError(f"{self.manifest_path}: no readable utterance to replace a bad one: {listed}")
