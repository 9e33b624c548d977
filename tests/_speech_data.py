"""Tiny DATA folders (layout of the README) of espeak-ng speech, for the pretraining tests."""
import os
import subprocess

import numpy as np
import soundfile as sf
import soxr

# A few real words per language; the voices give different speakers.
WORDS = {
    "es": ["hola", "gracias", "ciudad", "montaña", "agua", "libro", "tiempo", "noche"],
    "fi": ["kiitos", "kaupunki", "vuori", "vesi", "kirja", "aika", "yö", "talo"],
    "sw": ["habari", "asante", "mji", "mlima", "maji", "kitabu", "wakati", "usiku"],
}
VOICES = ["", "+f2", "+m3"]


def synthesize(text: str, voice: str, sample_rate: int = 16000) -> np.ndarray:
    wav = subprocess.run(
        ["espeak-ng", "--stdout", "-s", "170", "-v", voice, text], check=True, capture_output=True
    ).stdout
    import io

    audio, rate = sf.read(io.BytesIO(wav), dtype="float32")
    return soxr.resample(audio, rate, sample_rate).astype(np.float32)


def write_language(data: str, lang: str, splits: dict, seed: int = 0) -> None:
    """DATA/<lang>/<split>.tsv for {split: n_utterances}, audio under DATA/<lang>/audio/."""
    rng = np.random.default_rng(seed)
    audio_dir = os.path.join(data, lang, "audio")
    os.makedirs(audio_dir, exist_ok=True)
    for split, count in splits.items():
        rows = []
        for i in range(count):
            words = rng.choice(WORDS[lang], size=3)
            audio = synthesize(" ".join(words), lang + VOICES[i % len(VOICES)])
            name = f"{split}_{i:04d}.wav"
            sf.write(os.path.join(audio_dir, name), audio, 16000)
            rows.append(f"audio/{name}\t{len(audio)}")
        with open(os.path.join(data, lang, f"{split}.tsv"), "w") as f:
            f.write(os.path.abspath(os.path.join(data, lang)) + "\n" + "\n".join(rows) + "\n")
