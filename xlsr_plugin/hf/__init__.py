"""Export to Hugging Face transformers (`python -m xlsr_plugin.to_hf`): checkpoint reading
(`checkpoint`), config derivation (`config`), weight names (`weights`), the CTC tokenizer
(`tokenizer`), writing (`export`) and the layer-by-layer comparison with fairseq (`check`).

transformers and safetensors are an optional extra: `pip install '.[hf]'`.
"""
MISSING_EXTRA = ("the Hugging Face export needs transformers and safetensors: "
                 "pip install 'xlsr_plugin[hf]' (pip install '.[hf]' in a checkout)")


def require_transformers() -> None:
    """An ImportError saying how to install the extra, when it is missing."""
    try:
        import safetensors  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as error:
        raise ImportError(f"{MISSING_EXTRA} ({error})") from error
