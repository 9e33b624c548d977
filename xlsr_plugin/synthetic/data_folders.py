"""Tiny DATA folders (the documented layout: DATA/<lang>/<split>.tsv, audio/) of espeak-ng speech or noise,
written directly (no manifest script): the pretraining and fine-tuning data of tests and benchmarks."""
import os

import numpy as np
import soundfile as sf

from xlsr_plugin.synthetic.speech import speaker_voices
from xlsr_plugin.synthetic.speech import synthesize as synthesize_many

# A few real words per language; the voices give different speakers.
WORDS = {
    "es": ["hola", "gracias", "ciudad", "montaña", "agua", "libro", "tiempo", "noche"],
    "fi": ["kiitos", "kaupunki", "vuori", "vesi", "kirja", "aika", "yö", "talo"],
    "sw": ["habari", "asante", "mji", "mlima", "maji", "kitabu", "wakati", "usiku"],
}
SPEAKERS = 3


def synthesize(text: str, voice: str) -> np.ndarray:
    """One sentence as 16 kHz float32 speech."""
    return synthesize_many([text], [voice])[0]


def write_language(data: str, lang: str, splits: dict, seed: int = 0) -> None:
    """DATA/<lang>/<split>.tsv for {split: n_utterances}, audio under DATA/<lang>/audio/."""
    rng = np.random.default_rng(seed)
    audio_dir = os.path.join(data, lang, "audio")
    os.makedirs(audio_dir, exist_ok=True)
    voices = speaker_voices(lang, SPEAKERS)
    for split, count in splits.items():
        texts = [" ".join(rng.choice(WORDS[lang], size=3)) for _ in range(count)]
        rows = []
        for i, audio in enumerate(synthesize_many(texts, [voices[i % SPEAKERS] for i in range(count)])):
            name = f"{split}_{i:04d}.wav"
            sf.write(os.path.join(audio_dir, name), audio, 16000)
            rows.append(f"audio/{name}\t{len(audio)}")
        with open(os.path.join(data, lang, f"{split}.tsv"), "w") as f:
            f.write(os.path.abspath(os.path.join(data, lang)) + "\n" + "\n".join(rows) + "\n")


def write_noise_language(data: str, lang: str, count: int, seconds: float, split: str = "train") -> None:
    """DATA/<lang>/<split>.tsv of `count` noise WAVs of `seconds` each, audio/<split><i>.wav:
    audio whose content does not matter, fast to write."""
    folder = os.path.join(data, lang)
    os.makedirs(os.path.join(folder, "audio"), exist_ok=True)
    rng = np.random.default_rng(len(lang) + count)
    frames = int(seconds * 16000)
    for i in range(count):
        sf.write(os.path.join(folder, "audio", f"{split}{i}.wav"),
                 (0.1 * rng.standard_normal(frames)).astype(np.float32), 16000)
    with open(os.path.join(folder, f"{split}.tsv"), "w") as f:
        f.write(os.path.abspath(folder) + "\n"
                + "".join(f"audio/{split}{i}.wav\t{frames}\n" for i in range(count)))
