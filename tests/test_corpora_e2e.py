"""XLSR-53's data path in miniature: synthetic Common Voice, MLS and BABEL releases with a language
in two of them (Polish), each prepared by its manifests/ script into DATA/<corpus>, then xlsr_tiny
pretrained a few updates on their union through fairseq-hydra-train (task.corpora)."""
import re

import numpy as np
import pytest

from _pretraining_runs import train_tiny
from xlsr_plugin.preparation.pipeline import Options
from xlsr_plugin.preparation.babel import prepare_babel
from xlsr_plugin.preparation.commonvoice import prepare_commonvoice
from xlsr_plugin.preparation.mls import prepare_mls
from xlsr_plugin.data.language_sampling import sampling_probabilities
from xlsr_plugin.data.manifests import read_manifest
from xlsr_plugin.synthetic import make_babel_pack, make_commonvoice_release, make_mls_release


CROP = 48000  # config/pretraining/xlsr_tiny.yaml's max_sample_size: training reads 3 s of a longer clip
MIN = 4000  # train_tiny's task.min_sample_size: shorter rows are left out at load


def seconds(tsv, crop=None) -> float:
    """Seconds of the rows kept (at least MIN samples), each capped at `crop` if given."""
    sizes = [frames for _, frames in read_manifest(str(tsv))[1]]
    return sum(min(n, crop or n) for n in sizes if n >= MIN) / 16000


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    releases, data = tmp_path_factory.mktemp("releases"), tmp_path_factory.mktemp("xlsr53") / "data"
    make_commonvoice_release(releases / "cv", {"pl": 9, "es": 9}, seed=0)
    make_mls_release(releases / "mls", {"polish": 4}, seed=1)
    make_babel_pack(releases / "babel" / "IARPA_BABEL_OP3_404", "ka", recordings={"training": 3, "dev": 1},
                    segments_per_recording=4)
    options = dict(workers=2, phonemes=False, fewshot_hours=[])
    prepare_commonvoice(releases / "cv", ["pl", "es"], Options(dest=data / "cv", **options))
    prepare_mls(releases / "mls", ["polish"], Options(dest=data / "mls", **options))
    # valid: one of the three training speakers held out (the pack's dev is the test set)
    prepare_babel(releases / "babel" / "IARPA_BABEL_OP3_404", "ka", Options(dest=data / "babel", **options),
                  valid_fraction=0.34)
    return data


def test_pooled_plan_over_three_corpora(corpora, tmp_path):
    run = train_tiny(corpora, tmp_path, 3, "task.corpora=[cv,mls,babel]",
                     "dataset.valid_subset='valid_pl,valid_mls_pl'", "dataset.validate_interval_updates=3",
                     record=True)
    parts = ("cv/es", "cv/pl", "mls/pl", "babel/ka")
    hours = {part: seconds(corpora / part / "train.tsv") / 3600 for part in parts}
    trained = {part: seconds(corpora / part / "train.tsv", CROP) / 3600 for part in parts}
    totals = {"es": hours["cv/es"], "ka": hours["babel/ka"], "pl": hours["cv/pl"] + hours["mls/pl"]}
    n_l = {"es": trained["cv/es"], "ka": trained["babel/ka"], "pl": trained["cv/pl"] + trained["mls/pl"]}
    plan = {lang: line for lang, line in re.findall(r"epoch 1 language (\w+): (.*)", run.log)}
    assert set(plan) == {"es", "ka", "pl"}
    # Languages by alpha 0.5 over the audio trained on (Polish: both corpora), each clip capped
    # at the crop: by hand from the manifests.
    expected = dict(zip(sorted(n_l), sampling_probabilities([n_l[k] for k in sorted(n_l)], 0.5)))
    for lang, line in plan.items():
        assert float(re.search(r"p=([\d.]+)", line).group(1)) == pytest.approx(expected[lang], abs=1e-4)
        assert float(re.match(r"([\d.]+) hours", line).group(1)) == pytest.approx(totals[lang], abs=1e-3)
        assert float(re.search(r"([\d.]+) hours trained", line).group(1)) == pytest.approx(n_l[lang], abs=1e-3)
    assert n_l != pytest.approx(totals, abs=1e-3)  # some clips are longer than the crop
    # Polish pools its corpora (corpus_alpha 1): each corpus in its share of Polish audio trained on.
    shares = dict(re.findall(r"(cv|mls) [\d.]+ h q=([\d.]+)", plan["pl"]))
    assert float(shares["mls"]) == pytest.approx(trained["mls/pl"] / n_l["pl"], abs=1e-4)
    assert float(shares["cv"]) == pytest.approx(1 - trained["mls/pl"] / n_l["pl"], abs=1e-4)
    assert re.search(r"\(cv [\d.]+ h q=1.0000 \d+ drawn\);", plan["es"])  # its one corpus
    # Training batches come from the four parts; validation per language and per corpus.
    drawn = {item.rsplit("/", 1)[0] for line in open(run.batches) for item in line.split()}
    assert drawn <= set(hours) and len(drawn) >= 2
    for subset in ("valid_pl", "valid_mls_pl"):
        assert re.search(rf"valid on '{subset}' subset .*loss_pl", run.log)
    assert np.isclose(sum(float(re.search(r"p=([\d.]+)", x).group(1)) for x in plan.values()), 1, atol=1e-3)


def test_resume_with_corpora_continues_exactly(corpora, tmp_path):
    overrides = ("task.corpora=[cv,mls,babel]",)
    whole = train_tiny(corpora, tmp_path / "whole", 4, *overrides, record=True)
    train_tiny(corpora, tmp_path / "resumed", 2, *overrides, record=True)
    second = train_tiny(corpora, tmp_path / "resumed", 4, *overrides, record=True)
    assert "@ 2 updates)" in second.log  # resumed, not restarted
    with open(whole.batches) as a, open(second.batches) as b:
        assert a.read().splitlines() == b.read().splitlines()
