"""Every validation utterance is scored, with every config's batching: fairseq's batch_by_size
drops a last batch smaller than dataset.required_batch_size_multiple (8 unless a config says
otherwise), which left valid subsets short and stopped a run on a subset that fits in one batch
("The dataset is empty"). Batches as fairseq's Trainer.get_valid_iterator asks for them.
(About 2 s: manifests only, no audio is read.)"""
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from fairseq.dataclass.configs import DatasetConfig
from fairseq.tasks import setup_task
from omegaconf import OmegaConf

from _configs import composed
import xlsr_plugin  # noqa: F401
from xlsr_plugin.tasks.xlsr_finetuning import XlsrFinetuningConfig
from xlsr_plugin.tasks.xlsr_pretraining import XlsrPretrainingConfig

CONFIG = Path(__file__).resolve().parents[1] / "config"
PRETRAINING = sorted((CONFIG / "pretraining").glob("*.yaml"))
FINETUNING = sorted((CONFIG / "finetuning").glob("ctc*.yaml"))
# subset -> utterances: one that fits in a single batch, others a few batches' remainders
SUBSETS = {("cv", "fi"): 7, ("mls", "fi"): 3, ("cv", "sw"): 10}


def write_manifests(data, low, high, labels=False):
    """DATA/<corpus>/<lang>/valid.tsv (+ .phn, dict.phn.txt): lengths spread over [low, high]."""
    for (corpus, lang), count in SUBSETS.items():
        folder = os.path.join(data, corpus, lang)
        os.makedirs(folder)
        sizes = np.linspace(low, high, count).astype(int)
        with open(os.path.join(folder, "valid.tsv"), "w") as f:
            f.write(folder + "\n" + "".join(f"u{i}.flac\t{n}\n" for i, n in enumerate(sizes)))
        if labels:
            Path(folder, "valid.phn").write_text("a b |\n" * count)
            Path(folder, "dict.phn.txt").write_text("a 1\nb 1\n| 1\n")
    if labels:
        Path(data, "dict.phn.txt").write_text("a 1\nb 1\n| 1\n")


def batching(cfg) -> dict:
    """The dataset.* values a run of this config validates with (fairseq's defaults else)."""
    default = DatasetConfig()
    dataset = cfg.get("dataset", {})
    max_tokens = dataset.get("max_tokens", default.max_tokens)
    return dict(max_tokens=dataset.get("max_tokens_valid", max_tokens),
                max_sentences=dataset.get("batch_size_valid", dataset.get("batch_size")),
                ignore_invalid_inputs=dataset.get("skip_invalid_size_inputs_valid_test", False),
                required_batch_size_multiple=dataset.get(
                    "required_batch_size_multiple", default.required_batch_size_multiple))


def scored(task, subset, cfg) -> list:
    task.load_dataset(subset)
    itr = task.get_batch_iterator(task.dataset(subset), max_positions=(sys.maxsize, sys.maxsize),
                                  seed=1, num_shards=1, shard_id=0, epoch=1, **batching(cfg))
    return sorted(int(i) for batch in itr.frozen_batches for i in batch)


def subsets():
    return [f"valid_{corpus}_{lang}" for corpus, lang in SUBSETS] + ["valid_fi", "valid"]


def expected(subset) -> int:
    return sum(n for (corpus, lang), n in SUBSETS.items()
               if subset in ("valid", f"valid_{lang}", f"valid_{corpus}_{lang}"))


@pytest.mark.parametrize("path", PRETRAINING, ids=lambda p: p.stem)
def test_pretraining_configs_score_every_validation_utterance(tmp_path, path):
    cfg = composed(path)
    task_cfg = cfg.task
    low, high = task_cfg.get("min_sample_size", 0) or 1, task_cfg.get("max_sample_size", 480000)
    write_manifests(str(tmp_path), low, high)
    task = setup_task(OmegaConf.structured(XlsrPretrainingConfig(
        _name="xlsr_pretraining", data=str(tmp_path), corpora=["cv", "mls"], train_subset="train",
        seed=1, tpu=False, max_sample_size=high, min_sample_size=low)))
    for subset in subsets():
        assert scored(task, subset, cfg) == list(range(expected(subset))), subset


@pytest.mark.parametrize("path", FINETUNING, ids=lambda p: p.stem)
def test_finetuning_configs_score_every_validation_utterance(tmp_path, path):
    cfg = composed(path)
    low = cfg.task.get("min_sample_size", 0) or 1
    write_manifests(str(tmp_path), low, 30 * 16000, labels=True)
    task = setup_task(OmegaConf.structured(XlsrFinetuningConfig(
        _name="xlsr_finetuning", data=str(tmp_path), corpora=["cv", "mls"], labels="phn",
        train_subset="train", seed=1, tpu=False, min_sample_size=low)))
    for subset in subsets():
        assert scored(task, subset, cfg) == list(range(expected(subset))), subset
