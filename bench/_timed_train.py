"""fairseq-hydra-train, appending time.perf_counter() after every training update to the file
named by $XLSR_BENCH_TIMES; the stock entry point otherwise unchanged (used by train_step.py)."""
import os
import time

from fairseq.trainer import Trainer
from fairseq_cli.hydra_train import cli_main


def _timed(train_step):
    def wrapped(self, *args, **kwargs):
        output = train_step(self, *args, **kwargs)
        with open(os.environ["XLSR_BENCH_TIMES"], "a") as f:
            f.write(f"{time.perf_counter():.6f}\n")
        return output

    return wrapped


if os.environ.get("XLSR_BENCH_TIMES"):
    Trainer.train_step = _timed(Trainer.train_step)

if __name__ == "__main__":
    cli_main()
