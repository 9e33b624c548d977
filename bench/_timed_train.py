"""fairseq-hydra-train, appending one JSON line per training update to the file named by
$XLSR_BENCH_TIMES (time.perf_counter() after the update, its model FLOPs, audio samples and loss)
and, at exit, the peak memory; the stock entry point otherwise unchanged (used by train_step.py)."""
import atexit
import json
import math
import os
import time

from _measures import CudaPeak, peak_rss_bytes, sync, update_flops
from fairseq.trainer import Trainer
from fairseq_cli.hydra_train import cli_main


def _append(record: dict) -> None:
    with open(os.environ["XLSR_BENCH_TIMES"], "a") as f:
        f.write(json.dumps(record) + "\n")


def _timed(train_step):
    def wrapped(self, samples, *args, **kwargs):
        output = train_step(self, samples, *args, **kwargs)
        sync(self.device.type)
        shapes = [tuple(s["net_input"]["source"].shape) for s in samples if s]
        _append({"t": time.perf_counter(), "flops": update_flops(self.get_model().cfg, shapes),
                 "samples": sum(b * t for b, t in shapes),
                 "loss": output["loss"] if output else math.nan})  # None: fp16 overflow, skipped
        return output

    return wrapped


def _peak_at_exit(cuda_peak) -> None:
    _append({"peak_bytes": cuda_peak.peak() if cuda_peak else peak_rss_bytes()})


if os.environ.get("XLSR_BENCH_TIMES"):
    Trainer.train_step = _timed(Trainer.train_step)
    atexit.register(_peak_at_exit, CudaPeak() if os.environ.get("XLSR_BENCH_DEVICE") == "cuda" else None)

if __name__ == "__main__":
    cli_main()
