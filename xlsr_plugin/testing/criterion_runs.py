"""Real logging outputs of the xlsr criterion on a tiny model, and fairseq's own sync of them
across workers: for the criterion tests and bench/criterion_sync.py."""
import argparse
import os
from types import SimpleNamespace

import torch

from xlsr_plugin.models.xlsr import XlsrConfig, XlsrModel

LANGS = ["es", "fi", "sw"]


def build_model(latent_vars: int, latent_groups: int = 2) -> XlsrModel:
    torch.manual_seed(0)
    cfg = XlsrConfig(
        encoder_layers=1, encoder_embed_dim=32, encoder_ffn_embed_dim=64, encoder_attention_heads=2,
        conv_feature_layers="[(16, 10, 5)] + [(16, 3, 2)] * 4 + [(16, 2, 2)] * 2", final_dim=16,
        latent_vars=latent_vars, latent_groups=latent_groups, latent_dim=16, quantize_targets=True,
        num_negatives=5, conv_pos=8, conv_pos_groups=4,
    )
    return XlsrModel.build_model(cfg)


def batch(langs, seed: int = 1, samples: int = 16000):
    """Random audio of the given language ids; 20 masked frames per utterance."""
    torch.manual_seed(seed)
    # Fixed masks: fairseq draws them from an unseeded generator otherwise.
    mask = torch.zeros(len(langs), 49 * samples // 16000, dtype=torch.bool)
    mask[:, 5:25] = True
    return {
        "id": torch.arange(len(langs)),
        "net_input": {"source": torch.randn(len(langs), samples), "mask_indices": mask},
        "lang": torch.tensor(langs),
    }


def criterion_outputs(criterion, model, batches_langs, samples: int = 16000):
    """One logging output per batch, as Trainer.train_step collects them."""
    outputs = []
    for seed, langs in enumerate(batches_langs):
        torch.manual_seed(100 + seed)
        with torch.no_grad():
            outputs.append(criterion(model, batch(langs, seed, samples))[2])
    return outputs


def summed(logging_outputs):
    """What fairseq's Trainer._fast_stat_sync_sum makes of summable logging outputs: one output,
    the sum of every key of the first."""
    return {k: sum(log[k] for log in logging_outputs if k in log) for k in logging_outputs[0]}


class SyncingTrainer:
    """The parts of fairseq's Trainer that sync logging outputs across workers, on its real code."""

    def __init__(self, criterion, all_gather_list_size):
        from fairseq.tasks.fairseq_task import FairseqTask
        from fairseq.trainer import Trainer

        self.task = object.__new__(FairseqTask)
        self.criterion = criterion
        self.device = torch.device("cpu")
        self.data_parallel_process_group = None
        self.tpu = False
        self.cfg = SimpleNamespace(common=SimpleNamespace(all_gather_list_size=all_gather_list_size))
        for name in ("_aggregate_logging_outputs", "_fast_stat_sync_sum", "_all_gather_list_sync"):
            setattr(self, name, getattr(Trainer, name).__get__(self))

    def get_criterion(self):
        return self.criterion


def count_all_reduced_bytes(sent: list) -> None:
    """From now on, append to `sent` the bytes of every torch.distributed.all_reduce."""
    import torch.distributed as dist

    all_reduce = dist.all_reduce

    def counted_all_reduce(tensor, *args, **kwargs):
        sent.append(tensor.numel() * tensor.element_size())
        return all_reduce(tensor, *args, **kwargs)

    dist.all_reduce = counted_all_reduce


def sync_in_process(rank: int, world_size: int, folder: str) -> None:
    """Worker of a gloo process group: syncs its logging outputs (folder/inputs.pt) with
    Trainer._aggregate_logging_outputs; rank 0 writes the reduced metrics and the bytes every
    all_reduce sent to folder/result.pt."""
    import torch.distributed as dist
    from fairseq.logging import metrics

    from xlsr_plugin.criterions.xlsr import XlsrCriterion

    dist.init_process_group("gloo", init_method=f"file://{folder}/rendezvous", rank=rank, world_size=world_size)
    count_all_reduced_bytes(sent := [])
    inputs = torch.load(os.path.join(folder, "inputs.pt"), weights_only=False)
    criterion = XlsrCriterion(argparse.Namespace(languages=inputs["langs"]), **inputs["criterion_args"])
    trainer = SyncingTrainer(criterion, inputs["all_gather_list_size"])
    result = {}
    for phase, per_rank in inputs["phases"].items():
        outputs, ignore = per_rank[rank]
        sent.clear()
        synced, (sample_size,) = trainer._aggregate_logging_outputs(outputs, 1, ignore=ignore)
        with metrics.aggregate() as agg:
            XlsrCriterion.reduce_metrics(synced)
            values = {k: float(v) for k, v in agg.get_smoothed_values().items()}
        result[phase] = {"values": values, "sent": list(sent), "outputs": len(synced), "sample_size": float(sample_size)}
    if rank == 0:
        torch.save(result, os.path.join(folder, "result.pt"))
    dist.destroy_process_group()
