"""Data preparation: from a corpus release to the DATA layout of the "Data layout" of docs/data.md.

One module per corpus (``commonvoice``, ``mls``, ``babel``, ``audio_dir``), each with a
``prepare_<corpus>`` function and a ``main`` run by ``python manifests/<corpus>.py`` and by
``python -m xlsr_plugin.preparation.<corpus>`` alike; ``pipeline`` turns a release's utterances
into one language folder, ``conversion`` converts audio in worker processes and keeps the report,
``labels`` writes words, letters, phonemes and dictionaries, ``fewshot`` draws the few-shot
subsets, ``provenance`` records which release wrote a folder, ``languages`` is the language table.

None of these modules imports fairseq or torch itself (importing the ``xlsr_plugin`` package
does, to register its components).
"""
