"""Crops of long utterances are a function of (seed, epoch, items), whatever other threads do
with numpy's global generator: fairseq collates the next batch in a prefetch thread while the
training thread reseeds that generator for its own draws."""
import threading

import numpy as np
import pytest
import torch
from fairseq.tasks import setup_task
from omegaconf import OmegaConf

from xlsr_plugin.synthetic.data_folders import write_noise_language
from xlsr_plugin.tasks.xlsr_pretraining import XlsrPretrainingConfig


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Pretraining dataset of 8 two-second utterances cropped to 0.5 s."""
    data = str(tmp_path_factory.mktemp("crops") / "data")
    write_noise_language(data, "xx", 8, 2.0)
    cfg = XlsrPretrainingConfig(_name="xlsr_pretraining", data=data, train_subset="train", seed=1,
                                tpu=False, max_sample_size=8000, min_sample_size=4000)
    task = setup_task(OmegaConf.structured(cfg))
    task.load_dataset("train")
    return task.dataset("train")


def crops(dataset, ids):
    return dataset.collater([dataset[i] for i in ids])["net_input"]["source"]


def test_crops_depend_on_the_items_only(dataset):
    first = crops(dataset, [0, 1, 2, 3])
    assert first.shape == (4, 8000)
    np.random.seed(123)  # the global generator's state must not matter
    assert torch.equal(crops(dataset, [0, 1, 2, 3]), first)
    # Another batch crops another window of the same utterance (not one fixed offset).
    assert not torch.equal(crops(dataset, [0, 4])[0], first[0])
    # The crop is a window of the utterance.
    whole = dataset[0]["source"]
    starts = [s for s in range(whole.numel() - 8000 + 1) if torch.equal(whole[s:s + 8000], first[0])]
    assert len(starts) == 1


def test_crops_are_unchanged_while_another_thread_reseeds_numpy(dataset):
    expected = [crops(dataset, [i, (i + 1) % 8]) for i in range(8)]
    stop = threading.Event()

    def reseed():  # what the training thread's seeded steps do to numpy's global generator
        k = 0
        while not stop.is_set():
            np.random.seed(k % 1000)
            np.random.random()
            k += 1

    thread = threading.Thread(target=reseed)
    thread.start()
    try:
        seen = [crops(dataset, [i, (i + 1) % 8]) for _ in range(5) for i in range(8)]
    finally:
        stop.set()
        thread.join()
    assert all(torch.equal(got, expected[k % 8]) for k, got in enumerate(seen))
