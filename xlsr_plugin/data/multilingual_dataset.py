"""Per-language (and per-corpus) audio datasets seen as one, optionally resampled by language
every epoch."""
import logging
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from fairseq.data import FairseqDataset
from fairseq.data.audio.raw_audio_dataset import RawAudioDataset

from xlsr_plugin.data.checked_audio import crop_generator
from xlsr_plugin.data.language_sampling import draw_epoch, draws_for, part_probabilities

logger = logging.getLogger(__name__)


def raw_audio(dataset) -> RawAudioDataset:
    """The RawAudioDataset under wrappers such as AddTargetDataset."""
    while not isinstance(dataset, RawAudioDataset):
        dataset = dataset.dataset
    return dataset


def _num_tokens(dataset) -> np.ndarray:
    """RawAudioDataset.num_tokens for every item at once (cropped unless padding)."""
    audio = raw_audio(dataset)
    sizes = np.asarray(audio.sizes, dtype=np.int64)
    return sizes if audio.pad else np.minimum(sizes, audio.max_sample_size)


def trained_hours(dataset) -> float:
    """Hours of audio training reads: each clip capped at max_sample_size, as RawAudioDataset's
    collater crops longer ones (padded batches too). The n_l of language sampling by hours."""
    audio = raw_audio(dataset)
    sizes = np.minimum(np.asarray(audio.sizes, dtype=np.int64), audio.max_sample_size)
    return float(sizes.sum()) / audio.sample_rate / 3600.0


def filtered_count(dataset) -> int:
    """Manifest rows shorter than min_sample_size, which FileAudioDataset leaves out at load."""
    return len(getattr(raw_audio(dataset), "skipped_indices", ()))


def bad_audio_reports(samples) -> List[tuple]:
    """The BadAudio of every bad file the batch's items met while being read (in loader workers:
    the batch is how they reach the training process)."""
    return [report for sample in samples for report in sample.get("bad_audio", ())]


class MultilingualDataset(FairseqDataset):
    """Concatenates one dataset per part (a language, or a language in one corpus); every item and
    batch carries its language id.

    With `alpha` set, each epoch is a language-balanced resample (p_l of language_sampling, then
    corpora within a language by `corpus_alpha`), drawn from (seed, epoch) alone. This replaces fairseq's ResamplingDataset + ConcatDataset pair:
    ResamplingDataset draws every language with the same random stream and always with
    replacement, and ConcatDataset sorts by size alone, which puts the copies of an up-sampled
    utterance side by side in the same batch.

    Args:
        datasets: part name -> dataset (FileAudioDataset, or AddTargetDataset over one); the name
            is the language, or `<corpus>/<lang>`
        lang_ids: the id written to `sample["lang"]` for each part, in the same order
        hours: hours of audio of each part (for the epoch log)
        amounts: n of each part for the sampling probabilities (None: no resampling)
        alpha: the language sampling exponent (None: no resampling)
        seed: the run's seed
        corpus_alpha: the exponent of corpora within a language (1: pooled)
    """

    def __init__(
        self,
        datasets: Dict[str, FairseqDataset],
        lang_ids: Sequence[int],
        hours: Sequence[float],
        amounts: Optional[Sequence[float]] = None,
        alpha: Optional[float] = None,
        seed: int = 1,
        corpus_alpha: float = 1.0,
    ):
        super().__init__()
        self.names = list(datasets)
        self.languages = [name.rpartition("/")[2] for name in self.names]
        self.datasets = list(datasets.values())
        self.lang_ids = np.asarray(lang_ids, dtype=np.int64)
        self.hours = np.asarray(hours, dtype=np.float64)
        self.lengths = np.array([len(d) for d in self.datasets], dtype=np.int64)
        self.trained_hours = np.array([trained_hours(d) for d in self.datasets])
        self.filtered = np.array([filtered_count(d) for d in self.datasets], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.lengths)[:-1]])
        self.all_num_tokens = np.concatenate([_num_tokens(d) for d in self.datasets])
        self.resampled = alpha is not None
        if self.resampled:
            self.probabilities = part_probabilities(amounts, self.lang_ids, alpha, corpus_alpha)
            self.draws = draws_for(self.lengths, amounts, self.probabilities)
        else:
            self.probabilities = None  # only logged for resampled epochs
            self.draws = self.lengths
        self.seed = seed
        self.epoch = None
        self.set_epoch(1)

    # -- the epoch plan -------------------------------------------------------------------------

    def set_epoch(self, epoch):
        if epoch == self.epoch:
            return
        self.epoch = epoch
        if self.resampled:
            drawn = draw_epoch(self.lengths, self.draws, self.seed, epoch)
            self.plan = np.concatenate([o + d for o, d in zip(self.offsets, drawn)])
        else:
            self.plan = np.arange(self.lengths.sum(), dtype=np.int64)
        self.plan_positions = np.repeat(np.arange(len(self.datasets)), self.draws)
        self.plan_num_tokens = self.all_num_tokens[self.plan]
        for dataset in self.datasets:
            if hasattr(dataset, "set_epoch"):
                dataset.set_epoch(epoch)
        if self.resampled:
            self.log_plan()

    def log_plan(self):
        """One line per language; with corpora, the hours, share and draws of each of them. The
        hours and utterances are those kept: rows under min_sample_size are counted apart."""
        audio = raw_audio(self.datasets[0])
        for lang in dict.fromkeys(self.languages):
            parts = [i for i, name in enumerate(self.languages) if name == lang]
            p = self.probabilities[parts].sum()
            by_corpus = ", ".join(
                f"{self.names[i].rpartition('/')[0]} {self.hours[i]:.3f} h q={self.probabilities[i] / p:.4f} "
                f"{self.draws[i]} drawn" for i in parts
            ) if self.names[parts[0]] != lang else ""
            logger.info(
                "epoch %d language %s: %.3f hours, %d utterances, p=%.4f, %d utterances drawn%s; "
                "%.3f hours trained (clips cropped to max_sample_size=%d); kept %d, filtered %d "
                "shorter than min_sample_size=%d (not in hours or p)",
                self.epoch, lang, self.hours[parts].sum(), self.lengths[parts].sum(), p,
                self.draws[parts].sum(), f" ({by_corpus})" if by_corpus else "",
                self.trained_hours[parts].sum(), audio.max_sample_size, self.lengths[parts].sum(),
                self.filtered[parts].sum(), audio.min_sample_size or 0,
            )

    @property
    def replaces_bad_audio(self) -> bool:
        return any(getattr(raw_audio(d), "replace_bad", False) for d in self.datasets)

    @property
    def can_reuse_epoch_itr_across_epochs(self):
        # Loader workers read the epoch when they start: bad audio replacement depends on it.
        return not (self.resampled or self.replaces_bad_audio)

    # -- items and batches ----------------------------------------------------------------------

    def __len__(self):
        return len(self.plan)

    def _locate(self, index):
        position = self.plan_positions[index]
        return position, int(self.plan[index] - self.offsets[position])

    def __getitem__(self, index):
        position, local = self._locate(index)
        item = self.datasets[position][local]
        item["id"] = index
        item["lang"] = int(self.lang_ids[position])
        return item

    def language_of(self, indices: np.ndarray) -> np.ndarray:
        return self.lang_ids[self.plan_positions[indices]]

    def collater(self, samples):
        # Crops drawn from the items, so that a resumed run, or another loader worker, crops
        # alike; from a generator of their own, not numpy's global one (see crop_generator).
        ids = [int(s["id"]) for s in samples]
        with crop_generator(np.random.default_rng([self.seed, self.epoch, *ids])):
            batch = self.datasets[0].collater(samples)
        if len(batch) > 0:
            batch["lang"] = torch.from_numpy(self.language_of(batch["id"].numpy()))
            batch["bad_audio"] = bad_audio_reports(samples)
            batch["replaced_audio"] = sum("bad_audio" in sample for sample in samples)
        return batch

    @property
    def sizes(self):
        return self.plan_num_tokens

    def num_tokens(self, index):
        return int(self.plan_num_tokens[index])

    def num_tokens_vec(self, indices):
        return self.plan_num_tokens[indices]

    def size(self, index):
        position, local = self._locate(index)
        return self.datasets[position].size(local)

    def ordered_indices(self):
        """Longest first, ties in random order, as RawAudioDataset orders them (fairseq seeds
        numpy with the seed and epoch around this call)."""
        tiebreak = np.random.permutation(len(self))
        sizes = self.plan_num_tokens
        if len(self) and sizes.max() < np.iinfo(np.int64).max // len(self) - 1:
            # One int64 key per item, all distinct (tiebreak is a permutation), so any sort gives
            # np.lexsort([tiebreak, sizes])'s order: 3x faster on 10M items.
            order = np.argsort(sizes * len(self) + tiebreak)
        else:
            order = np.lexsort([tiebreak, sizes])
        return order[::-1]

    def filter_indices_by_size(self, indices, max_sizes):
        """Items longer than the audio bound (max_sizes, or its first element where fairseq
        passes (audio, target)), found in one vectorized step: fairseq's generic filter would
        call size() item by item. The trainer bounds training items by max_tokens, so what a
        batch cannot hold is skipped and counted, as stock fairseq does."""
        bound = max_sizes[0] if isinstance(max_sizes, (tuple, list)) else max_sizes
        if bound is None:
            return indices, []
        too_long = self.sizes[indices] > bound
        return indices[~too_long], indices[too_long].tolist()

    @property
    def supports_prefetch(self):
        return False
