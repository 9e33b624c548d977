"""Training and validation steps whose random draws are functions of (seed, update, rank, item):
two runs with one seed, or a resumed run and an uninterrupted one, end with the same weights."""
from xlsr_plugin.models.xlsr import VALIDATION_STEP, seeded_draws


class SeededStepsMixin:
    """For a task whose cfg has `seed`; put it first among the bases. Only wraps the parent's
    steps: see models/xlsr.py `seeded_draws` for what is seeded."""

    def train_step(self, sample, model, criterion, optimizer, update_num, ignore_grad=False, **kwargs):
        with seeded_draws(model, self.cfg.seed, update_num, sample):
            return super().train_step(sample, model, criterion, optimizer, update_num,
                                      ignore_grad, **kwargs)

    def valid_step(self, sample, model, criterion):
        with seeded_draws(model, self.cfg.seed, VALIDATION_STEP, sample):
            return super().valid_step(sample, model, criterion)
