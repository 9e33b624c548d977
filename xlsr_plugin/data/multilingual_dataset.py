"""Per-language audio datasets seen as one, optionally resampled by language every epoch."""
import logging
from typing import Dict, Optional, Sequence

import numpy as np
import torch
from fairseq.data import FairseqDataset, data_utils
from fairseq.data.audio.raw_audio_dataset import RawAudioDataset

from xlsr_plugin.data.language_sampling import draw_epoch, epoch_draws, sampling_probabilities

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


class MultilingualDataset(FairseqDataset):
    """Concatenates one dataset per language; every item and batch carries its language id.

    With `alpha` set, each epoch is a language-balanced resample (p_l of language_sampling), drawn
    from (seed, epoch) alone. This replaces fairseq's ResamplingDataset + ConcatDataset pair:
    ResamplingDataset draws every language with the same random stream and always with
    replacement, and ConcatDataset sorts by size alone, which puts the copies of an up-sampled
    utterance side by side in the same batch.

    Args:
        datasets: language name -> dataset (FileAudioDataset, or AddTargetDataset over one)
        lang_ids: the id written to `sample["lang"]` for each language, in the same order
        hours: hours of audio of each language (for the epoch log)
        amounts: n_l of each language for the sampling probabilities (None: no resampling)
        alpha: the sampling exponent (None: no resampling)
        seed: the run's seed
    """

    def __init__(
        self,
        datasets: Dict[str, FairseqDataset],
        lang_ids: Sequence[int],
        hours: Sequence[float],
        amounts: Optional[Sequence[float]] = None,
        alpha: Optional[float] = None,
        seed: int = 1,
    ):
        super().__init__()
        self.names = list(datasets)
        self.datasets = list(datasets.values())
        self.lang_ids = np.asarray(lang_ids, dtype=np.int64)
        self.hours = np.asarray(hours, dtype=np.float64)
        self.lengths = np.array([len(d) for d in self.datasets], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.lengths)[:-1]])
        self.all_num_tokens = np.concatenate([_num_tokens(d) for d in self.datasets])
        self.resampled = alpha is not None
        if self.resampled:
            self.probabilities = sampling_probabilities(amounts, alpha)
            self.draws = epoch_draws(self.lengths, amounts, alpha)
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
        for name, hours, n, p, d in zip(
            self.names, self.hours, self.lengths, self.probabilities, self.draws
        ):
            logger.info(
                "epoch %d language %s: %.3f hours, %d utterances, p=%.4f, %d utterances drawn",
                self.epoch, name, hours, n, p, d,
            )

    @property
    def can_reuse_epoch_itr_across_epochs(self):
        return not self.resampled

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
        # Crops (RawAudioDataset.crop_to_max_size) draw from numpy's global generator: seed it
        # from the items, so that a resumed run, or another loader worker, crops alike.
        with data_utils.numpy_seed(self.seed, self.epoch, *(s["id"] for s in samples)):
            batch = self.datasets[0].collater(samples)
        if len(batch) > 0:
            batch["lang"] = torch.from_numpy(self.language_of(batch["id"].numpy()))
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
        return indices, []

    @property
    def supports_prefetch(self):
        return False
