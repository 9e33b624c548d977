"""Run health: is a wav2vec 2.0 / XLSR run learning, and if not, why.

Four detectors (detectors.py) read the metrics a run logs: pretraining at the contrastive
chance level, codebook collapse, divergence, fine-tuning that outputs only blanks. The xlsr
tasks run them live (tasks/_health_hooks.py); `python -m xlsr_plugin.health LOG_OR_TBDIR` runs
them on a log. fairseq-free. See docs/troubleshooting.md.
"""
