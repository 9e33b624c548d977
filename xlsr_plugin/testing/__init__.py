"""Harnesses shared by the tests and the benchmarks (as lhotse.testing): tiny models and the
parts of fairseq's trainer that a check drives directly. Not imported by fairseq."""
