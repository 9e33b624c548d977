"""Stages 4-5: CTC fine-tuning on phonemes (``config/finetuning/ctc_mini``, task
``xlsr_finetuning``) of each pretrained model on each low-resource language's few minutes of
labels, then ``fairseq-generate --scoring per`` on that language's test set.

Each monolingual model is fine-tuned on its own language only (the paper's XLSR-Monolingual);
XLSR-10 and the no-pretraining baseline on every low-resource language. A ``FineTuning`` names
one such run; the studies (``examples/xlsr10_mini/studies``) build their own, on other data or
subsets, from pretraining runs kept in the demo's folder.
"""
import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from examples.xlsr10_mini.corpus import ROOT, data_dir, finetune_subset
from examples.xlsr10_mini.pretrain import USER_DIR, checkpoint, model_names, pretrain_job
from examples.xlsr10_mini.settings import Settings
from examples.xlsr10_mini.job_runner import Job, config_fingerprint, fairseq_tool, read_validations
from xlsr_plugin.scoring.score_line import read_score_line

CONFIG_DIR = os.path.join(ROOT, "config", "finetuning")

@dataclass
class FineTuning:
    """One fine-tuning run: the pretraining run ``model`` of ``source`` (its folder, data and
    settings) fine-tuned on ``lang``'s ``subset`` of the DATA folder ``data`` with ``seed``.
    ``data_params`` (what made ``data`` when it is not ``source``'s) and ``tag`` (told apart
    from other runs of one model and language) go into the marker and the run's name."""
    model: str
    lang: str
    seed: int
    source: Settings
    data: str
    subset: str
    data_params: Optional[Dict] = None
    tag: str = ""

    @property
    def key(self) -> str:
        """``<model>_<lang>[_<tag>]``: the run's folder and, with the seed, its logs."""
        return "_".join(part for part in (self.model, self.lang, self.tag) if part)


def demo_run(s: Settings, model: str, lang: str, seed: int) -> FineTuning:
    """The demo's fine-tuning of ``model`` on ``lang``: its own data, ``--finetune-minutes``."""
    return FineTuning(model, lang, seed, s, data_dir(s), finetune_subset(s))


def pairs(s: Settings) -> List[Tuple[str, str]]:
    """(model, language) pairs to fine-tune and test."""
    out = []
    for model in model_names(s):
        langs = [model.split("_", 1)[1]] if model.startswith("mono_") else s.low
        out += [(model, lang) for lang in langs if lang in s.low]
    return out


def demo_runs(s: Settings, seed: int) -> List[FineTuning]:
    return [demo_run(s, model, lang, seed) for model, lang in pairs(s)]


def run_dir(s: Settings, run: FineTuning) -> str:
    return os.path.abspath(os.path.join(s.out, f"seed{run.seed}", "finetune", run.key))


def finetune_job(s: Settings, run: FineTuning) -> Job:
    """``run`` as a fairseq-hydra-train job under ``s.out``."""
    folder = run_dir(s, run)
    overrides = {
        "common.user_dir": USER_DIR, "task.data": run.data, "task.langs": f"[{run.lang}]",
        "task.labels": "phn", "model.w2v_path": checkpoint(run.source, run.model, run.seed),
        "checkpoint.save_dir": os.path.join(folder, "checkpoints"),
        "hydra.run.dir": os.path.join(folder, "hydra"), "common.seed": str(run.seed),
        "optimization.max_update": str(s.finetune_updates),
        # mini/ctc.yaml freezes the Transformer for 500 of 2,000 updates: keep that quarter.
        "model.freeze_finetune_updates": str(s.finetune_updates // 4),
        "common.log_interval": str(max(1, s.finetune_updates // 10)),
        "dataset.train_subset": run.subset, "dataset.valid_subset": "valid",
        "optimization.lr": f"[{s.finetune_lr}]",
    }
    command = [fairseq_tool("fairseq-hydra-train"), "--config-dir", CONFIG_DIR,
               "--config-name", s.finetune_config] + [f"{k}={v}" for k, v in overrides.items()]
    params = {"pretrained": pretrain_job(run.source, run.model, run.seed).params,
              "updates": s.finetune_updates, "lang": run.lang, "lr": s.finetune_lr,
              "subset": run.subset, "config": config_fingerprint(ROOT, CONFIG_DIR,
                                                                 s.finetune_config)}
    if run.data_params is not None:
        params["data"] = run.data_params
    # It starts once its pretraining completed; one kept in another folder (a study's model
    # from the demo's folder) is run to completion by that folder's runner first.
    same_folder = os.path.abspath(run.source.out) == os.path.abspath(s.out)
    needs = [pretrain_job(run.source, run.model, run.seed).marker] if same_folder else []
    name = f"finetune_{run.key}_s{run.seed}"
    return Job(name, command, name, params, total=s.finetune_updates, cwd=folder, clean=[folder],
               stage="finetune", needs=needs)


def finetuned_checkpoint(s: Settings, run: FineTuning) -> str:
    """The checkpoint with the best validation PER (``checkpoint.best_checkpoint_metric=uer``)."""
    return os.path.join(run_dir(s, run), "checkpoints", "checkpoint_best.pt")


def decode_job(s: Settings, run: FineTuning) -> Job:
    folder = os.path.join(run_dir(s, run), "decode")
    command = [fairseq_tool("fairseq-generate"), run.data, "--user-dir", USER_DIR,
               "--task", "xlsr_finetuning", "--labels", "phn", "--langs", repr([run.lang]),
               "--path", finetuned_checkpoint(s, run), "--gen-subset",
               f"test_{run.lang}", "--scoring", "per", "--results-path", folder]
    finetuning = finetune_job(s, run)
    name = f"decode_{run.key}_s{run.seed}"
    return Job(name, command, name, finetuning.params, cwd=folder, clean=[folder],
               stage="decode", needs=[finetuning.marker])


def finetune_jobs(s: Settings, runs: List[FineTuning]) -> List[Job]:
    return [finetune_job(s, run) for run in runs]


def decode_jobs(s: Settings, runs: List[FineTuning]) -> List[Job]:
    return [decode_job(s, run) for run in runs]


def per_curve(s: Settings, run: FineTuning) -> List[Dict[str, float]]:
    """Validation PER (fairseq's ``uer``) against fine-tuning updates, from the run's log."""
    return read_validations(os.path.join(s.out, "logs", f"finetune_{run.key}_s{run.seed}.log"),
                            "uer")


def read_per(s: Settings, run: FineTuning) -> Optional[Dict]:
    """PER of a finished decode: ``{"per", "errors", "units"}`` from fairseq-generate's output."""
    folder = os.path.join(run_dir(s, run), "decode")
    texts = []
    for path in (os.path.join(folder, f"generate-test_{run.lang}.txt"),
                 os.path.join(s.out, "logs", f"decode_{run.key}_s{run.seed}.log")):
        if os.path.exists(path):
            with open(path, encoding="utf-8", errors="replace") as f:
                texts.append(f.read())
    return next(filter(None, map(per_of, texts)), None)


def per_of(text: str) -> Optional[Dict]:
    """``{"per", "errors", "units"}`` of the `per` scorer's line in ``text`` (the PER as it
    prints it, to two decimals), or None."""
    score = read_score_line(text)
    if not score or score.scorer != "PER" or score.errors is None:
        return None
    per = 100.0 * score.errors / score.reference_units if score.reference_units else 0.0
    return {"per": round(per, 2), "errors": score.errors, "units": score.reference_units}


def read_pers(s: Settings, runs: List[FineTuning]) -> Dict[str, Dict]:
    """``{run.key: PER}`` of finished decodes; an error lists the runs without one."""
    per = {run.key: read_per(s, run) for run in runs}
    missing = sorted(key for key, value in per.items() if value is None)
    if missing:
        raise RuntimeError(f"no PER found in the decoding output of {missing}; see "
                           f"{os.path.join(s.out, 'logs')}")
    return per
