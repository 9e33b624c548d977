"""What train_step.py measures besides time: model FLOPs of a wav2vec 2.0 update, the device's peak
FLOP/s for a precision, and peak memory (CUDA allocator on GPU, resident set on CPU)."""
import resource
import time

import torch

from xlsr_plugin.layer_spec import parse_layer_spec

# Dense matrix rates by the vendors' datasheets (SXM parts, FLOP/s, no sparsity). fp32 is the
# plain (non-tensor-core) rate: PyTorch runs fp32 matrix products without TF32 by default.
DATASHEET_PEAK = {
    "H200": {"bf16": 989.4e12, "fp16": 989.4e12, "fp32": 66.9e12},
    "H100": {"bf16": 989.4e12, "fp16": 989.4e12, "fp32": 66.9e12},
    "A100": {"bf16": 312e12, "fp16": 312e12, "fp32": 19.5e12},
}
DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def conv_encoder_flops(conv_layers, samples: int):
    """Forward FLOPs of the conv feature encoder on one utterance of `samples` samples, and the
    frames it outputs. conv_layers: [(channels, kernel, stride), ...] (fairseq's string, parsed)."""
    flops, length, channels_in = 0, samples, 1
    for channels, kernel, stride in conv_layers:
        length = (length - kernel) // stride + 1
        flops += 2 * length * kernel * channels_in * channels
        channels_in = channels
    return flops, length


def forward_flops(model_cfg, batch: int, samples: int) -> int:
    """Forward FLOPs of wav2vec 2.0 on a [batch, samples] input: conv feature encoder, projection
    to the Transformer, convolutional positional embedding, Transformer blocks (projections,
    attention, FFN). The quantizer and the contrastive head are left out (< 1% at Base)."""
    conv_layers = parse_layer_spec(model_cfg.conv_feature_layers)  # fairseq's format, read as data
    conv, frames = conv_encoder_flops(conv_layers, samples)
    channels, dim, ffn = conv_layers[-1][0], model_cfg.encoder_embed_dim, model_cfg.encoder_ffn_embed_dim
    projection = 2 * frames * channels * dim if channels != dim else 0
    depth = getattr(model_cfg, "pos_conv_depth", 1)
    kernel = model_cfg.conv_pos if depth <= 1 else max(3, model_cfg.conv_pos // depth)
    positional = depth * 2 * frames * kernel * dim * dim // model_cfg.conv_pos_groups
    block = frames * (8 * dim * dim + 4 * dim * ffn) + 4 * frames * frames * dim
    return batch * (conv + projection + positional + model_cfg.encoder_layers * block)


def update_flops(model_cfg, shapes) -> int:
    """Model FLOPs of one update over micro-batches of the given [batch, samples] shapes: backward
    costs about twice the forward, so 3x forward."""
    return sum(3 * forward_flops(model_cfg, b, t) for b, t in shapes)


def datasheet_peak(device: str, precision: str):
    """The datasheet's dense FLOP/s of this GPU for `precision`, or None if it is not listed."""
    if device != "cuda":
        return None
    name = torch.cuda.get_device_name()
    return next((rates[precision] for gpu, rates in DATASHEET_PEAK.items() if gpu in name), None)


def measured_peak(device: str, precision: str, size: int = 0) -> float:
    """FLOP/s of a large square matrix product in `precision` on this device (median of 5 after
    warm-up), the practical ceiling MFU is also given against."""
    size = size or (8192 if device == "cuda" else 1024)
    dtype = DTYPES[precision]
    a = torch.randn(size, size, device=device).to(dtype)
    b = torch.randn(size, size, device=device).to(dtype)
    times = []
    for i in range(8):
        sync(device)
        start = time.perf_counter()
        torch.mm(a, b)
        sync(device)
        if i >= 3:
            times.append(time.perf_counter() - start)
    return 2 * size**3 / sorted(times)[len(times) // 2]


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def peak_rss_bytes() -> int:
    """This process's peak resident set (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class CudaPeak:
    """torch.cuda.max_memory_allocated across fairseq's Trainer, which resets the peak after every
    update (to log gb_free): the reset is wrapped so that the peak it discards is kept here."""

    def __init__(self):
        self.kept = 0
        self._reset = torch.cuda.reset_peak_memory_stats
        torch.cuda.reset_peak_memory_stats = self._keep_then_reset

    def _keep_then_reset(self, *args, **kwargs):
        self.kept = max(self.kept, torch.cuda.max_memory_allocated())
        self._reset(*args, **kwargs)

    def restart(self) -> None:
        self.kept = 0
        self._reset()

    def peak(self) -> int:
        return max(self.kept, torch.cuda.max_memory_allocated())
