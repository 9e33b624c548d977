"""Stages 4-5: CTC fine-tuning on phonemes (``config/finetuning/ctc_tiny``, task
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
from examples.xlsr10_mini.stages import Job, fairseq_tool

# On top of ctc_tiny, for a minute or two of labels: light time masking and no channel masking
# (ctc_tiny's 0.5 / 0.25 kept a few hundred updates in CTC's all-blank phase in our runs).
TUNING = {"model.mask_prob": "0.1", "model.mask_channel_prob": "0.0"}

_PER = re.compile(r"^Generate (\S+) with beam=\d+: PER: ([\d.]+) \((\d+) errors / (\d+) "
                  r"reference units", re.M)


def pairs(s: Settings) -> List[Tuple[str, str]]:
    """(model, language) pairs to fine-tune and test."""
    out = []
    for model in model_names(s):
        langs = [model.split("_", 1)[1]] if model.startswith("mono_") else s.low
        out += [(model, lang) for lang in langs if lang in s.low]
    return out


def run_dir(s: Settings, model: str, lang: str) -> str:
    return os.path.abspath(os.path.join(s.out, "finetune", f"{model}_{lang}"))


def finetune_job(s: Settings, model: str, lang: str) -> Job:
    folder = run_dir(s, model, lang)
    overrides = {
        "common.user_dir": USER_DIR, "task.data": data_dir(s), "task.langs": f"[{lang}]",
        "task.labels": "phn", "model.w2v_path": checkpoint(s, model),
        "checkpoint.save_dir": os.path.join(folder, "checkpoints"),
        "hydra.run.dir": os.path.join(folder, "hydra"), "common.seed": str(s.seed),
        "optimization.max_update": str(s.finetune_updates),
        "common.log_interval": str(max(1, s.finetune_updates // 10)),
        "dataset.train_subset": finetune_subset(s), "dataset.valid_subset": "valid",
        **TUNING, "optimization.lr": f"[{s.finetune_lr}]",
    }
    command = [fairseq_tool("fairseq-hydra-train"),
               "--config-dir", os.path.join(ROOT, "config", "finetuning"),
               "--config-name", "ctc_tiny"] + [f"{k}={v}" for k, v in overrides.items()]
    params = {"pretrained": pretrain_job(s, model).params, "updates": s.finetune_updates,
              "lang": lang, "lr": s.finetune_lr, "tuning": TUNING,
              "subset": finetune_subset(s)}
    return Job(f"finetune_{model}_{lang}", command, f"finetune_{model}_{lang}", params,
               total=s.finetune_updates, cwd=folder, clean=[folder])


def finetuned_checkpoint(s: Settings, model: str, lang: str) -> str:
    """The checkpoint with the best validation PER (``checkpoint.best_checkpoint_metric=uer``)."""
    return os.path.join(run_dir(s, model, lang), "checkpoints", "checkpoint_best.pt")


def decode_job(s: Settings, model: str, lang: str) -> Job:
    folder = os.path.join(run_dir(s, model, lang), "decode")
    command = [fairseq_tool("fairseq-generate"), data_dir(s), "--user-dir", USER_DIR,
               "--task", "xlsr_finetuning", "--labels", "phn", "--langs", repr([lang]),
               "--path", finetuned_checkpoint(s, model, lang), "--gen-subset", f"test_{lang}",
               "--scoring", "per", "--results-path", folder]
    params = finetune_job(s, model, lang).params
    return Job(f"decode_{model}_{lang}", command, f"decode_{model}_{lang}", params,
               cwd=folder, clean=[folder])


def finetune_jobs(s: Settings) -> List[Job]:
    return [finetune_job(s, model, lang) for model, lang in pairs(s)]


def decode_jobs(s: Settings) -> List[Job]:
    return [decode_job(s, model, lang) for model, lang in pairs(s)]


def read_per(s: Settings, model: str, lang: str) -> Optional[Dict]:
    """PER of a finished decode: ``{"per", "errors", "units"}`` from fairseq-generate's output."""
    folder = os.path.join(run_dir(s, model, lang), "decode")
    texts = []
    for path in (os.path.join(folder, f"generate-test_{lang}.txt"),
                 os.path.join(s.out, "logs", f"decode_{model}_{lang}.log")):
        if os.path.exists(path):
            with open(path, encoding="utf-8", errors="replace") as f:
                texts.append(f.read())
    for text in texts:
        found = _PER.findall(text)
        if found:
            _, per, errors, units = found[-1]
            return {"per": float(per), "errors": int(errors), "units": int(units)}
    return None
