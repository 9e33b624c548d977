"""XLSR-10 in miniature (Conneau et al. 2020, §5.1): multilingual against monolingual
pretraining and no pretraining, on a synthetic Common Voice release, end to end through
``manifests/commonvoice.py``, ``fairseq-hydra-train`` and ``fairseq-generate --scoring per``.

Run with ``make demo`` or ``python -m examples.xlsr10_mini --help``.
"""
