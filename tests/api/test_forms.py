"""The fast form encoder sends exactly what aiohttp's own encoding of the same dict would."""

from __future__ import annotations

from urllib.parse import quote_plus, urlencode

from hypothesis import given
from hypothesis import strategies as st

from worker.api.forms import encode_form, quote_form_value

ASCII = st.text(st.characters(max_codepoint=127), max_size=60)


@given(st.text(max_size=60) | ASCII)
def test_value_quoting_equals_quote_plus(text: str) -> None:
    """Any text, ASCII or not, is quoted exactly as ``quote_plus`` quotes it."""
    assert quote_form_value(text) == quote_plus(text)


@given(st.dictionaries(ASCII | st.text(max_size=20), ASCII | st.text(max_size=60), max_size=6))
def test_form_body_equals_urlencode(form: dict[str, str]) -> None:
    """A whole form is byte for byte aiohttp's ``urlencode(form, doseq=True)`` body."""
    assert encode_form(form) == urlencode(form, doseq=True).encode()


def test_spaces_plus_and_percent_do_not_double_encode() -> None:
    """A space becomes "+", a literal "+" and "%" their escapes, never escaped twice."""
    assert quote_form_value('a b+c%d "x"') == "a+b%2Bc%25d+%22x%22"
