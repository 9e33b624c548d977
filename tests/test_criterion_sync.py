"""The xlsr criterion across workers: fairseq sums and all-reduces its logging outputs (a few
kilobytes per update whatever update_freq, far below common.all_gather_list_size), and the
metrics reduced from several workers are those of one worker that saw every batch."""
import argparse
import glob
import os
import pickle

import pytest
import torch
import torch.multiprocessing as mp
from fairseq.dataclass.configs import CommonConfig
from fairseq.logging import metrics
from omegaconf import OmegaConf

from _configs import composed
from xlsr_plugin.testing.criterion_runs import LANGS, build_model, criterion_outputs, summed, sync_in_process
from xlsr_plugin.criterions._language_metrics import language_key
from xlsr_plugin.criterions.xlsr import XlsrCriterion

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRETRAINING_CONFIGS = sorted(glob.glob(os.path.join(ROOT, "config", "pretraining", "*.yaml")))
CRITERION_ARGS = dict(infonce=True, loss_weights=[0.1, 10], log_keys=["prob_perplexity", "code_perplexity", "temp"])
# XLSR-53: 53 languages, quantizer G = 2 x V = 320; 8 GPUs with update_freq 16.
WORST_LANGUAGES, WORST_GROUPS, WORST_VARS, WORST_UPDATE_FREQ = 53, 2, 320, 16


def _reduced(logging_outputs):
    with metrics.aggregate() as agg:
        XlsrCriterion.reduce_metrics(logging_outputs)
        return {k: float(v) for k, v in agg.get_smoothed_values().items()}


def _all_reduced_bytes(logging_output) -> int:
    """What Trainer._fast_stat_sync_sum sends for one output: every value as float64."""
    return 8 * sum(torch.as_tensor(v).numel() for v in logging_output.values())


@pytest.mark.parametrize("path", PRETRAINING_CONFIGS, ids=os.path.basename)
def test_every_pretraining_config_sums_its_logging_outputs(path):
    cfg = composed(path)
    criterion = XlsrCriterion(argparse.Namespace(languages=LANGS), infonce=True, log_keys=list(cfg.criterion.log_keys))
    assert criterion.logging_outputs_can_be_summed()
    # Not needed with summed outputs; a config must not shrink it either.
    assert OmegaConf.select(cfg, "common.all_gather_list_size", default=16384) >= 16384


@pytest.fixture(scope="module")
def worst_case():
    """Real logging outputs of one update of XLSR-53 on a worker: 16 micro-batches in which
    every one of the 53 languages is present, and one validation step."""
    model = build_model(latent_vars=WORST_VARS, latent_groups=WORST_GROUPS)
    langs = [f"x{i:02d}" for i in range(WORST_LANGUAGES)]
    criterion = XlsrCriterion(argparse.Namespace(languages=langs), **CRITERION_ARGS)
    every_language = list(range(WORST_LANGUAGES))
    train = criterion_outputs(criterion, model, [every_language] * WORST_UPDATE_FREQ, samples=4000)
    model.eval()
    valid = criterion_outputs(criterion, model, [every_language], samples=4000)
    return langs, train, valid


def test_worst_case_update_sends_a_few_kilobytes(worst_case):
    langs, train, valid = worst_case
    limit = CommonConfig().all_gather_list_size
    stock_keys = [k for k in train[0] if k != language_key(langs)]
    # Bound by design: languages x (loss, frames, correct, pairs, a collision count per group)
    # plus the stock scalars, as float64.
    bound = 8 * (WORST_LANGUAGES * (4 + WORST_GROUPS) + len(stock_keys))
    update = summed(train)
    assert _all_reduced_bytes(update) == bound == _all_reduced_bytes(train[0]) == _all_reduced_bytes(valid[0])
    assert bound <= 3000 < limit
    # Pickled as all_gather_list would (were a config to make them unsummable): still one
    # update within the limit, where one micro-batch used to weigh 53 x 272 KB.
    assert len(pickle.dumps([update])) < limit
    assert torch.equal(update[language_key(langs)][:, 1], 16 * train[0][language_key(langs)][:, 1])


def test_two_processes_sync_through_fairseqs_trainer(tmp_path):
    """fairseq's Trainer._aggregate_logging_outputs in a 2-process gloo group: training (uneven
    micro-batches per rank), validation, and a rank with a dummy batch (ignored)."""
    model = build_model(latent_vars=8)
    criterion = XlsrCriterion(argparse.Namespace(languages=LANGS), **CRITERION_ARGS)
    rank0 = criterion_outputs(criterion, model, [[0, 2, 0, 1], [1, 1, 2, 2], [2, 0, 2, 0]])
    rank1 = criterion_outputs(criterion, model, [[0, 0, 1, 1], [2, 1, 0, 2]])
    model.eval()
    valid0, valid1 = criterion_outputs(criterion, model, [[0, 1, 1, 0], [2, 2, 0, 1]])
    phases = {
        "train": [(rank0, False), (rank1, False)],
        "valid": [([valid0], False), ([valid1], False)],
        "dummy": [(rank0, False), (rank1[:1], True)],
    }
    expected = {"train": _reduced(rank0 + rank1), "valid": _reduced([valid0, valid1]), "dummy": _reduced(rank0)}
    torch.save(
        {"langs": LANGS, "criterion_args": CRITERION_ARGS, "all_gather_list_size": 16384, "phases": phases},
        tmp_path / "inputs.pt",
    )
    # fork: the workers start in a second, with fairseq already imported
    mp.start_processes(sync_in_process, args=(2, str(tmp_path)), nprocs=2, join=True, start_method="fork")
    result = torch.load(tmp_path / "result.pt", weights_only=False)
    for phase, values in expected.items():
        got = result[phase]
        assert got["outputs"] == 1  # summed, then all-reduced: nothing pickled
        assert set(got["values"]) == set(values)
        for key, value in values.items():
            assert got["values"][key] == pytest.approx(value, rel=1e-9, abs=1e-9, nan_ok=True), (phase, key)
        # float64 sums of every key and the sample size, in one all-reduce per device
        assert sum(got["sent"]) == _all_reduced_bytes(rank0[0]) + 8
    assert result["train"]["values"]["accuracy_fi"] > 0
    assert result["valid"]["values"]["code_ppl_es"] > 0 and result["valid"]["values"]["code_ppl_sw"] > 0
