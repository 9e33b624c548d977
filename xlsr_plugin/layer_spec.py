"""fairseq's layer specifications, such as conv_feature_layers "[(512, 10, 5)] + [(512, 3, 2)] * 4",
read without eval. fairseq evals them when it builds a model (wav2vec2.py), so the ones a
checkpoint carries are checked with this parser before fairseq sees them."""
import ast
from typing import Union

Spec = Union[int, float, list, tuple]
MAX_ITEMS = 100_000  # "[(1, 1, 1)] * 10**12" is a literal too


class LayerSpecError(ValueError):
    """Text that is not numbers, lists and tuples joined by + and *."""


def parse_layer_spec(text: str) -> Spec:
    """The value of `text`, an expression of numbers, lists, tuples, + and * (nothing else)."""
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError) as error:
        raise LayerSpecError(f"{text!r} is not a layer specification ({error})") from None
    return _value(tree.body, text)


def _value(node, text: str) -> Spec:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_value(item, text) for item in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mult)):
        return _combined(node.op, _value(node.left, text), _value(node.right, text), text)
    raise LayerSpecError(f"{text!r} is not a layer specification: only numbers, lists, tuples, "
                         f"+ and * may appear, not {type(node).__name__}")


def _combined(op, left: Spec, right: Spec, text: str) -> Spec:
    sizes = [len(x) if isinstance(x, (list, tuple)) else 1 for x in (left, right)]
    counts = [x for x in (left, right) if type(x) is int]
    if isinstance(op, ast.Mult) and counts and max(sizes) * max(counts) > MAX_ITEMS:
        raise LayerSpecError(f"{text!r} is not a layer specification: over {MAX_ITEMS} items")
    try:
        return left + right if isinstance(op, ast.Add) else left * right
    except TypeError as error:
        raise LayerSpecError(f"{text!r} is not a layer specification ({error})") from None
