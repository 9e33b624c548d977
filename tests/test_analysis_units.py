"""Codeword usage analysis on a tiny random wav2vec2 model and synthetic audio."""
import argparse
import json
import os
import sys

import numpy as np
import pytest
import soundfile as sf
import torch

from xlsr_plugin.analysis import unit_counting, unit_stats, units
from xlsr_plugin.data.manifests import read_manifest

RATE = 16000
TINY = dict(
    encoder_layers=1, encoder_embed_dim=32, encoder_ffn_embed_dim=64, encoder_attention_heads=2,
    conv_feature_layers="[(32, 10, 5)] + [(32, 3, 2)] * 2 + [(32, 2, 2)] * 2",
    final_dim=16, latent_vars=8, latent_groups=2, latent_temp=(2.0, 0.5, 0.999995),
    conv_pos=16, conv_pos_groups=4, quantize_targets=True,
)
LANGS = ["aa", "ab", "zz"]  # aa and ab hear the same audio, zz something else


def _tiny_model(extractor_mode):
    from fairseq.models.wav2vec.wav2vec2 import Wav2Vec2Config, Wav2Vec2Model

    torch.manual_seed(0)
    cfg = Wav2Vec2Config(extractor_mode=extractor_mode, **TINY)
    return Wav2Vec2Model(cfg).eval(), cfg


def _save_cfg_checkpoint(path, extractor_mode="layer_norm", normalize=True,
                         model_name="wav2vec2", task_name="audio_pretraining"):
    """A checkpoint laid out as fairseq's trainer writes it (cfg style)."""
    from omegaconf import OmegaConf

    model, cfg = _tiny_model(extractor_mode)
    model_cfg = OmegaConf.to_container(OmegaConf.structured(cfg), enum_to_str=True)
    model_cfg["_name"] = model_name
    state = {
        "args": None,
        "cfg": {"model": model_cfg,
                "task": {"_name": task_name, "data": "/nonexistent",
                         "normalize": normalize}},
        "model": model.state_dict(),
        "optimizer_history": [{"criterion_name": "Wav2vecCriterion", "optimizer_name": "Adam",
                               "lr_scheduler_state": {}, "num_updates": 0}],
        "extra_state": {"metrics": {}, "previous_training_time": 0},
    }
    torch.save(state, path)
    return model


def _write_lang(data, lang, signals):
    folder = os.path.join(data, lang)
    os.makedirs(os.path.join(folder, "audio"), exist_ok=True)
    lines = [os.path.abspath(folder)]
    for k, wav in enumerate(signals):
        rel = f"audio/{k}.wav"
        sf.write(os.path.join(folder, rel), wav, RATE, subtype="FLOAT")
        lines.append(f"{rel}\t{len(wav)}")
    with open(os.path.join(folder, "valid.tsv"), "w") as f:
        f.write("\n".join(lines) + "\n")


def _signals(kind, seed):
    rng = np.random.default_rng(seed)
    out = []
    for n in (3200, 4100, 5000, 2600, 4800):  # different lengths: batches get padded
        t = np.arange(n) / RATE
        if kind == "tones":
            wav = sum(np.sin(2 * np.pi * f * t) for f in rng.uniform(100, 900, 3))
        else:
            wav = rng.standard_normal(n) * np.linspace(0.1, 2.0, n)
        out.append(wav.astype(np.float32))
    return out


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("units")
    data = str(root / "data")
    tones = _signals("tones", 1)
    _write_lang(data, "aa", tones)
    _write_lang(data, "ab", tones)
    _write_lang(data, "zz", _signals("noise", 2))
    ckpt = str(root / "tiny.pt")
    model = _save_cfg_checkpoint(ckpt)
    return {"root": root, "data": data, "ckpt": ckpt, "model": model}


def _direct_counts(model, data, lang, normalize=True):
    """Each utterance alone through the model's own quantize, no batching."""
    root, rows = read_manifest(os.path.join(data, lang, "valid.tsv"))
    q = model.quantizer
    counts = np.zeros(q.num_vars ** q.groups, dtype=np.int64)
    with torch.no_grad():
        for rel, _ in rows:
            wav = torch.from_numpy(sf.read(os.path.join(root, rel), dtype="float32")[0])
            if normalize:
                wav = torch.nn.functional.layer_norm(wav, wav.shape)
            _, idx = model.quantize(wav[None])
            idx = idx[0].numpy()
            ids = sum(idx[:, g] * q.num_vars ** (q.groups - 1 - g) for g in range(q.groups))
            counts += np.bincount(ids, minlength=len(counts))
    return counts


def test_batched_counts_equal_direct_quantizer(setup):
    report = units.analyze_units(setup["ckpt"], setup["data"], LANGS, "valid", None,
                                 max_hours=None, device="cpu", max_samples=16000,
                                 plots=False, progress=False)
    loaded = unit_counting.load_quantizer_model(setup["ckpt"], setup["data"])
    assert loaded.pad_safe and loaded.normalize
    got, read = unit_counting.count_codewords(loaded, setup["data"], LANGS, "valid",
                                              max_samples=16000, progress=False)
    for i, lang in enumerate(LANGS):
        assert np.array_equal(got[i], _direct_counts(setup["model"], setup["data"], lang))
        assert report["languages"][lang]["frames"] == got[i].sum()
        assert read[lang]["utterances"] == 5


def test_group_norm_extractor_is_not_padded(tmp_path, setup):
    ckpt = str(tmp_path / "gn.pt")
    model = _save_cfg_checkpoint(ckpt, extractor_mode="default", normalize=False)
    loaded = unit_counting.load_quantizer_model(ckpt, setup["data"])
    assert not loaded.pad_safe
    got, _ = unit_counting.count_codewords(loaded, setup["data"], ["zz"], "valid",
                                           progress=False)
    assert np.array_equal(got[0], _direct_counts(model, setup["data"], "zz", normalize=False))


def test_identical_languages_most_similar_and_files_written(setup):
    out = str(setup["root"] / "out")
    report = units.analyze_units(setup["ckpt"], setup["data"], "aa,ab,zz", "valid", out,
                                 max_hours=1.0, device="cpu", progress=False)
    sim = np.array(report["similarity_matrix"])
    assert sim[0, 1] == pytest.approx(1.0)
    assert sim[0, 2] < sim[0, 1] and sim[1, 2] < sim[0, 1]
    with open(os.path.join(out, "units.json")) as f:
        saved = json.load(f)
    assert saved["pairs"]["aa-ab"]["js_similarity"] == pytest.approx(1.0)
    assert set(saved["cluster_order"][:2]) == {"aa", "ab"} or saved["cluster_order"][0] == "zz"
    assert saved["codewords"] == 64
    for lang in LANGS:
        s = saved["languages"][lang]
        assert 1 <= s["distinct_codewords"] <= 64
        assert 1.0 <= s["perplexity"] <= s["distinct_codewords"] + 1e-9
    assert saved["languages"]["aa"]["shared_usage"] == pytest.approx(1.0)
    counts = np.load(os.path.join(out, "counts.npz"))["counts"]
    assert counts.shape == (3, 64)
    import matplotlib.image

    for name in ("units.png", "usage.png"):
        assert matplotlib.image.imread(os.path.join(out, name)).ndim == 3


def test_max_hours_selects_a_subset():
    rows = [(f"{i}.wav", RATE * 60) for i in range(100)]  # 100 minutes
    chosen = unit_counting.select_utterances(rows, max_hours=0.5, seed=3)
    assert len(chosen) == 30
    assert chosen == unit_counting.select_utterances(rows, max_hours=0.5, seed=3)
    assert len(unit_counting.select_utterances(rows, None)) == 100


def test_stats_worked_by_hand():
    counts = np.array([[2, 2, 0, 0], [0, 2, 2, 0], [0, 0, 0, 4]])
    s = unit_stats.summarize(counts, ["x", "y", "z"])
    assert s["languages"]["x"]["perplexity"] == pytest.approx(2.0)
    assert s["languages"]["x"]["shared_usage"] == pytest.approx(0.5)  # codeword 1 shared
    assert s["languages"]["z"]["shared_usage"] == 0.0
    # x=(.5,.5,0), y=(0,.5,.5): M=(.25,.5,.25), H(M)=1.5 bits, JSD=0.5
    assert s["pairs"]["x-y"]["js_similarity"] == pytest.approx(0.5)
    assert s["pairs"]["x-z"]["js_similarity"] == pytest.approx(0.0)
    assert s["pairs"]["x-y"]["jaccard"] == pytest.approx(1 / 3)
    assert s["all_languages"]["distinct_codewords"] == 4


def test_fine_tuned_checkpoint_is_a_clear_error(tmp_path, setup):
    ckpt = str(tmp_path / "ctc.pt")
    state = torch.load(setup["ckpt"], weights_only=False)
    state["model"] = {f"w2v_encoder.w2v_model.{k}": v for k, v in state["model"].items()
                      if not k.startswith("quantizer")}
    torch.save(state, ckpt)
    with pytest.raises(ValueError, match="no quantizer"):
        unit_counting.load_quantizer_model(ckpt, setup["data"])
    with pytest.raises(SystemExit, match="no quantizer"):
        units.main(["--path", ckpt, "--data", setup["data"], "--langs", "aa",
                    "--out", str(tmp_path / "o"), "--no-plots"])


def test_cli_summary(tmp_path, setup, capsys):
    units.main(["--path", setup["ckpt"], "--data", setup["data"], "--langs", "aa,zz",
                "--out", str(tmp_path / "o"), "--no-plots", "--device", "cpu"])
    assert "of 64 codewords used" in capsys.readouterr().out
    assert os.path.exists(tmp_path / "o" / "units.json")


def test_old_argparse_checkpoint_loads(tmp_path, setup):
    """Checkpoints like the official XLSR-53 one keep an argparse Namespace, not a cfg."""
    model, _ = _tiny_model("layer_norm")
    args = argparse.Namespace(arch="wav2vec2", task="audio_pretraining", criterion="wav2vec",
                              data="/nonexistent", normalize=True, extractor_mode="layer_norm",
                              **TINY)
    ckpt = str(tmp_path / "args.pt")
    torch.save({"args": args, "model": model.state_dict(),
                "optimizer_history": [{"criterion_name": "Wav2vecCriterion",
                                       "optimizer_name": "Adam", "lr_scheduler_state": {},
                                       "num_updates": 0}],
                "extra_state": {}}, ckpt)
    loaded = unit_counting.load_quantizer_model(ckpt, setup["data"])
    assert loaded.normalize and loaded.pad_safe
    got, _ = unit_counting.count_codewords(loaded, setup["data"], ["aa"], "valid",
                                           progress=False)
    assert np.array_equal(got[0], _direct_counts(model, setup["data"], "aa"))


def test_xlsr_checkpoint(tmp_path, setup):
    """The plugin's own model and task, as `fairseq-hydra-train --user-dir xlsr_plugin` saves."""
    from fairseq.models import MODEL_REGISTRY

    import xlsr_plugin  # noqa: F401

    if "xlsr" not in MODEL_REGISTRY:
        pytest.skip("model xlsr not registered")
    ckpt = str(tmp_path / "xlsr.pt")
    model = _save_cfg_checkpoint(ckpt, model_name="xlsr", task_name="xlsr_pretraining")
    loaded = unit_counting.load_quantizer_model(ckpt, setup["data"])
    assert type(loaded.model).__name__ != "Wav2Vec2Model"
    got, _ = unit_counting.count_codewords(loaded, setup["data"], ["zz"], "valid",
                                           progress=False)
    assert np.array_equal(got[0], _direct_counts(model, setup["data"], "zz"))


def test_missing_plotting_extra_is_a_clear_error(monkeypatch):
    from xlsr_plugin.analysis import unit_plots

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import now raises ImportError
    with pytest.raises(ImportError, match=r"pip install 'xlsr_plugin\[analysis\]'"):
        unit_plots.require_plotting()
