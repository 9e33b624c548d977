"""Stages 4-5: CTC fine-tuning on phonemes (``config/finetuning/ctc_mini``, task
``xlsr_finetuning``) of each pretrained model on each low-resource language's few minutes of
labels, then ``fairseq-generate --scoring per`` on that language's test set.

Each monolingual model is fine-tuned on its own language only (the paper's XLSR-Monolingual);
XLSR-10 and the no-pretraining baseline on every low-resource language. A ``FineTuning`` names
one such run; the studies (``examples/xlsr10_mini/studies``) build their own, on other data or
subsets, from pretraining runs kept in the demo's folder.
"""
import os
from dataclasses import dataclass, replace
from typing import Dict, List, Optional, Sequence, Tuple

from examples.xlsr10_mini.corpus import ROOT, data_dir, finetune_subset
from examples.xlsr10_mini.pretrain import USER_DIR, checkpoint, model_names, pretrain_job
from examples.xlsr10_mini.settings import Settings
from examples.xlsr10_mini.job_runner import Job, config_fingerprint, fairseq_tool, read_validations
from xlsr_plugin.scoring.score_line import read_score_line

CONFIG_DIR = os.path.join(ROOT, "config", "finetuning")

@dataclass
class FineTuning:
    """One fine-tuning run: the pretraining run ``model`` of ``source`` (its folder, data and
    settings) of pretraining seed ``seed``, fine-tuned on ``lang``'s ``subset`` of the DATA
    folder ``data`` with ``finetune_seed`` (None: ``seed``). ``data_params`` (what made ``data``
    when it is not ``source``'s) and ``tag`` (told apart from other runs of one model and
    language) go into the marker and the run's name."""
    model: str
    lang: str
    seed: int
    source: Settings
    data: str
    subset: str
    data_params: Optional[Dict] = None
    tag: str = ""
    finetune_seed: Optional[int] = None

    @property
    def key(self) -> str:
        """``<model>_<lang>[_<tag>]``: what the run fine-tunes and tests (a table cell)."""
        return "_".join(part for part in (self.model, self.lang, self.tag) if part)

    @property
    def common_seed(self) -> int:
        return self.seed if self.finetune_seed is None else self.finetune_seed

    @property
    def folder(self) -> str:
        """``key``, and ``_ft<seed>`` for a fine-tuning seed other than the pretraining's."""
        return self.key + ("" if self.common_seed == self.seed else f"_ft{self.common_seed}")

    @property
    def name(self) -> str:
        """The run's name in logs and markers (``folder`` and the pretraining seed)."""
        return f"{self.folder}_s{self.seed}"


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
    """Every fine-tuning of pretraining seed ``seed``'s models, ``--finetune-seeds`` each."""
    return with_finetune_seeds(s, [demo_run(s, model, lang, seed) for model, lang in pairs(s)])


def with_finetune_seeds(s: Settings, runs: Sequence[FineTuning]) -> List[FineTuning]:
    """Each run without a fine-tuning seed of its own, once per ``--finetune-seeds`` seed."""
    out = []
    for run in runs:
        if run.finetune_seed is not None:
            out.append(run)
        else:
            out += [replace(run, finetune_seed=f) for f in s.finetune_seed_list(run.seed)]
    return out


def run_dir(s: Settings, run: FineTuning) -> str:
    return os.path.abspath(os.path.join(s.out, f"seed{run.seed}", "finetune", run.folder))


def finetune_job(s: Settings, run: FineTuning) -> Job:
    """``run`` as a fairseq-hydra-train job under ``s.out``."""
    folder = run_dir(s, run)
    overrides = {
        "common.user_dir": USER_DIR, "task.data": run.data, "task.langs": f"[{run.lang}]",
        "task.labels": "phn", "model.w2v_path": checkpoint(run.source, run.model, run.seed),
        "checkpoint.save_dir": os.path.join(folder, "checkpoints"),
        "hydra.run.dir": os.path.join(folder, "hydra"), "common.seed": str(run.common_seed),
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
    if run.common_seed != run.seed:
        params["finetune_seed"] = run.common_seed
    # It starts once its pretraining completed; one kept in another folder (a study's model
    # from the demo's folder) is run to completion by that folder's runner first.
    same_folder = os.path.abspath(run.source.out) == os.path.abspath(s.out)
    needs = [pretrain_job(run.source, run.model, run.seed).marker] if same_folder else []
    name = f"finetune_{run.name}"
    return Job(name, command, name, params, total=s.finetune_updates, cwd=folder, clean=[folder],
               stage="finetune", needs=needs)


def finetuned_checkpoint(s: Settings, run: FineTuning) -> str:
    """The checkpoint with the best validation PER (``checkpoint.best_checkpoint_metric=per``)."""
    return os.path.join(run_dir(s, run), "checkpoints", "checkpoint_best.pt")


def decode_job(s: Settings, run: FineTuning) -> Job:
    folder = os.path.join(run_dir(s, run), "decode")
    command = [fairseq_tool("fairseq-generate"), run.data, "--user-dir", USER_DIR,
               "--task", "xlsr_finetuning", "--labels", "phn", "--langs", repr([run.lang]),
               "--path", finetuned_checkpoint(s, run), "--gen-subset",
               f"test_{run.lang}", "--scoring", "per", "--results-path", folder]
    finetuning = finetune_job(s, run)
    name = f"decode_{run.name}"
    return Job(name, command, name, finetuning.params, cwd=folder, clean=[folder],
               stage="decode", needs=[finetuning.marker])


def finetune_jobs(s: Settings, runs: List[FineTuning]) -> List[Job]:
    return [finetune_job(s, run) for run in runs]


def decode_jobs(s: Settings, runs: List[FineTuning]) -> List[Job]:
    return [decode_job(s, run) for run in runs]


def per_curve(s: Settings, run: FineTuning) -> List[Dict[str, float]]:
    """Validation PER (the task's ``per``, counted as the `per` scorer counts it; fairseq's
    ``uer`` also counts ``|``) against fine-tuning updates, from the run's log."""
    return read_validations(os.path.join(s.out, "logs", f"finetune_{run.name}.log"), "per")


def output_path(s: Settings, run: FineTuning) -> str:
    """fairseq-generate's output of ``run``'s decoding (H-, T- lines and the score line)."""
    return os.path.join(run_dir(s, run), "decode", f"generate-test_{run.lang}.txt")


def read_per(s: Settings, run: FineTuning) -> Optional[Dict]:
    """PER of a finished decode: ``{"per", "errors", "units"}`` from fairseq-generate's output."""
    texts = []
    for path in (output_path(s, run), os.path.join(s.out, "logs", f"decode_{run.name}.log")):
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
    """``{run.key: PER}`` of finished decodes, the fine-tuning seeds of a key pooled (errors
    and units summed: the PER of all their hypotheses; ``runs`` holds each seed's PER); an
    error lists the runs without one."""
    found = {run.name: (run.key, read_per(s, run)) for run in runs}
    missing = sorted(name for name, (_, value) in found.items() if value is None)
    if missing:
        raise RuntimeError(f"no PER found in the decoding output of {missing}; see "
                           f"{os.path.join(s.out, 'logs')}")
    pooled: Dict[str, Dict] = {}
    for key, value in found.values():
        cell = pooled.setdefault(key, {"errors": 0, "units": 0, "runs": []})
        cell["errors"] += value["errors"]
        cell["units"] += value["units"]
        cell["runs"].append(value["per"])
    for cell in pooled.values():
        cell["per"] = round(100.0 * cell["errors"] / cell["units"], 2) if cell["units"] else 0.0
    return pooled
