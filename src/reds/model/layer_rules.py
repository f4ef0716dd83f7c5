"""Which Keras layers REDS can slice and the runtime can run, and why the others cannot:
the rules both the channel-group analysis and the user-model checks apply."""
from __future__ import annotations

import keras

from reds.errors import UserError


#: activations the runtime executes (fused into CONV_2D / FULLY_CONNECTED or as SOFTMAX)
RUNTIME_ACTIVATIONS = ("linear", "relu", "relu6", "softmax")


class UnsupportedLayerError(UserError):
    """Layers of a user model cannot be sliced (or run); the message names every one of them,
    ``problems`` holds one line per layer."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = list(problems) if problems else [message]


_FULL_WIDTH_NO_KERNEL = "keeping it at full width would not work either: the runtime has no kernel for it"


_WHY = {
    "Concatenate": ("concatenation stacks several channel groups, so a width prefix of its output is not a "
                    "prefix of each input", _FULL_WIDTH_NO_KERNEL),
    "Multiply": ("an element-wise product ties channels like Add, but the runtime has no MUL kernel", _FULL_WIDTH_NO_KERNEL),
    "Subtract": ("the runtime has no SUB kernel", _FULL_WIDTH_NO_KERNEL),
    "LSTM": ("recurrent units are coupled through the recurrent kernel, so no unit can be dropped alone",
             _FULL_WIDTH_NO_KERNEL),
    "GRU": ("recurrent units are coupled through the recurrent kernel", _FULL_WIDTH_NO_KERNEL),
    "SimpleRNN": ("recurrent units are coupled through the recurrent kernel", _FULL_WIDTH_NO_KERNEL),
    "Conv1D": ("1-D convolutions are not analysed", "reshape the input to 2-D and use Conv2D with a 1xk kernel"),
    "GlobalMaxPooling2D": ("the runtime has no REDUCE_MAX kernel", "use GlobalAveragePooling2D"),
    "LayerNormalization": ("normalizes across channels, so slicing changes every kept channel",
                           _FULL_WIDTH_NO_KERNEL),
    "Attention": ("attention mixes positions and channels", _FULL_WIDTH_NO_KERNEL),
    "MultiHeadAttention": ("attention mixes positions and channels", _FULL_WIDTH_NO_KERNEL),
    "Embedding": ("the runtime has no GATHER kernel", _FULL_WIDTH_NO_KERNEL),
    "UpSampling2D": ("the runtime has no RESIZE kernel", _FULL_WIDTH_NO_KERNEL),
    "Conv2DTranspose": ("the runtime has no TRANSPOSE_CONV kernel", _FULL_WIDTH_NO_KERNEL),
}


SLICEABLE = ("Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Dense", "BatchNormalization", "ReLU", "Activation",
             "Add", "AveragePooling2D", "MaxPooling2D", "GlobalAveragePooling2D", "Flatten", "Reshape", "Dropout",
             "ZeroPadding2D", "Softmax", "InputLayer")


def layer_problem(layer) -> str | None:
    """Why ``layer`` cannot be part of a REDS model (None if it can)."""
    kind = type(layer).__name__
    where = f"layer {layer.name!r} ({kind})"
    if kind in _WHY:
        why, full = _WHY[kind]
        return f"{where} cannot be sliced: {why}; {full}"
    if kind not in SLICEABLE or type(layer).__module__.split(".")[0] != "keras":
        return (f"{where} cannot be sliced: the toolkit does not know how its channels map from input to output "
                f"(supported: {', '.join(SLICEABLE[:-1])}); {_FULL_WIDTH_NO_KERNEL} "
                "(a custom layer has no TFLite builtin op)")
    act = getattr(layer, "activation", None)
    name = getattr(act, "__name__", None) if act is not None else None
    if kind == "Activation" or (act is not None and kind in ("Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Dense")):
        if name not in RUNTIME_ACTIVATIONS:
            return (f"{where}: activation {name!r} is element-wise and could be sliced, but the runtime runs only "
                    f"{', '.join(RUNTIME_ACTIVATIONS)}; use ReLU or ReLU6")
    if kind == "ReLU":
        cfg = layer.get_config()
        if cfg.get("negative_slope") or cfg.get("threshold") or cfg.get("max_value") not in (None, 6, 6.0):
            return (f"{where}: only ReLU and ReLU6 run on the runtime (got max_value={cfg.get('max_value')}, "
                    f"negative_slope={cfg.get('negative_slope')}, threshold={cfg.get('threshold')})")
    if kind in ("Conv2D", "SeparableConv2D") and getattr(layer, "groups", 1) != 1:
        return f"{where} cannot be sliced: grouped convolution ({layer.groups} groups)"
    if kind in ("DepthwiseConv2D", "SeparableConv2D") and getattr(layer, "depth_multiplier", 1) != 1:
        return f"{where} cannot be sliced: depth_multiplier {layer.depth_multiplier} (only 1)"
    rate = getattr(layer, "dilation_rate", (1, 1))
    if kind in ("Conv2D", "DepthwiseConv2D", "SeparableConv2D") and tuple(rate) != (1, 1):
        return f"{where}: dilation {tuple(rate)} is not supported by the runtime"
    return None


def check_layers(model: keras.Model) -> None:
    """Raise :class:`UnsupportedLayerError` naming every layer that cannot be sliced or run,
    so that one edit of the model can fix them all."""
    problems = [p for p in map(layer_problem, model.layers) if p]
    if len(problems) == 1:
        raise UnsupportedLayerError(problems[0])
    if problems:
        raise UnsupportedLayerError(f"{len(problems)} layers cannot be used: "
                                    + "; ".join(f"({i}) {p}" for i, p in enumerate(problems, 1)),
                                    problems)
