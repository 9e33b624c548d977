"""Invariants a small test corpus would not exercise: labels of skipped utterances, sort order on
ties and on sizes too large for one int64 key."""
import os

import numpy as np
import pytest
import soundfile as sf
from fairseq.data import data_utils

import xlsr_plugin  # noqa: F401
from xlsr_plugin.tasks.xlsr_finetuning import XlsrFinetuningConfig, XlsrFinetuningTask

MIN_FRAMES = 4000
# Utterance i of each language lasts FRAMES[lang][i] frames; the 2000-frame ones (first, middle
# and last of fi) are shorter than MIN_FRAMES and skipped by the audio dataset.
FRAMES = {"fi": [2000, 8000, 8800, 2000, 9600, 10400, 2000], "sw": [8000, 12000]}


def label(lang, i):
    """A label that names its utterance: `fi3 |` for utterance 3 of fi."""
    return f"{lang}{i} |"


def write_corpus(data):
    symbols = set()
    for lang, frames in FRAMES.items():
        folder = os.path.join(data, lang)
        os.makedirs(folder)
        rows = []
        for i, n in enumerate(frames):
            # The samples name the utterance too: constant i + 1 (normalize is off).
            sf.write(os.path.join(folder, f"{i}.wav"), np.full(n, (i + 1) / 100, np.float32), 16000)
            rows.append(f"{i}.wav\t{n}")
        with open(os.path.join(folder, "train.tsv"), "w") as f:
            f.write(folder + "\n" + "\n".join(rows) + "\n")
        labels = [label(lang, i) for i in range(len(frames))]
        with open(os.path.join(folder, "train.phn"), "w") as f:
            f.write("\n".join(labels) + "\n")
        symbols |= {s for line in labels for s in line.split()}
    with open(os.path.join(data, "dict.phn.txt"), "w") as f:
        f.writelines(f"{s} 1\n" for s in sorted(symbols))


def test_labels_follow_their_utterance_when_short_ones_are_skipped(tmp_path):
    write_corpus(tmp_path)
    task = XlsrFinetuningTask(XlsrFinetuningConfig(data=str(tmp_path), labels="phn",
                                                   min_sample_size=MIN_FRAMES))
    task.load_dataset("train")
    dataset = task.dataset("train")
    langs = task.languages
    assert len(dataset) == 4 + 2  # fi 1, 2, 4, 5 and both sw utterances
    seen = []
    for index in range(len(dataset)):
        item = dataset[index]
        lang = langs[item["lang"]]
        utterance = round(float(item["source"][0]) * 100) - 1
        assert len(item["source"]) == FRAMES[lang][utterance]
        assert task.target_dictionary.string(item["label"]) == label(lang, utterance)
        seen.append((lang, utterance))
    assert sorted(seen) == [("fi", 1), ("fi", 2), ("fi", 4), ("fi", 5), ("sw", 0), ("sw", 1)]


def reference_order(sizes, tiebreak):
    """Longest first, ties in the order of a random permutation: np.lexsort, no shortcut."""
    return np.lexsort([tiebreak, sizes])[::-1]


@pytest.mark.parametrize("low,high", [(1, 40), (2**61, 2**61 + 40)])  # the argsort path; lexsort
def test_ordered_indices_equal_lexsort_on_ties(tmp_path, low, high):
    write_corpus(tmp_path)
    task = XlsrFinetuningTask(XlsrFinetuningConfig(data=str(tmp_path), labels="phn"))
    task.load_dataset("train")
    dataset = task.dataset("train")
    rng = np.random.default_rng(0)
    n = 5000
    # Random sizes with many ties (40 values for 5000 items) stand in for the plan's sizes.
    dataset.plan = np.zeros(n, dtype=np.int64)
    dataset.plan_num_tokens = rng.integers(low, high, size=n, dtype=np.int64)
    for seed in (1, 2):
        with data_utils.numpy_seed(seed):
            order = dataset.ordered_indices()
        with data_utils.numpy_seed(seed):
            tiebreak = np.random.permutation(n)
        np.testing.assert_array_equal(order, reference_order(dataset.plan_num_tokens, tiebreak))
    assert np.all(np.diff(dataset.plan_num_tokens[order]) <= 0)
