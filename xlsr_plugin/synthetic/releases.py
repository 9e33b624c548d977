"""Tiny corpus releases with synthetic speech, laid out like the public ones.

Each ``make_*`` function writes real file formats (MP3, Opus, FLAC, 8 kHz u-law NIST Sphere) and
returns a summary of what it wrote. Options reproduce the quirks of real releases (Common Voice's
validated clips that overlap dev/test, delta releases, early folder names; BABEL's full-band WAV,
Limited LP list, shorten-compressed Sphere). With ``broken=True`` a release also holds the
faults real releases have: a listed file that is missing, a file that is not audio, a clip too
short to keep, an empty transcript, and one (valid) stereo file that must be down-mixed.
"""
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import soundfile as sf
import soxr

from xlsr_plugin.preparation.languages import MLS_LANGUAGES
from xlsr_plugin.synthetic.sentences import make_sentences
from xlsr_plugin.synthetic.speech import speaker_voices, synthesize

CV_HEADER_NEW = ("client_id", "path", "sentence_id", "sentence", "sentence_domain", "up_votes",
                 "down_votes", "age", "gender", "accents", "variant", "locale", "segment")
CV_HEADER_OLD = ("client_id", "path", "sentence", "up_votes", "down_votes", "age", "gender",
                 "accent")


def _write(path: Path, audio: np.ndarray, rate: int, **kwargs) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if rate != 16000:
        audio = soxr.resample(audio, 16000, rate).astype(np.float32)
    sf.write(str(path), np.clip(audio, -1, 1), rate, **kwargs)


def _speech(lang: str, turns, speakers: Sequence[str], seed: int):
    """(sentence, speaker index, 16 kHz audio) per clip: ``turns`` gives each clip's speaker,
    or is a number of clips the speakers take turns over."""
    spk = [i % len(speakers) for i in range(turns)] if isinstance(turns, int) else list(turns)
    texts = make_sentences(lang, len(spk), seed)
    return list(zip(texts, spk, synthesize(texts, [speakers[i] for i in spk])))


def _cv_row(header, client, path, sentence, locale, i) -> str:
    values = {"client_id": client, "path": path, "sentence": sentence, "sentence_id": f"s{i:05d}",
              "up_votes": "2", "down_votes": "0", "locale": locale}
    return "\t".join(values.get(col, "") for col in header)


def make_commonvoice_release(root, langs: Dict[str, int], speakers_per_lang: int = 3,
                             seed: int = 0, sample_rate: int = 48000, broken: bool = False,
                             old_header: bool = False, overlap: bool = False,
                             delta: bool = False, early: bool = False, voice_shift: int = 0,
                             test_speakers: int = 1, dev_speakers: int = 1,
                             test_clips: Optional[int] = None, dev_clips: Optional[int] = None
                             ) -> Dict[str, Dict[str, int]]:
    """Write a Common Voice release: ``root/<locale>/clips/*.mp3`` and the split TSVs.

    Args:
        root: folder to create (the release's top folder, holding one folder per locale).
        langs: Common Voice locale -> number of good clips, e.g. ``{"es": 20, "zh-CN": 20}``.
            Locales are Common Voice's own names (``sv-SE``, ``zh-CN``); the manifests map them
            to language codes (``sv``, ``zh``). Each locale needs an espeak-ng voice and CLDR
            words: es, fr, it, ky, nl, ru, sv-SE, tr, tt and zh-CN (XLSR-10) all work.
        speakers_per_lang: speakers per locale (espeak-ng voice variants, at least
            ``test_speakers + dev_speakers + 1``): the first ``test_speakers`` record
            ``test.tsv``, the next ``dev_speakers`` ``dev.tsv``, the others ``train.tsv``, so
            splits share no speaker, as in Common Voice.
        test_clips, dev_clips: clips of the test and dev speakers, on top of ``langs``' clips,
            which then all come from the training speakers. None (both): every speaker takes
            turns over ``langs``' clips, so each split gets its speakers' share.
        seed: sentences (CLDR words) and split sizes follow from it.
        sample_rate: 48000 (recent releases) or 32000 (some older clips); MP3, mono.
        broken: add to ``train.tsv`` a row whose clip is missing, a clip that is not MP3, a
            0.2 s clip, a row with an empty sentence, and one stereo clip (valid, kept).
        old_header: write the 8-column header of early releases instead of the recent one.
        overlap: as in real releases, ``validated.tsv`` also holds clips that CorporaCreator
            kept out of train for sharing a sentence or a speaker with dev or test: a train
            speaker reading the first dev and the first test sentence, and the dev and the test
            speaker reading one more sentence each (4 clips, ``overlapping`` in the summary).
        delta: a delta release (Common Voice 10.0 on): no ``train``/``dev``/``test`` tables.
        early: name the locale folder ``cv-corpus-1_<locale>`` as releases before 5.0 unpack.
        voice_shift: ``speaker_voices``' shift: with ``test_speakers + dev_speakers``, the
            test and dev voices of a release of shift 0 are among this one's training voices.

    A fifth of the good train-speaker clips are only in ``validated.tsv`` (not in ``train.tsv``),
    as in real releases; ``validated.tsv`` also lists every dev and test clip. About 1.5 s to
    synthesize 10 clips. Returns, per locale, the number of good clips in ``train``, ``dev``,
    ``test`` and ``validated_only``, and ``broken`` (rows added to train.tsv).
    """
    header = CV_HEADER_OLD if old_header else CV_HEADER_NEW
    summary = {}
    for locale in sorted(langs):
        folder = Path(root) / (f"cv-corpus-1_{locale}" if early else locale)
        layout = SpeakerLayout(test_speakers, dev_speakers,
                               max(test_speakers + dev_speakers + 1, speakers_per_lang))
        summary[locale] = _make_cv_locale(folder, locale, langs[locale], layout,
                                          seed, sample_rate, broken, header, overlap, delta,
                                          voice_shift, test_clips, dev_clips)
    return summary


@dataclass(frozen=True)
class SpeakerLayout:
    """Speakers 0..test-1 record test, the next ``dev`` record dev, the rest train."""
    test: int
    dev: int
    total: int

    def split(self, speaker: int) -> str:
        return "test" if speaker < self.test else "dev" if speaker < self.test + self.dev \
            else "train"

    def turns(self, n: int, test_clips: Optional[int], dev_clips: Optional[int]) -> List[int]:
        """The speaker of each clip: all speakers in turn over ``n`` clips, or each split's
        speakers in turn over its own clips (test, then dev, then ``n`` training clips)."""
        if test_clips is None and dev_clips is None:
            return [i % self.total for i in range(n)]
        first_train = self.test + self.dev
        return ([i % self.test for i in range(test_clips or 0)]
                + [self.test + i % self.dev for i in range(dev_clips or 0)]
                + [first_train + i % (self.total - first_train) for i in range(n)])


def _make_cv_locale(folder, locale, n, layout: SpeakerLayout, seed, rate, broken, header,
                    overlap=False, delta=False, voice_shift=0, test_clips=None, dev_clips=None):
    voices = speaker_voices(locale, layout.total, voice_shift, held=layout.test + layout.dev)
    clients = [f"{locale}{seed}client{i:02d}".encode().hex()[:40] for i in range(layout.total)]
    rows = {s: [] for s in ("train", "dev", "test", "validated_only")}
    n_train = 0
    turns = layout.turns(n, test_clips, dev_clips)
    for i, (text, spk, audio) in enumerate(_speech(locale, turns, voices, seed)):
        name = f"common_voice_{locale}_{seed}{i:05d}.mp3"
        _write(folder / "clips" / name, audio, rate, format="MP3")
        split = layout.split(spk)
        if split == "train":
            n_train += 1
            split = "validated_only" if n_train % 5 == 0 else "train"
        rows[split].append(_cv_row(header, clients[spk], name, text, locale, i))
    counts = {s: len(r) for s, r in rows.items()}
    counts["broken"] = 0
    if broken:
        train = layout.test + layout.dev
        extra = _cv_broken(folder, locale, voices[train:train + 1], clients[train], rate, header)
        rows["train"] += extra
        counts["broken"] = len(extra)
    overlapping = _cv_overlap(folder, locale, voices, clients, rate, header, rows, seed,
                              layout) if overlap else []
    counts["overlapping"] = len(overlapping)
    validated = rows["train"] + rows["dev"] + rows["test"] + rows["validated_only"] + overlapping
    tables = {"train": rows["train"], "dev": rows["dev"], "test": rows["test"],
              "validated": validated, "invalidated": [], "other": []}
    if delta:
        tables = {name: tables[name] for name in ("validated", "invalidated", "other")}
    for name, lines in tables.items():
        (folder / f"{name}.tsv").write_text("\n".join(["\t".join(header)] + lines) + "\n",
                                            encoding="utf-8")
    return counts


def _cv_overlap(folder, locale, voices, clients, rate, header, rows, seed,
                layout: SpeakerLayout) -> List[str]:
    """Validated clips sharing a sentence (read by the first train speaker) or a speaker with
    dev/test."""
    column = header.index("sentence")
    shared = [rows[split][0].split("\t")[column] for split in ("dev", "test")]
    fresh = make_sentences(locale, 2, seed + 1000)
    train = layout.test + layout.dev
    readers = [train, train, layout.test, 0]  # the first train, dev and test speakers
    speech = synthesize(shared + fresh, [voices[k] for k in readers])
    out = []
    for i, (text, spk, audio) in enumerate(zip(shared + fresh, readers, speech)):
        name = f"common_voice_{locale}_overlap{seed}{i:02d}.mp3"
        _write(folder / "clips" / name, audio, rate, format="MP3")
        out.append(_cv_row(header, clients[spk], name, text, locale, 80000 + i))
    return out


def _cv_broken(folder, locale, voices, client, rate, header) -> List[str]:
    text, _, audio = _speech(locale, [0], voices, seed=99)[0]
    clips = folder / "clips"
    _write(clips / "stereo.mp3", np.stack([audio, 0.5 * audio], axis=1), rate, format="MP3")
    (clips / "not_audio.mp3").write_bytes(b"this is not an mp3 file\n" * 40)
    _write(clips / "too_short.mp3", audio[:3200], rate, format="MP3")
    _write(clips / "empty_text.mp3", audio, rate, format="MP3")
    names = [("missing.mp3", text), ("not_audio.mp3", text), ("too_short.mp3", text),
             ("empty_text.mp3", ""), ("stereo.mp3", text)]
    return [_cv_row(header, client, n, t, locale, 90000 + i) for i, (n, t) in enumerate(names)]


def make_mls_release(root, langs: Dict[str, int], speakers_per_lang: int = 3, seed: int = 0,
                     flavor: str = "opus", broken: bool = False) -> Dict[str, Dict[str, int]]:
    """Write Multilingual LibriSpeech releases ``root/mls_<language>_opus`` (or ``mls_<language>``
    with ``flavor="flac"``): ``{train,dev,test}/transcripts.txt`` (``<speaker>_<book>_<seg>``
    TAB lowercase text), ``{split}/audio/<speaker>/<book>/<id>.opus|flac`` at 16 kHz, and
    ``train/limited_supervision/{1hr/0..5,9hr}/handles.txt``.

    ``langs`` maps MLS language names (``polish``) to clips per split; each split has its own
    speakers. The limited-supervision lists take one train clip per 1hr fold while there are
    enough, then two for 9hr. With ``broken=True`` train gets a missing clip, a clip that is not
    audio and an empty transcript. Returns, per language, the good clips per split.
    """
    summary = {}
    for name in sorted(langs):
        folder = Path(root) / (f"mls_{name}_opus" if flavor == "opus" else f"mls_{name}")
        summary[name] = {}
        for k, split in enumerate(("train", "dev", "test")):
            handles = _make_mls_split(folder / split, MLS_LANGUAGES[name], langs[name],
                                      speakers_per_lang, seed * 10 + k, flavor,
                                      broken and split == "train")
            summary[name][split] = len(handles)
            if split == "train":
                _mls_limited(folder / split / "limited_supervision", handles)
    return summary


def _make_mls_split(folder, lang, n, n_speakers, seed, flavor, broken) -> List[str]:
    voices = speaker_voices(lang, n_speakers + 3 * (seed % 10))[-n_speakers:]
    ext = "opus" if flavor == "opus" else "flac"
    fmt = {"format": "OGG", "subtype": "OPUS"} if ext == "opus" else {"format": "FLAC"}
    lines, handles = [], []
    for i, (text, spk, audio) in enumerate(_speech(lang, n, voices, seed)):
        speaker, book = 1000 + 10 * (seed % 10) + spk, 500 + spk
        uid = f"{speaker}_{book}_{i:06d}"
        _write(folder / "audio" / str(speaker) / str(book) / f"{uid}.{ext}", audio, 16000, **fmt)
        clean = "".join(c for c in text.lower() if c.isalpha() or c in " '")
        lines.append(f"{uid}\t{' '.join(clean.split())}")
        handles.append(uid)
    if broken:
        bad = folder / "audio" / "1999" / "599"
        bad.mkdir(parents=True, exist_ok=True)
        (bad / f"1999_599_000001.{ext}").write_bytes(b"not audio" * 50)
        _write(bad / f"1999_599_000002.{ext}", audio, 16000, **fmt)
        lines += ["1999_599_000000\tmissing clip", "1999_599_000001\tnot audio",
                  "1999_599_000002\t"]
    (folder / "transcripts.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "segments.txt").write_text(
        "".join(f"{h}\thttp://www.archive.org/{h}.mp3\t0.0\t1.0\n" for h in handles))
    return handles


def _mls_limited(folder: Path, handles: List[str]) -> None:
    folds = [handles[i:i + 1] for i in range(6)] + [handles[6:8]]
    for k, fold in enumerate(folds):
        sub = folder / ("9hr" if k == 6 else f"1hr/{k}")
        sub.mkdir(parents=True, exist_ok=True)
        (sub / "handles.txt").write_text("".join(h + "\n" for h in fold))


def make_babel_pack(root, lang: str = "ka", pack: str = "404", recordings: Dict[str, int] = None,
                    segments_per_recording: int = 4, seed: int = 0, broken: bool = False,
                    wav_recordings: int = 0, sub_train: int = 0,
                    shorten: bool = False) -> Dict[str, int]:
    """Write an IARPA BABEL language pack: ``root/conversational/{training,dev}/audio/*.sph``
    (8 kHz u-law NIST Sphere, one side of a call per file, named like
    ``BABEL_OP3_<pack>_12345_20141010_123456_inLine.sph``; pack 404 is Georgian, ka) and
    ``transcription/*.txt`` with ``[seconds]`` lines around each segment's text.

    ``recordings`` maps ``training``/``dev`` (and ``eval``) to a number of recordings (default
    2 and 1), each by its own speaker. Each recording alternates silences transcribed
    ``<no-speech>`` with spoken segments whose text carries BABEL's tokens (``<breath>``,
    ``<lipsmack>``, and the unknown-speech ``(())`` and ``<hes>``), and ends with a noise-only
    segment. With ``broken=True`` training also gets a transcription whose audio is missing.
    The quirks of real packs, on request:

    - ``wav_recordings``: the last n training recordings are 48 kHz WAV instead of Sphere
      (full-band audio beside the telephone calls);
    - ``sub_train``: the first n training recordings are listed in ``conversational/sub-train``
      (the Limited LP subset, transcriptions only);
    - ``shorten``: every Sphere file is shorten-compressed (header ``sample_coding
      pcm,embedded-shorten-v2.00``, a shorten body), as LDC's Switchboard/Fisher style.

    Returns the number of spoken segments per split.
    """
    recordings = recordings or {"training": 2, "dev": 1}
    summary = {}
    for k, split in enumerate(sorted(recordings)):
        folder = Path(root) / "conversational" / split
        summary[split] = 0
        for r in range(recordings[split]):
            stem = f"BABEL_OP3_{pack}_{10000 + 100 * k + r}_2014101{k}_12{r:02d}00_inLine"
            wav = split == "training" and r >= recordings[split] - wav_recordings
            summary[split] += _make_babel_recording(folder, stem, lang, segments_per_recording,
                                                    seed * 100 + 10 * k + r, wav, shorten)
            if split == "training" and r < sub_train:
                listed = Path(root) / "conversational" / "sub-train" / "transcription"
                listed.mkdir(parents=True, exist_ok=True)
                (listed / f"{stem}.txt").write_bytes(
                    (folder / "transcription" / f"{stem}.txt").read_bytes())
        if broken and split == "training":
            (folder / "transcription" / "BABEL_OP3_000_99999_20140101_000000_inLine.txt"
             ).write_text("[0.000]\nmissing audio\n[1.500]\n")
    return summary


def _make_babel_recording(folder: Path, stem: str, lang: str, n: int, seed: int,
                          wav: bool = False, shorten: bool = False) -> int:
    rng = random.Random(seed)
    voice = speaker_voices(lang, 1 + seed % 5)[-1:]
    parts, lines, t = [], [], 0.0
    spoken = 0
    for i, (text, _, audio) in enumerate(_speech(lang, n, voice, seed)):
        gap = np.zeros(int(16000 * rng.uniform(0.6, 1.0)), np.float32)
        for chunk, label in ((gap, "<no-speech>"), (audio, _babel_text(text, i))):
            lines += [f"[{t:.3f}]", label]
            parts.append(chunk)
            t += len(chunk) / 16000
        spoken += 1
    noise = 0.01 * np.random.default_rng(seed).standard_normal(8000).astype(np.float32)
    lines += [f"[{t:.3f}]", "<breath> <lipsmack> <click>", f"[{t + 0.5:.3f}]"]
    parts.append(noise)
    audio = np.concatenate(parts)
    if wav:
        _write(folder / "audio" / f"{stem}.wav", audio, 48000)
    elif shorten:
        _write_shorten_sphere(folder / "audio" / f"{stem}.sph", audio)
    else:
        _write(folder / "audio" / f"{stem}.sph", audio, 8000, format="NIST", subtype="ULAW")
    (folder / "transcription").mkdir(parents=True, exist_ok=True)
    (folder / "transcription" / f"{stem}.txt").write_text("\n".join(lines) + "\n",
                                                          encoding="utf-8")
    return spoken


def _write_shorten_sphere(path: Path, audio: np.ndarray) -> None:
    """A NIST Sphere file whose header announces shorten compression, with a shorten magic
    (``ajkg``, version 2) and the 8 kHz samples after it: what libsndfile cannot read."""
    samples = (np.clip(soxr.resample(audio, 16000, 8000), -1, 1) * 32767).astype("<i2")
    header = "\n".join(["NIST_1A", "   1024", f"sample_count -i {len(samples)}",
                        "sample_rate -i 8000", "channel_count -i 1", "sample_n_bytes -i 2",
                        "sample_byte_format -s2 01",
                        "sample_coding -s26 pcm,embedded-shorten-v2.00",
                        "sample_sig_bits -i 16", "end_head", ""]).encode("ascii")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header.ljust(1024, b" ") + b"ajkg\x02" + samples.tobytes())


def _babel_text(text: str, i: int) -> str:
    words = "".join(c for c in text.lower() if c.isalpha() or c in " '-").split()
    token = ("<breath>", "<hes>", "(())", "<lipsmack>")[i % 4]
    return " ".join([token] + words if i % 2 else words + [token])


def make_audio_dir(root, lang: str = "fi", n_files: int = 8, seed: int = 0,
                   broken: bool = False) -> Dict[str, int]:
    """Write a folder of unlabeled ``lang`` speech in every supported format, nested in
    sub-folders: 16 kHz WAV (used in place), 44.1 kHz FLAC, 48 kHz MP3, 16 kHz Opus, 8 kHz
    u-law Sphere, and a stereo 22.05 kHz WAV. With ``broken=True`` it adds a file that is not
    audio, a 0.2 s clip and a README.txt (not audio, ignored). Returns the number of good files
    and of broken ones."""
    formats = [("wav", 16000, {}), ("flac", 44100, {}), ("mp3", 48000, {"format": "MP3"}),
               ("opus", 16000, {"format": "OGG", "subtype": "OPUS"}),
               ("sph", 8000, {"format": "NIST", "subtype": "ULAW"}), ("wav", 22050, {})]
    voices = speaker_voices(lang, 3)
    for i, (_, spk, audio) in enumerate(_speech(lang, n_files, voices, seed)):
        ext, rate, kwargs = formats[i % len(formats)]
        if i % len(formats) == 5:
            audio = np.stack([audio, 0.5 * audio], axis=1)
        _write(Path(root) / f"spk{spk}" / f"part{i % 2}" / f"utt{i:04d}.{ext}", audio, rate,
               **kwargs)
    n_broken = 0
    if broken:
        bad = Path(root) / "bad"
        bad.mkdir(parents=True, exist_ok=True)
        (bad / "garbage.flac").write_bytes(os.urandom(2000))
        _write(bad / "short.wav", audio[:3200], 16000)
        (Path(root) / "README.txt").write_text("not audio\n")
        n_broken = 2
    return {"good": n_files, "broken": n_broken}
