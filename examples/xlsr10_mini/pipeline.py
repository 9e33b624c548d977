"""The demo's stages in order; each reused when it completed with the same settings."""
import dataclasses
import logging
import os
import time
from typing import Callable, Dict

from examples.xlsr10_mini import corpus, finetune, pretrain, results
from examples.xlsr10_mini.settings import Settings
from examples.xlsr10_mini.stages import Runner

logger = logging.getLogger(__name__)

STAGES = ("corpus", "manifests", "pretrain", "finetune", "decode", "units")
LABELS = {name: f"stage {i}/{len(STAGES)} {name}" for i, name in enumerate(STAGES, 1)}


def run(s: Settings, report: Callable[[str], None] = logger.info) -> Dict:
    """Run every stage under ``s.out``; return the results table (see results.collect)."""
    start = time.time()
    runner = Runner(s.out, report, jobs=s.jobs, labels=LABELS)
    corpus.prepare(s, runner)
    runner.run_jobs("pretrain", pretrain.pretrain_jobs(s))
    runner.run_jobs("finetune", finetune.finetune_jobs(s))
    runner.run_jobs("decode", finetune.decode_jobs(s))
    units = analyze(s, runner)
    per = {}
    for model, lang in finetune.pairs(s):
        per.setdefault(model, {})[lang] = finetune.read_per(s, model, lang)
    missing = [f"{m}/{lang}" for m, by in per.items() for lang, v in by.items() if v is None]
    if missing:
        raise RuntimeError(f"no PER found in the decoding output of {missing}; see "
                           f"{os.path.join(s.out, 'logs')}")
    table = results.collect(per, s.low)
    extra = {"settings": dataclasses.asdict(s), "units": units,
             "seconds": {"this_run": round(time.time() - start, 1), **runner.timings}}
    table["files"] = results.write(table, extra, os.path.abspath(s.out))
    table["units"] = units
    table["seconds"] = extra["seconds"]
    return table


def analyze(s: Settings, runner: Runner) -> Dict[str, str]:
    """Stage 6: which codewords of XLSR-10's shared quantizer each language uses."""
    out_dir = os.path.abspath(os.path.join(s.out, "units"))
    params = {"pretrained": pretrain.pretrain_job(s, "xlsr10").params,
              "max_hours": s.units_hours}

    def action() -> None:
        from xlsr_plugin.analysis.units import analyze_units

        analyze_units(pretrain.checkpoint(s, "xlsr10"), corpus.data_dir(s), s.langs,
                      split="valid", out_dir=out_dir, max_hours=s.units_hours,
                      seed=s.seed, progress=False)

    runner.stage("units", params, action, clean=[out_dir])
    return {name: os.path.join(out_dir, name)
            for name in ("units.json", "counts.npz", "units.png", "usage.png")}
