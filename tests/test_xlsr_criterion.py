"""The xlsr criterion's loss is stock wav2vec's; its per-language metrics add up to the batch's."""
import argparse

import numpy as np
import pytest
import torch
from fairseq.criterions.wav2vec_criterion import Wav2vecCriterion
from fairseq.logging import metrics

from xlsr_plugin.criterions._language_metrics import code_perplexity
from xlsr_plugin.criterions.xlsr import XlsrCriterion
from xlsr_plugin.models.xlsr import XlsrConfig, XlsrModel

LANGS = ["es", "fi", "sw"]
CRITERION_ARGS = dict(infonce=True, loss_weights=[0.1, 10], log_keys=["prob_perplexity", "code_perplexity"])


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    cfg = XlsrConfig(
        encoder_layers=1, encoder_embed_dim=32, encoder_ffn_embed_dim=64, encoder_attention_heads=2,
        conv_feature_layers="[(16, 10, 5)] + [(16, 3, 2)] * 4 + [(16, 2, 2)] * 2", final_dim=16,
        latent_vars=8, latent_groups=2, latent_dim=16, quantize_targets=True, num_negatives=5,
        conv_pos=8, conv_pos_groups=4,
    )
    return XlsrModel.build_model(cfg)


def _batch():
    torch.manual_seed(1)
    # Fixed masks: fairseq draws them from an unseeded generator otherwise.
    mask = torch.zeros(4, 49, dtype=torch.bool)
    mask[:, 5:25] = True
    return {
        "id": torch.arange(4),
        "net_input": {"source": torch.randn(4, 16000), "mask_indices": mask},
        "lang": torch.tensor([0, 2, 0, 1]),
    }


def _run(criterion, model, sample):
    torch.manual_seed(2)  # dropout, Gumbel noise, distractors
    return criterion(model, sample)


def test_loss_equals_stock_wav2vec_criterion(model):
    task = argparse.Namespace(languages=LANGS)
    sample = _batch()
    stock_loss, stock_size, stock_log = _run(Wav2vecCriterion(task, **CRITERION_ARGS), model, sample)
    loss, size, log = _run(XlsrCriterion(task, **CRITERION_ARGS), model, sample)
    assert torch.equal(loss, stock_loss)
    assert size == stock_size
    for key, value in stock_log.items():
        assert log[key] == value, key


def test_language_sums_add_up_to_the_batch(model):
    _, sample_size, log = _run(XlsrCriterion(argparse.Namespace(languages=LANGS), **CRITERION_ARGS), model, _batch())
    langs = {key.split(":")[1] for key in log if key.startswith("_lang:")}
    assert langs == {"es", "fi", "sw"}
    assert sum(log[f"_lang:{lang}:frames"] for lang in langs) == sample_size
    # es has two utterances of the same length, fi and sw one each: same masked frames per item.
    assert log["_lang:es:frames"] == 2 * log["_lang:fi:frames"] == 2 * log["_lang:sw:frames"]
    assert sum(log[f"_lang:{lang}:loss"] for lang in langs) == pytest.approx(log["loss_0"], rel=1e-5)
    assert sum(log[f"_lang:{lang}:correct"] for lang in langs) == log["correct"]
    all_codes = sum(log[f"_lang:{lang}:codes"] for lang in langs).numpy()
    assert code_perplexity(all_codes) == pytest.approx(log["code_perplexity"], rel=1e-4)


def test_code_perplexity_by_hand():
    # group 1 uses two codes equally (perplexity 2), group 2 one code (perplexity 1).
    counts = np.array([[3, 3, 0, 0], [6, 0, 0, 0]], dtype=float)
    assert code_perplexity(counts) == pytest.approx(3.0, abs=1e-5)


def test_reduced_metrics_are_corpus_level(model):
    logs = [
        {"loss": 8.0, "sample_size": 4, "ntokens": 4, "nsentences": 1, "correct": 1, "count": 4,
         "_lang:es:loss": 4.0, "_lang:es:frames": 4.0, "_lang:es:correct": 1.0,
         "_lang:es:codes": torch.tensor([[1.0, 1.0]])},
        {"loss": 2.0, "sample_size": 2, "ntokens": 2, "nsentences": 1, "correct": 2, "count": 2,
         "_lang:es:loss": 2.0, "_lang:es:frames": 2.0, "_lang:es:correct": 2.0,
         "_lang:es:codes": torch.tensor([[2.0, 0.0]])},
    ]
    with metrics.aggregate() as agg:
        XlsrCriterion.reduce_metrics(logs)
        values = agg.get_smoothed_values()
    assert values["loss_es"] == pytest.approx(6.0 / 6 / np.log(2), abs=1e-3)
    assert values["accuracy_es"] == pytest.approx(3 / 6, abs=1e-5)
    # codes summed over both batches: 3 and 1 -> p = 0.75, 0.25
    p = np.array([0.75, 0.25])
    assert values["code_ppl_es"] == pytest.approx(np.exp(-(p * np.log(p)).sum()), abs=1e-3)
    assert not any(key.startswith("_lang") for key in values)
