"""What the studies share: the demo's options plus a study's own, the demo's folder (where every
pretraining on the demo's corpus is kept, so that the demo and the studies train each model
once), the stages that run in it and in the study's folder, and the command line.

A study's pretraining runs on the demo's corpus are the demo's own jobs
(``pretrain.pretrain_job`` of the demo's settings) run by a Runner on the demo's folder: the
same markers, so ``make demo`` then a study (or the reverse) pretrains XLSR-10 once, as long as
the options they share (sizes, updates, seeds, configs) match.
"""
import dataclasses
import logging
import os
import sys
import time
from dataclasses import dataclass, fields
from typing import Callable, ClassVar, Dict, Optional, Sequence

from examples.xlsr10_mini import corpus, finetune, pretrain, results
from examples.xlsr10_mini.finetune import FineTuning
from examples.xlsr10_mini.settings import PRESETS, Settings, parse
from examples.xlsr10_mini.job_runner import Job, Runner, StageFailed, shown_path

@dataclass
class StudySettings(Settings):
    """The demo's options (sizes, updates, seeds, ``--preset``) and ``--demo-out``."""
    study: ClassVar[str] = "study"  # runs/study_<study>; XLSR_<STUDY>_*; studies.<study>

    demo_out: str = Settings.out
    # The demo's default is one pretraining seed with 3 fine-tuning seeds (about 35 minutes);
    # a study's is 3 pretraining seeds of one fine-tuning each (RESULTS.md, "Study costs").
    seeds: int = 3
    finetune_seeds: int = 1

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.env_prefix = f"XLSR_{cls.study.upper()}_"
        cls.prog = f"python -m examples.xlsr10_mini.studies.{cls.study}"

    @classmethod
    def presets(cls) -> Dict[str, tuple]:
        """The demo's presets, each with the study's folder and the preset's demo folder."""
        out = {}
        for name, (text, opts) in PRESETS.items():
            suffix = "" if name == "default" else f"_{name}"
            out[name] = (text, {**opts, "out": f"runs/study_{cls.study}{suffix}",
                                "demo_out": opts.get("out", Settings.out)})
        return out

    @classmethod
    def option_help(cls) -> Dict[str, str]:
        return {"out": "the study's output folder (its data, fine-tuning runs, logs, results)",
                "demo_out": "the demo's folder: its corpus and the pretraining runs on it are "
                            "reused from there, and new ones kept there"}

    def demo_settings(self) -> Settings:
        """The demo's settings these options give: the demo's own fields, in ``demo_out``."""
        shared = {f.name: getattr(self, f.name) for f in fields(Settings)}
        return Settings(**{**shared, "out": self.demo_out})


class Study:
    """The two runners of a study: ``demo`` on the demo's folder, ``own`` on the study's."""

    def __init__(self, s: StudySettings, report: Callable[[str], None]):
        self.s, self.base, self.start = s, s.demo_settings(), time.time()
        self.demo = Runner(self.base.out, report, jobs=s.jobs,
                           labels={k: f"demo folder, {k}" for k in ("corpus", "manifests",
                                                                     "pretrain")})
        self.own = Runner(s.out, report, jobs=s.jobs,
                          labels={k: f"{s.study}, {k}" for k in ("corpus", "manifests",
                                                                 "pretrain", "finetune",
                                                                 "decode")})

    def pretrain(self, demo_jobs: Sequence[Job]) -> None:
        """The demo's corpus and the pretraining runs on it, in the demo's folder."""
        corpus.prepare(self.base, self.demo)
        self.demo.run_jobs("pretrain", list(demo_jobs))

    def train(self, runs: Sequence[FineTuning],
              own_pretraining: Sequence[Job] = ()) -> Dict[int, Dict[str, Dict]]:
        """The study's own pretraining runs, then ``runs``' fine-tunings and decodings, in one
        pool in the study's folder (each started once the run it needs is done) ->
        ``{seed: {run.key: PER}}``, each run repeated with ``--finetune-seeds`` seeds and
        their PERs pooled (``finetune.read_pers``)."""
        runs = finetune.with_finetune_seeds(self.s, runs)
        self.own.run_jobs("finetune", list(own_pretraining) + finetune.finetune_jobs(self.s, runs)
                          + finetune.decode_jobs(self.s, runs))
        return {seed: finetune.read_pers(self.s, [r for r in runs if r.seed == seed])
                for seed in self.s.train_seeds}

    def write(self, table: Dict, title: str, text: str,
              draw: Callable[[str], None]) -> Dict[str, str]:
        """results.md, results.json (with the settings and timings), results.png."""
        seconds = {"this_run": round(time.time() - self.start, 1),
                   **{f"demo_{k}": v for k, v in self.demo.timings.items()},
                   **self.own.timings}
        extra = {"settings": dataclasses.asdict(self.s), "seconds": seconds}
        return results.write(table, extra, os.path.abspath(self.s.out), title, text, draw)


def pretraining_accuracy(models: Dict[str, Settings], seeds: Sequence[int]) -> Dict:
    """``{model: the settings whose folder holds its runs}`` -> each model's last validation
    contrastive accuracy, mean ± std over ``seeds`` (results.pretraining_accuracy)."""
    return results.pretraining_accuracy([{name: pretrain.read_accuracy(source, name, seed)
                                           for name, source in models.items()}
                                          for seed in seeds])


def main(cls: type, run: Callable[[StudySettings, Callable[[str], None]], Dict],
         argv: Optional[Sequence[str]] = None) -> int:
    """Parse ``cls``'s options, run the study, print its table and the files written."""
    # force: importing fairseq has already configured the root logger at DEBUG.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s",
                        force=True)
    s = parse(argv, cls)
    print(f"{cls.description.split('. ')[0]} -> {os.path.abspath(s.out)} (pretraining on the "
          f"demo's corpus: {os.path.abspath(s.demo_out)}; seeds "
          f"{','.join(map(str, s.train_seeds))})", flush=True)
    try:
        table = run(s, lambda line: print(line, flush=True))
    except StageFailed as err:
        print(f"\nERROR: {err}", file=sys.stderr)
        return 1
    with open(table["files"]["md"], encoding="utf-8") as f:
        print("\n" + f.read())
    print("Written:\n" + "\n".join(f"  {shown_path(p)}" for p in table["files"].values()))
    return 0
