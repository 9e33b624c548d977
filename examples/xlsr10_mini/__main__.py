"""``python -m examples.xlsr10_mini [options]``: see ``--help`` and the README's demo section."""
import logging
import os
import sys

from examples.xlsr10_mini import pipeline, results
from examples.xlsr10_mini.settings import parse
from examples.xlsr10_mini.job_runner import StageFailed, shown_path


def main(argv=None) -> int:
    # force: importing fairseq has already configured the root logger at DEBUG.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s",
                        force=True)
    s = parse(argv)
    labels = f"{s.finetune_minutes:g} min" if s.finetune_minutes else "the train split"
    print(f"XLSR-10 in miniature -> {os.path.abspath(s.out)}\n"
          f"  clips per language: high {s.clips_high}, mid {s.clips_mid}, low {s.clips_low}; "
          f"voices {s.speakers_high}, {s.speakers_mid}, {s.speakers_low}\n"
          f"  pretraining: {s.pretrain_updates} updates (XLSR-10 alpha={s.alpha}; monolingual "
          f"{','.join(s.mono) or 'none'}); fine-tuning: {s.finetune_updates} updates on "
          f"{labels} of {','.join(s.low)}; pretraining seeds {','.join(map(str, s.train_seeds))}, "
          f"{s.finetune_seeds} fine-tuning seed{'s' if s.finetune_seeds > 1 else ''} each",
          flush=True)
    try:
        table = pipeline.run(s, report=lambda line: print(line, flush=True))
    except StageFailed as err:
        print(f"\nERROR: {err}", file=sys.stderr)
        return 1
    print("\nPhone error rate (%) on the test sets:\n")
    print(results.markdown(table))
    files = dict(table["files"], **{k: v for k, v in table["units"].items()})
    print("Written:\n" + "\n".join(f"  {shown_path(p)}" for p in files.values()))
    print(f"(units.png / usage.png: which codewords of XLSR-10's shared quantizer each language "
          f"uses; wall time of this run {table['seconds']['this_run']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
