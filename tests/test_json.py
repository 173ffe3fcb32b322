"""The bounded-depth JSON parser every reader of outside JSON uses (connectparticipant_ext._json)."""

from __future__ import annotations

import json

import pytest

from connectparticipant_ext import _json


def test_parses_what_json_parses():
    document = {"a": [1, {"b": "x"}], "c": None, "d": "[[[{{{"}
    assert _json.loads(json.dumps(document)) == document
    assert _json.loads(json.dumps(document).encode("utf-16")) == document


def test_refuses_nesting_past_the_limit_as_a_value_error():
    with pytest.raises(_json.JSONNestingError, match="deeper than 64 levels"):
        _json.loads("[" * 100_000)
    with pytest.raises(ValueError):
        _json.loads('{"a":' * 5_000 + "1" + "}" * 5_000)
    deepest = "[" * _json.MAX_DEPTH + "]" * _json.MAX_DEPTH
    assert _json.loads(deepest) is not None
    with pytest.raises(_json.JSONNestingError):
        _json.loads("[" + deepest + "]")


def test_brackets_inside_strings_are_text_not_structure():
    text = json.dumps({"note": "[" * 1000 + '\\"{' * 500, "list": [["x"]]})
    assert _json.loads(text)["list"] == [["x"]]


def test_a_wide_document_is_not_a_deep_one():
    wide = json.dumps([[i] for i in range(10_000)])
    assert len(_json.loads(wide)) == 10_000


def test_malformed_text_is_still_a_value_error():
    with pytest.raises(ValueError):
        _json.loads('["unterminated ' + "[" * 200)
    with pytest.raises(ValueError):
        _json.loads("{nope")
