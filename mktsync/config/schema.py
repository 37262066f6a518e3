"""The JSON Schema of ``campaigns.yaml`` and its errors in plain words.

jsonschema's own messages (``'abc' is not of type 'integer'``, a dump of the failing
sub-schema for ``oneOf``) are not for marketing-operations engineers.  ``schema_problems``
walks *every* error (``iter_errors``, never only the first), locates it through the
document's positions and says what was expected in words.
"""

from __future__ import annotations

import difflib
import json
import math
import re
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


def _finite_number(checker: Any, instance: Any) -> bool:
    """JSON's numbers, which YAML's ``.nan``, ``.inf`` and ``-.inf`` (and ``1e999``) are
    not: no limit, margin, count or value of mktsync means anything as one, and a NaN
    compares false with everything (a ``minimum`` lets it through; a limiter would wait
    on it forever).  So every ``number`` of the schema is finite, wherever it is."""
    number = jsonschema.Draft202012Validator.TYPE_CHECKER.is_type(instance, "number")
    return bool(number) and not (isinstance(instance, float) and not math.isfinite(instance))


@cache
def _validator() -> jsonschema.protocols.Validator:
    finite = jsonschema.validators.extend(
        jsonschema.Draft202012Validator,
        type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
            "number", _finite_number
        ),
    )
    return finite(schema())


def schema_problems(doc: Document) -> list[Problem]:
    """Every schema problem of the document, located and in words.

    Entries of a named section (``campaigns``, ``sources``...) that are one object are
    validated once: ``yamlfile`` gives every alias of a value the same object, so 60,000
    aliases of one campaign cost one validation, and each of their names gets the
    problems found (``ConfigError`` then shows the first few of a kind and counts the rest).
    """
    data, copies = _distinct_entries(doc.data)
    problems: list[Problem] = []
    for error in _validator().iter_errors(data):
        problems.extend(_explain(doc, error))
        entry = tuple(error.absolute_path)[:2]
        for other in copies.get(entry, ()):
            problems.extend(_explain(doc, error, (entry, (entry[0], other))))
    problems.extend(_name_problems(doc, copies))
    return problems


Rename = tuple[JsonPath, JsonPath]  # an error found at one entry, reported at another


def _distinct_entries(data: Any) -> tuple[Any, dict[JsonPath, list[str]]]:
    """``data`` with each named section keeping one name per distinct entry object, and
    (section, kept name) -> the other names of that object."""
    copies: dict[JsonPath, list[str]] = {}
    if not isinstance(data, dict):
        return data, copies
    reduced = dict(data)
    for section, rules in schema()["properties"].items():
        entries = data.get(section)
        if not isinstance(entries, dict) or not isinstance(rules.get("additionalProperties"), dict):
            continue
        first: dict[int, str] = {}
        kept: dict[str, Any] = {}
        for name, value in entries.items():
            if isinstance(value, dict | list) and id(value) in first:
                copies.setdefault((section, first[id(value)]), []).append(name)
            else:
                first.setdefault(id(value), name)
                kept[name] = value
        if len(kept) < len(entries):
            reduced[section] = kept
    return reduced, copies


def _name_problems(doc: Document, copies: dict[JsonPath, list[str]]) -> list[Problem]:
    """The names left out by ``_distinct_entries``, checked against their section's
    ``propertyNames`` (a pattern first, jsonschema for the message of those that fail)."""
    problems: list[Problem] = []
    for (section, _), names in copies.items():
        rule = schema()["properties"][section].get("propertyNames")
        if rule is None:
            continue
        pattern = re.compile(rule["pattern"]) if set(rule) == {"pattern"} else None
        failing = [n for n in names if pattern is None or not pattern.search(n)]
        if not failing:
            continue
        sub = {"properties": {section: {"propertyNames": rule}}}
        checker = jsonschema.Draft202012Validator(sub)
        for error in checker.iter_errors({section: dict.fromkeys(failing)}):
            problems.extend(_explain(doc, error))
    return problems


def _explain(
    doc: Document, error: ValidationError, rename: Rename | None = None
) -> Iterator[Problem]:
    path: JsonPath = tuple(error.absolute_path)
    if rename is not None and path[: len(rename[0])] == rename[0]:
        path = rename[1] + path[len(rename[0]) :]
    validator = error.validator
    instance = error.instance

    if "propertyNames" in error.schema_path:
        yield _at(doc, (*path, str(instance)), _bad_name(path, str(instance)), key=True)
        return
    if validator == "allOf" or (validator in ("anyOf",) and error.context):
        yield from _explain(doc, best_match(error.context or []), rename)
        return
    if validator == "additionalProperties" and isinstance(instance, dict):
        allowed = sorted((error.schema.get("properties") or {}).keys())
        # "x-fixed": keys known elsewhere that may not be written here, and why (an
        # environment's override of a campaign names its `source`, say).
        fixed = error.schema.get("x-fixed") or {}
        for key in sorted(set(instance) - set(allowed)):
            if key in fixed.get("keys", ()):
                message = f"'{key}' cannot differ between environments: {fixed['why']}"
            else:
                message = _unknown_key(key, allowed)
            yield _at(doc, (*path, key), message, key=True)
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
            yield from _explain(doc, best_match(same_type or error.context), rename)
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
        if isinstance(got, float) and not math.isfinite(got):
            return f"expected a finite number, got {_show(got)}"
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
    if isinstance(value, float) and not math.isfinite(value):
        return {"nan": ".nan", "inf": ".inf", "-inf": "-.inf"}[str(value)]
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "...'"


def _at(doc: Document, path: JsonPath, message: str, *, key: bool = False) -> Problem:
    mark = doc.where(path, key=key)
    return Problem(
        file=doc.file, line=mark.line, column=mark.column, path=dotted(path), message=message
    )


did_you_mean = _did_you_mean
located = _at
