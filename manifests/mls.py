"""Multilingual LibriSpeech -> DATA/<lang>/: ``python manifests/mls.py --help``.

The same tool as ``python -m xlsr_plugin.preparation.mls``, whose docstring describes the release
and whose ``prepare_mls`` is the function to call from Python.
"""
import sys

from xlsr_plugin.preparation.mls import main

if __name__ == "__main__":
    sys.exit(main())
