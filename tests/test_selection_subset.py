"""fairseq selects checkpoint_best.pt on the first validation subset alone: the tasks say so when
that subset holds only some of their languages. (Under 1 s: manifests only.)"""
import os

import pytest
from fairseq.tasks import setup_task
from omegaconf import OmegaConf

from xlsr_plugin.tasks.xlsr_pretraining import XlsrPretrainingConfig


def task_validating(tmp_path, valid_subset):
    data = str(tmp_path)
    for lang in ("fi", "sw"):
        folder = os.path.join(data, lang)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "valid.tsv"), "w") as f:
            f.write(folder + "\n" + "u0.flac\t16000\nu1.flac\t20000\n")
    return setup_task(OmegaConf.structured(XlsrPretrainingConfig(
        _name="xlsr_pretraining", data=data, train_subset="train", valid_subset=valid_subset,
        seed=1, tpu=False, min_sample_size=0)))


def test_first_subset_of_one_language_is_named_with_the_fix(tmp_path, caplog):
    task = task_validating(tmp_path, "valid_fi,valid_sw")
    with caplog.at_level("WARNING"):
        task.load_dataset("valid_fi")
        task.load_dataset("valid_sw")
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [
        "checkpoint_best.pt is selected on valid_fi alone (fi of the task's 2 languages): "
        "fairseq selects on the first of dataset.valid_subset=valid_fi,valid_sw. To select over "
        "every language, put the combined subset first: "
        "dataset.valid_subset=valid,valid_fi,valid_sw"]


@pytest.mark.parametrize("valid_subset", ["valid,valid_fi,valid_sw", "valid_fi"])
def test_combined_first_or_one_subset_is_not_warned_about(tmp_path, caplog, valid_subset):
    task = task_validating(tmp_path, valid_subset)
    with caplog.at_level("WARNING"):
        for subset in valid_subset.split(","):
            task.load_dataset(subset)
    assert not [r for r in caplog.records if r.levelname == "WARNING"]
