"""python -m xlsr_plugin.health LOG_OR_TBDIR: is this run learning?

Reads a fairseq training log (or a TensorBoard folder) of a wav2vec 2.0 / XLSR pretraining or
CTC fine-tuning, made with this plugin or with stock audio_pretraining / audio_finetuning, and
prints the verdict of each detector (chance, collapse, divergence, blank) with its evidence.
Exit status 0: none fired; 1: one fired; 2: the input is not a fairseq log.
"""
import argparse
import sys
from dataclasses import fields, replace
from typing import List, Optional, Tuple

from xlsr_plugin.health.log_reader import LogError, RunLog, read_run
from xlsr_plugin.health.records import RunSettings, Thresholds, run_settings
from xlsr_plugin.health.verdict import judge

# Stock wav2vec 2.0 (Wav2Vec2Config) when the log does not print its configuration.
STOCK = RunSettings(negatives=100, codebook=640)


def boolean(text: str) -> bool:
    if text.lower() not in ("true", "false"):
        raise argparse.ArgumentTypeError(f"{text!r}: true or false")
    return text.lower() == "true"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m xlsr_plugin.health", description=__doc__.split("\n\n")[0])
    p.add_argument("log", metavar="LOG_OR_TBDIR", help="fairseq training log, or common.tensorboard_logdir")
    p.add_argument("--negatives", type=int, help="K = num_negatives + cross_sample_negatives (default: the log's, else 100)")
    p.add_argument("--codebook", type=int, help="latent_vars x latent_groups (default: the log's, else 640)")
    p.add_argument("--freeze-updates", type=int, help="model.freeze_finetune_updates (default: the log's, else 0)")
    for f in fields(Thresholds):
        p.add_argument("--" + f.name.replace("_", "-"), type=boolean if f.type is bool else type(f.default),
                       default=f.default, help=f"task.health_{f.name} (default {f.default})")
    return p


def settings(log: RunLog, args) -> Tuple[RunSettings, List[str]]:
    """The run's settings from the options, else the log's printed configuration, else stock
    wav2vec 2.0's; and a note for each one assumed."""
    run = run_settings(log.config.get("model") or {}, log.config.get("task") or {})
    given = {"negatives": args.negatives, "codebook": args.codebook, "freeze_finetune_updates": args.freeze_updates}
    run = replace(run, **{k: v for k, v in given.items() if v is not None})
    notes = []
    pretraining = any(r.get("accuracy") is not None or r.get("code_perplexity") is not None
                      for _, r in log.events)
    for name in ("negatives", "codebook"):
        if getattr(run, name) is None and pretraining:
            run = replace(run, **{name: getattr(STOCK, name)})
            notes.append(f"{name} {getattr(STOCK, name)} assumed (stock wav2vec 2.0; not in the log: --{name})")
    return run, notes


def main(argv: Optional[List[str]] = None) -> int:
    args = parser().parse_args(argv)
    try:
        log = read_run(args.log)
    except (LogError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    run, notes = settings(log, args)
    thresholds = Thresholds(**{f.name: getattr(args, f.name) for f in fields(Thresholds)})
    print(f"{args.log}: {sum(k == 'train' for k, _ in log.events)} training lines, "
          f"{sum(k == 'valid' for k, _ in log.events)} validation lines")
    for note in notes:
        print(f"note: {note}")
    verdicts = judge(log, thresholds, run)
    for v in verdicts:
        print(f"{v.detector}: {v.status}: {v.detail}")
        for finding in v.findings:
            print("  " + finding.message().replace("\n", "\n  "))
    return 1 if any(v.status == "FIRED" for v in verdicts) else 0


if __name__ == "__main__":
    sys.exit(main())
