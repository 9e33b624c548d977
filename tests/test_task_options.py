"""Every task option works as `task.<option>=` with every config (no `+`): each config lists the
options of its task through config/<kind>/task_options/<task>.yaml, which must equal the task's
schema; the options the documentation writes are composed, as written, with every config."""
import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from xlsr_plugin.tasks._multilingual import UNSUPPORTED_OPTIONS
from xlsr_plugin.tasks.xlsr_finetuning import XlsrFinetuningConfig
from xlsr_plugin.tasks.xlsr_pretraining import XlsrPretrainingConfig

ROOT = Path(__file__).resolve().parents[1]
KINDS = {"pretraining": ("xlsr_pretraining", XlsrPretrainingConfig),
         "finetuning": ("xlsr_finetuning", XlsrFinetuningConfig)}
CONFIGS = [(kind, path.stem) for kind in KINDS for path in sorted((ROOT / "config" / kind).glob("*.yaml"))]
# Fields no user of these tasks sets: given by each config (_name, data) or read from other
# groups (interpolations), rejected by the multilingual tasks, or unused by them (TPU, scripts
# after saving, sequence-to-sequence evaluation, replacing bad audio in fine-tuning).
NOT_OPTIONS = {"_name", "data", "tpu", "seed", "train_subset", "best_checkpoint_metric",
               "save_dir", "restore_file", "eval_path", "valid_subset", "log_interval",
               "rebuild_batches", "post_save_script", "multi_corpus_sampling_weights",
               *UNSUPPORTED_OPTIONS}
NOT_FINETUNING_OPTIONS = {"bad_audio_max_share", "autoregressive", "eval_wer", "eval_wer_config",
                          "eval_wer_tokenizer", "eval_wer_post_process", "eval_bleu",
                          "eval_bleu_detok", "eval_bleu_detok_args", "eval_tokenized_bleu",
                          "eval_bleu_remove_bpe", "eval_bleu_args", "eval_bleu_print_samples"}
DOCS = [ROOT / "README.md", *sorted(ROOT.glob("docs/*.md")), *sorted(ROOT.glob("examples/**/*.md"))]


def user_options(schema):
    excluded = NOT_OPTIONS | (NOT_FINETUNING_OPTIONS if schema is XlsrFinetuningConfig else set())
    return {f.name for f in dataclasses.fields(schema)} - excluded


def documentation():
    return "\n".join(path.read_text(encoding="utf-8") for path in DOCS)


def documented_options():
    """Every `task.<option>` the documentation names."""
    return set(re.findall(r"\btask\.(\w+)", documentation()))


def documented_overrides():
    """{option: value} of every `task.<option>=<value>` the documentation writes (first value)."""
    found = {}
    for option, value in re.findall(r"\btask\.(\w+)=([^\s'\"`\\]+)", documentation()):
        found.setdefault(option, value)
    return found


@pytest.fixture(scope="module")
def composed():
    """{(config, "written" | "every"): its task node as fairseq-hydra-train composes it, with the
    documented options as written, or every option of its task set to null}."""
    requests = {}
    for kind, name in CONFIGS:
        options = user_options(KINDS[kind][1])
        written = {o: v for o, v in documented_overrides().items() if o in options | {"data"}}
        required = ["model.w2v_path=PRETRAINED.pt"] if kind == "finetuning" else []
        config_dir = str(ROOT / "config" / kind)
        requests[f"{name}:written"] = (config_dir, name, [
            *(f"task.{o}={v}" for o, v in written.items()), *required])
        requests[f"{name}:every"] = (config_dir, name, [
            "task.data=DATA", *(f"task.{o}=null" for o in sorted(options)), *required])
    script = [sys.executable, str(ROOT / "tests" / "_compose_configs.py"), json.dumps(requests)]
    proc = subprocess.run(script, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_options_file_is_the_task_schema(kind):
    task, schema = KINDS[kind]
    listed = OmegaConf.load(ROOT / "config" / kind / "task_options" / f"{task}.yaml")
    assert set(listed) == user_options(schema)
    defaults = OmegaConf.to_container(OmegaConf.structured(schema), enum_to_str=True)
    assert {key: defaults[key] for key in listed} == OmegaConf.to_container(listed)


def test_every_documented_option_is_an_option():
    options = user_options(XlsrPretrainingConfig) | user_options(XlsrFinetuningConfig) | {"data"}
    documented = documented_options()
    assert {"data", "langs"} <= set(documented_overrides()) and "corpus_alpha" in documented
    assert documented <= options


@pytest.mark.parametrize("kind, name", CONFIGS, ids=[name for _, name in CONFIGS])
def test_documented_options_as_written_with_every_config(composed, kind, name):
    task = composed[f"{name}:written"]
    assert "error" not in task, task.get("error")
    for option, value in documented_overrides().items():
        if option in user_options(KINDS[kind][1]) | {"data"}:
            assert task[option] == parsed(value), option


@pytest.mark.parametrize("kind, name", CONFIGS, ids=[name for _, name in CONFIGS])
def test_every_option_without_plus_with_every_config(composed, kind, name):
    task = composed[f"{name}:every"]
    assert "error" not in task, task.get("error")
    assert all(task[option] is None for option in user_options(KINDS[kind][1]))


def parsed(value):
    """A command-line value as Hydra reads it (`[a,b]` a list, `0.5` a float)."""
    return OverridesParser.create().parse_override(f"v={value}").value()
