"""The xlsr model's masks inside seeded_draws: a function of (seed, step, rank, item id) alone."""
import numpy as np
import torch

from xlsr_plugin.models.xlsr import XlsrConfig, XlsrModel, seeded_draws

FRAMES, CHANNELS = 200, 64


def tiny_model(**overrides) -> XlsrModel:
    cfg = XlsrConfig(encoder_layers=1, encoder_embed_dim=CHANNELS, encoder_ffn_embed_dim=64,
                     encoder_attention_heads=2, final_dim=16, latent_vars=8,
                     conv_feature_layers="[(32, 10, 5)]", conv_pos=16, conv_pos_groups=4,
                     mask_prob=0.5, mask_channel_prob=0.3, mask_channel_length=4, **overrides)
    return XlsrModel(cfg)


def masks(model, seed, step, ids):
    """(time mask [batch, frame], channel mask [batch, channel]) that apply_mask applies."""
    x = torch.ones(len(ids), FRAMES, CHANNELS)
    with seeded_draws(model, seed, step, {"id": torch.tensor(ids)}):
        out, time_mask = model.apply_mask(x, None)
    channel_mask = (out == 0).all(dim=1)  # channels zeroed on every frame
    return time_mask.numpy(), channel_mask.numpy()


def test_masks_repeat_for_the_same_key_and_differ_otherwise():
    model = tiny_model()
    time_a, channel_a = masks(model, 1, 5, [3, 7])
    time_b, channel_b = masks(model, 1, 5, [3, 7])
    np.testing.assert_array_equal(time_a, time_b)
    np.testing.assert_array_equal(channel_a, channel_b)
    assert 0.2 < time_a.mean() < 0.8 and channel_a.any()
    assert not np.array_equal(time_a[0], time_a[1])  # two items, two draws
    for other in ((2, 5, [3, 7]), (1, 6, [3, 7]), (1, 5, [4, 8])):  # seed, update, items
        assert not np.array_equal(masks(model, *other)[0], time_a)


def test_an_item_keeps_its_mask_in_another_batch():
    model = tiny_model(require_same_masks=False)  # else the batch trims masks to one count
    alone, _ = masks(model, 1, 5, [7])
    together, _ = masks(model, 1, 5, [2, 7, 9])
    np.testing.assert_array_equal(alone[0], together[1])


def test_context_restores_numpy_and_unsets_the_key():
    model = tiny_model()
    np.random.seed(0)
    expected = np.random.random()
    np.random.seed(0)
    with seeded_draws(model, 1, 5, {"id": torch.tensor([3])}):
        inside = np.random.random()  # LayerDrop's draw: seeded by the step
        assert model.draw_key.ids.tolist() == [3]
    assert np.random.random() == expected and inside != expected
    assert model.draw_key is None
    with seeded_draws(model, 1, 5, {"id": torch.tensor([4])}):
        assert np.random.random() != inside
