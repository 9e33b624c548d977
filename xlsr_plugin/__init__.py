"""XLSR (Conneau et al. 2020) for fairseq.

fairseq imports this package through ``--user-dir``; importing it registers the task
``xlsr_pretraining``, model ``xlsr``, criterion ``xlsr``, task ``xlsr_finetuning`` and the
scorers ``per`` and ``cer``.
"""
import argparse

import torch
from fairseq.data import Dictionary

# fairseq reads checkpoints with torch.load's default, weights_only=True since torch 2.6: allow
# the two classes its checkpoints hold besides tensors (the argparse `args` of the released
# wav2vec 2.0 / XLSR-53 files, the target dictionary of a fine-tuning task's state). Every loader
# of the plugin (fine-tuning's w2v_path, fairseq-generate, the unit analysis) relies on it.
torch.serialization.add_safe_globals([argparse.Namespace, Dictionary])

from xlsr_plugin import criterions, models, scoring, tasks  # noqa: E402,F401

__version__ = "0.1.0"
