"""Data preparation: one script per corpus, writing the layout of the README's "Data layout".

The scripts are run as files (``python manifests/commonvoice.py ...``) and their shared helpers
(``_*.py`` private to the package; ``fewshot.py`` also used by the examples) are imported as
``manifests._common`` etc. A package, rather than helpers inside ``xlsr_plugin/``, keeps data
preparation free of fairseq and torch: importing ``xlsr_plugin`` imports fairseq, which costs
seconds in every worker process.
"""
