"""XLSR (Conneau et al. 2020) for fairseq.

fairseq imports this package through ``--user-dir``; importing it registers the task
``xlsr_pretraining``, model ``xlsr``, criterion ``xlsr``, task ``xlsr_finetuning`` and the
scorers ``per`` and ``cer``.

Importing it loosens nothing: checkpoints are read under xlsr_plugin/checkpoint_loading.py's
policy, registered for fairseq's own loads where the plugin's tasks are set up.
"""
from xlsr_plugin import criterions, models, scoring, tasks  # noqa: F401

__version__ = "0.1.0"
