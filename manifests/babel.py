"""An IARPA BABEL language pack -> DATA/<lang>/: ``python manifests/babel.py --help``.

The same tool as ``python -m xlsr_plugin.preparation.babel``, whose docstring describes the release
and whose ``prepare_babel`` is the function to call from Python.
"""
import sys

from xlsr_plugin.preparation.babel import main

if __name__ == "__main__":
    sys.exit(main())
