"""xlsr_tiny checkpoint -> fairseq-hydra-train (xlsr_finetuning, ctc) -> fairseq-generate with PER,
through the real command-line tools, from our checkpoint and from an official-format one."""
import os
import re
import subprocess
import sys

import pytest
import soundfile as sf

from _run_outputs import one_thread_env
from xlsr_plugin.synthetic.data_folders import WORDS, synthesize

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
USER_DIR = os.path.join(ROOT, "xlsr_plugin")
BIN = os.path.dirname(sys.executable)
LANGS = ("fi", "sw")
SPLITS = {"train": 4, "valid": 1, "test": 2}


def phones(words):
    """Letters stand in for phones: `k i i t o s | v e s i`."""
    return " | ".join(" ".join(word) for word in words)


def write_dictionary(path, labels):
    symbols = sorted({s for line in labels for s in line.split()})
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(f"{s} 1\n" for s in symbols)


def write_finetuning_data(data):
    """DATA/<lang>/<split>.{tsv,phn}, DATA/<lang>/dict.phn.txt and the union DATA/dict.phn.txt."""
    every = []
    for lang in LANGS:
        folder = os.path.join(data, lang)
        os.makedirs(os.path.join(folder, "audio"), exist_ok=True)
        labels_of_lang = []
        for split, count in SPLITS.items():
            rows, labels = [], []
            for i in range(count):
                words = [WORDS[lang][(3 * i + k + len(split)) % len(WORDS[lang])] for k in range(2)]
                audio = synthesize(" ".join(words), lang)
                name = f"audio/{split}_{i}.wav"
                sf.write(os.path.join(folder, name), audio, 16000)
                rows.append(f"{name}\t{len(audio)}")
                labels.append(phones(words))
            with open(os.path.join(folder, f"{split}.tsv"), "w") as f:
                f.write(folder + "\n" + "\n".join(rows) + "\n")
            with open(os.path.join(folder, f"{split}.phn"), "w", encoding="utf-8") as f:
                f.write("\n".join(labels) + "\n")
            labels_of_lang += labels
        write_dictionary(os.path.join(folder, "dict.phn.txt"), labels_of_lang)
        every += labels_of_lang
    write_dictionary(os.path.join(data, "dict.phn.txt"), every)


def run(command, cwd):
    proc = subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=one_thread_env())
    log = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise AssertionError(f"{command[0]} failed ({proc.returncode}):\n{log[-5000:]}")
    return proc.stdout, log


def finetune(data, w2v_path, run_dir, *overrides, langs=LANGS):
    save_dir = os.path.join(run_dir, "checkpoints")
    valid = ",".join(f"valid_{lang}" for lang in langs)
    _, log = run([
        os.path.join(BIN, "fairseq-hydra-train"),
        "--config-dir", os.path.join(ROOT, "config", "finetuning"), "--config-name", "ctc_tiny",
        f"common.user_dir={USER_DIR}", f"task.data={data}", f"model.w2v_path={w2v_path}",
        f"task.langs=[{','.join(langs)}]", f"checkpoint.save_dir={save_dir}",
        f"hydra.run.dir={run_dir}/hydra", "optimization.max_update=3",
        f"dataset.valid_subset='{valid}'", *overrides,
    ], cwd=run_dir)
    return os.path.join(save_dir, "checkpoint_last.pt"), log


def generate(data, checkpoint, subset, *options, cwd):
    return run([
        os.path.join(BIN, "fairseq-generate"), data, "--user-dir", USER_DIR,
        "--task", "xlsr_finetuning", "--labels", "phn", "--path", checkpoint,
        "--gen-subset", subset, "--scoring", "per", *options,
    ], cwd=cwd)


@pytest.fixture(scope="module")
def finetuning_data(tmp_path_factory):
    data = str(tmp_path_factory.mktemp("finetuning") / "data")
    write_finetuning_data(data)
    return data


@pytest.fixture(scope="module")
def finetuned(finetuning_data, pretrained_checkpoint, tmp_path_factory):
    run_dir = str(tmp_path_factory.mktemp("finetuned"))
    return finetune(finetuning_data, pretrained_checkpoint, run_dir)


def write_official_checkpoint(data, path):
    """A pretrained wav2vec 2.0 checkpoint as the released ones (wav2vec_small.pt,
    xlsr_53_56k.pt) are: stock fairseq's argparse `args` namespace, no `cfg`."""
    import torch
    from fairseq import options, tasks

    parser = options.get_training_parser(default_task="audio_pretraining")
    args = options.parse_args_and_arch(parser, [
        data, "--task", "audio_pretraining", "--arch", "wav2vec2", "--criterion", "wav2vec",
        "--encoder-layers", "1", "--encoder-embed-dim", "32", "--encoder-ffn-embed-dim", "64",
        "--encoder-attention-heads", "2", "--final-dim", "16", "--latent-vars", "8",
        "--conv-feature-layers", "[(32, 10, 5)] + [(32, 3, 2)] * 4 + [(32, 2, 2)] * 2",
        "--conv-pos", "16", "--conv-pos-groups", "4", "--optimizer", "adam", "--lr", "0.0005",
    ])
    model = tasks.setup_task(args).build_model(args)
    history = [{"criterion_name": "Wav2vecCriterion", "optimizer_name": "FairseqAdam",
                "lr_scheduler_state": {"best": None}, "num_updates": 100}]
    torch.save({"args": args, "model": model.state_dict(), "optimizer_history": history,
                "extra_state": {}, "last_optimizer_state": None}, path)


def check_generate_output(stdout, count, subset="test_fi"):
    hyps = re.findall(r"^H-(\d+)\t(\S+)\t(.*)$", stdout, re.M)
    refs = re.findall(r"^T-(\d+)\t(.*)$", stdout, re.M)
    assert len(hyps) == len(refs) == count
    assert all("<s>" not in h for _, _, h in hyps)
    score = re.search(rf"^Generate {subset} with beam=\d+: PER: ([\d.]+) \((\d+) errors / (\d+)", stdout, re.M)
    assert score, stdout[-2000:]
    assert int(score.group(3)) == sum(len([p for p in r.split() if p != "|"]) for _, r in refs)
    return float(score.group(1))


def test_finetune_reports_unit_error_rate_per_language(finetuned):
    _, log = finetuned
    for lang in LANGS:
        valid = [line for line in log.splitlines() if f"valid on 'valid_{lang}' subset" in line]
        assert valid and re.search(r"\| uer [\d.]+", valid[-1]), log[-3000:]
    assert "num_updates 3" in log


def test_generate_prints_hypotheses_and_per(finetuned, finetuning_data, tmp_path):
    checkpoint, _ = finetuned
    stdout, _ = generate(finetuning_data, checkpoint, "test_fi", cwd=tmp_path)
    check_generate_output(stdout, SPLITS["test"])


def test_finetune_and_generate_from_official_format_checkpoint(finetuning_data, tmp_path):
    official = str(tmp_path / "wav2vec_small_format.pt")
    write_official_checkpoint(finetuning_data, official)
    checkpoint, log = finetune(finetuning_data, official, str(tmp_path), "optimization.max_update=2")
    assert "num_updates 2" in log
    stdout, _ = generate(finetuning_data, checkpoint, "test_fi", cwd=tmp_path)
    check_generate_output(stdout, SPLITS["test"])


def test_generate_beam_search_with_token_language_model(finetuned, finetuning_data, tmp_path):
    checkpoint, _ = finetuned
    lm = tmp_path / "phones.arpa"
    lm.write_text("\n".join([
        "\\data\\", "ngram 1=5", "ngram 2=1", "", "\\1-grams:",
        "-99\t<s>\t-0.3", "-1.0\t</s>", "-1.0\t<unk>", "-0.5\ta\t-0.3", "-0.7\t|\t-0.3",
        "", "\\2-grams:", "-0.1\t<s> a", "", "\\end\\", "",
    ]))
    stdout, log = generate(finetuning_data, checkpoint, "test_fi", "--ctc-decoder", "beam",
                           "--beam", "4", "--kenlm-model", str(lm), "--lm-weight", "0.5", cwd=tmp_path)
    assert "CTC beam search: beam 4" in log
    check_generate_output(stdout, SPLITS["test"])



@pytest.fixture(scope="module")
def finetuned_fi(finetuning_data, pretrained_checkpoint, tmp_path_factory):
    """Fine-tuned on fi alone: its checkpoint holds DATA/fi/dict.phn.txt, not the union."""
    run_dir = str(tmp_path_factory.mktemp("finetuned_fi"))
    return finetune(finetuning_data, pretrained_checkpoint, run_dir, langs=("fi",))[0]


def test_one_language_model_decodes_its_language_without_langs(finetuned_fi, finetuning_data,
                                                                tmp_path):
    stdout, log = generate(finetuning_data, finetuned_fi, "test_fi", cwd=tmp_path)
    check_generate_output(stdout, SPLITS["test"])
    assert "not in the dictionary" not in log


def test_one_language_model_on_another_language_counts_unknown_symbols(
        finetuned_fi, finetuning_data, tmp_path):
    stdout, log = generate(finetuning_data, finetuned_fi, "test_sw", cwd=tmp_path)
    check_generate_output(stdout, SPLITS["test"], subset="test_sw")
    fi_symbols = set(open(os.path.join(finetuning_data, "fi", "dict.phn.txt")).read().split()[::2])
    sw_test = open(os.path.join(finetuning_data, "sw", "test.phn")).read().split()
    unknown = sum(symbol not in fi_symbols for symbol in sw_test)
    assert unknown > 0 and f"{unknown} target symbols not in the dictionary" in log
    refs = re.findall(r"^T-\d+\t(.*)$", stdout, re.M)
    assert sum(ref.split().count("<<unk>>") for ref in refs) == unknown  # generate's escaped unk


def test_every_language_needs_the_model_languages(finetuned_fi, finetuned, finetuning_data,
                                                  tmp_path):
    with pytest.raises(AssertionError, match=r"only in the data's: \[.*\]\. Decode one language"):
        generate(finetuning_data, finetuned_fi, "test", cwd=tmp_path)
    stdout, _ = generate(finetuning_data, finetuned[0], "test", "--langs", "fi,sw", cwd=tmp_path)
    check_generate_output(stdout, 2 * SPLITS["test"], subset="test")


def test_rate_the_labels_do_not_log_stops_the_run_at_set_up(tmp_path):
    """ctc_tiny selects checkpoints by per; with task.labels=ltr fairseq would train up to the
    first validation and stop there with `KeyError: 'per'`. The task refuses the run when it is
    set up (before any data or model is read: neither exists here), saying what to pass."""
    with pytest.raises(AssertionError) as failure:
        finetune(str(tmp_path / "no-data"), str(tmp_path / "none.pt"), str(tmp_path), "task.labels=ltr")
    assert ("ValueError: checkpoint.best_checkpoint_metric=per is logged only with task.labels=phn; "
            "with task.labels=ltr validation logs cer: pass checkpoint.best_checkpoint_metric=cer"
            in str(failure.value))
    assert "KeyError" not in str(failure.value)
