"""Rename an xlsr checkpoint's components to stock fairseq ones, for tools without the plugin.

    python -m xlsr_plugin.to_stock checkpoint_best.pt wav2vec2_checkpoint.pt

The weights are untouched (the `xlsr` model's state dict is stock `wav2vec2`'s); the config says
`wav2vec2` / `audio_pretraining` / `wav2vec` instead of `xlsr` / `xlsr_pretraining` / `xlsr`,
so stock fairseq, Hugging Face's and torchaudio's converters load the file without --user-dir.
"""
import argparse
import dataclasses
import logging
import os
import sys

import torch
from fairseq.criterions.wav2vec_criterion import Wav2VecCriterionConfig
from fairseq.models.wav2vec.wav2vec2 import Wav2Vec2Config
from fairseq.tasks.audio_pretraining import AudioPretrainingConfig
from omegaconf import OmegaConf

from xlsr_plugin.checkpoint_loading import TRUST_HELP, UntrustedCheckpoint, load_checkpoint

logger = logging.getLogger(__name__)

STOCK = {
    # group: (plugin name, stock name, stock config dataclass)
    "model": ("xlsr", "wav2vec2", Wav2Vec2Config),
    "task": ("xlsr_pretraining", "audio_pretraining", AudioPretrainingConfig),
    "criterion": ("xlsr", "wav2vec", Wav2VecCriterionConfig),
}


def as_stock(group_cfg: dict, stock_name: str, stock_dataclass) -> dict:
    """Only the fields the stock dataclass knows (the plugin's extras are dropped)."""
    known = {f.name for f in dataclasses.fields(stock_dataclass)}
    stock = {k: v for k, v in group_cfg.items() if k in known}
    stock["_name"] = stock_name
    return stock


def stock_checkpoint_state(state: dict) -> dict:
    cfg = state["cfg"]
    cfg = OmegaConf.to_container(cfg) if OmegaConf.is_config(cfg) else dict(cfg)
    for group, (ours, stock_name, stock_dataclass) in STOCK.items():
        group_cfg = cfg.get(group)
        if group_cfg is None or group_cfg.get("_name") != ours:
            raise ValueError(f"expected {group}._name={ours!r} in the checkpoint, found {group_cfg and group_cfg.get('_name')!r}")
        cfg[group] = as_stock(group_cfg, stock_name, stock_dataclass)
    return dict(state, cfg=cfg)


def convert(source: str, destination: str, trust: bool = False) -> None:
    state = load_checkpoint(source, trust=trust)
    stock = stock_checkpoint_state(state)
    tmp = destination + ".tmp"
    torch.save(stock, tmp)
    os.replace(tmp, destination)
    logger.info("wrote %s (model %s, task %s)", destination, stock["cfg"]["model"]["_name"], stock["cfg"]["task"]["_name"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="checkpoint written by xlsr_pretraining")
    parser.add_argument("destination", help="where to write the stock wav2vec2 checkpoint")
    parser.add_argument("--trust-checkpoint", action="store_true", help=TRUST_HELP)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        convert(args.source, args.destination, trust=args.trust_checkpoint)
    except UntrustedCheckpoint as error:
        sys.exit(f"error: {error}")


if __name__ == "__main__":
    main()
