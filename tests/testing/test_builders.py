"""The shared builders write what they are given: YAML that reads back as the document."""

from __future__ import annotations

import doctest
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from testing import clock, project, seed
from testing.project import Flow, csv_text, to_yaml

TEXT = st.text(st.characters(codec="utf-8"), max_size=12)  # any character but surrogates
SCALARS = st.one_of(TEXT, st.integers(), st.booleans(), st.none(), st.floats(allow_nan=False))


def _mappings(children: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    entries = st.dictionaries(TEXT, children, max_size=4)
    return st.one_of(entries, entries.map(Flow))


VALUES = st.recursive(
    SCALARS, lambda children: st.one_of(st.lists(children, max_size=3), _mappings(children))
)


@settings(max_examples=100, deadline=None)
@given(document=st.dictionaries(TEXT, VALUES, max_size=5))
def test_the_yaml_written_reads_back_as_the_document(document: dict[str, Any]) -> None:
    assert yaml.safe_load(to_yaml(document)) == (document or None)


def test_templates_are_quoted_and_flow_mappings_stay_on_one_line() -> None:
    text = to_yaml({"lead": Flow(email="{{ row.email }}"), "when": "{{ row.n > 1 }}"})
    assert text == 'lead: {email: "{{ row.email }}"}\nwhen: "{{ row.n > 1 }}"\n'


def test_csv_text_writes_a_header_and_rows_as_the_csv_module_does() -> None:
    assert csv_text([{"email": "a@x", "n": 1}]) == "email,n\r\na@x,1\r\n"
    assert csv_text([], ["email"]) == "email\r\n"
    assert csv_text([["a,b", "c"]], ["x", "y"]) == 'x,y\r\n"a,b",c\r\n'


@pytest.mark.parametrize("module", [project, seed, clock], ids=lambda m: m.__name__)
def test_the_examples_in_the_docstrings_hold(module: Any) -> None:
    failed, tried = doctest.testmod(module)
    assert tried and not failed
