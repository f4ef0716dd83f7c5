import numpy as np
import pytest

from tiny_models import inputs, tiny
from reds.train.importance import random_scores
from reds.train.permute import permute_model, permuted_scores
from reds.errors import UserError
from reds.model.groups import channel_groups


@pytest.mark.parametrize("kind", ["dnn", "cnn", "ds_cnn", "resnet", "mobilenet"])
def test_permuted_model_computes_same_function(kind):
    m = tiny(kind)
    x = inputs(m, 6)
    before = m(x, training=False).numpy()
    scores = random_scores(m, seed=5)
    _, perms = permute_model(m, scores, return_perms=True)
    after = m(x, training=False).numpy()
    # float32 summed in another order differs by a few ulps of the largest output (|logit| ~78 for
    # resnet): 1e-5, or ~16 ulps (2e-6) of that scale when larger; a swapped pair of units is >=3x more
    assert np.max(np.abs(before - after)) < max(1e-5, 2e-6 * np.abs(before).max())
    moved = any(not np.array_equal(p, np.arange(len(p))) for p in perms.values())
    assert moved
    for g, s in permuted_scores(scores, perms).items():
        assert np.all(np.diff(s) <= 0), g


def test_permute_moves_units():
    m = tiny("dnn")
    k = m.get_layer("fc1").get_weights()[0].copy()
    scores = {"fc1": np.array([0, 5, 1, 4, 2, 3.0]), "fc2": np.arange(5.0)}
    permute_model(m, scores)
    np.testing.assert_array_equal(m.get_layer("fc1").get_weights()[0], k[:, [1, 3, 5, 4, 2, 0]])


def test_bad_scores():
    m = tiny("dnn")
    with pytest.raises(UserError, match="no importance scores for channel group 'fc2'"):
        permute_model(m, {"fc1": np.zeros(6)})
    with pytest.raises(UserError, match="shape"):
        permute_model(m, {"fc1": np.zeros(3), "fc2": np.zeros(5)})
    assert channel_groups(m)
