"""Language-balanced sampling: the formula, epoch plans, reshuffling, sharding over ranks."""
import os
from collections import Counter

import numpy as np
import pytest
from fairseq.data import FileAudioDataset
from fairseq.tasks import setup_task
from omegaconf import OmegaConf

from xlsr_plugin.synthetic.data_folders import write_noise_language
from xlsr_plugin.data.language_sampling import (
    draw_epoch,
    draws_for,
    epoch_draws,
    part_probabilities,
    sampling_probabilities,
)
from xlsr_plugin.data.manifests import ManifestError
from xlsr_plugin.data.multilingual_dataset import MultilingualDataset
from xlsr_plugin.tasks.xlsr_pretraining import XlsrPretrainingConfig

# Skewed corpus: (utterances, seconds each) -> 1000 s, 200 s and 30 s of audio.
SKEWED = {"aa": (1000, 1.0), "bb": (100, 2.0), "cc": (10, 3.0)}


def test_probabilities_by_hand():
    # n = 100, 10, 1 hours; (n/N)^0.5 is proportional to 10, sqrt(10), 1.
    total = 10 + 10**0.5 + 1
    expected = [10 / total, 10**0.5 / total, 1 / total]
    np.testing.assert_allclose(sampling_probabilities([100, 10, 1], 0.5), expected)
    np.testing.assert_allclose(sampling_probabilities([100, 10, 1], 0.5), [0.70610, 0.22329, 0.07061], atol=1e-5)
    np.testing.assert_allclose(sampling_probabilities([100, 10, 1], 1.0), [100 / 111, 10 / 111, 1 / 111])
    np.testing.assert_allclose(sampling_probabilities([100, 10, 1], 0.0), [1 / 3] * 3)


@pytest.mark.parametrize("amounts,alpha", [([0, 1], 0.5), ([1, 2], -1), ([], 0.5)])
def test_bad_sampling_inputs_are_errors(amounts, alpha):
    with pytest.raises(ValueError):
        sampling_probabilities(amounts, alpha)


def _write_manifest(path, count, frames):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(os.path.dirname(path) + "\n")
        f.writelines(f"u{i}.wav\t{frames}\n" for i in range(count))


@pytest.fixture
def skewed_datasets(tmp_path):
    datasets = {}
    for lang, (count, seconds) in SKEWED.items():
        path = str(tmp_path / lang / "train.tsv")
        _write_manifest(path, count, int(seconds * 16000))
        datasets[lang] = FileAudioDataset(path, sample_rate=16000)
    return datasets


def _hours(datasets):
    return [d.sizes.sum() / 16000 / 3600 for d in datasets.values()]


def _plan_hour_shares(dataset):
    seconds = np.bincount(dataset.plan_positions, weights=dataset.sizes / 16000)
    return seconds / seconds.sum()


@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
def test_epoch_gives_each_language_its_share_of_audio(skewed_datasets, alpha):
    hours = _hours(skewed_datasets)
    dataset = MultilingualDataset(skewed_datasets, [0, 1, 2], hours, amounts=hours, alpha=alpha, seed=3)
    expected = sampling_probabilities(hours, alpha)
    np.testing.assert_allclose(_plan_hour_shares(dataset), expected, atol=0.01)
    # Every drawn item really comes from the language the plan says.
    positions = dataset.plan_positions[:: max(1, len(dataset) // 50)]
    for index, position in zip(range(0, len(dataset), max(1, len(dataset) // 50)), positions):
        assert dataset.offsets[position] <= dataset.plan[index] < dataset.offsets[position] + dataset.lengths[position]


def test_utterance_unit_shares_utterances(skewed_datasets):
    counts = [1000, 100, 10]
    dataset = MultilingualDataset(skewed_datasets, [0, 1, 2], _hours(skewed_datasets),
                                  amounts=counts, alpha=0.5, seed=3)
    shares = np.bincount(dataset.plan_positions) / len(dataset)
    np.testing.assert_allclose(shares, sampling_probabilities(counts, 0.5), atol=0.01)


def test_upsampling_repeats_every_utterance_and_downsampling_never_does():
    draws = epoch_draws([1000, 10], [1000, 10], 0.5)  # ratios < 1 and > 1
    assert draws[0] < 1000 < draws[1] * 100
    big, small = draw_epoch([1000, 10], draws, seed=1, epoch=1)
    assert len(set(big.tolist())) == len(big)  # without replacement
    counts = Counter(small.tolist())
    assert set(counts) == set(range(10))
    assert min(counts.values()) >= draws[1] // 10


def test_plans_are_reproducible_and_change_every_epoch(skewed_datasets):
    hours = _hours(skewed_datasets)

    def plan(seed, epoch):
        dataset = MultilingualDataset(skewed_datasets, [0, 1, 2], hours, amounts=hours, alpha=0.5, seed=seed)
        dataset.set_epoch(epoch)
        return dataset.plan.copy()

    np.testing.assert_array_equal(plan(1, 1), plan(1, 1))
    np.testing.assert_array_equal(plan(1, 2), plan(1, 2))
    assert not np.array_equal(plan(1, 1), plan(1, 2))
    assert not np.array_equal(plan(1, 1), plan(2, 1))


def test_each_language_draws_from_its_own_stream():
    # Properties, not pinned values: numpy does not promise its Generator streams across
    # versions, and numpy is not pinned. A language's draws depend on (seed, epoch, its position)
    # and its own sizes, not on what the other languages draw.
    together = draw_epoch([1000, 100, 10], [300, 250, 64], seed=1, epoch=1)
    assert np.array_equal(draw_epoch([1000], [300], seed=1, epoch=1)[0], together[0])
    assert np.array_equal(draw_epoch([1000, 100, 10], [5, 9, 64], seed=1, epoch=1)[2], together[2])
    # Up-sampling 10 utterances to 64: each 6 or 7 times, shuffled (not the tiled order).
    counts = Counter(together[2].tolist())
    assert sorted(counts.values()) == [6] * 6 + [7] * 4
    assert together[2][:10].tolist() != list(range(10))
    # 1000 down to 300: no repeats; 100 up to 250: each utterance 2 or 3 times.
    assert len(set(together[0].tolist())) == 300 and together[0].max() < 1000
    assert Counter(Counter(together[1].tolist()).values()) == {2: 50, 3: 50}


def _task(data, **overrides):
    cfg = OmegaConf.structured(XlsrPretrainingConfig(
        _name="xlsr_pretraining", data=data, train_subset="train", seed=1, tpu=False, **overrides))
    return setup_task(cfg)


def test_two_ranks_get_disjoint_shards_covering_the_epoch(pretraining_data):
    task = _task(pretraining_data, max_sample_size=48000)
    task.load_dataset("train")
    dataset = task.dataset("train")
    seen = {}
    for rank in (0, 1):
        itr = task.get_batch_iterator(dataset, max_tokens=80000, seed=1, num_shards=2, shard_id=rank, epoch=2)
        seen[rank] = [i for batch in itr.next_epoch_itr(shuffle=True) if batch
                      for i in batch["id"].tolist()]
        assert dataset.epoch == 2
    assert not set(seen[0]) & set(seen[1])
    assert sorted(seen[0] + seen[1]) == list(range(len(dataset)))
    assert Counter(dataset.language_of(np.array(seen[0] + seen[1]))) == Counter(
        dataset.language_of(np.arange(len(dataset))))


# -- two levels: languages by alpha, corpora within a language by beta ---------------------------
# Parts: pl in cv (90 h) and mls (10 h), es in cv (25 h). Languages: 100 h and 25 h, so with
# alpha 0.5 p = (0.8^0.5, 0.2^0.5) normalized = (2/3, 1/3). Within pl, sqrt(0.9) = 3 sqrt(0.1).
PARTS_HOURS, PARTS_LANGS = [90.0, 10.0, 25.0], [0, 0, 1]


@pytest.mark.parametrize("beta,expected", [
    (1.0, [2 / 3 * 0.9, 2 / 3 * 0.1, 1 / 3]),   # pooled: pl's corpora in their natural shares
    (0.5, [2 / 3 * 0.75, 2 / 3 * 0.25, 1 / 3]),  # sqrt: 3:1 instead of 9:1
    (0.0, [1 / 3, 1 / 3, 1 / 3]),                # pl's two corpora equally
])
def test_part_probabilities_by_hand(beta, expected):
    np.testing.assert_allclose(part_probabilities(PARTS_HOURS, PARTS_LANGS, 0.5, beta), expected)


def test_one_part_per_language_is_language_sampling():
    np.testing.assert_allclose(part_probabilities([100, 10, 1], [2, 0, 1], 0.5, 0.3),
                               sampling_probabilities([100, 10, 1], 0.5))


def test_pooled_corpora_resample_a_language_by_one_ratio():
    # natural shares 0.72, 0.08, 0.2; p = 0.6, 1/15, 1/3: ratios 5/6, 5/6, 5/3.
    draws = draws_for([900, 100, 250], PARTS_HOURS, part_probabilities(PARTS_HOURS, PARTS_LANGS, 0.5, 1.0))
    assert draws.tolist() == [750, 83, 417]


def test_parts_need_one_language_each():
    with pytest.raises(ValueError, match="one language per part"):
        part_probabilities([1, 2], [0], 0.5)


@pytest.fixture
def corpora_data(tmp_path):
    """cv: es 10 x 1 s, pl 9 x 2 s; mls: pl 6 x 0.5 s. Valid splits of one utterance each."""
    data = str(tmp_path / "data")
    for corpus, lang, count, seconds in (("cv", "es", 10, 1.0), ("cv", "pl", 9, 2.0), ("mls", "pl", 6, 0.5)):
        write_noise_language(os.path.join(data, corpus), lang, count, seconds)
        write_noise_language(os.path.join(data, corpus), lang, 1, 0.5, split="valid")
    return data


def test_corpora_layout_names_and_splits(corpora_data):
    task = _task(corpora_data, corpora=["cv", "mls"], max_sample_size=48000, min_sample_size=0)
    assert task.languages == ["es", "pl"]
    for split, names in (("train", ["cv/es", "cv/pl", "mls/pl"]), ("valid", ["cv/es", "cv/pl", "mls/pl"]),
                         ("valid_pl", ["cv/pl", "mls/pl"]), ("valid_mls_pl", ["mls/pl"]),
                         ("train_cv_es", ["cv/es"])):
        task.load_dataset(split)
        assert task.dataset(split).names == names, split
    assert task.dataset("valid_pl").lang_ids.tolist() == [1, 1]
    # pyarrow (a dependency) holds the paths: no per-worker copy of a Python list of them.
    assert all(type(d.fnames).__module__.startswith("pyarrow") for d in task.dataset("train").datasets)
    with pytest.raises(ManifestError, match=r"language\(s\) \['es'\]"):
        task.load_dataset("valid_mls_es")


@pytest.mark.parametrize("beta", [1.0, 0.0])
def test_corpora_plan_gives_languages_and_corpora_their_shares(corpora_data, beta, caplog):
    task = _task(corpora_data, corpora=["cv", "mls"], corpus_alpha=beta, max_sample_size=48000, min_sample_size=0)
    with caplog.at_level("INFO"):
        task.load_dataset("train")
    dataset = task.dataset("train")
    # es 10 s, pl 18 s + 3 s = 21 s: p = (sqrt(10), sqrt(21)) / sum; within pl 18:3 (beta 1) or 1:1.
    p_es = 10**0.5 / (10**0.5 + 21**0.5)
    within = [18 / 21, 3 / 21] if beta == 1 else [0.5, 0.5]
    expected = [p_es, (1 - p_es) * within[0], (1 - p_es) * within[1]]
    np.testing.assert_allclose(dataset.probabilities, expected)
    np.testing.assert_allclose(_plan_hour_shares(dataset), expected, atol=0.03)
    line = next(r.getMessage() for r in caplog.records if "epoch 1 language pl" in r.getMessage())
    assert "0.006 hours" in line and "(cv 0.005 h q=" in line and ", mls 0.001 h q=" in line


def test_corpora_plan_is_the_same_on_two_ranks_and_covers_the_epoch(corpora_data):
    task = _task(corpora_data, corpora=["cv", "mls"], max_sample_size=48000, min_sample_size=0)
    task.load_dataset("train")
    dataset = task.dataset("train")
    seen = []
    for rank in (0, 1):
        itr = task.get_batch_iterator(dataset, max_tokens=64000, seed=1, num_shards=2, shard_id=rank, epoch=3)
        seen += [i for batch in itr.next_epoch_itr(shuffle=True) if batch for i in batch["id"].tolist()]
    assert sorted(seen) == list(range(len(dataset)))
    again = _task(corpora_data, corpora=["cv", "mls"], max_sample_size=48000, min_sample_size=0)
    again.load_dataset("train")
    again.dataset("train").set_epoch(3)
    np.testing.assert_array_equal(again.dataset("train").plan, dataset.plan)
