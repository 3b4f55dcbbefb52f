"""Student's t quantiles, against published tables and the density itself."""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest

from civic.surveys._student_t import t_cdf, t_quantile

# Two-sided 95% (and one 99%) critical values as printed in statistical tables.
TABLE = [
    (0.975, 1, 12.706),
    (0.975, 2, 4.303),
    (0.975, 3, 3.182),
    (0.975, 5, 2.571),
    (0.975, 10, 2.228),
    (0.975, 30, 2.042),
    (0.975, 120, 1.980),
    (0.95, 1, 6.314),
    (0.995, 10, 3.169),
]


@pytest.mark.parametrize(("p", "df", "expected"), TABLE)
def test_quantiles_match_the_tables(p: float, df: int, expected: float) -> None:
    assert round(t_quantile(p, df), 3) == expected


def density(t: float, df: float) -> float:
    scale = math.gamma((df + 1) / 2) / (math.sqrt(df * math.pi) * math.gamma(df / 2))
    return scale * (1 + t * t / df) ** (-(df + 1) / 2)


@pytest.mark.parametrize("df", [1.5, 2.7, 6.3, 17.9])
def test_fractional_degrees_of_freedom_integrate_to_the_probability(df: float) -> None:
    # Simpson's rule on the density from 0 to the quantile: an independent check.
    upper, steps = t_quantile(0.975, df), 2000
    h = upper / steps
    total = density(0, df) + density(upper, df)
    total += sum((4 if i % 2 else 2) * density(i * h, df) for i in range(1, steps))
    assert 0.5 + total * h / 3 == pytest.approx(0.975, abs=1e-9)


def test_the_quantile_falls_between_its_neighbours_and_tends_to_the_normal() -> None:
    assert t_quantile(0.975, 10) > t_quantile(0.975, 10.5) > t_quantile(0.975, 11)
    assert t_quantile(0.975, 1e9) == pytest.approx(NormalDist().inv_cdf(0.975))
    assert t_quantile(0.025, 4) == pytest.approx(-t_quantile(0.975, 4))
    assert t_cdf(t_quantile(0.9, 3.3), 3.3) == pytest.approx(0.9)


@pytest.mark.parametrize(("p", "df"), [(0.0, 5), (1.0, 5), (0.975, 0), (0.975, -1)])
def test_impossible_arguments_are_errors(p: float, df: float) -> None:
    with pytest.raises(ValueError):
        t_quantile(p, df)
