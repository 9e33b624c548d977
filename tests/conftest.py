"""Shared fixtures: tiny multilingual DATA folders of synthetic speech, a tiny pretrained model."""
import os

import pytest
from _pretraining_runs import train_tiny

from xlsr_plugin.synthetic.data_folders import write_language

# Skewed on purpose: es is the high-resource language, sw the low-resource one.
PRETRAINING_LANGUAGES = {"es": 12, "fi": 6, "sw": 3}


@pytest.fixture(scope="session")
def pretraining_data(tmp_path_factory):
    """DATA/<lang>/{train,valid}.tsv of espeak-ng speech in three languages."""
    data = str(tmp_path_factory.mktemp("pretraining") / "data")
    for seed, (lang, count) in enumerate(PRETRAINING_LANGUAGES.items()):
        write_language(data, lang, {"train": count, "valid": 2}, seed=seed)
    return data


@pytest.fixture(scope="session")
def pretrained_checkpoint(pretraining_data, tmp_path_factory):
    """checkpoint_last.pt of a 4-update xlsr_tiny run through fairseq-hydra-train."""
    run_dir = tmp_path_factory.mktemp("pretrained")
    result = train_tiny(pretraining_data, run_dir, max_update=4)
    return os.path.join(result.save_dir, "checkpoint_last.pt")
