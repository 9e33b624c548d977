"""xlsr_plugin: XLSR (cross-lingual wav2vec 2.0) as a fairseq --user-dir plugin."""
from setuptools import find_packages, setup

# The ranges the code supports; the exact set the tests ran with is constraints.txt (`make
# install` uses it). torch >= 2.6: torch.load defaults to weights_only=True, which the plugin's
# checkpoint loading relies on (xlsr_plugin/__init__.py); torchaudio matches the torch installed.
# fairseq-fixed is fairseq 0.12.2 made to import on Python >= 3.11 (mutable dataclass defaults);
# the plugin subclasses fairseq 0.12's tasks and models, hence < 0.13.
INSTALL_REQUIRES = [
    "torch>=2.6",
    "torchaudio>=2.6",
    "fairseq-fixed>=0.12.3.1,<0.13",
    "soundfile>=0.12",
    "soxr>=0.3",
    "numpy",
    "editdistance",
    "sacrebleu",
    "phonemizer>=3.2",
    "flashlight-text",
    "babel",
    "tqdm",
    # fairseq writes every logged metric to TensorBoard with common.tensorboard_logdir; without
    # tensorboardX every command prints "Please install tensorboardX". tensorboard: the viewer
    # (`tensorboard --logdir`) and the event-file reader of the tests.
    "tensorboardX",
    "tensorboard",
    # fairseq's FileAudioDataset keeps manifest paths in a pyarrow array when it imports (else a
    # Python list, which every forked loader worker copies as it reads: bench/memory.py).
    "pyarrow",
]

setup(
    name="xlsr_plugin",
    version="0.1.0",
    description="XLSR multilingual wav2vec 2.0 pretraining and CTC fine-tuning for fairseq",
    # manifests/*.py are scripts over xlsr_plugin.preparation, not a package of their own.
    packages=find_packages(include=["xlsr_plugin", "xlsr_plugin.*"]),
    python_requires=">=3.11",  # what is tested (fairseq-fixed); see constraints.txt
    license="MIT",
    install_requires=INSTALL_REQUIRES,
    extras_require={
        "test": ["pytest>=7", "ruff"],
        "analysis": ["matplotlib", "scipy"],
        "hf": ["transformers>=5", "safetensors"],  # python -m xlsr_plugin.to_hf
        # hydra/launcher=submitit_slurm (config/pretraining/run_config/slurm_*.yaml)
        "slurm": ["hydra-submitit-launcher>=1.2"],
    },
)
