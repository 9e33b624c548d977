"""Stages 4-5: CTC fine-tuning on phonemes (``config/finetuning/ctc_mini``, task
``xlsr_finetuning``) of each pretrained model on each low-resource language's few minutes of
labels, then ``fairseq-generate --scoring per`` on that language's test set.

Each monolingual model is fine-tuned on its own language only (the paper's XLSR-Monolingual);
XLSR-10 and the no-pretraining baseline on every low-resource language.
"""
import os
import re
from typing import Dict, List, Optional, Tuple

from examples.xlsr10_mini.corpus import ROOT, data_dir, finetune_subset
from examples.xlsr10_mini.pretrain import USER_DIR, checkpoint, model_names, pretrain_job
from examples.xlsr10_mini.settings import Settings
from examples.xlsr10_mini.stages import Job, config_fingerprint, fairseq_tool, read_validations

CONFIG_DIR = os.path.join(ROOT, "config", "finetuning")

_PER = re.compile(r"^Generate (\S+) with beam=\d+: PER: ([\d.]+) \((\d+) errors / (\d+) "
                  r"reference units", re.M)


def pairs(s: Settings) -> List[Tuple[str, str]]:
    """(model, language) pairs to fine-tune and test."""
    out = []
    for model in model_names(s):
        langs = [model.split("_", 1)[1]] if model.startswith("mono_") else s.low
        out += [(model, lang) for lang in langs if lang in s.low]
    return out


def run_dir(s: Settings, model: str, lang: str, seed: int) -> str:
    return os.path.abspath(os.path.join(s.out, f"seed{seed}", "finetune", f"{model}_{lang}"))


def finetune_job(s: Settings, model: str, lang: str, seed: int) -> Job:
    folder = run_dir(s, model, lang, seed)
    overrides = {
        "common.user_dir": USER_DIR, "task.data": data_dir(s), "task.langs": f"[{lang}]",
        "task.labels": "phn", "model.w2v_path": checkpoint(s, model, seed),
        "checkpoint.save_dir": os.path.join(folder, "checkpoints"),
        "hydra.run.dir": os.path.join(folder, "hydra"), "common.seed": str(seed),
        "optimization.max_update": str(s.finetune_updates),
        "common.log_interval": str(max(1, s.finetune_updates // 10)),
        "dataset.train_subset": finetune_subset(s), "dataset.valid_subset": "valid",
        "optimization.lr": f"[{s.finetune_lr}]",
    }
    command = [fairseq_tool("fairseq-hydra-train"), "--config-dir", CONFIG_DIR,
               "--config-name", s.finetune_config] + [f"{k}={v}" for k, v in overrides.items()]
    params = {"pretrained": pretrain_job(s, model, seed).params, "updates": s.finetune_updates,
              "lang": lang, "lr": s.finetune_lr, "subset": finetune_subset(s),
              "config": config_fingerprint(ROOT, CONFIG_DIR, s.finetune_config)}
    name = f"finetune_{model}_{lang}_s{seed}"
    return Job(name, command, name, params, total=s.finetune_updates, cwd=folder, clean=[folder],
               stage="finetune", needs=[pretrain_job(s, model, seed).marker])


def finetuned_checkpoint(s: Settings, model: str, lang: str, seed: int) -> str:
    """The checkpoint with the best validation PER (``checkpoint.best_checkpoint_metric=uer``)."""
    return os.path.join(run_dir(s, model, lang, seed), "checkpoints", "checkpoint_best.pt")


def decode_job(s: Settings, model: str, lang: str, seed: int) -> Job:
    folder = os.path.join(run_dir(s, model, lang, seed), "decode")
    command = [fairseq_tool("fairseq-generate"), data_dir(s), "--user-dir", USER_DIR,
               "--task", "xlsr_finetuning", "--labels", "phn", "--langs", repr([lang]),
               "--path", finetuned_checkpoint(s, model, lang, seed), "--gen-subset",
               f"test_{lang}", "--scoring", "per", "--results-path", folder]
    params = finetune_job(s, model, lang, seed).params
    name = f"decode_{model}_{lang}_s{seed}"
    return Job(name, command, name, params, cwd=folder, clean=[folder], stage="decode",
               needs=[finetune_job(s, model, lang, seed).marker])


def finetune_jobs(s: Settings, seed: int) -> List[Job]:
    return [finetune_job(s, model, lang, seed) for model, lang in pairs(s)]


def decode_jobs(s: Settings, seed: int) -> List[Job]:
    return [decode_job(s, model, lang, seed) for model, lang in pairs(s)]


def per_curve(s: Settings, model: str, lang: str, seed: int) -> List[Dict[str, float]]:
    """Validation PER (fairseq's ``uer``) against fine-tuning updates, from the run's log."""
    return read_validations(os.path.join(s.out, "logs", f"finetune_{model}_{lang}_s{seed}.log"),
                            "uer")


def read_per(s: Settings, model: str, lang: str, seed: int) -> Optional[Dict]:
    """PER of a finished decode: ``{"per", "errors", "units"}`` from fairseq-generate's output."""
    folder = os.path.join(run_dir(s, model, lang, seed), "decode")
    texts = []
    for path in (os.path.join(folder, f"generate-test_{lang}.txt"),
                 os.path.join(s.out, "logs", f"decode_{model}_{lang}_s{seed}.log")):
        if os.path.exists(path):
            with open(path, encoding="utf-8", errors="replace") as f:
                texts.append(f.read())
    for text in texts:
        found = _PER.findall(text)
        if found:
            _, per, errors, units = found[-1]
            return {"per": float(per), "errors": int(errors), "units": int(units)}
    return None
