"""Safe YAML loading that remembers where every value was written.

PyYAML's ``safe_load`` forgets positions and silently keeps the last of two duplicate
keys.  We compose the node tree with the safe loader instead (as pre-commit does) and
convert it ourselves, so that:

- every value and every mapping key keeps its line and column (``Document.where``);
- a duplicate key is an error, not a silent overwrite;
- anchors and merge keys work, but a document whose aliases expand past
  ``MAX_NODES`` ("billion laughs") is refused before anything is expanded;
- dates stay strings (a token value ``2026-12-01`` must not become a ``date``);
- tabs, bad UTF-8 and YAML syntax errors become located problems.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mktsync.errors import ConfigError, Problem

MAX_BYTES = 10 * 1024 * 1024
MAX_NODES = 1_000_000

JsonPath = tuple[str | int, ...]
_MERGE = "tag:yaml.org,2002:merge"


@dataclass(frozen=True, kw_only=True)
class Mark:
    line: int  # 1-based
    column: int  # 1-based
    block: bool = False  # a literal/folded block scalar: its text starts on the next line


@dataclass(kw_only=True)
class Document:
    """A loaded YAML file: plain Python data plus the position of every value and key."""

    file: str
    data: Any
    values: dict[JsonPath, Mark] = field(default_factory=dict)
    keys: dict[JsonPath, Mark] = field(default_factory=dict)

    def where(self, path: JsonPath, *, key: bool = False) -> Mark:
        """The position of ``path`` (its key with ``key=True``), or of its nearest parent."""
        table = self.keys if key else self.values
        probe = tuple(path)
        while probe:
            if probe in table:
                return table[probe]
            if probe in self.values:
                return self.values[probe]
            probe = probe[:-1]
        return self.values.get((), Mark(line=1, column=1))


def load_document(path: Path, display: str | None = None) -> Document:
    """Read and parse ``path``; raise ``ConfigError`` with located problems on failure."""
    name = display or str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError([_problem(name, 0, 0, "file not found")]) from None
    except OSError as exc:
        raise ConfigError([_problem(name, 0, 0, f"cannot read the file: {exc.strerror}")]) from None
    return parse_document(raw, name)


def parse_document(raw: bytes, name: str) -> Document:
    if len(raw) > MAX_BYTES:
        raise ConfigError(
            [
                _problem(
                    name,
                    0,
                    0,
                    f"the file is {len(raw) / 1_048_576:.1f} MiB; the limit is "
                    f"{MAX_BYTES // 1_048_576} MiB (keep large row lists in a data file)",
                )
            ]
        )
    text = _decode(raw, name)
    if not text.strip() or all(
        not line.strip() or line.lstrip().startswith("#") for line in text.splitlines()
    ):
        raise ConfigError(
            [
                _problem(
                    name, 0, 0, "the file is empty; expected a mapping starting with 'version: 1'"
                )
            ]
        )
    try:
        root = _compose(text, _FAST_LOADER)
    except yaml.MarkedYAMLError as fast_error:
        raise ConfigError([_syntax_problem(name, _explained(text, fast_error))]) from None
    except yaml.reader.ReaderError as exc:
        before = text[: exc.position]
        line, column = before.count("\n") + 1, exc.position - (before.rfind("\n") + 1) + 1
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        message = f"the character U+{ord(char):04X} is not allowed in YAML"
        raise ConfigError([_problem(name, line, column, message)]) from None
    except yaml.YAMLError as exc:  # pragma: no cover - PyYAML marks all parse errors
        raise ConfigError([_problem(name, 0, 0, f"YAML error: {exc}")]) from None
    except RecursionError:
        raise ConfigError([_problem(name, 1, 1, _TOO_DEEP)]) from None
    if root is None:
        raise ConfigError(
            [
                _problem(
                    name, 0, 0, "the file is empty; expected a mapping starting with 'version: 1'"
                )
            ]
        )
    doc = Document(file=name, data=None)
    _check_expansion(root, name)
    problems: list[Problem] = []
    try:
        doc.data = _convert(root, (), doc, problems)
    except RecursionError:
        raise ConfigError([_problem(name, 1, 1, _TOO_DEEP)]) from None
    if problems:
        raise ConfigError(problems)
    return doc


_TOO_DEEP = "the YAML is nested too deeply (lists or mappings inside each other)"
_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _compose(text: str, loader_class: Any) -> yaml.Node | None:
    loader = loader_class(text)
    try:
        node: yaml.Node | None = loader.get_single_node()
        return node
    finally:
        loader.dispose()


def _explained(text: str, error: yaml.MarkedYAMLError) -> yaml.MarkedYAMLError:
    """libyaml's messages are terse ("found character that cannot start any token");
    errors are rare, so ask the pure-Python parser to explain the same text."""
    if _FAST_LOADER is yaml.SafeLoader:
        return error
    try:
        _compose(text, yaml.SafeLoader)
    except yaml.MarkedYAMLError as detailed:
        return detailed
    except RecursionError:  # the pure-Python parser recurses where libyaml did not
        return error
    return error


def _decode(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise ConfigError(
            [
                _problem(
                    name,
                    line,
                    column,
                    f"the file is not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save it as UTF-8",
                )
            ]
        ) from None


def _syntax_problem(name: str, exc: yaml.MarkedYAMLError) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
    problem = exc.problem or "invalid YAML"
    if "'\\t'" in problem:
        message = "a tab character; YAML indentation must use spaces"
    else:
        context = ""
        if exc.context and exc.context_mark and exc.context_mark is not mark:
            cm = exc.context_mark
            context = f" ({exc.context} at line {cm.line + 1}, column {cm.column + 1})"
        elif exc.context:
            context = f" ({exc.context})"
        message = f"YAML syntax error: {problem}{context}"
    return _problem(name, line, column, message)


def _problem(name: str, line: int, column: int, message: str, path: str = "") -> Problem:
    return Problem(file=name, line=line, column=column, path=path, message=message)


def _mark(node: yaml.Node) -> Mark:
    block = isinstance(node, yaml.ScalarNode) and node.style in ("|", ">")
    return Mark(line=node.start_mark.line + 1, column=node.start_mark.column + 1, block=block)


def _check_expansion(root: yaml.Node, name: str) -> None:
    """Refuse documents whose aliases would expand past MAX_NODES, without expanding them."""
    sizes: dict[int, int] = {}
    # Iterative post-order walk: aliases share node objects, so memoising by id keeps this
    # linear in the *written* document however large its expansion would be.
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in sizes:
            continue
        children = _children(node)
        if done:
            total = 1 + sum(sizes.get(id(c), 0) for c in children)
            sizes[id(node)] = total
            if total > MAX_NODES:
                mark = _mark(node)
                raise ConfigError(
                    [
                        _problem(
                            name,
                            mark.line,
                            mark.column,
                            f"aliases expand this document past {MAX_NODES:,} values; "
                            "refusing to expand it (a 'billion laughs' document?)",
                        )
                    ]
                )
        else:
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


_constructor = yaml.SafeLoader("")


def _scalar(node: yaml.ScalarNode) -> Any:
    if node.tag in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:binary"):
        return node.value  # dates stay as written
    construct = _constructor.yaml_constructors.get(node.tag)
    if construct is None:  # an unknown explicit tag such as !!python/object: keep the text
        return node.value
    return construct(_constructor, node)


def _convert(node: yaml.Node, path: JsonPath, doc: Document, problems: list[Problem]) -> Any:
    doc.values.setdefault(path, _mark(node))
    if isinstance(node, yaml.ScalarNode):
        try:
            return _scalar(node)
        except ValueError:  # an integer over Python's 4,300 digits: not a config value
            mark = _mark(node)
            message = "the number is too long (over 4,300 digits)"
            problems.append(_problem(doc.file, mark.line, mark.column, message, _dotted(path)))
            return None
    if isinstance(node, yaml.SequenceNode):
        return [_convert(child, (*path, i), doc, problems) for i, child in enumerate(node.value)]
    assert isinstance(node, yaml.MappingNode)
    result: dict[str, Any] = {}
    merged: dict[str, Any] = {}
    seen: dict[str, Mark] = {}
    for key_node, value_node in node.value:
        if key_node.tag == _MERGE:
            for source in _merge_sources(value_node):
                for k, v in _convert(source, path, doc, problems).items():
                    merged.setdefault(k, v)
            continue
        key_mark = _mark(key_node)
        if not isinstance(key_node, yaml.ScalarNode):
            problems.append(
                _problem(
                    doc.file,
                    key_mark.line,
                    key_mark.column,
                    "a key must be a plain string",
                    _dotted(path),
                )
            )
            continue
        key = str(_scalar(key_node)) if key_node.value != "" else ""
        if key in seen:
            first = seen[key]
            problems.append(
                _problem(
                    doc.file,
                    key_mark.line,
                    key_mark.column,
                    f"duplicate key '{key}' (first defined at line {first.line}); "
                    "YAML would silently keep only the last one",
                    _dotted((*path, key)),
                )
            )
            continue
        seen[key] = key_mark
        doc.keys[(*path, key)] = key_mark
        result[key] = _convert(value_node, (*path, key), doc, problems)
    for k, v in merged.items():
        result.setdefault(k, v)
    return result


def _merge_sources(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return [n for n in node.value if isinstance(n, yaml.MappingNode)]
    return [node] if isinstance(node, yaml.MappingNode) else []


def _dotted(path: JsonPath) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


dotted = _dotted
