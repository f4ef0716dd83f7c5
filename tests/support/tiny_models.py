"""Tiny models shared by the toolkit tests (not a test module)."""
import numpy as np

from reds.model.zoo import build_model

TINY = {
    "dnn": dict(arch="dnn", input_shape=(4, 3, 1), units=(6, 5)),
    "cnn": dict(arch="cnn", input_shape=(10, 6, 1), convs=((4, (3, 2), (1, 1)), (5, (3, 2), (2, 1))),
                linear=3, fc=(6,)),
    "ds_cnn": dict(arch="ds_cnn", input_shape=(8, 8, 1), channels=8, blocks=2, first_kernel=3,
                   first_stride=1, block_strides=(1, 2)),
    "resnet": dict(arch="resnet", input_shape=(8, 8, 3), filters=(4, 6, 8)),
    "mobilenet": dict(arch="mobilenet_v1", input_shape=(16, 16, 3), width_mult=1.0, first_channels=4,
                      blocks=((6, 1), (8, 2))),
}


def tiny(kind, num_classes=3, seed=0, randomize=True, **over):
    opts = dict(TINY[kind])
    opts.update(over)
    arch, shape = opts.pop("arch"), opts.pop("input_shape")
    model = build_model(arch, shape, num_classes, seed=seed, **opts)
    if randomize:  # non-trivial BN statistics and biases so permutation bugs show
        rng = np.random.default_rng(seed + 7)
        for layer in model.layers:
            ws = layer.get_weights()
            if not ws:
                continue
            if type(layer).__name__ == "BatchNormalization":
                g, b, m, v = ws
                layer.set_weights([rng.uniform(0.5, 1.5, g.shape), rng.normal(0, 0.3, b.shape),
                                   rng.normal(0, 0.3, m.shape), rng.uniform(0.5, 2.0, v.shape)])
            else:
                layer.set_weights([rng.normal(0, 0.5, w.shape) for w in ws])
    return model


def inputs(model, n=5, seed=1):
    shape = tuple(model.inputs[0].shape[1:])
    return np.random.default_rng(seed).random((n,) + shape).astype(np.float32)
