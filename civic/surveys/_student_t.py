"""Student's t quantiles, for intervals whose variance rests on few answers.

The standard library has the normal distribution but not Student's t, and an interval
from a small sample needs t: with 5 degrees of freedom the 95% factor is 2.57, not 1.96,
and the interval's coverage falls short without it. The degrees of freedom of a weighted
mean are not whole numbers (they come from Satterthwaite's approximation), so the
quantile is computed rather than read from a table: the distribution function through
the regularised incomplete beta function, inverted by bisection.
"""

from __future__ import annotations

import math
from statistics import NormalDist

# Beyond this many degrees of freedom t and the normal differ by less than 1e-6 at 95%.
NORMAL_ABOVE = 1e7
_MAX_TERMS = 300
_EPSILON = 1e-15
_TINY = 1e-300


def t_quantile(p: float, df: float) -> float:
    """The value below which a Student's t variable with `df` degrees of freedom falls
    with probability `p`, e.g. t_quantile(0.975, 10) = 2.228."""
    if not 0 < p < 1:
        raise ValueError("p must be between 0 and 1")
    if not df > 0:
        raise ValueError("the degrees of freedom must be positive")
    if df > NORMAL_ABOVE:
        return NormalDist().inv_cdf(p)
    if p < 0.5:
        return -t_quantile(1 - p, df)
    # Newton's method from the normal quantile, kept inside a bracket that bisection
    # narrows whenever a step would leave it, so that even df = 1 cannot run away.
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:
        low, high = high, high * 2
    t = min(max(NormalDist().inv_cdf(p), low), high)
    for _ in range(200):
        gap = t_cdf(t, df) - p
        if gap == 0:
            return t
        if gap < 0:
            low = t
        else:
            high = t
        step = t - gap / t_density(t, df)
        if not low < step < high:
            step = (low + high) / 2
        if abs(step - t) <= 1e-13 * t:
            return step
        t = step
    return t


def t_density(t: float, df: float) -> float:
    """The probability density of Student's t with `df` degrees of freedom at `t`."""
    log_scale = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - math.log(df * math.pi) / 2
    return math.exp(log_scale - (df + 1) / 2 * math.log1p(t * t / df))


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with `df` degrees of freedom."""
    tail = incomplete_beta(df / 2, 0.5, df / (df + t * t)) / 2
    return 1 - tail if t >= 0 else tail


def incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b), by its continued fraction
    (evaluated where it converges fast, using I_x(a, b) = 1 - I_(1-x)(b, a) elsewhere)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1) / (a + b + 2):
        return front * _continued_fraction(a, b, x) / a
    return 1 - front * _continued_fraction(b, a, 1 - x) / b


def _continued_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function, by Lentz's method."""
    c, d = 1.0, 1 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > _TINY else _TINY)
    result = d
    for m in range(1, _MAX_TERMS + 1):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1 + numerator * d
            d = 1 / (d if abs(d) > _TINY else _TINY)
            c = 1 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            result *= d * c
        if abs(d * c - 1) < _EPSILON:
            return result
    raise ArithmeticError(f"the incomplete beta function did not converge (a={a}, b={b}, x={x})")
