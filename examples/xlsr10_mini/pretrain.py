"""Stage 3: pretraining through ``fairseq-hydra-train`` with ``config/pretraining/xlsr_mini``
(xlsr_tiny's size, the Large / XLSR-53 recipe), once per training seed.

Three kinds of models of the same architecture:

- ``xlsr10``: all ten languages, language sampling with exponent alpha (0.5, the paper's);
  ``xlsr10_alpha<a>`` the same with exponent ``a`` (the language sampling study);
- ``mono_<lang>``: one language alone (XLSR-Monolingual), as many updates;
- ``none``: no pretraining. fairseq's own initialization saved in fairseq's own checkpoint
  format by a run of one update at learning rate 0 (Adam with lr 0 and weight decay scaled by
  lr leaves every weight as initialized); fairseq cannot stop at 0 updates (``max_update=0``
  means no limit), and a checkpoint written by hand would duplicate what the trainer stores.
"""
import os
import re
from typing import Dict, List, Optional, Tuple

from examples.xlsr10_mini.corpus import ROOT, data_dir, data_params
from examples.xlsr10_mini.settings import Settings
from examples.xlsr10_mini.job_runner import Job, config_fingerprint, fairseq_tool, read_validations

USER_DIR = os.path.join(ROOT, "xlsr_plugin")
CONFIG_DIR = os.path.join(ROOT, "config", "pretraining")
ACCURACY = r"accuracy(_[a-z]+)?"  # contrastive accuracy, overall and per language
# xlsr_plugin's MultilingualDataset logs each epoch's sampling plan, one line per language.
_PLAN = re.compile(r"epoch 1 language (\S+): ([\d.]+) hours, (\d+) utterances, p=([\d.]+)")


def model_names(s: Settings) -> List[str]:
    return ["xlsr10"] + [f"mono_{lang}" for lang in s.mono] + ["none"]


def run_dir(s: Settings, name: str, seed: int) -> str:
    return os.path.abspath(os.path.join(s.out, f"seed{seed}", "pretrain", name))


def checkpoint(s: Settings, name: str, seed: int) -> str:
    return os.path.join(run_dir(s, name, seed), "checkpoints", "checkpoint_last.pt")


def job_name(name: str, seed: int) -> str:
    return f"pretrain_{name}_s{seed}"


def xlsr10_name(s: Settings, alpha: float) -> str:
    """XLSR-10's run at sampling exponent ``alpha``: the demo's own ``xlsr10`` at ``s.alpha``,
    else ``xlsr10_alpha<alpha>`` (same data, updates and seed)."""
    return "xlsr10" if alpha == s.alpha else f"{_ALPHA_PREFIX}{alpha:g}"


_ALPHA_PREFIX = "xlsr10_alpha"
# ``<model>_<layers>x<dims>``: the model with a Transformer of that size (the capacity study).
_SIZE = re.compile(r"(.+)_(\d+)x(\d+)")


def sized_name(name: str, layers: int, dims: int) -> str:
    return f"{name}_{layers}x{dims}"


def split_size(name: str) -> Tuple[str, Optional[Tuple[int, int]]]:
    """``mono_tr_4x128`` -> (``mono_tr``, (4, 128)); a name without a size -> (name, None)."""
    found = _SIZE.fullmatch(name)
    return (found.group(1), (int(found.group(2)), int(found.group(3)))) if found else (name, None)


def size_overrides(layers: int, dims: int) -> Dict[str, str]:
    """A Transformer of ``layers`` x ``dims`` in xlsr_tiny's proportions: feed-forward 2 x dims,
    one attention head per 32 dims (2 x 64 is xlsr_mini's own, 4 x 128 ``--preset long``'s)."""
    return {"model.encoder_layers": str(layers), "model.encoder_embed_dim": str(dims),
            "model.encoder_ffn_embed_dim": str(2 * dims),
            "model.encoder_attention_heads": str(max(1, dims // 32))}


def _overrides(s: Settings, name: str) -> Dict[str, str]:
    """Hydra overrides of each model on top of xlsr_mini."""
    if name == "none":
        return {"++task.langs": f"[{','.join(s.langs)}]", "optimization.max_update": "1",
                "optimization.lr": "[0.0]"}
    name, size = split_size(name)
    langs = s.langs if name.startswith("xlsr10") else [name.split("_", 1)[1]]
    alpha = float(name[len(_ALPHA_PREFIX):]) if name.startswith(_ALPHA_PREFIX) else s.alpha
    return {"++task.langs": f"[{','.join(langs)}]", "++task.sampling_alpha": repr(alpha),
            "optimization.max_update": str(s.pretrain_updates),
            "common.log_interval": str(max(1, s.pretrain_updates // 20)),
            **(size_overrides(*size) if size else {})}


def pretrain_job(s: Settings, name: str, seed: int) -> Job:
    folder = run_dir(s, name, seed)
    overrides = {"common.user_dir": USER_DIR, "task.data": data_dir(s),
                 "checkpoint.save_dir": os.path.join(folder, "checkpoints"),
                 "hydra.run.dir": os.path.join(folder, "hydra"), "common.seed": str(seed),
                 **_overrides(s, name)}
    command = [fairseq_tool("fairseq-hydra-train"), "--config-dir", CONFIG_DIR,
               "--config-name", s.pretrain_config] + [f"{k}={v}" for k, v in overrides.items()]
    params = {"data": data_params(s), "overrides": _overrides(s, name), "seed": seed,
              "config": config_fingerprint(ROOT, CONFIG_DIR, s.pretrain_config)}
    total = int(_overrides(s, name)["optimization.max_update"])
    return Job(job_name(name, seed), command, job_name(name, seed), params, total=total,
               cwd=folder, clean=[folder], stage="pretrain")


def pretrain_jobs(s: Settings, seed: int) -> List[Job]:
    return [pretrain_job(s, name, seed) for name in model_names(s)]


def accuracy_curve(s: Settings, name: str, seed: int) -> List[Dict[str, float]]:
    """Validation contrastive accuracy against updates: ``[{"num_updates", "accuracy",
    "accuracy_<lang>", ...}]`` from the run's log."""
    return read_validations(os.path.join(s.out, "logs", job_name(name, seed) + ".log"), ACCURACY)


def read_accuracy(s: Settings, name: str, seed: int) -> Dict[str, float]:
    """The last validation's contrastive accuracy, overall and per language (empty when the
    run never validated)."""
    curve = accuracy_curve(s, name, seed)
    return {k: v for k, v in curve[-1].items() if k != "num_updates"} if curve else {}


def read_sampling_plan(s: Settings, name: str, seed: int) -> Dict[str, Dict[str, float]]:
    """The first epoch's language sampling plan the run logged: ``{lang: {"hours",
    "utterances", "p"}}`` (empty for a run of one language, which is not resampled)."""
    path = os.path.join(s.out, "logs", job_name(name, seed) + ".log")
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8", errors="replace") as f:
        found = _PLAN.findall(f.read())
    return {lang: {"hours": float(h), "utterances": int(n), "p": float(p)}
            for lang, h, n, p in found}
