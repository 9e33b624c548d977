"""Batch iterators of evaluation subsets whose DataLoader workers exit at the end of each pass.

fairseq caches one EpochBatchIterator per subset, and a pass never lets its DataLoader end:
CountingIterator (and BufferedIterator's thread) stop after the last batch without asking for
one more, so even non-persistent workers stay alive as long as the cached iterator does.
Validating 53 languages one by one (`valid_<lang>`) would keep 53 x num_workers processes and
their file descriptors on every rank."""
from fairseq.data import iterators


def _ending_workers(batches):
    """The batches of fairseq's CountingIterator `batches`; after the last one, the DataLoader
    ends and the pass lets go of it."""
    for batch in batches:
        if not batches.has_next():
            source = batches._itr
            # Every batch has left the DataLoader: one more step ends it, and a DataLoader
            # without persistent workers stops them when it ends. (Behind a BufferedIterator,
            # data_buffer_size > 0, its thread reads the DataLoader and drops it when done.)
            if not isinstance(source, iterators.BufferedIterator):
                next(source, None)
            # The EpochBatchIterator keeps the pass, in a reference cycle that only the garbage
            # collector would free: let go of the DataLoader now, and of its queues' pipes.
            batches._itr = iter(())
        yield batch


class EvaluationBatchIterator(iterators.EpochBatchIterator):
    """fairseq's EpochBatchIterator whose passes stop their workers after the last batch."""

    def next_epoch_itr(self, *args, **kwargs):
        batches = super().next_epoch_itr(*args, **kwargs)
        return iterators.CountingIterator(_ending_workers(batches), start=batches.n, total=batches.total)


def for_evaluation(iterator):
    """The iterator, its workers stopped at the end of every pass (one not persistent)."""
    if type(iterator) is iterators.EpochBatchIterator:
        iterator.persistent_workers = False
        iterator.__class__ = EvaluationBatchIterator
    return iterator
