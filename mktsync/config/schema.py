"""The JSON Schema of ``campaigns.yaml`` and its errors in plain words.

jsonschema's own messages (``'abc' is not of type 'integer'``, a dump of the failing
sub-schema for ``oneOf``) are not for marketing-operations engineers.  ``schema_problems``
walks *every* error (``iter_errors``, never only the first), locates it through the
document's positions and says what was expected in words.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError, best_match

from mktsync.config.yamlfile import Document, JsonPath, dotted
from mktsync.errors import Problem

_TYPE_WORDS = {
    "integer": "a whole number",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "nothing",
}


@cache
def schema_text() -> str:
    return resources.files("mktsync").joinpath("schema/campaigns.schema.json").read_text("utf-8")


@cache
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(schema_text())
    return loaded


@cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema())


def schema_problems(doc: Document) -> list[Problem]:
    problems: list[Problem] = []
    for error in _validator().iter_errors(doc.data):
        problems.extend(_explain(doc, error))
    return problems


def _explain(doc: Document, error: ValidationError) -> Iterator[Problem]:
    path: JsonPath = tuple(error.absolute_path)
    validator = error.validator
    instance = error.instance

    if "propertyNames" in error.schema_path:
        yield _at(doc, (*path, str(instance)), _bad_name(path, str(instance)), key=True)
        return
    if validator == "allOf" or (validator in ("anyOf",) and error.context):
        yield from _explain(doc, best_match(error.context or []))
        return
    if validator == "additionalProperties" and isinstance(instance, dict):
        allowed = sorted((error.schema.get("properties") or {}).keys())
        for key in sorted(set(instance) - set(allowed)):
            yield _at(doc, (*path, key), _unknown_key(key, allowed), key=True)
        return
    if validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else "?"
        yield _at(doc, path, f"'{missing}' is required")
        return
    if validator == "oneOf":
        branches = [b.get("required", []) for b in error.validator_value]
        names = [n for b in branches for n in b]
        if names and isinstance(instance, dict):
            present = [n for n in names if n in instance]
            quoted = " or ".join(f"'{n}'" for n in names)
            if not present:
                yield _at(doc, path, f"{quoted} is required")
            else:
                both = " and ".join(f"'{n}'" for n in present)
                yield _at(doc, path, f"give only one of {both}")
            return
        if error.context:  # a scalar: explain the branch of its own type
            same_type = [e for e in error.context if e.validator != "type"]
            yield from _explain(doc, best_match(same_type or error.context))
            return
    yield _at(doc, path, _message(error))


def _bad_name(path: JsonPath, name: str) -> str:
    if path and path[-1] == "tokens":
        return f"'{name}' is not a My Token name; write it as my.Name or {{{{my.Name}}}}"
    return (
        f"'{name}' is not a valid name; use letters, digits, '_', '.' and '-', "
        "starting with a letter or digit"
    )


def _message(error: ValidationError) -> str:
    v, expected, got = error.validator, error.validator_value, error.instance
    if v == "type":
        kinds = expected if isinstance(expected, list) else [expected]
        words = " or ".join(_TYPE_WORDS.get(str(k), str(k)) for k in kinds)
        return f"expected {words}, got {_show(got)}"
    if v == "const":
        return f"must be {json.dumps(expected)}, got {_show(got)}"
    if v == "enum":
        options = ", ".join(f"'{o}'" for o in expected)
        hint = _did_you_mean(str(got), [str(o) for o in expected])
        return f"expected one of {options}, got {_show(got)}{hint}"
    if v == "minimum":
        return f"must be at least {expected}, got {_show(got)}"
    if v == "maximum":
        return f"must be at most {expected}, got {_show(got)}"
    if v == "exclusiveMinimum":
        return f"must be more than {expected}, got {_show(got)}"
    if v == "minLength":
        return "must not be empty" if expected == 1 else f"must be at least {expected} characters"
    if v == "maxLength":
        return f"must be at most {expected} characters, got {_show(got)}"
    if v == "maxProperties":
        return f"at most {expected} entries (Marketo's limit), got {len(got)}"
    if v == "pattern":
        # "x-expected" in the schema says in words what the pattern wants.
        wanted = error.schema.get("x-expected")
        if wanted:
            return f"expected {wanted}, got {_show(got)}"
        return f"{_show(got)} does not match the expected form {expected}"
    return str(error.message)


def _unknown_key(key: str, allowed: list[str]) -> str:
    hint = _did_you_mean(key, allowed)
    if hint:
        return f"unknown key '{key}'{hint}"
    listed = ", ".join(allowed) if allowed else "none"
    return f"unknown key '{key}' (allowed: {listed})"


def _did_you_mean(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return str(value).lower()
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "...'"


def _at(doc: Document, path: JsonPath, message: str, *, key: bool = False) -> Problem:
    mark = doc.where(path, key=key)
    return Problem(
        file=doc.file, line=mark.line, column=mark.column, path=dotted(path), message=message
    )


did_you_mean = _did_you_mean
located = _at
