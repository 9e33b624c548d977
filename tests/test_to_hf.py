"""python -m xlsr_plugin.to_hf: tiny xlsr pretraining and CTC checkpoints (fairseq-hydra-train),
argparse-format ones with XLSR-53's and wav2vec 2.0 Base's feature encoders, the released XLSR-53
file's format; the exported folders reproduce fairseq in a process that cannot import fairseq."""
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import torch

pytest.importorskip("transformers")
pytest.importorskip("safetensors")

import test_finetuning_e2e  # noqa: E402

from xlsr_plugin.hf.check import TOLERANCE, compare, fairseq_model, fairseq_outputs, fairseq_transcripts  # noqa: E402
from xlsr_plugin.hf.checkpoint import read_checkpoint  # noqa: E402
from xlsr_plugin.hf.export import export  # noqa: E402
from xlsr_plugin.hf.weights import WeightMappingError  # noqa: E402
from xlsr_plugin.to_hf import main  # noqa: E402

finetuning_data = test_finetuning_e2e.finetuning_data  # its fixture: synthetic fi, sw phone data
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY_ARCH = [
    "--encoder-layers", "2", "--encoder-embed-dim", "32", "--encoder-ffn-embed-dim", "64",
    "--encoder-attention-heads", "2", "--final-dim", "16", "--latent-vars", "8", "--latent-groups", "2",
    "--conv-feature-layers", "[(24, 10, 5)] + [(24, 3, 2)] * 4 + [(24, 2, 2)] * 2",
    "--conv-pos", "16", "--conv-pos-groups", "4", "--quantize-targets",
]
XLSR_53_FLAGS = ["--extractor-mode", "layer_norm", "--layer-norm-first", "--conv-bias", "--normalize"]

# A process in which fairseq, the plugin and phonemizer (which the exported phone tokenizer
# does without) cannot be imported.
BLOCK_FAIRSEQ = r"""
import importlib.abc, sys
class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("fairseq", "xlsr_plugin", "phonemizer"):
            raise ImportError(f"{name} is blocked in this process")
sys.meta_path.insert(0, Blocked())
"""
# Runs the exported folder with transformers alone.
WITHOUT_FAIRSEQ = BLOCK_FAIRSEQ + r"""
import soundfile as sf, torch
from transformers import AutoConfig, AutoFeatureExtractor, Wav2Vec2ForCTC, Wav2Vec2ForPreTraining, Wav2Vec2Processor
folder, out, wavs = sys.argv[1], sys.argv[2], sys.argv[3:]
ctc = AutoConfig.from_pretrained(folder).architectures == ["Wav2Vec2ForCTC"]
model = (Wav2Vec2ForCTC if ctc else Wav2Vec2ForPreTraining).from_pretrained(folder).eval()
processor = (Wav2Vec2Processor if ctc else AutoFeatureExtractor).from_pretrained(folder)
audio = [sf.read(w, dtype="float32")[0] for w in wavs]
inputs = processor(audio, sampling_rate=16000, padding=True, return_attention_mask=True, return_tensors="pt")
with torch.no_grad():
    o = model(inputs.input_values, attention_mask=inputs.attention_mask, output_hidden_states=True)
lengths = model._get_feat_extract_output_lengths(inputs.attention_mask.sum(-1)).tolist()
result = {"input_values": inputs.input_values, "attention_mask": inputs.attention_mask, "lengths": lengths}
result.update({f"layer {i}": h for i, h in enumerate(o.hidden_states[1:])})
if ctc:
    result["logits"] = o.logits
    tokenizer, classes = processor.tokenizer, o.logits.argmax(-1)
    classes[torch.isin(classes, torch.tensor([tokenizer.bos_token_id, tokenizer.eos_token_id]))] = tokenizer.pad_token_id
    result["text"] = processor.batch_decode([classes[b, :n] for b, n in enumerate(lengths)])
else:
    result.update(projected=o.projected_states, quantized=o.projected_quantized_states)
assert not [m for m in sys.modules if m.split(".")[0] in ("fairseq", "xlsr_plugin")]
torch.save(result, out)
"""


def write_args_checkpoint(path, data, *flags):
    """A pretraining checkpoint as the released ones are (wav2vec_small.pt, xlsr_53_56k.pt):
    fairseq's argparse `args`, no `cfg`; random weights."""
    from fairseq import options, tasks

    parser = options.get_training_parser(default_task="audio_pretraining")
    args = options.parse_args_and_arch(parser, [
        data, "--task", "audio_pretraining", "--arch", "wav2vec2", "--criterion", "wav2vec",
        "--optimizer", "adam", "--lr", "0.0005", *TINY_ARCH, *flags,
    ])
    model = tasks.setup_task(args).build_model(args)
    # the training history the released files hold, which fine-tuning from them reads
    history = [{"criterion_name": "Wav2vecCriterion", "optimizer_name": "FairseqAdam",
                "lr_scheduler_state": {"best": None}, "num_updates": 0}]
    torch.save({"args": args, "model": model.state_dict(), "extra_state": {},
                "optimizer_history": history, "last_optimizer_state": None}, path)
    return str(path)


def hf_in_fresh_process(folder, wavs, tmp_path):
    out = str(tmp_path / "hf_outputs.pt")
    subprocess.run([sys.executable, "-c", WITHOUT_FAIRSEQ, folder, out, *wavs], check=True,
                   capture_output=True, text=True, cwd=str(tmp_path))
    return torch.load(out)


def assert_same_as_fairseq(checkpoint_path, folder, wavs, tmp_path):
    """fairseq's outputs, on the input values transformers computed in a process without
    fairseq, equal that process's outputs (padded batch: all utterances, longest first)."""
    theirs = hf_in_fresh_process(folder, wavs, tmp_path)
    checkpoint = read_checkpoint(checkpoint_path)
    padding_mask = ~theirs["attention_mask"].bool()
    ours = fairseq_outputs(fairseq_model(checkpoint), theirs["input_values"], padding_mask)
    assert set(ours) <= set(theirs)
    diffs = compare(ours, theirs, theirs["lengths"])
    assert len([name for name in diffs if name.startswith("layer ")]) == checkpoint.encoder.encoder_layers
    assert max(diffs.values()) <= TOLERANCE, diffs
    if checkpoint.is_ctc:
        assert theirs["text"] == fairseq_transcripts(checkpoint, ours["logits"], theirs["lengths"])
        assert any(t.strip() for t in theirs["text"])
    return diffs


def hf_json(folder, name):
    with open(os.path.join(folder, name), encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture(scope="module")
def speech(finetuning_data):
    """Two test utterances of different lengths (the padded batch pads one)."""
    folder = os.path.join(finetuning_data, test_finetuning_e2e.LANGS[0], "audio")
    return [os.path.join(folder, "test_0.wav"), os.path.join(folder, "test_1.wav")]


def docs_transcripts(folder, wavs, tmp_path):
    """docs/export.md's python blocks in order (the transcriber, then its one-file use on the
    first clip as utterance.wav), in a process without fairseq, on the exported `folder`:
    {"alone": each clip alone, "batched": all clips in one call, "printed": the one-file use's
    stdout}."""
    with open(os.path.join(ROOT, "docs", "export.md"), encoding="utf-8") as f:
        snippet = "".join(re.findall(r"```python\n(.*?)```", f.read(), re.S))
    run = r"""
import json, soundfile as sf
clips = [sf.read(w, dtype="float32")[0] for w in sys.argv[2:]]
json.dump({"alone": [transcribe([c])[0] for c in clips], "batched": transcribe(clips)}, open(sys.argv[1], "w"))
"""
    cwd = str(tmp_path / "docs_run")
    os.makedirs(cwd, exist_ok=True)
    shutil.copytree(folder, os.path.join(cwd, "xlsr_hf"))  # the snippet's folder name
    shutil.copy(wavs[0], os.path.join(cwd, "utterance.wav"))  # the one-file use's name
    out = os.path.join(cwd, "transcripts.json")
    printed = subprocess.run([sys.executable, "-c", BLOCK_FAIRSEQ + snippet + run, out, *wavs], check=True,
                             cwd=cwd, env=dict(os.environ, OMP_NUM_THREADS="1"), stdout=subprocess.PIPE,
                             text=True).stdout
    with open(out, encoding="utf-8") as f:
        return dict(json.load(f), printed=printed)


@pytest.fixture(scope="module")
def ctc_checkpoint(finetuning_data, pretrained_checkpoint, tmp_path_factory):
    run_dir = str(tmp_path_factory.mktemp("to_hf_finetuned"))
    checkpoint, _ = test_finetuning_e2e.finetune(finetuning_data, pretrained_checkpoint, run_dir)
    return checkpoint


def test_ctc_checkpoint_exports_to_wav2vec2_for_ctc(ctc_checkpoint, finetuning_data, speech, tmp_path):
    folder = str(tmp_path / "hf")
    report = export(ctc_checkpoint, folder, check_audio=speech)
    assert report.ok and report.max_diff <= TOLERANCE
    assert [c.setting for c in report.comparisons][-1] == "padded batch of 2"
    assert all(len(c.hf_text) == len(c.fairseq_text) >= 1 for c in report.comparisons)
    assert {"config.json", "model.safetensors", "vocab.json", "processor_config.json",
            "tokenizer_config.json"} <= set(os.listdir(folder))
    assert not os.path.exists(folder + ".tmp")
    with open(os.path.join(finetuning_data, "dict.phn.txt"), encoding="utf-8") as f:
        phones = [line.split()[0] for line in f]
    vocab = hf_json(folder, "vocab.json")
    assert sorted(vocab, key=vocab.get) == ["<pad>", "<s>", "</s>", "<unk>", *phones]
    config = hf_json(folder, "config.json")
    assert config["architectures"] == ["Wav2Vec2ForCTC"]
    assert (config["vocab_size"], config["pad_token_id"]) == (4 + len(phones), 0)
    assert (config["hidden_size"], config["num_hidden_layers"], config["conv_dim"]) == (64, 2, [32] * 7)
    tokenizer = hf_json(folder, "tokenizer_config.json")
    special = (tokenizer["pad_token"], tokenizer["bos_token"], tokenizer["eos_token"], tokenizer["unk_token"])
    assert special == ("<pad>", "<s>", "</s>", "<unk>")
    assert (tokenizer["tokenizer_class"], tokenizer["phone_delimiter_token"]) == ("Wav2Vec2PhonemeCTCTokenizer", " ")
    assert (tokenizer["word_delimiter_token"], tokenizer["do_phonemize"]) == (None, False)
    assert_same_as_fairseq(ctc_checkpoint, folder, speech, tmp_path)


def relabelled(checkpoint, labels, path):
    """The fine-tuned checkpoint with another task.labels: the same network read as letters."""
    state = torch.load(checkpoint, weights_only=False)
    state["cfg"]["task"]["labels"] = labels
    torch.save(state, path)
    return str(path)


@pytest.mark.parametrize("labels, frames_text, eos_text", [("phn", "k a a | k", "a a"), ("ltr", "kaa k", "aa")])
def test_tokenizer_decodes_like_fairseq_greedy_output(ctc_checkpoint, labels, frames_text, eos_text, speech,
                                                     tmp_path):
    from transformers import Wav2Vec2Processor

    from xlsr_plugin.hf.check import hf_transcripts

    checkpoint = relabelled(ctc_checkpoint, labels, tmp_path / f"{labels}.pt")
    folder = str(tmp_path / "hf")
    report = export(checkpoint, folder, check_audio=speech)
    # on speech, this undertrained model picks fairseq's <pad> and </s> on some frames
    assert report.ok and all(t and "<s>" not in t and "</s>" not in t for c in report.comparisons for t in c.hf_text)
    processor = Wav2Vec2Processor.from_pretrained(folder)
    vocab = processor.tokenizer.get_vocab()
    blank, bar, a, k = 0, vocab["|"], vocab["a"], vocab["k"]
    # the blank separates a repeated phone; repeats without one merge; `|` is a word boundary
    frames = [k, k, blank, a, a, blank, a, bar, bar, k, blank]
    eos = [a, 2, a, 1]  # fairseq's </s> and <pad> (no target holds them) break a repeat and are dropped
    one_hot = torch.nn.functional.one_hot(torch.tensor([frames, eos + [blank] * 7]), len(vocab)).float()
    fairseq_text = fairseq_transcripts(read_checkpoint(checkpoint), one_hot, [len(frames), 4])
    assert fairseq_text == [processor.decode(frames), eos_text] == [frames_text, eos_text]
    assert hf_transcripts(processor, one_hot, [len(frames), 4]) == fairseq_text
    assert processor.decode(eos) == ("a </s> a <s>" if labels == "phn" else "a</s>a<s>")  # unmapped


def test_phone_model_transcripts_equal_fairseq_h_lines(ctc_checkpoint, finetuning_data, speech, tmp_path):
    """The README's commands in fresh processes: to_hf, then docs/export.md's transcriber with
    transformers alone gives fairseq-generate's H- lines (one utterance per batch), alone or in
    a batch (a group-norm model: clips go one at a time), with no <s>/</s>."""
    folder = str(tmp_path / "hf")
    test_finetuning_e2e.run([sys.executable, "-m", "xlsr_plugin.to_hf", ctc_checkpoint, folder], cwd=str(tmp_path))
    stdout, _ = test_finetuning_e2e.generate(finetuning_data, ctc_checkpoint, "test_fi", "--batch-size", "1",
                                             cwd=str(tmp_path))
    h_lines = dict(re.findall(r"^H-(\d+)\t\S+\t(.*)$", stdout, re.M))
    fairseq_text = [h_lines[str(i)] for i in range(len(speech))]
    assert all(" | " in t for t in fairseq_text)  # phones, word boundaries inside
    transcripts = docs_transcripts(folder, speech, tmp_path)
    assert transcripts["alone"] == transcripts["batched"] == fairseq_text
    assert transcripts["printed"] == fairseq_text[0] + "\n"
    assert hf_json(folder, "processor_config.json")["feature_extractor"]["return_attention_mask"] is False


def test_layer_norm_model_transcripts_alone_and_batched_equal(finetuning_data, speech, tmp_path):
    """An XLSR-53-architecture model (layer-norm feature encoder) fine-tuned through the
    plugin: its export returns an attention mask, and a clip's transcript is the same alone
    and padded in a batch."""
    pretrained = write_args_checkpoint(tmp_path / "xlsr53_args.pt", finetuning_data, *XLSR_53_FLAGS)
    checkpoint, _ = test_finetuning_e2e.finetune(finetuning_data, pretrained, str(tmp_path),
                                                 "optimization.max_update=2", "task.normalize=true")
    folder = str(tmp_path / "hf")
    export(checkpoint, folder, check=False)
    assert hf_json(folder, "processor_config.json")["feature_extractor"]["return_attention_mask"] is True
    wavs = [*speech, speech[0]]  # the shorter test_1 padded to test_0, test_0 twice
    transcripts = docs_transcripts(folder, wavs, tmp_path)
    assert transcripts["alone"] == transcripts["batched"]
    assert transcripts["printed"] == transcripts["alone"][0] + "\n"
    assert len(set(transcripts["batched"])) == 2 and all(t.strip() for t in transcripts["batched"])


def test_pretraining_checkpoint_exports_to_wav2vec2_for_pretraining(pretrained_checkpoint, speech, tmp_path):
    folder = str(tmp_path / "hf")
    main([pretrained_checkpoint, folder, "--check-audio", *speech])
    config = hf_json(folder, "config.json")
    assert config["architectures"] == ["Wav2Vec2ForPreTraining"]
    # config/pretraining/xlsr_tiny.yaml
    assert (config["feat_extract_norm"], config["do_stable_layer_norm"], config["conv_bias"]) == ("group", False, False)
    assert (config["num_codevector_groups"], config["num_codevectors_per_group"]) == (2, 32)
    assert (config["codevector_dim"], config["proj_codevector_dim"], config["num_conv_pos_embeddings"]) == (32, 32, 32)
    assert config["conv_kernel"] == [10, 3, 3, 3, 3, 2, 2] and config["conv_stride"] == [5, 2, 2, 2, 2, 2, 2]
    extractor = hf_json(folder, "preprocessor_config.json")
    assert (extractor["do_normalize"], extractor["return_attention_mask"]) == (False, False)
    diffs = assert_same_as_fairseq(pretrained_checkpoint, folder, speech, tmp_path)
    assert {"projected", "quantized"} <= set(diffs)


def test_args_checkpoint_with_xlsr_53_architecture(finetuning_data, speech, tmp_path):
    checkpoint = write_args_checkpoint(tmp_path / "xlsr53_args.pt", finetuning_data, *XLSR_53_FLAGS)
    folder = str(tmp_path / "hf")
    report = export(checkpoint, folder, check_audio=speech)
    assert report.ok and 0 < report.normalization_diff < 1e-2  # epsilon 1e-7 vs fairseq's 1e-5
    config = hf_json(folder, "config.json")
    assert (config["feat_extract_norm"], config["do_stable_layer_norm"], config["conv_bias"]) == ("layer", True, True)
    assert (config["hidden_size"], config["proj_codevector_dim"], config["conv_dim"]) == (32, 16, [24] * 7)
    extractor = hf_json(folder, "preprocessor_config.json")
    assert (extractor["do_normalize"], extractor["return_attention_mask"]) == (True, True)
    assert_same_as_fairseq(checkpoint, folder, speech, tmp_path)


def test_args_checkpoint_with_group_norm_feature_encoder(finetuning_data, speech, tmp_path):
    checkpoint = write_args_checkpoint(tmp_path / "base_args.pt", finetuning_data)
    report = export(checkpoint, str(tmp_path / "hf"), check_audio=speech)
    assert report.ok and len(report.comparisons) == 3 and report.normalization_diff is None
    config = hf_json(str(tmp_path / "hf"), "config.json")
    assert (config["feat_extract_norm"], config["do_stable_layer_norm"]) == ("group", False)
    # weight norm saved as torch's parametrization (state dicts of newer fairseq/torch)
    state = torch.load(checkpoint, weights_only=False)
    renamed = {k.replace("weight_g", "parametrizations.weight.original0")
               .replace("weight_v", "parametrizations.weight.original1"): v for k, v in state["model"].items()}
    assert any("original0" in k for k in renamed)
    torch.save(dict(state, model=renamed), tmp_path / "parametrized.pt")
    assert export(str(tmp_path / "parametrized.pt"), str(tmp_path / "hf2")).max_diff <= TOLERANCE


def test_released_xlsr_53_format_args_none_and_cfg_dict(pretrained_checkpoint, tmp_path):
    """xlsr_53_56k.pt: `args` None, `cfg` a plain dict from an older fairseq whose task has keys
    today's AudioPretrainingConfig lacks."""
    from omegaconf import OmegaConf

    state = torch.load(pretrained_checkpoint, map_location="cpu", weights_only=False)
    cfg = OmegaConf.to_container(state["cfg"]) if OmegaConf.is_config(state["cfg"]) else dict(state["cfg"])
    cfg["task"] = dict(cfg["task"], _name="audio_pretraining", autoregressive=False, eval_wer_post_process="letter")
    cfg["model"] = dict(cfg["model"], _name="wav2vec2")
    path = str(tmp_path / "xlsr_53_format.pt")
    torch.save(dict(state, args=None, cfg=cfg), path)
    assert export(path, str(tmp_path / "hf")).ok


def test_unmappable_and_missing_weights_are_errors_naming_them(finetuning_data, tmp_path):
    checkpoint = write_args_checkpoint(tmp_path / "args.pt", finetuning_data)
    state = torch.load(checkpoint, weights_only=False)
    extra = dict(state, model=dict(state["model"], **{"encoder.layers.0.gate.weight": torch.ones(3)}))
    torch.save(extra, tmp_path / "extra.pt")
    with pytest.raises(WeightMappingError, match=r"encoder\.layers\.0\.gate\.weight \(3,\) matches no"):
        export(str(tmp_path / "extra.pt"), str(tmp_path / "hf"))
    missing = dict(state, model={k: v for k, v in state["model"].items() if k != "encoder.layer_norm.bias"})
    torch.save(missing, tmp_path / "missing.pt")
    with pytest.raises(SystemExit, match=r"no fairseq weight initialises:\n\s+wav2vec2\.encoder\.layer_norm\.bias"):
        main([str(tmp_path / "missing.pt"), str(tmp_path / "hf")])
    assert not os.path.exists(tmp_path / "hf")


def test_missing_extra_names_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "transformers", None)  # import transformers fails
    with pytest.raises(SystemExit, match=r"pip install 'xlsr_plugin\[hf\]'"):
        main(["in.pt", str(tmp_path / "out")])


def test_ctc_checkpoint_without_stored_dictionary_takes_one(ctc_checkpoint, finetuning_data, tmp_path):
    state = torch.load(ctc_checkpoint, weights_only=False)
    torch.save(dict(state, task_state={}), tmp_path / "old.pt")
    with pytest.raises(SystemExit, match="--dictionary"):
        main([str(tmp_path / "old.pt"), str(tmp_path / "hf")])
    main([str(tmp_path / "old.pt"), str(tmp_path / "hf"), "--no-check",
          "--dictionary", os.path.join(finetuning_data, "dict.phn.txt")])
    with open(os.path.join(finetuning_data, "dict.phn.txt"), encoding="utf-8") as f:
        assert len(hf_json(str(tmp_path / "hf"), "vocab.json")) == 4 + len(f.readlines())
