"""Stages 1-2: a synthetic Common Voice release in the XLSR-10 languages, then its manifests.

The release comes from ``xlsr_plugin.synthetic.make_commonvoice_release``: MP3 clips at 48 kHz
and Common Voice's TSVs, sentences of real CLDR words in each language's script, espeak-ng voice
variants as speakers. The first ``--test-voices`` variants record every language's test split and
the next ``--dev-voices`` its dev split, so that no model trains on a voice it is tested on; the
other voices record the training split. ``manifests/commonvoice.py`` then writes DATA/<lang>/ with phoneme labels and the
few-shot subset the fine-tuning uses.
"""
import logging
import os
import sys
from typing import Dict, Optional, Sequence

from examples.xlsr10_mini.settings import Settings
from examples.xlsr10_mini.job_runner import Job, Runner
from xlsr_plugin.preparation.fewshot import fewshot_name
from xlsr_plugin.preparation.languages import cv_locale

logger = logging.getLogger(__name__)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def corpus_params(s: Settings) -> Dict:
    return {"clips": s.clips(), "speakers": s.speakers(), "voice_shifts": s.voice_shifts(),
            "held_out": s.held_out(), "test_voices": s.test_voices, "dev_voices": s.dev_voices,
            "seed": s.seed}


def data_params(s: Settings) -> Dict:
    return {"corpus": corpus_params(s), "finetune_minutes": s.finetune_minutes}


def release_dir(s: Settings) -> str:
    return os.path.join(s.out, "cv-corpus-synthetic")


def data_dir(s: Settings) -> str:
    return os.path.abspath(os.path.join(s.out, "data"))


def finetune_subset(s: Settings) -> str:
    """The few-shot train subset the manifests write for ``--finetune-minutes`` (0: the whole
    train split)."""
    return fewshot_name(s.finetune_minutes / 60) if s.finetune_minutes else "train"


def make_release(s: Settings, runner: Runner) -> None:
    """Synthesize the release, one locale after the other, largest first."""
    from xlsr_plugin.synthetic import make_commonvoice_release

    sizes, speakers, shifts, held_out = s.clips(), s.speakers(), s.voice_shifts(), s.held_out()
    for k, locale in enumerate(sorted(sizes, key=lambda loc: (-sizes[loc], loc)), 1):
        test, dev = held_out[locale]
        counts = make_commonvoice_release(
            release_dir(s), {locale: sizes[locale]},
            speakers_per_lang=s.test_voices + s.dev_voices + speakers[locale],
            test_speakers=s.test_voices, dev_speakers=s.dev_voices, test_clips=test,
            dev_clips=dev, voice_shift=shifts[locale], seed=s.seed)[locale]
        runner.say("corpus", f"{locale}: {sizes[locale]} training clips from {speakers[locale]} "
                             f"voices ({counts['train']} train, {counts['validated_only']} "
                             f"validated only), {counts['dev']} dev from {s.dev_voices}, "
                             f"{counts['test']} test from {s.test_voices} [{k}/{len(sizes)}]")


def manifest_job(s: Settings, dest: Optional[str] = None, langs: Sequence[str] = (),
                 minutes: Sequence[float] = (), name: str = "manifests") -> Job:
    """manifests/commonvoice.py on the release: train on every validated clip outside dev and
    test (the paper's pretraining data), phoneme labels, a few-shot subset if asked for.

    By default all of ``s``'s release into ``data_dir(s)`` with ``--finetune-minutes``' subset;
    a study writes ``langs`` of it into ``dest`` with the nested subsets of ``minutes``."""
    minutes = list(minutes) or ([s.finetune_minutes] if s.finetune_minutes else [])
    command = [sys.executable, os.path.join(ROOT, "manifests", "commonvoice.py"),
               "--root", release_dir(s), "--dest", dest or data_dir(s), "--use-validated",
               "--workers", str(s.workers), "--seed", str(s.seed), "--phonemes"]
    if langs:
        command += ["--langs", ",".join(cv_locale(lang) for lang in langs)]
    if minutes:
        command += ["--fewshot-hours", ",".join(repr(m / 60) for m in minutes)]
    params = data_params(s) if dest is None else {
        "corpus": corpus_params(s), "langs": list(langs), "fewshot_minutes": minutes}
    return Job(name, command, name, params, clean=[dest] if dest else [])


def prepare(s: Settings, runner: Runner) -> None:
    """Stages 1 and 2; each reused when it completed with the same sizes."""
    runner.stage("corpus", corpus_params(s), lambda: make_release(s, runner),
                 clean=[release_dir(s)])
    job = manifest_job(s)
    if not runner.done(job.marker, job.params):
        job.clean = [data_dir(s)]
    runner.run_jobs("manifests", [job])
