"""Transfer to unseen languages (Conneau et al. 2020, §5.1, BABEL: XLSR-10 fine-tuned on four
languages outside its pretraining beat monolingual pretraining, 29.0 -> 22.8 average CER).

XLSR-10 is the demo's (``task.langs`` = the ten, pretrained on the demo's corpus); the unseen
languages get a corpus of their own in the study's folder, at the demo's low-resource size
(``--clips-low`` clips from ``--speakers-low`` voices), so their clips never enter XLSR-10's
data. Each is fine-tuned from XLSR-10, from a monolingual model of the same size and updates
pretrained on that language's own unlabelled audio, and from no pretraining (the demo's).

Defaults: pt (Romance, next to es and it), fi (Uralic; agglutinative with vowel harmony like
the Turkic tr, ky, tt, but unrelated) and ka (Kartvelian: nothing related among the ten).

    python -m examples.xlsr10_mini.studies.unseen --seeds 3
"""
import sys
from dataclasses import dataclass
from typing import Callable, Dict, List

from examples.xlsr10_mini import corpus, pretrain, results
from examples.xlsr10_mini.finetune import FineTuning
from examples.xlsr10_mini.settings import split
from examples.xlsr10_mini.studies.common import Study, StudySettings, main, pretraining_accuracy
from xlsr_plugin.preparation.languages import cv_locale

TITLE = "Unseen languages in miniature"


@dataclass
class UnseenSettings(StudySettings):
    study = "unseen"
    description = ("Transfer to unseen languages in miniature: XLSR-10 vs a monolingual model "
                   "vs no pretraining, fine-tuned and tested on languages outside the ten.")

    out: str = "runs/study_unseen"
    unseen_langs: str = "pt,fi,ka"

    @classmethod
    def option_help(cls) -> Dict[str, str]:
        return {**super().option_help(),
                "unseen_langs": "languages outside XLSR-10 to fine-tune and test, "
                                "comma-separated (each needs an espeak-ng voice and CLDR words)"}

    @property
    def unseen(self) -> List[str]:
        return split(self.unseen_langs)

    def clips(self) -> dict:
        """The study's own corpus: each unseen language at the low-resource size."""
        return {cv_locale(lang): self.clips_low for lang in self.unseen}

    def speakers(self) -> dict:
        return {cv_locale(lang): self.speakers_low for lang in self.unseen}

    def held_out(self) -> dict:
        """The demo's low-resource test and dev sizes."""
        return {locale: (self.test_clips_low, self.dev_clips_low) for locale in self.clips()}

    def voice_shifts(self) -> dict:
        """The demo's low-resource tier's (``--low-voice-shift``)."""
        return {locale: self.low_voice_shift for locale in self.clips()}

    def check(self) -> None:
        super().check()
        seen = sorted(set(self.unseen) & set(self.langs))
        if seen or not self.unseen:
            raise ValueError(f"--unseen-langs must name languages outside XLSR-10's "
                             f"{self.langs}; got {self.unseen or 'none'}")


def plan(s: UnseenSettings, study: Study, seed: int):
    """(pretraining jobs in the demo's folder, the study's own, fine-tuning runs) of a seed."""
    base = study.base
    demo_jobs = [pretrain.pretrain_job(base, name, seed) for name in ("xlsr10", "none")]
    own_jobs = [pretrain.pretrain_job(s, f"mono_{lang}", seed) for lang in s.unseen]
    data, subset, made = corpus.data_dir(s), corpus.finetune_subset(s), corpus.data_params(s)
    runs = []
    for lang in s.unseen:
        runs += [FineTuning(name, lang, seed, base, data, subset, made)
                 for name in ("xlsr10", "none")]
        runs.append(FineTuning(f"mono_{lang}", lang, seed, s, data, subset))
    return demo_jobs, own_jobs, runs


def run(s: UnseenSettings, report: Callable[[str], None]) -> Dict:
    study = Study(s, report)
    plans = [plan(s, study, seed) for seed in s.train_seeds]
    corpus.prepare(s, study.own)  # the unseen languages' own corpus and manifests
    study.pretrain([j for p in plans for j in p[0]])
    pers = study.train([r for p in plans for r in p[2]], [j for p in plans for j in p[1]])
    tables = []
    for (_, _, runs), seed in zip(plans, s.train_seeds):
        per = {}
        for r in runs:
            per.setdefault(r.model, {})[r.lang] = pers[seed][r.key]
        tables.append(dict(results.collect(per, s.unseen), seed=seed))
    table = results.aggregate(tables, s.train_seeds)
    table["per_seed"] = tables
    table["pretraining"] = pretraining_accuracy(
        {"xlsr10": study.base, **{f"mono_{lang}": s for lang in s.unseen}}, s.train_seeds)
    table["xlsr10_langs"] = study.base.langs
    text = (f"XLSR-10 pretrained on {', '.join(study.base.langs)}; fine-tuned and tested on "
            f"{', '.join(s.unseen)}, which it never heard.\n\n" + results.markdown(table))
    table["files"] = study.write(table, TITLE, text,
                                 lambda path: results.plot(table, path, TITLE))
    return table


if __name__ == "__main__":
    sys.exit(main(UnseenSettings, run))
