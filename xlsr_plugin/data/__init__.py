"""Datasets and samplers for multilingual training (fairseq-free where possible)."""
