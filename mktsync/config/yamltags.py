"""YAML tags: the value each one gives in ``campaigns.yaml``, or why it gives none.

>>> node = yaml.compose("!!bool maybe")
>>> scalar_value(node)
Traceback (most recent call last):
mktsync.config.yamltags.TagProblem: 'maybe' is not true or false (YAML !!bool)

The safe loader knows YAML 1.1's tags and refuses the rest.  PyYAML's own
constructors answer some of them with a bare ``KeyError`` (``!!bool maybe``), a
``ValueError`` (``!!int abc``) or a generator object (``!!omap`` on a single value);
here every tag gives either a value the schema can check or a :class:`TagProblem` in
plain words, which ``yamlfile`` locates at the value:

- ``!!str``, ``!!int``, ``!!float``, ``!!bool`` and ``!!null``, written or implied,
  give their value when it is one (``0x1F`` is 31, ``yes`` is true); an integer too
  long to print (over 4,300 digits, however written) is refused;
- dates stay as written (a token ``2026-12-01`` must not become a ``date``), and so
  does a plain value that only looks like one (``2026-13-45``: the loader marks such
  values :data:`IMPLICIT_DATE`); a value tagged ``!!timestamp`` by hand must be a real
  date or time (``!!timestamp 2026-02-30`` is refused);
- ``!!binary``, ``!!omap``, ``!!pairs`` and ``!!set`` build values no field takes
  (bytes, ordered pairs, sets) and are refused with what to write instead;
- ``!!python/...`` and unknown tags (``!foo``) are refused: nothing here builds objects;
- ``<<`` and ``=`` written as values keep their text (a merge key is handled by
  ``yamlfile``, never here).
"""

from __future__ import annotations

import re
import sys
from typing import Any

import yaml

YAML = "tag:yaml.org,2002:"
STR, MAP, SEQ = YAML + "str", YAML + "map", YAML + "seq"
TIMESTAMP = YAML + "timestamp"
INT = YAML + "int"
# What ``yamlfile``'s loader resolves an untagged date-shaped value to (never written).
IMPLICIT_DATE = "tag:mktsync,2026:implicit-date"
# YAML 1.1's timestamp, as PyYAML's resolver writes it.
_DATE = re.compile(
    r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
    |[0-9][0-9][0-9][0-9] -[0-9][0-9]? -[0-9][0-9]?
     (?:[Tt]|[ \t]+)[0-9][0-9]? :[0-9][0-9] :[0-9][0-9] (?:\.[0-9]*)?
     (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""",
    re.X,
)
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
# Plain `<<`, `=`, `!`... written as values resolve to these tags: they keep their text.
_TEXT = {YAML + "merge": ("<<",), YAML + "value": ("=",), YAML + "yaml": ("!", "&", "*")}
# What the collection tags build, and what to write instead.
_UNSUPPORTED = {
    YAML + "omap": "(ordered mapping) is not supported here: write a plain mapping",
    YAML + "pairs": "(list of key-value pairs) is not supported here: write a plain mapping",
    YAML + "set": "(set of keys) is not supported here: write a list",
    YAML + "binary": "(base64-encoded bytes) is not supported here: write the text itself",
}
TOO_LONG = "the number is too long (over 4,300 digits)"

_constructor = yaml.SafeLoader("")


class TagProblem(ValueError):
    """A tagged value that gives no config value; the message says why in plain words."""


def shown(tag: str) -> str:
    """A tag as it is written: ``!!omap`` for ``tag:yaml.org,2002:omap``, ``!local`` as
    is, ``!<tag:example.com,2026:x>`` for a full one; long ones cut."""
    if tag.startswith(YAML):
        text = "!!" + tag[len(YAML) :]
    else:
        text = tag if tag.startswith("!") else f"!<{tag}>"
    text = text if text.isprintable() else ascii(text)  # `!a%0A` is a tag with a newline
    return text if len(text) <= 60 else text[:57] + "..."


def scalar_value(node: yaml.ScalarNode) -> Any:
    """The value of a scalar node, or ``TagProblem``."""
    tag, value = node.tag, node.value
    if tag == STR:
        return value
    if tag in _TEXT:
        if value in _TEXT[tag]:
            return value
        raise TagProblem(f"a YAML {shown(tag)} tag cannot mark a value: remove the tag")
    if tag == IMPLICIT_DATE:  # dates stay as written
        return value
    if tag == TIMESTAMP:
        return _timestamp(node)
    if tag == YAML + "null":
        if value in _NULLS:
            return None
        raise TagProblem(f"{_quoted(value)} is not empty (YAML !!null takes null, ~ or nothing)")
    if tag == YAML + "bool":
        try:
            return _constructor.construct_yaml_bool(node)
        except KeyError:
            raise TagProblem(f"{_quoted(value)} is not true or false (YAML !!bool)") from None
    if tag == INT:
        if value.isdigit() and value.isascii() and len(value) < 19 and value[0] != "0":
            return int(value)  # plain decimal, the usual case (`0...` is octal in YAML 1.1)
        return _integer(node)
    if tag == YAML + "float":
        try:
            return _constructor.construct_yaml_float(node)
        except (ValueError, IndexError):  # `!!float x`; `!!float ""` indexes an empty string
            raise TagProblem(f"{_quoted(value)} is not a number (YAML !!float)") from None
    if tag in (MAP, SEQ):
        raise TagProblem(f"a YAML {shown(tag)} tag cannot mark a single value: remove the tag")
    raise TagProblem(_other(tag))


def collection_problem(node: yaml.Node) -> str | None:
    """Why a tagged mapping or list gives no config value, or None for a plain one."""
    plain = MAP if isinstance(node, yaml.MappingNode) else SEQ
    if node.tag == plain:
        return None
    if node.tag in (MAP, SEQ) or node.tag in _TEXT or _is_scalar_tag(node.tag):
        kind = "mapping" if plain == MAP else "list"
        return f"a YAML {shown(node.tag)} tag cannot mark a {kind}: remove the tag"
    return _other(node.tag)


def _is_scalar_tag(tag: str) -> bool:
    return tag in (STR, TIMESTAMP) or tag in {YAML + t for t in ("null", "bool", "int", "float")}


def _other(tag: str) -> str:
    if tag in _UNSUPPORTED:
        return f"a YAML {shown(tag)} {_UNSUPPORTED[tag]}"
    if tag.startswith(YAML + "python/"):
        return (
            f"a YAML {shown(tag)} tag asks for a Python object, which the safe loader "
            "refuses: write a plain value"
        )
    return f"unknown YAML tag {shown(tag)}: write the value without a tag"


def _timestamp(node: yaml.ScalarNode) -> str:
    """The text of a value tagged ``!!timestamp``, once it is known to be a real date."""
    value: str = node.value
    if _DATE.match(value):
        try:
            _constructor.construct_yaml_timestamp(node)
            return value
        except (ValueError, OverflowError) as exc:  # month 13, day 30 of February, +24:00
            why = "the UTC offset must be under 24 hours" if "offset" in str(exc) else str(exc)
            raise TagProblem(
                f"{_quoted(value)} is not a real date (YAML !!timestamp): {why}"
            ) from None
    raise TagProblem(
        f"{_quoted(value)} is not a date (YAML !!timestamp takes 2026-12-01 or "
        "2026-12-01T09:30:00Z)"
    )


def _integer(node: yaml.ScalarNode) -> int:
    try:
        number: int = _constructor.construct_yaml_int(node)
    except ValueError as exc:
        if "digits" in str(exc):  # Python's 4,300-digit bound on decimal text
            raise TagProblem(TOO_LONG) from None
        raise TagProblem(f"{_quoted(node.value)} is not a whole number (YAML !!int)") from None
    except IndexError:  # `!!int ""` or `!!int -`: PyYAML indexes an empty string
        raise TagProblem(f"{_quoted(node.value)} is not a whole number (YAML !!int)") from None
    # 0x/0o/0b text has no such bound, but printing the number (in any message) has.
    if number.bit_length() > _MAX_BITS and abs(number) >= _MAX_INT:
        raise TagProblem(TOO_LONG)
    return number


_DIGITS = sys.get_int_max_str_digits() or 4300
_MAX_INT = 10**_DIGITS
_MAX_BITS = int(_DIGITS * 3.32)  # a cheap test first: fewer bits than this is fewer digits


def _quoted(value: str) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "...'"
