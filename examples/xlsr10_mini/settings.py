"""The demo's knobs: command-line options, each also read from an ``XLSR_DEMO_*`` variable."""
import argparse
import os
from dataclasses import dataclass, fields
from typing import ClassVar, Dict, List, Optional, Sequence

from xlsr_plugin.preparation.languages import cv_locale, lang_code

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
    clips_high: int = 300
    clips_mid: int = 120
    clips_low: int = 80
    # Voices per tier: a low-resource language is heard from 2 training voices, a high-resource
    # one from 10, so that what XLSR-10 adds is the variety a language alone lacks.
    speakers_high: int = 12
    speakers_mid: int = 8
    speakers_low: int = 4
    # speaker_voices' shift per tier; 2 for the high and mid tiers trains them on the voices of
    # the low-resource test and dev sets (measured: it did not help XLSR-10; see the README).
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

    def clips(self) -> dict:
        """Common Voice locale -> clips to synthesize."""
        low = {cv_locale(lang) for lang in self.low}
        sizes = {loc: self.clips_high for loc in HIGH}
        sizes.update({loc: self.clips_mid for loc in MID})
        sizes.update({loc: self.clips_low for loc in LOW})
        sizes.update({loc: self.clips_low for loc in low})
        return sizes

    def speakers(self) -> dict:
        """Common Voice locale -> speakers (voices), by the tier ``clips()`` gives it."""
        low = {cv_locale(lang) for lang in self.low}
        return {loc: self.speakers_low if loc in low or loc in LOW else
                self.speakers_high if loc in HIGH else self.speakers_mid for loc in self.clips()}

    def voice_shifts(self) -> dict:
        """Common Voice locale -> speaker_voices' shift: ``low_voice_shift`` for the
        low-resource languages, ``rich_voice_shift`` for the high and mid tiers."""
        low = {cv_locale(lang) for lang in self.low} | set(LOW)
        return {loc: self.low_voice_shift if loc in low else self.rich_voice_shift
                for loc in self.clips()}

    @property
    def train_seeds(self) -> List[int]:
        """Seeds of the pretraining and fine-tuning runs: ``seed``, ``seed + 1``, ..."""
        return list(range(self.seed, self.seed + self.seeds))

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
        fewest = min(self.speakers_high, self.speakers_mid, self.speakers_low)
        if fewest < 3:
            raise ValueError(f"--speakers-* must be at least 3 (test, dev, train), got {fewest}")
        if self.seeds < 1:
            raise ValueError(f"--seeds must be at least 1, got {self.seeds}")


# --preset NAME: (what it is for, the options it changes); explicit options still win.
PRESETS = {
    "default": ("about 20 min on 2 cores", {}),
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
    "clips_high": "clips per high-resource language (es, fr, it, ru, zh); about 3 s each",
    "clips_mid": "clips per mid-resource language (nl, tt)",
    "clips_low": "clips per low-resource language (ky, sv, tr and any --low-resource-langs)",
    "speakers_high": "speakers (espeak-ng voices) per high-resource language: one records "
                     "test, one dev, the rest train",
    "speakers_mid": "speakers per mid-resource language",
    "speakers_low": "speakers per low-resource language",
    "rich_voice_shift": "the high and mid-resource languages' voices start at this variant, so "
                        "that they train on the low-resource test (variant 0) and dev (1) "
                        "voices; 0: no language trains on a test voice",
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
    "seeds": "training seeds: pretraining and fine-tuning repeated with seed, seed+1, ...",
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
