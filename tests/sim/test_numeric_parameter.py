"""The SCPI <numeric_value> parameter every simulated model reads the same way."""

from __future__ import annotations

import math

import pytest

from instrumentkit.sim import ScpiError, numeric_parameter


@pytest.mark.parametrize(
    ("text", "expected"),
    [(" min ", 1.0), ("MINimum".upper(), 1.0), ("MAX", 9.0), ("maximum", 9.0), ("+2.5E+00", 2.5)],
)
def test_keywords_and_numbers(text, expected):
    assert numeric_parameter(text, 1.0, 9.0) == expected


def test_default_and_infinity_only_where_the_model_has_them():
    assert numeric_parameter("DEF", 1.0, 9.0, default=4.0) == 4.0
    assert numeric_parameter("INFinity", 1.0, 9.0, infinity=math.inf) == math.inf
    for text, code in (("DEF", -104), ("INF", -222)):  # a word, then a number not finite
        with pytest.raises(ScpiError) as refused:
            numeric_parameter(text, 1.0, 9.0)
        assert refused.value.code == code


@pytest.mark.parametrize(("text", "code"), [("volts", -104), ("nan", -222), ("1e999", -222)])
def test_what_is_not_a_finite_number_is_refused_with_its_scpi_error(text, code):
    with pytest.raises(ScpiError) as refused:
        numeric_parameter(text, 1.0, 9.0)
    assert refused.value.code == code
