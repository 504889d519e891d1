"""The adaptive path integral behind integrated gradients: complete within its tolerance, exact where linear."""

import numpy as np
import pytest

from zoo.explain.path_integral import integrate_path


def relu_sum(kinks, targets=3, seed=0):
    """f(a) = sum_k relu(w_k a - c_k) per target, and its parts (each term's slope): piecewise linear in a."""
    rng = np.random.default_rng(seed)
    w, c = rng.normal(size=(kinks, targets)), rng.uniform(-1, 1, (kinks, targets))

    def values(a):
        return np.maximum(w[None] * a[:, None, None] - c[None], 0)

    def evaluate(a):
        return values(a).sum(axis=1), w[None] * (w[None] * a[:, None, None] - c[None] > 0)

    exact = np.maximum(w - c, 0) - np.maximum(-c, 0)  # each term's rise from a=0 to a=1
    return evaluate, values(np.zeros(1)).sum(axis=1)[0], values(np.ones(1)).sum(axis=1)[0], exact


@pytest.mark.parametrize("kinks", [1, 10, 200])
def test_the_parts_sum_to_the_rise_within_the_tolerance(kinks):
    evaluate, start, end, exact = relu_sum(kinks)
    total, gap, used = integrate_path(evaluate, start, end, tolerance=1e-3)
    assert total.shape == exact.shape
    assert np.abs(gap).max() <= 1e-3
    np.testing.assert_allclose(gap, total.sum(axis=0) - (end - start), atol=1e-12)  # the gap is the real one
    assert np.abs(total - exact).max() < 0.05  # each part close to its own rise, not only the sum
    assert used <= 2048


def test_a_linear_path_needs_only_the_first_grid():
    slope = np.array([[0.5], [-2.0]])

    def evaluate(a):
        return (a[:, None] * slope.sum(axis=0)), np.broadcast_to(slope, (len(a), 2, 1))

    total, gap, used = integrate_path(evaluate, [0.0], [-1.5], tolerance=1e-9, first=4)
    np.testing.assert_allclose(total, slope, atol=1e-12)
    assert abs(gap[0]) < 1e-12 and used == 3 + 4


def test_the_budget_stops_the_grid_and_the_gap_says_so():
    evaluate, start, end, _ = relu_sum(3000)
    _, gap, used = integrate_path(evaluate, start, end, tolerance=1e-9, max_points=200)
    assert used <= 200 and np.abs(gap).max() > 1e-9
