"""fairseq-hydra-train, recording which utterances each training update used.

Writes `<lang>/<utterance index>` of every item of every training batch (one line per update)
to $XLSR_RECORD_BATCHES when set; then runs the stock entry point unchanged.
"""
import os

from fairseq.trainer import Trainer
from fairseq_cli.hydra_train import cli_main


def _recording(train_step):
    def wrapped(self, samples, *args, **kwargs):
        dataset = self.task.dataset(self.cfg.dataset.train_subset)
        items = []
        for sample in samples:
            if sample and "id" in sample:
                ids = sample["id"].numpy()
                positions = dataset.plan_positions[ids]
                for position, utterance in zip(positions, dataset.plan[ids] - dataset.offsets[positions]):
                    items.append(f"{dataset.names[position]}/{utterance}")
        with open(os.environ["XLSR_RECORD_BATCHES"], "a") as f:
            f.write(" ".join(sorted(items)) + "\n")
        return train_step(self, samples, *args, **kwargs)

    return wrapped


if os.environ.get("XLSR_RECORD_BATCHES"):
    Trainer.train_step = _recording(Trainer.train_step)

if __name__ == "__main__":
    cli_main()
