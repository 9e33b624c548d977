"""Speech from espeak-ng as 16 kHz float waveforms; voice variants stand in for speakers."""
import io
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from typing import List, Sequence

import numpy as np
import soundfile as sf
import soxr

from xlsr_plugin.preparation.languages import default_espeak_voice

# espeak-ng variants (files in espeak-ng-data/voices/!v) with their pitch and speed offsets, so
# that "speakers" differ in timbre, pitch and rate.
_VARIANTS = ("m1", "f2", "m3", "f1", "m2", "f3", "m4", "f4", "m5", "f5", "m6", "m7")
VARIANTS = len(_VARIANTS)  # beyond them, speaker_voices reuses a variant at another pitch


def speaker_voices(lang: str, n: int, shift: int = 0, held: int = 2) -> List[str]:
    """``n`` distinct speaker voices for ``lang``, e.g. ``fi+m1``, ``fi+f2``, ...

    With ``shift`` k, the ``held`` variants from k on come first and variants 0..k-1 right after
    them. In a release whose first ``held`` speakers record test and dev and the rest train,
    shift ``held`` thus trains on the variants that record test and dev at shift 0."""
    base = default_espeak_voice(lang)
    order = [*range(shift, shift + held), *range(shift),
             *range(shift + held, max(n, shift + held))][:n]
    return [f"{base}+{_VARIANTS[i % len(_VARIANTS)]}" + ("" if i < len(_VARIANTS)
                                                          else f"@{i // len(_VARIANTS)}")
            for i in order]


def _espeak(text: str, voice: str) -> np.ndarray:
    # A suffix "@k" on a voice shifts pitch and speed, for more speakers than variants.
    voice, _, shift = voice.partition("@")
    k = int(shift or 0)
    cmd = [shutil.which("espeak-ng") or "espeak-ng", "-v", voice, "--stdout",
           "-p", str(50 + 7 * k), "-s", str(165 + 9 * k), text]
    wav = subprocess.run(cmd, check=True, capture_output=True).stdout
    audio, rate = sf.read(io.BytesIO(wav), dtype="float32")
    if audio.size == 0:
        raise RuntimeError(f"espeak-ng produced no audio for voice {voice!r}")
    return soxr.resample(audio, rate, 16000).astype(np.float32)


def synthesize(texts: Sequence[str], voices: Sequence[str], threads: int = 4) -> List[np.ndarray]:
    """Speak ``texts[i]`` with ``voices[i]``: 16 kHz mono float32 arrays, deterministic.

    One espeak-ng process per sentence (about 20 ms each), ``threads`` of them at a time.
    """
    if len(texts) != len(voices):
        raise ValueError(f"{len(texts)} texts but {len(voices)} voices")
    with ThreadPoolExecutor(max(1, threads)) as pool:
        return list(pool.map(_espeak, texts, voices))
