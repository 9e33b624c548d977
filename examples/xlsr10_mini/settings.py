"""The demo's knobs: command-line options, each also read from an ``XLSR_DEMO_*`` variable."""
import argparse
import os
from dataclasses import dataclass, fields
from typing import ClassVar, Dict, List, Optional, Sequence

from xlsr_plugin.preparation.languages import cv_locale, lang_code
from xlsr_plugin.synthetic.speech import VARIANTS

# The ten languages of XLSR-10 as Common Voice locales, by tier: the paper's Common Voice hours
# (fr 353, es 168, it 90, ru 55, zh 50 | nl 29, tt 17 | ky 17, tr 11, sv 3) made small.
HIGH = ("es", "fr", "it", "ru", "zh-CN")
MID = ("nl", "tt")
LOW = ("ky", "sv-SE", "tr")


@dataclass
class Settings:
    prog: ClassVar[str] = "python -m examples.xlsr10_mini"
    description: ClassVar[str] = (
        "XLSR-10 in miniature: XLSR-10 vs monolingual vs no pretraining, PER on low-resource "
        "languages.")
    env_prefix: ClassVar[str] = "XLSR_DEMO_"

    out: str = "runs/xlsr10_mini"
    preset: str = "default"
    pretrain_config: str = "xlsr_mini"
    finetune_config: str = "ctc_mini"
    # Clips and voices of each tier's training split; the test and dev splits come on top,
    # from voices of their own (below).
    clips_high: int = 250
    clips_mid: int = 90
    clips_low: int = 40
    # Training voices per tier: a low-resource language is heard from 2, a high-resource one
    # from 7, so that what XLSR-10 adds is the variety a language alone lacks.
    speakers_high: int = 7
    speakers_mid: int = 4
    speakers_low: int = 2
    # Every language's test and dev voices are espeak-ng's first variants, which no language
    # trains on: each tested utterance is spoken by a voice no model heard.
    test_voices: int = 3
    dev_voices: int = 2
    test_clips_low: int = 120
    dev_clips_low: int = 60
    held_out_clips: int = 24
    # speaker_voices' shift per tier; test_voices + dev_voices (5) for the high and mid tiers
    # trains them on the voices of the low-resource test and dev sets.
    rich_voice_shift: int = 0
    low_voice_shift: int = 0
    low_langs: str = "ky,sv,tr"
    mono_langs: str = "ky,sv,tr"
    finetune_minutes: float = 0.0
    pretrain_updates: int = 2500
    finetune_updates: int = 2000
    finetune_lr: float = 0.002
    alpha: float = 0.5
    units_hours: float = 0.03
    jobs: int = 2
    workers: int = 2
    seed: int = 1
    seeds: int = 1
    finetune_seeds: int = 3

    @property
    def low(self) -> List[str]:
        return split(self.low_langs)

    @property
    def mono(self) -> List[str]:
        return split(self.mono_langs)

    @property
    def langs(self) -> List[str]:
        """All ten language codes, sorted."""
        return sorted(lang_code(loc) for loc in HIGH + MID + LOW)

    def is_low(self, locale: str) -> bool:
        return locale in LOW or locale in {cv_locale(lang) for lang in self.low}

    def clips(self) -> dict:
        """Common Voice locale -> clips of its training voices."""
        return {loc: self.clips_low if self.is_low(loc) else
                self.clips_high if loc in HIGH else self.clips_mid
                for loc in HIGH + MID + LOW + tuple(cv_locale(lang) for lang in self.low)}

    def speakers(self) -> dict:
        """Common Voice locale -> training voices, by the tier ``clips()`` gives it."""
        return {loc: self.speakers_low if self.is_low(loc) else
                self.speakers_high if loc in HIGH else self.speakers_mid for loc in self.clips()}

    def held_out(self) -> dict:
        """Common Voice locale -> (test clips, dev clips), from voices no language trains on."""
        return {loc: (self.test_clips_low, self.dev_clips_low) if self.is_low(loc) else
                (self.held_out_clips, self.held_out_clips) for loc in self.clips()}

    def voice_shifts(self) -> dict:
        """Common Voice locale -> speaker_voices' shift: ``low_voice_shift`` for the
        low-resource languages, ``rich_voice_shift`` for the high and mid tiers."""
        return {loc: self.low_voice_shift if self.is_low(loc) else self.rich_voice_shift
                for loc in self.clips()}

    @property
    def train_seeds(self) -> List[int]:
        """Seeds of the pretraining runs: ``seed``, ``seed + 1``, ..."""
        return list(range(self.seed, self.seed + self.seeds))

    def finetune_seed_list(self, pretraining_seed: int) -> List[int]:
        """Seeds of the fine-tunings of one pretrained model: its own seed, then the next ones."""
        return list(range(pretraining_seed, pretraining_seed + self.finetune_seeds))

    @classmethod
    def presets(cls) -> Dict[str, tuple]:
        """--preset NAME -> (what it is for, the options it changes)."""
        return PRESETS

    @classmethod
    def option_help(cls) -> Dict[str, str]:
        """Help of the options ``HELP`` does not describe (a subclass's own)."""
        return {}

    def check(self) -> None:
        unknown = sorted(set(self.low + self.mono) - set(self.langs))
        if unknown:
            raise ValueError(f"not XLSR-10 languages: {unknown}; choose among {self.langs}")
        if not self.low:
            raise ValueError("--low-resource-langs is empty")
        if min(self.speakers_high, self.speakers_mid, self.speakers_low) < 1:
            raise ValueError("--speakers-* must be at least 1 (training voices)")
        if min(self.test_voices, self.dev_voices) < 1:
            raise ValueError("--test-voices and --dev-voices must be at least 1")
        most = self.test_voices + self.dev_voices + max(self.speakers().values())
        if most > VARIANTS:
            raise ValueError(f"{most} voices per language (test, dev and training) but espeak-ng "
                             f"has {VARIANTS} variants: more would reuse a test or dev voice at "
                             "another pitch")
        if self.seeds < 1 or self.finetune_seeds < 1:
            raise ValueError(f"--seeds and --finetune-seeds must be at least 1, got "
                             f"{self.seeds} and {self.finetune_seeds}")


# --preset NAME: (what it is for, the options it changes); explicit options still win.
PRESETS = {
    "default": ("about 35 min on 2 cores", {}),
    "long": ("the larger model: 4 layers of 128 dims; see the README", {
        "pretrain_config": "xlsr_mini_long",
        "out": "runs/xlsr10_mini_long"}),
}


def split(value: str) -> List[str]:
    """``"ky, sv,tr"`` -> ``["ky", "sv", "tr"]``."""
    return [v.strip() for v in value.split(",") if v.strip()]


HELP = {
    "out": "output folder (corpus, data, checkpoints, logs, results)",
    "preset": "a named set of defaults for the options below: " + ", ".join(
        f"{name} ({text})" for name, (text, _) in PRESETS.items()),
    "pretrain_config": "pretraining config in config/pretraining",
    "finetune_config": "fine-tuning config in config/finetuning",
    "clips_high": "clips per high-resource language (es, fr, it, ru, zh) from its training "
                  "voices; about 3 s each",
    "clips_mid": "clips per mid-resource language (nl, tt) from its training voices",
    "clips_low": "clips per low-resource language (ky, sv, tr and any --low-resource-langs) from "
                 "its training voices",
    "speakers_high": "training voices (espeak-ng variants) per high-resource language",
    "speakers_mid": "training voices per mid-resource language",
    "speakers_low": "training voices per low-resource language",
    "test_voices": "voices of every language's test split (variants no language trains on)",
    "dev_voices": "voices of every language's dev split (the next variants, likewise unheard)",
    "test_clips_low": "test clips per low-resource language (the utterances the PERs and "
                      "verdicts are computed on)",
    "dev_clips_low": "dev clips per low-resource language (fine-tuning's validation)",
    "held_out_clips": "test clips and dev clips per high and mid-resource language",
    "rich_voice_shift": "the high and mid-resource languages' voices start at this variant; "
                        "test_voices + dev_voices (5) trains them on the low-resource test and "
                        "dev voices; 0: no language trains on a test or dev voice",
    "low_voice_shift": "the same for the low-resource languages",
    "low_langs": "languages fine-tuned and tested, comma-separated",
    "mono_langs": "languages that get their own monolingual pretraining, comma-separated",
    "finetune_minutes": "minutes of labelled audio per language for fine-tuning (0: the "
                        "whole train split)",
    "pretrain_updates": "updates of each pretraining run (XLSR-10, monolingual)",
    "finetune_updates": "updates of each fine-tuning run",
    "finetune_lr": "peak learning rate of fine-tuning",
    "alpha": "language sampling exponent of XLSR-10 pretraining",
    "units_hours": "hours per language read by the unit analysis",
    "jobs": "fairseq runs at a time (fine-tuning, decoding; pretraining runs side by side)",
    "workers": "processes converting audio in manifests/commonvoice.py",
    "seed": "seed of the corpus, the splits and the first training seed",
    "seeds": "pretraining seeds: every pretraining repeated with seed, seed+1, ...",
    "finetune_seeds": "fine-tunings of each pretrained model, with its seed, seed+1, ...; the "
                      "verdicts' intervals cover them",
}


ENV_ALIASES = {"low_langs": "XLSR_DEMO_LOW_RESOURCE_LANGS", "demo_out": "XLSR_DEMO_OUT"}


def env_name(name: str, prefix: str = "XLSR_DEMO_") -> str:
    """The environment variable of an option. The demo's own options read ``XLSR_DEMO_*``
    whatever ``prefix`` a subclass of Settings gives its new ones (one environment configures
    the demo and the studies that reuse its runs alike), except ``out``, each program's own;
    a study's ``demo_out`` is the demo's ``out``."""
    if name in ENV_ALIASES:
        return ENV_ALIASES[name]
    shared = {f.name for f in fields(Settings)} - {"out"}
    return ("XLSR_DEMO_" if name in shared else prefix) + name.upper()


def build_parser(preset: str = "default", add_help: bool = True,
                 cls: type = Settings) -> argparse.ArgumentParser:
    """Options of ``cls`` (Settings or a subclass): its class attributes ``prog``,
    ``description``, ``env_prefix``, ``presets()`` and ``option_help()`` say how they are shown."""
    p = argparse.ArgumentParser(
        add_help=add_help, prog=cls.prog, description=cls.description + " Every option can also "
        "be set by the environment variable named in its help.")
    presets = cls.presets()
    for f in fields(cls):
        flag = "--" + ("low-resource-langs" if f.name == "low_langs" else f.name.replace("_", "-"))
        env = env_name(f.name, cls.env_prefix)
        default = presets[preset][1].get(f.name, f.default)
        default = f.type(os.environ[env]) if env in os.environ else default
        text = cls.option_help().get(f.name) or HELP[f.name]
        p.add_argument(flag, dest=f.name, type=f.type, default=default,
                       choices=sorted(presets) if f.name == "preset" else None,
                       help=f"{text} (env {env}; default {default})")
    return p


def parse(argv: Optional[Sequence[str]] = None, cls: type = Settings) -> Settings:
    """Settings (an instance of ``cls``) from the command line, checked."""
    # The preset is read first: it supplies the defaults of the options parsed next.
    known, _ = build_parser(add_help=False, cls=cls).parse_known_args(argv)
    settings = cls(**vars(build_parser(known.preset, cls=cls).parse_args(argv)))
    settings.check()
    return settings
