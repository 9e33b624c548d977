"""Mozilla Common Voice -> DATA/<lang>/: ``python manifests/commonvoice.py --help``.

The same tool as ``python -m xlsr_plugin.preparation.commonvoice``, whose docstring describes the release
and whose ``prepare_commonvoice`` is the function to call from Python.
"""
import sys

from xlsr_plugin.preparation.commonvoice import main

if __name__ == "__main__":
    sys.exit(main())
