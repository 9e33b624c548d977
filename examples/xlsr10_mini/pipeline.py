"""The demo's stages in order; each reused when it completed with the same settings."""
import dataclasses
import logging
import os
import time
from typing import Callable, Dict, List

from examples.xlsr10_mini import corpus, finetune, pretrain, results, verdicts
from examples.xlsr10_mini.settings import Settings
from examples.xlsr10_mini.job_runner import Job, Runner

logger = logging.getLogger(__name__)

STAGES = ("corpus", "manifests", "pretrain", "finetune", "decode", "units")
LABELS = {name: f"stage {i}/{len(STAGES)} {name}" for i, name in enumerate(STAGES, 1)}


def run(s: Settings, report: Callable[[str], None] = logger.info) -> Dict:
    """Run every stage under ``s.out`` for every training seed; return the results table (see
    results.aggregate) with each seed's own table under ``per_seed``."""
    start = time.time()
    runner = Runner(s.out, report, jobs=s.jobs, labels=LABELS)
    corpus.prepare(s, runner)
    seeds = s.train_seeds
    # Every seed's runs in one pool, each started once the run it needs has completed (a
    # fine-tuning as soon as its pretraining is done), so that the cores stay busy throughout.
    runner.run_jobs("pretrain", [job for seed in seeds for job in training_jobs(s, seed)])
    units = analyze(s, runner, seeds[0])
    tables = [seed_table(s, seed) for seed in seeds]
    table = results.aggregate(tables, seeds)
    table["pretraining"] = results.pretraining_accuracy([t["pretraining"] for t in tables])
    table["per_seed"] = tables
    runs = [run for seed in seeds for run in finetune.demo_runs(s, seed)]
    table["verdicts"] = verdicts.verdicts(runs, lambda run: finetune.output_path(s, run))
    table["finetune_seeds"] = s.finetune_seeds
    extra = {"settings": dataclasses.asdict(s), "units": units,
             "seconds": {"this_run": round(time.time() - start, 1), **runner.timings}}
    table["files"] = results.write(table, extra, os.path.abspath(s.out))
    table["units"] = units
    table["seconds"] = extra["seconds"]
    return table


def training_jobs(s: Settings, seed: int) -> List[Job]:
    """Stages 3-5 of one pretraining seed: pretrainings first, then each fine-tuning (every
    fine-tuning seed) and its decoding."""
    runs = finetune.demo_runs(s, seed)
    return (pretrain.pretrain_jobs(s, seed) + finetune.finetune_jobs(s, runs)
            + finetune.decode_jobs(s, runs))


def seed_table(s: Settings, seed: int) -> Dict:
    """One seed's table (results.collect) with each pretrained model's last validation
    accuracy under ``pretraining``."""
    runs = finetune.demo_runs(s, seed)
    found = finetune.read_pers(s, runs)
    per = {}
    for run in runs:
        per.setdefault(run.model, {})[run.lang] = found[run.key]
    table = results.collect(per, s.low)
    table["seed"] = seed
    pretrained = [name for name in pretrain.model_names(s) if name != "none"]
    table["pretraining"] = {name: pretrain.read_accuracy(s, name, seed) for name in pretrained}
    table["curves"] = {
        "accuracy": {name: pretrain.accuracy_curve(s, name, seed) for name in pretrained},
        "valid_per": {run.folder: finetune.per_curve(s, run) for run in runs}}
    return table


def analyze(s: Settings, runner: Runner, seed: int) -> Dict[str, str]:
    """Stage 6: which codewords of XLSR-10's shared quantizer each language uses (the model of
    the first seed)."""
    out_dir = os.path.abspath(os.path.join(s.out, "units"))
    params = {"pretrained": pretrain.pretrain_job(s, "xlsr10", seed).params,
              "max_hours": s.units_hours}

    def action() -> None:
        from xlsr_plugin.analysis.units import analyze_units

        analyze_units(pretrain.checkpoint(s, "xlsr10", seed), corpus.data_dir(s), s.langs,
                      split="valid", out_dir=out_dir, max_hours=s.units_hours,
                      seed=seed, progress=False)

    runner.stage("units", params, action, clean=[out_dir])
    return {name: os.path.join(out_dir, name)
            for name in ("units.json", "counts.npz", "units.png", "usage.png")}
