"""Bring your own Keras model: where a recipe's ``arch`` points, loading it, rewriting it into
the layers REDS slices, and refusing what cannot be sliced before any training.

``arch`` is one of:

* a zoo name (``ds_cnn_s``, see ``reds.model.zoo.ARCHS``);
* a Keras model file, ``.keras`` (or ``.h5`` where Keras 3 loads it), relative to the recipe's
  folder; its weights are kept, and a recipe may then skip pretraining (``pretrain.epochs: 0``);
* a Python builder ``package.module:function`` (the recipe's folder is importable), called as
  ``function(input_shape=..., classes=...)`` and returning a Keras model.

:func:`normalize` turns Sequential models into functional ones and splits every
``SeparableConv2D`` into ``DepthwiseConv2D`` + 1x1 ``Conv2D`` with the same weights (the same
two ops the TFLite converter emits), so the rest of the toolkit sees a single set of layers.
:func:`check_layers` names every layer that cannot be sliced, its type, why, and whether
keeping it at full width would work; :func:`load_arch` checks the user's layers before
normalizing, so a refusal names a layer the user wrote.
"""
from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from pathlib import Path

import keras

from reds.errors import UserError
from reds.model.layer_rules import check_layers

L = keras.layers

MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")


@dataclass(frozen=True)
class ArchSpec:
    kind: str   # "zoo" | "file" | "builder"
    value: str  # zoo name, absolute file path, or "module:function"

    def describe(self) -> str:
        return {"zoo": "zoo architecture", "file": "Keras model file", "builder": "model builder"}[self.kind] + \
            f" {self.value}"


def arch_kind(arch) -> str | None:
    """``"zoo"``, ``"file"``, ``"builder"`` by the spelling of ``arch``, or None."""
    from reds.model.zoo import ARCHS

    if not isinstance(arch, str) or not arch.strip():
        return None
    if arch in ARCHS:
        return "zoo"
    if arch.lower().endswith(MODEL_SUFFIXES):
        return "file"
    module, sep, func = arch.partition(":")
    if sep and module and func.isidentifier() and all(p.isidentifier() for p in module.split(".")):
        return "builder"
    return None


def arch_error(arch) -> str:
    from reds.model.zoo import ARCHS

    return (f"{arch!r} is neither a zoo architecture ({', '.join(sorted(ARCHS))}), a Keras model file "
            "(.keras, .h5) nor a builder 'package.module:function'")


def resolve_arch(arch: str, base_dir=None) -> ArchSpec:
    """Classify a recipe's ``arch`` and resolve a file path against ``base_dir``."""
    kind = arch_kind(arch)
    if kind is None:
        raise UserError(f"arch {arch_error(arch)}")
    if kind == "file":
        path = Path(arch).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = Path(base_dir) / path
        if not path.is_file():
            raise UserError(f"arch: Keras model file {path} not found")
        return ArchSpec("file", str(path.resolve()))
    return ArchSpec(kind, arch)


def load_arch(spec: ArchSpec, input_shape=None, classes: int | None = None, base_dir=None) -> keras.Model:
    """The user's model, normalized (see module doc). Zoo names are built by ``reds.model.zoo``."""
    if spec.kind == "zoo":
        raise UserError("load_arch: zoo architectures are built with reds.model.zoo.build_model")
    if spec.kind == "file":
        try:
            model = keras.models.load_model(spec.value, compile=False)
        except (ValueError, TypeError, OSError, KeyError) as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise UserError(f"cannot load Keras model {spec.value}: {first} "
                            "(custom layers must be registered, see docs/your-model.md)") from None
    else:
        model = _call_builder(spec.value, input_shape, classes, base_dir)
    if not isinstance(model, keras.Model):
        raise UserError(f"{spec.describe()} gave {type(model).__name__}, not a Keras model")
    check_layers(model)  # the user's own layers, before normalize renames any of them
    model = normalize(model)
    _check_io(model, spec, input_shape, classes)
    return model


def _call_builder(target: str, input_shape, classes, base_dir):
    module_name, _, func_name = target.partition(":")
    added = False
    if base_dir is not None and str(base_dir) not in sys.path:
        sys.path.insert(0, str(base_dir))
        added = True
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise UserError(f"arch {target!r}: cannot import {module_name} ({e})") from None
    finally:
        if added:
            sys.path.remove(str(base_dir))
    fn = getattr(module, func_name, None)
    if not callable(fn):
        raise UserError(f"arch {target!r}: {module_name} has no function {func_name}")
    if input_shape is None or classes is None:
        raise UserError(f"arch {target!r}: a builder needs input_shape and classes (from the recipe or dataset)")
    try:
        return fn(input_shape=tuple(input_shape), classes=int(classes))
    except TypeError as e:
        raise UserError(f"arch {target!r}: builder must accept input_shape= and classes= ({e})") from None


def _check_io(model, spec, input_shape, classes):
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise UserError(f"{spec.describe()}: {len(model.inputs)} inputs and {len(model.outputs)} outputs; "
                        "REDS needs one input and one output")
    got = tuple(model.inputs[0].shape[1:])
    if input_shape is not None and got != tuple(input_shape):
        raise UserError(f"{spec.describe()}: input shape {list(got)} does not match the data's {list(input_shape)}")
    out = model.outputs[0].shape[-1]
    if classes is not None and out != classes:
        raise UserError(f"{spec.describe()}: {out} outputs but the data has {classes} classes")


# --------------------------------------------------------------------------- normalize


def _clone(layer, **overrides):
    config = layer.get_config()
    config.update(overrides)
    return layer.__class__.from_config(config)


def _split_separable(layer, x):
    """``SeparableConv2D`` -> DepthwiseConv2D (no bias, no activation) + Conv2D 1x1, same weights.

    The 1x1 conv keeps the layer's name: it makes the layer's output channels, so the channel
    group, the plan and every message name the layer the user wrote; the depthwise half is
    ``<name>_dw``."""
    cfg = layer.get_config()
    dw = L.DepthwiseConv2D(cfg["kernel_size"], strides=cfg["strides"], padding=cfg["padding"],
                           depth_multiplier=cfg["depth_multiplier"], dilation_rate=cfg["dilation_rate"],
                           use_bias=False, name=f"{layer.name}_dw")
    pw = L.Conv2D(cfg["filters"], 1, activation=cfg["activation"], use_bias=cfg["use_bias"],
                  name=layer.name)
    y = pw(dw(x))
    weights = layer.get_weights()
    dw.set_weights([weights[0]])
    pw.set_weights(weights[1:])
    return y


def _is_softmax(layer) -> bool:
    act = getattr(layer, "activation", None)
    return isinstance(layer, L.Softmax) or getattr(act, "__name__", None) == "softmax"


def normalize(model: keras.Model) -> keras.Model:
    """A functional copy of ``model`` with SeparableConv2D split (weights shared by value) and a
    final softmax removed (the toolkit trains on logits; the argmax is the same). Returns
    ``model`` itself when there is nothing to change."""
    from reds.model.groups import inbound_layers

    sequential = isinstance(model, keras.Sequential)
    separable = any(isinstance(layer, L.SeparableConv2D) for layer in model.layers)
    last = model.layers[-1] if sequential else model.outputs[0]._keras_history.operation
    if not sequential and not separable and not _is_softmax(last):
        return model
    inp = keras.Input(batch_shape=tuple(model.inputs[0].shape), name=model.inputs[0].name.split(":")[0])
    out: dict[str, object] = {}
    x = inp
    for layer in model.layers:
        if isinstance(layer, L.InputLayer):
            out[layer.name] = inp
            continue
        if sequential:
            args = x
        else:
            ins = [out[n] if n in out else inp for n in inbound_layers(layer)]
            args = ins[0] if len(ins) == 1 else ins
        if layer is last and isinstance(layer, L.Softmax):
            y = args
        elif layer is last and _is_softmax(layer):
            clone = _clone(layer, activation="linear")
            y = clone(args)
            clone.set_weights(layer.get_weights())
        elif isinstance(layer, L.SeparableConv2D):
            y = _split_separable(layer, args)
        else:
            clone = _clone(layer)
            y = clone(args)
            clone.set_weights(layer.get_weights())
        out[layer.name] = x = y
    outputs = x if sequential else out[last.name]
    return keras.Model(inp, outputs, name=model.name)


def build_arch(arch: str, input_shape, classes: int, seed: int = 0, width_mult: float = 1.0,
               arch_options: dict | None = None, arch_dir=None) -> keras.Model:
    """The model a recipe's ``arch`` names: a zoo architecture, or the user's model loaded,
    normalized and checked (every layer sliceable) before any training."""
    from reds.model.groups import channel_groups
    from reds.model.zoo import build_model

    spec = resolve_arch(arch, arch_dir)
    if spec.kind == "zoo":
        return build_model(arch, input_shape=input_shape, num_classes=classes, seed=seed,
                           width_mult=width_mult, **(arch_options or {}))
    if width_mult != 1.0 or arch_options:
        raise UserError(f"{spec.describe()}: width_mult and arch_options apply to zoo architectures only")
    keras.utils.set_random_seed(seed)
    model = load_arch(spec, input_shape, classes, arch_dir)
    check_layers(model)
    if not channel_groups(model):
        raise UserError(f"{spec.describe()}: no channel group to slice (REDS needs a Conv2D or Dense "
                        "layer before the logits)")
    return model





def layer_macs(layer) -> int:
    """Multiply-accumulates of one Conv2D / DepthwiseConv2D / Dense call at full width."""
    if not isinstance(layer, (L.Conv2D, L.DepthwiseConv2D, L.Dense)):
        return 0
    out = tuple(layer._inbound_nodes[0].output_tensors[0].shape)
    inp = tuple(layer._inbound_nodes[0].input_tensors[0].shape)
    if isinstance(layer, L.DepthwiseConv2D):
        kh, kw = layer.kernel_size
        return int(out[1] * out[2] * kh * kw * out[3])
    if isinstance(layer, L.Conv2D):
        kh, kw = layer.kernel_size
        return int(out[1] * out[2] * kh * kw * inp[-1] * out[3])
    if isinstance(layer, L.Dense):
        rows = 1
        for d in inp[1:-1]:
            rows *= int(d)
        return int(rows * inp[-1] * out[-1])
    return 0


def describe_model(model: keras.Model, min_width: int | dict = 1) -> dict:
    """What REDS finds in a Keras model: channel groups (width, layers), sliceable layers with
    their full-width MACs, and the total. Raises UnsupportedLayerError like training would."""
    from reds.model.groups import channel_groups, unit_layers

    check_layers(model)
    groups = channel_groups(model, min_width)
    units = {u.name: u for u in unit_layers(model)}
    fed_by = {c.layer: g.name for g in groups for c in g.consumers}
    layers = []
    for layer in model.layers:
        macs = layer_macs(layer)
        if macs or layer.name in units:
            u = units.get(layer.name)
            layers.append({"name": layer.name, "type": type(layer).__name__, "macs": macs,
                           "group": u.group if u else None,
                           "in_group": u.in_group if u else fed_by.get(layer.name)})
    return {"name": model.name, "input_shape": [int(d) for d in model.inputs[0].shape[1:]],
            "outputs": int(model.outputs[0].shape[-1]), "parameters": int(model.count_params()),
            "macs": sum(r["macs"] for r in layers),
            "groups": [{**g.to_dict(), "units": g.width} for g in groups], "layers": layers}


__all__ = ["describe_model", "layer_macs", "ArchSpec", "arch_kind", "resolve_arch", "load_arch", "normalize",
           "build_arch"]
