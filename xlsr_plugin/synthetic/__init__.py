"""Synthetic speech laid out as real corpus releases, for tests, demos and benchmarks.

Not imported by ``xlsr_plugin/__init__.py``: fairseq never loads it. Needs the ``espeak-ng``
program. Everything is deterministic for a given seed.
"""
from xlsr_plugin.synthetic.releases import (  # noqa: F401
    make_audio_dir,
    make_babel_pack,
    make_commonvoice_release,
    make_mls_release,
)
from xlsr_plugin.synthetic.sentences import make_sentences  # noqa: F401
from xlsr_plugin.synthetic.speech import (  # noqa: F401
    default_espeak_voice,
    speaker_voices,
    synthesize,
)
