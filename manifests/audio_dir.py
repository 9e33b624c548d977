"""Any folder of one language's audio -> DATA/<lang>/, unlabeled: ``python manifests/audio_dir.py --help``.

The same tool as ``python -m xlsr_plugin.preparation.audio_dir``, whose docstring describes the release
and whose ``prepare_audio_dir`` is the function to call from Python.
"""
import sys

from xlsr_plugin.preparation.audio_dir import main

if __name__ == "__main__":
    sys.exit(main())
