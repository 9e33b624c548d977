"""What fairseq-generate prints and scores, against the label files: phone and letter models
fine-tuned on one language or two, decoded through the real CLI in a fresh process, one
language or all; the report table against the same files; hypotheses independent of their
batch-mates. Expected units and errors are recomputed here from the label files and the
printed hypotheses with editdistance, following the README's definitions (PER: phones without
`|`; CER: characters with one `|` between words)."""
import json
import re
import subprocess
import sys

import pytest

from _generate_checks import SCORER, UNKNOWN, check_against_labels, printed
from _run_outputs import one_thread_env
import test_finetuning_e2e
from test_finetuning_e2e import LANGS, finetune, generate

finetuning_data = test_finetuning_e2e.finetuning_data  # its fixture: fi and sw, phn and ltr labels


@pytest.fixture(scope="module")
def model(finetuning_data, pretrained_checkpoint, tmp_path_factory):
    """(labels, langs) -> (checkpoint_last.pt, training log), fine-tuned once per module; two
    languages are validated together (`valid`, one subset of both)."""
    runs = {}

    def fine_tuned(labels, langs):
        if (labels, langs) not in runs:
            run_dir = str(tmp_path_factory.mktemp(f"{labels}_{'_'.join(langs)}"))
            runs[labels, langs] = finetune(
                finetuning_data, pretrained_checkpoint, run_dir, f"task.labels={labels}",
                f"checkpoint.best_checkpoint_metric={SCORER[labels]}", langs=langs,
                valid="valid" if len(langs) > 1 else None)
        return runs[labels, langs]
    return fine_tuned


@pytest.fixture(scope="module")
def decoded(finetuning_data, model, tmp_path_factory):
    """(labels, langs, subset, *options) -> fairseq-generate's stdout, run once per module."""
    outputs = {}
    cwd = str(tmp_path_factory.mktemp("generate"))

    def decode(labels, langs, subset, *options):
        key = (labels, langs, subset, *options)
        if key not in outputs:
            outputs[key] = generate(finetuning_data, model(labels, langs)[0], subset, "--labels", labels,
                                    "--scoring", SCORER[labels], *options, cwd=cwd)[0]
        return outputs[key]
    return decode


# Phones: two languages; letters: one language (its test_sw holds letters it lacks). A phone
# model of one language is checked the same way in test_finetuning_e2e.
MODELS = [("phn", LANGS), ("ltr", ("fi",))]
REPORTED = {"phn": LANGS, "ltr": ("fi",)}  # the model whose test_fi and test_sw are reported


@pytest.mark.parametrize("labels,model_langs", MODELS)
def test_references_and_units_are_the_label_files(decoded, finetuning_data, labels, model_langs):
    """Every model on test_fi and test_sw; a two-language model also on `test` of both
    (--langs). The one-language model lacks sw's letters: `<<unk>>`, one unit each."""
    for lang in LANGS:
        stdout = decoded(labels, model_langs, f"test_{lang}")
        check_against_labels(stdout, finetuning_data, labels, model_langs, [lang])
        assert (UNKNOWN in stdout) == (lang not in model_langs)
    if len(model_langs) > 1:
        stdout = decoded(labels, model_langs, "test", "--langs", ",".join(model_langs))
        check_against_labels(stdout, finetuning_data, labels, model_langs, model_langs)


@pytest.mark.parametrize("labels", ["phn", "ltr"])
def test_report_table_equals_the_label_files(decoded, finetuning_data, labels, tmp_path):
    """python -m xlsr_plugin.report over a model's test_fi and test_sw outputs: per row, the
    label file's units and the score line's errors; the total row their sums."""
    model_langs, files, scores = REPORTED[labels], [], {}
    for lang in LANGS:
        stdout = decoded(labels, model_langs, f"test_{lang}")
        scores[lang] = check_against_labels(stdout, finetuning_data, labels, model_langs, [lang])
        files.append(tmp_path / f"generate-test_{lang}.txt")
        files[-1].write_text(stdout, encoding="utf-8")
    out = tmp_path / "report.json"
    subprocess.run([sys.executable, "-m", "xlsr_plugin.report", *map(str, files), "--json",
                    str(out)], check=True, capture_output=True, env=one_thread_env())
    rows = {row["language"]: row for row in json.loads(out.read_text())["languages"]}
    for lang, (_, rate, errors, reference_units) in scores.items():
        row = rows[lang]
        assert row["reference_units"] == reference_units
        assert row["substitutions"] + row["deletions"] + row["insertions"] == errors
        assert row["error_rate"] == pytest.approx(rate, abs=0.005)
    assert rows["all"]["reference_units"] == sum(s[3] for s in scores.values())


def test_hypotheses_do_not_depend_on_batch_mates(decoded, finetuning_data):
    """xlsr_tiny group-normalizes over time: each utterance is decoded alone, so its H- line
    (text and score) is the same in `test` with the default batch size, in `test` with every
    utterance fitting one batch, and in its own language's split."""
    together = "--langs", ",".join(LANGS)
    outputs = [decoded("phn", LANGS, "test", *together),
               decoded("phn", LANGS, "test", *together, "--max-tokens", "2000000")]
    tests = [printed(stdout) for stdout in outputs]
    alone = {}
    for lang in LANGS:
        refs, hyps, _ = printed(decoded("phn", LANGS, f"test_{lang}"))
        alone.update({len(alone) + i: hyps[i] for i in sorted(refs)})
    assert len({h for _, h in alone.values()}) > 1  # the model tells utterances apart
    for _, hyps, _ in tests:
        assert hyps == alone
    errors = [printed(decoded("phn", LANGS, f"test_{lang}"))[2][2] for lang in LANGS]
    assert tests[0][2][2] == tests[1][2][2] == sum(errors)


@pytest.mark.parametrize("labels,valid", [("phn", "valid"), ("ltr", "valid_fi")])
def test_validation_rate_equals_the_decoded_rate(model, decoded, labels, valid):
    """The log's last per / cer (the two-language model validated on `valid` of both, in
    training's batches) is what fairseq-generate scores on the same subset."""
    model_langs = REPORTED[labels]
    _, log = model(labels, model_langs)
    assert "validation and decoding batch one utterance at a time" in log  # xlsr_tiny: group norm
    rate = re.findall(rf"valid on '{valid}' subset \|.* {SCORER[labels]} ([\d.]+)", log)
    _, _, (_, _, errors, reference_units) = printed(decoded(
        labels, model_langs, valid, "--langs", ",".join(model_langs), "--max-tokens", "2000000"))
    assert rate and float(rate[-1]) == pytest.approx(100 * errors / reference_units, abs=5e-4)
