"""The paper's other findings in miniature, each a study on the demo's pipeline and corpus:

- ``unseen``: XLSR-10 fine-tuned on languages it never heard, against a monolingual model of
  each and no pretraining (paper: BABEL's four unseen languages);
- ``alpha``: XLSR-10 pretrained with language sampling exponents 0, 0.5, 1;
- ``fewshot``: XLSR-10 against a model pretrained on one high-resource language and none, with
  three amounts of labels.

Run with ``make study-unseen`` (``study-alpha``, ``study-fewshot``) or
``python -m examples.xlsr10_mini.studies.<name> --help``; see the README.
"""
