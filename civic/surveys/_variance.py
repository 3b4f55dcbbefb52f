"""The variance of a weighted mean, by linearisation, with its degrees of freedom.

A raked or post-stratified mean is sum(w_i * y_i) with weights that reproduce the
population's margins, so whatever an additive model of the score on the margins' groups
explains (the raking fit), the weights already get right: only the residuals e_i of that
fit vary from sample to sample. The variance is sum(w_i^2 * e_i^2 / (1 - h_i)), h_i the
answer's leverage in the fit. Dividing by 1 - h_i undoes the shrinking of residuals fitted
to few answers, which would otherwise understate the variance of small groups; for
post-stratification it gives back the textbook sum of P_h^2 * s_h^2 / n_h exactly, and
s^2 / n for the plain mean.

The degrees of freedom are Satterthwaite's for that sum as if every answer had the same
spread, (sum w_i^2)^2 / sum(w_i^4 / (1 - h_i)): n - 1 for the plain mean, and for
post-stratification Satterthwaite's combination of the groups' n_h - 1. An index that
leans on a few heavily weighted answers gets few degrees of freedom and a wider t
interval, which is what keeps its coverage.
"""

from __future__ import annotations

from collections.abc import Sequence

# A column whose remaining pivot is below this fraction of its own size adds nothing
# to the fit (it is a sum of the columns before it).
_DEPENDENT = 1e-9


def linearised_variance(
    scores: Sequence[float],
    weights: Sequence[float],
    cells: Sequence[Sequence[int]],
    sizes: Sequence[int],
) -> tuple[float, float] | None:
    """(variance, degrees of freedom) of sum(weights * scores), the weights summing to 1.
    `cells[i][k]` is the group of answer i in margin k, which has `sizes[k]` groups; no
    margins means the plain mean. None with fewer than two answers, or when an answer's
    residual is fixed by its own score (leverage 1), so that no spread can be estimated."""
    if len(scores) < 2:
        return None
    columns = [_columns(cell, sizes) for cell in cells]
    width = 1 + sum(size - 1 for size in sizes) if sizes else 1
    cross = [[0.0] * width for _ in range(width)]
    moments = [0.0] * width
    for score, used in zip(scores, columns, strict=True):
        for row in used:
            moments[row] += score
            for column in used:
                cross[row][column] += 1
    inverse = _inverse(cross)
    beta = [sum(inverse[r][c] * moments[c] for c in range(width)) for r in range(width)]
    variance = sum_squares = sum_fourth = 0.0
    for score, weight, used in zip(scores, weights, columns, strict=True):
        leverage = sum(inverse[r][c] for r in used for c in used)
        remaining = 1 - leverage
        if remaining < _DEPENDENT:
            return None
        residual = score - sum(beta[c] for c in used)
        variance += (weight * residual) ** 2 / remaining
        sum_squares += weight**2
        sum_fourth += weight**4 / remaining
    return variance, sum_squares**2 / sum_fourth


def _columns(cell: Sequence[int], sizes: Sequence[int]) -> list[int]:
    """The answer's columns in the fit: every group of the first margin (together they
    are the intercept), and the groups of the others but their first (which the
    intercept already spans)."""
    if not sizes:
        return [0]
    used = [cell[0]]
    offset = sizes[0]
    for group, size in zip(cell[1:], sizes[1:], strict=True):
        if group > 0:
            used.append(offset + group - 1)
        offset += size - 1
    return used


def _inverse(matrix: list[list[float]]) -> list[list[float]]:
    """The inverse of a symmetric positive semi-definite matrix over its columns that are
    independent of the ones before them, zero for the others: a generalised inverse, which
    gives the same fit and leverages as leaving those columns out (Gauss-Jordan, in order)."""
    size = len(matrix)
    work = [row[:] + [float(i == j) for j in range(size)] for i, row in enumerate(matrix)]
    kept = []
    for pivot in range(size):
        value = work[pivot][pivot]
        if value <= _DEPENDENT * matrix[pivot][pivot]:
            continue
        kept.append(pivot)
        work[pivot] = [entry / value for entry in work[pivot]]
        for row in range(size):
            factor = work[row][pivot]
            if row != pivot and factor:
                work[row] = [a - factor * b for a, b in zip(work[row], work[pivot], strict=True)]
    inverse = [[0.0] * size for _ in range(size)]
    for row in kept:
        for column in kept:
            inverse[row][column] = work[row][size + column]
    return inverse
