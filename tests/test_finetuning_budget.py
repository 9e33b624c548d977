"""xlsr_finetuning keeps max_tokens for training (what cannot fit is skipped and counted) and
raises it only for evaluation, where no utterance may be dropped."""
import logging

from test_finetuning_task import make_task, write_data

# Utterances of 8,000 and 8,800 samples in fi and sw (test_finetuning_task.write_data).
MAX_TOKENS = 8400


def _batches(task, split, **kwargs):
    itr = task.get_batch_iterator(task.dataset(split), max_tokens=MAX_TOKENS, seed=1, **kwargs)
    return list(itr.next_epoch_itr(shuffle=False))


def test_training_keeps_its_budget_and_counts_what_it_skips(tmp_path, caplog):
    write_data(tmp_path)
    task = make_task(tmp_path, train_subset="test")
    task.load_dataset("test")
    dataset = task.dataset("test")
    # As the trainer asks: max_positions of the task and model resolved with max_tokens.
    with caplog.at_level(logging.WARNING):
        batches = _batches(task, "test", max_positions=(2**62, 2**62), ignore_invalid_inputs=True)
    assert "2 utterance(s) (0.00 hours) longer than max_tokens=8400 samples are skipped" in caplog.text
    ids = sorted(i for batch in batches for i in batch["id"].tolist())
    assert [int(dataset.sizes[i]) for i in ids] == [8000, 8000]
    assert all(batch["net_input"]["source"].numel() <= MAX_TOKENS for batch in batches)


def test_evaluation_raises_the_budget_to_the_longest_utterance(tmp_path, caplog):
    write_data(tmp_path)
    task = make_task(tmp_path, train_subset="train")
    task.load_dataset("test")
    with caplog.at_level(logging.INFO):
        batches = _batches(task, "test")
    assert "evaluation: max_tokens 8400 raised to the longest utterance, 8800 samples" in caplog.text
    assert sorted(i for batch in batches for i in batch["id"].tolist()) == [0, 1, 2, 3]
