"""Integrated gradients' path integral on an adaptive grid that is refined until it is complete.

Along the straight path x(a) = x0 + a (x - x0), a in [0, 1], the integrand's parts
(for example each input bin's gradient times its step, or each branch's
derivative) sum to the slope of the output f(x(a)). The integral of the parts
is a midpoint sum over intervals. Each interval's error is known exactly,
because the output itself is evaluated at its ends:

    error(a, b) = f(b) - f(a) - (b - a) slope((a + b) / 2),

and the completeness gap is the sum of these errors. Starting from a uniform
grid, the intervals with the largest errors are halved until the gap is
within `tolerance` for every target: completeness by refinement, not by
rescaling. Networks of ReLUs and max pooling are piecewise linear along the
path, so the refinement gathers around the kinks where the slope jumps.
Intervals whose error is negligible (below a hundredth of the tolerance per
unit of width) are folded into the sum at once, which bounds memory.
"""

import numpy as np

from musiczoo_runtime.choices import EXACT_MAX_POINTS


def integrate_path(evaluate, start, end, tolerance=1e-3, first=16, max_points=EXACT_MAX_POINTS, batch=64, outputs=None):
    """Integrates the parts of the output's slope along the path from a=0 to a=1.

    Args:
        evaluate: callable taking positions `[n]` in [0, 1] and returning (outputs `[n, targets]`,
            parts `[n, parts, targets]` whose sum over parts is d outputs / d a).
        start: outputs at a=0 `[targets]`; end: outputs at a=1 `[targets]`.
        tolerance: completeness tolerance of every target.
        first: intervals of the first uniform grid (at most half of `max_points`).
        max_points: evaluations allowed; the grid stops there and the gap says how far it got.
        batch: most positions per `evaluate` call (bounds memory).
        outputs: optional cheaper callable, positions `[n]` -> outputs `[n, targets]` (no parts), for the
            first grid's inner edges; its calls are not counted in `max_points`.

    Returns:
        (integral of the parts `[parts, targets]`, gap = its sum over parts minus (end - start)
        `[targets]`, evaluations used).
    """
    start, end = np.asarray(start, np.float64), np.asarray(end, np.float64)
    first = max(1, min(first, max_points // 2))
    edges = np.linspace(0.0, 1.0, first + 1)
    used = 0 if outputs is not None else first - 1
    outputs = outputs or (lambda alphas: evaluate(alphas)[0])
    inner = [np.asarray(outputs(edges[1 + i:min(first, 1 + i + batch)]), np.float64)
             for i in range(0, first - 1, batch)]
    values = np.concatenate([start[None], *inner, end[None]])
    new = [edges[:-1], edges[1:], values[:-1], values[1:]]  # lows, highs, f(lows), f(highs), not yet evaluated
    final, folded_gap = 0.0, 0.0  # integral and gap over the intervals already folded in
    open_ = None  # intervals kept for refinement: lows, highs, f(lows), f(highs), mid parts, signed errors, f(mids)
    while True:
        while len(new[0]):
            lows, highs, f_lows, f_highs = (column[:batch] for column in new)
            new = [column[batch:] for column in new]
            mids = 0.5 * (lows + highs)
            f_mids, parts = evaluate(mids)
            f_mids, parts, used = np.asarray(f_mids, np.float64), np.asarray(parts, np.float32), used + len(mids)
            widths = highs - lows
            signed = f_highs - f_lows - widths[:, None] * parts.sum(axis=1, dtype=np.float64)
            done = np.abs(signed).max(axis=1) <= 0.01 * tolerance * widths
            folded_gap = folded_gap + signed[done].sum(axis=0)
            final = final + np.einsum("n,npt->pt", widths[done], parts[done], dtype=np.float64)
            kept = tuple(column[~done] for column in (lows, highs, f_lows, f_highs, parts, signed, f_mids))
            open_ = kept if open_ is None else tuple(np.concatenate(pair) for pair in zip(open_, kept))
        lows, highs, f_lows, f_highs, parts, signed, f_mids = open_
        gap = folded_gap + signed.sum(axis=0)
        if np.abs(gap).max() <= tolerance or used + 2 > max_points or not len(lows):
            break
        worst = np.argsort(-np.abs(signed[:, np.abs(gap) > tolerance]).max(axis=1))  # for the targets still off
        split = np.zeros(len(lows), bool)
        split[worst[:max(1, min(batch // 2, (max_points - used) // 2))]] = True
        mids = 0.5 * (lows + highs)
        new = [np.concatenate([lows[split], mids[split]]), np.concatenate([mids[split], highs[split]]),
               np.concatenate([f_lows[split], f_mids[split]]), np.concatenate([f_mids[split], f_highs[split]])]
        open_ = tuple(column[~split] for column in open_)
    if open_ is not None and len(open_[0]):
        final = final + np.einsum("n,npt->pt", open_[1] - open_[0], open_[4], dtype=np.float64)
    total = np.asarray(final, np.float64)
    return total, total.sum(axis=0) - (end - start), used
