"""An xlsr checkpoint is a stock wav2vec 2.0 one: stock model, wav2vec_ctc and torchaudio load it."""
import argparse

import pytest
import torch
from fairseq import checkpoint_utils
from fairseq.data import Dictionary
from fairseq.models.wav2vec.wav2vec2 import Wav2Vec2Config, Wav2Vec2Model
from fairseq.models.wav2vec.wav2vec2_asr import Wav2Vec2CtcConfig, Wav2VecCtc
from omegaconf import OmegaConf
from torchaudio.models.wav2vec2.utils import import_fairseq_model

from xlsr_plugin.models.xlsr import XlsrModel


def _audio():
    torch.manual_seed(0)
    return torch.randn(2, 16000)


@pytest.fixture(scope="module")
def xlsr_model(pretrained_checkpoint):
    models, _, _ = checkpoint_utils.load_model_ensemble_and_task([pretrained_checkpoint])
    model = models[0].eval()
    assert isinstance(model, XlsrModel)
    return model


def _stock_model(checkpoint):
    state = checkpoint_utils.load_checkpoint_to_cpu(checkpoint)
    model_cfg = OmegaConf.to_container(state["cfg"]["model"])
    model_cfg.pop("_name")
    stock = Wav2Vec2Model(Wav2Vec2Config(**model_cfg))
    stock.load_state_dict(state["model"], strict=True)
    return stock.eval()


def _features(model, audio):
    with torch.no_grad():
        return model.extract_features(audio, padding_mask=None)["x"]


def test_state_dict_loads_strictly_into_stock_wav2vec2(pretrained_checkpoint, xlsr_model):
    stock = _stock_model(pretrained_checkpoint)
    assert type(stock) is Wav2Vec2Model
    torch.testing.assert_close(_features(stock, _audio()), _features(xlsr_model, _audio()))


def test_wav2vec_ctc_loads_it_through_w2v_path(pretrained_checkpoint, xlsr_model, tmp_path):
    dictionary = Dictionary()
    for symbol in "abc":
        dictionary.add_symbol(symbol)
    task = argparse.Namespace(target_dictionary=dictionary)
    cfg = Wav2Vec2CtcConfig(w2v_path=pretrained_checkpoint, apply_mask=False)
    cfg.data = str(tmp_path)  # the pretraining data need not be there
    cfg.normalize = False  # as in pretraining (xlsr_tiny)
    ctc = Wav2VecCtc.build_model(cfg, task).eval()
    encoder = ctc.w2v_encoder.w2v_model
    assert isinstance(encoder, XlsrModel)
    reference = xlsr_model.state_dict()
    for name, tensor in encoder.state_dict().items():
        torch.testing.assert_close(tensor, reference[name], msg=name)
    torch.testing.assert_close(_features(encoder, _audio()), _features(xlsr_model, _audio()))


def test_torchaudio_imports_it_with_identical_outputs(pretrained_checkpoint, xlsr_model):
    imported = import_fairseq_model(_stock_model(pretrained_checkpoint)).eval()
    with torch.no_grad():
        ours, _ = imported(_audio())
    torch.testing.assert_close(ours, _features(xlsr_model, _audio()), atol=1e-5, rtol=1e-4)


STOCK_LOAD = """
import sys, torch
from fairseq import checkpoint_utils
models, cfg, task = checkpoint_utils.load_model_ensemble_and_task([sys.argv[1]])
assert "xlsr_plugin" not in sys.modules
torch.manual_seed(0)
with torch.no_grad():
    x = models[0].eval().extract_features(torch.randn(2, 16000), padding_mask=None)["x"]
print(type(models[0]).__name__, cfg.task._name, float(x.sum()))
"""


def test_to_stock_loads_without_the_plugin(pretrained_checkpoint, xlsr_model, tmp_path):
    import subprocess
    import sys

    from xlsr_plugin.to_stock import main

    stock_path = str(tmp_path / "stock.pt")
    main([pretrained_checkpoint, stock_path])
    out = subprocess.run([sys.executable, "-c", STOCK_LOAD, stock_path], capture_output=True,
                         text=True, check=True, cwd=str(tmp_path)).stdout.split()
    assert out[:2] == ["Wav2Vec2Model", "audio_pretraining"]
    assert float(out[2]) == pytest.approx(float(_features(xlsr_model, _audio()).sum()), rel=1e-4)
