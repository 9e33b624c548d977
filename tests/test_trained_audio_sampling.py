"""Language sampling shares out the audio training reads: n_l counts each clip capped at the crop
(max_sample_size), and the epoch log says what was filtered under min_sample_size. (Under 1 s:
manifests only, no audio is read.)"""
import os

import numpy as np
import pytest
from fairseq.tasks import setup_task
from omegaconf import OmegaConf

from xlsr_plugin.data.language_sampling import sampling_probabilities
from xlsr_plugin.tasks.xlsr_pretraining import XlsrPretrainingConfig

RATE, CROP, MIN = 16000, 48000, 8000  # 3 s crops, 0.5 s minimum
# language: (clips, seconds each), plus clips under the minimum
LANGS = {"es": (300, 6.0, 0), "fi": (150, 2.0, 0), "sw": (40, 1.0, 7)}


def write_manifests(data):
    for lang, (count, seconds, short) in LANGS.items():
        folder = os.path.join(data, lang)
        os.makedirs(folder)
        rows = [f"u{i}.wav\t{int(seconds * RATE)}" for i in range(count)]
        rows += [f"short{i}.wav\t{MIN - 1}" for i in range(short)]
        with open(os.path.join(folder, "train.tsv"), "w") as f:
            f.write(folder + "\n" + "\n".join(rows) + "\n")


@pytest.fixture
def dataset(tmp_path, caplog):
    data = str(tmp_path / "data")
    write_manifests(data)
    cfg = OmegaConf.structured(XlsrPretrainingConfig(
        _name="xlsr_pretraining", data=data, train_subset="train", seed=1, tpu=False,
        max_sample_size=CROP, min_sample_size=MIN, sampling_alpha=0.5))
    task = setup_task(cfg)
    with caplog.at_level("INFO"):
        task.load_dataset("train")
    return task.dataset("train")


def test_trained_audio_is_split_by_p(dataset):
    # By hand: es 300 clips cropped to 3 s = 900 s, fi 150 x 2 s = 300 s, sw 40 x 1 s = 40 s.
    expected = sampling_probabilities([900, 300, 40], 0.5)
    np.testing.assert_allclose(dataset.probabilities, expected)
    # What the epoch trains on, per language: each drawn clip's length capped at the crop.
    trained = np.bincount(dataset.plan_positions,
                          weights=np.minimum(dataset.plan_num_tokens, CROP))
    np.testing.assert_allclose(trained / trained.sum(), expected, atol=0.005)
    # The full clip lengths (1800, 300, 40 s) would have given other shares.
    assert np.abs(sampling_probabilities([1800, 300, 40], 0.5) - expected).max() > 0.05


def test_epoch_log_says_trained_hours_kept_and_filtered(dataset, caplog):
    logged = [r.getMessage() for r in caplog.get_records("setup")]  # (logged by the fixture)
    line = next(m for m in logged if "epoch 1 language sw" in m)
    assert line.startswith("epoch 1 language sw: 0.011 hours, 40 utterances, p=")
    assert "0.011 hours trained (clips cropped to max_sample_size=48000)" in line
    assert "kept 40, filtered 7 shorter than min_sample_size=8000 (not in hours or p)" in line
    es = next(m for m in logged if "epoch 1 language es" in m)
    assert "0.500 hours, 300 utterances" in es and "0.250 hours trained" in es
    assert "kept 300, filtered 0" in es
