"""Safe YAML loading that remembers where every value was written.

PyYAML's ``safe_load`` forgets positions and silently keeps the last of two duplicate
keys.  We compose the node tree with the safe loader instead (as pre-commit does) and
convert it ourselves, so that:

- every value and every mapping key keeps its line and column (``Document.where``);
- a duplicate key is an error, not a silent overwrite;
- anchors and merge keys work, but a document whose aliases would add more than
  ``MAX_ALIASED`` values to those written or expand past ``MAX_TEXT`` bytes of text
  ("billion laughs", one long template repeated thousands of times), or that holds an
  alias inside its own anchor, is refused before anything is expanded, at the repeated
  value that costs most (both are counted on the node tree, without expanding);
- an aliased value is converted once: every alias of it is the *same* Python object
  (``Document.aliases`` says where its positions were recorded), so later checks can
  do their work once per written value (``schema`` validates a shared object once);
- tags give values or plain located problems (``yamltags``); dates stay strings (a
  token value ``2026-12-01`` must not become a ``date``);
- tabs, bad UTF-8 and YAML syntax errors become located problems.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

import yaml

from mktsync.config.yamltags import (
    IMPLICIT_DATE,
    TIMESTAMP,
    TagProblem,
    collection_problem,
    scalar_value,
)
from mktsync.errors import ConfigError, Problem

MAX_BYTES = 10 * 1024 * 1024
# Validation walks a value once per place it appears (a merged or aliased mapping inside
# distinct entries is checked in each), at some microseconds a value: this bound keeps a
# file under 1 MB within seconds, far above what sharing defaults in a config needs.
MAX_ALIASED = 250_000  # values (keys included) that aliases may add to those written
MAX_TEXT = 64 * 1024 * 1024  # bytes of keys and values once every alias is expanded

JsonPath = tuple[str | int, ...]
_MERGE = "tag:yaml.org,2002:merge"


class Mark(NamedTuple):  # a tuple: one is made for every value of the file
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
    # An alias's path -> the path its value was first converted at (and positioned under).
    aliases: dict[JsonPath, JsonPath] = field(default_factory=dict)

    def where(self, path: JsonPath, *, key: bool = False) -> Mark:
        """The position of ``path`` (its key with ``key=True``), or of its nearest parent.

        Inside an alias, positions are those of the anchored value: where to fix it.
        """
        table = self.keys if key else self.values
        probe = tuple(path)
        if probe in table:  # the key of an alias is where the alias is written
            return table[probe]
        probe = self.canonical(probe)
        while probe:
            if probe in table:
                return table[probe]
            if probe in self.values:
                return self.values[probe]
            probe = probe[:-1]
        return self.values.get((), Mark(line=1, column=1))

    def canonical(self, path: JsonPath) -> JsonPath:
        """``path`` with any aliased prefix replaced by the path its value was converted at."""
        if not self.aliases:
            return path
        for end in range(len(path), 0, -1):
            target = self.aliases.get(path[:end])
            if target is not None:
                return self.canonical((*target, *path[end:]))
        return path


def parse_document(raw: bytes, name: str) -> Document:
    """Parse ``raw`` (the bytes of the file called ``name``; ``load_config`` reads it)."""
    with _collector_paused():
        return _parse(raw, name)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while the tree is built.

    Composing and converting make hundreds of thousands of objects that all stay alive,
    and each full collection walks every one of them again: composing and converting a
    1 MB flow sequence of 125,000 mappings took 12 s with the collector on, 1.5 s with it
    paused.  The tree holds no cycle (an anchor inside itself is refused); what garbage
    a load leaves (an error's traceback) is collected once the collector runs again.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _parse(raw: bytes, name: str) -> Document:
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
    if "*" in text:  # without an alias nothing repeats: the walk is for files that have one
        _check_expansion(root, name)
    problems: list[Problem] = []
    try:
        doc.data = _Converter(doc, problems).convert(root, ())
    except RecursionError:
        raise ConfigError([_problem(name, 1, 1, _TOO_DEEP)]) from None
    if problems:
        raise ConfigError(problems)
    return doc


_TOO_DEEP = "the YAML is nested too deeply (lists or mappings inside each other)"
_BASE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _FastLoader(_BASE_LOADER):  # type: ignore[misc]  # PyYAML's classes are untyped
    """The safe loader, telling a date it *read* (``2026-12-01``) from one tagged
    ``!!timestamp`` by hand: only the first resolves to :data:`IMPLICIT_DATE`, so
    ``yamltags`` keeps the first as text whatever it holds and checks that the second is
    a real date.  (The resolver's own table, not an override: it runs for every value.)"""

    yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, Any]]]] = {
        first: [(IMPLICIT_DATE if tag == TIMESTAMP else tag, pattern) for tag, pattern in table]
        for first, table in _BASE_LOADER.yaml_implicit_resolvers.items()
    }


_FAST_LOADER: Any = _FastLoader


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
    if _BASE_LOADER is yaml.SafeLoader:
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
    start = node.start_mark
    # tuple.__new__: a NamedTuple's own constructor is a Python call, and one Mark is
    # made for every value of the file.
    mark: Mark = _new_tuple(Mark, (start.line + 1, start.column + 1, block))
    return mark


_new_tuple = tuple.__new__


def _check_expansion(root: yaml.Node, name: str) -> None:
    """Refuse documents whose aliases would add more than ``MAX_ALIASED`` values to those
    written or expand past ``MAX_TEXT`` bytes of text, or that hold an alias inside its own
    anchor, without expanding them."""
    if not isinstance(root, yaml.MappingNode | yaml.SequenceNode):
        return
    sizes: dict[int, tuple[int, int]] = {}  # id(collection) -> (values, bytes) once expanded
    active: set[int] = set()  # collections being walked: an alias to one of them is a cycle
    order: list[yaml.Node] = []  # collections, each after every collection inside it
    written = 1  # values as written: the root, and each collection's entries (an alias is one)
    # Iterative post-order walk over collections (a scalar's size is its own): aliases
    # share node objects, so memoising by id keeps this linear in the *written* document
    # however large its expansion would be.
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            count, size = 1, 0
            children = _children(node)
            written += len(children)
            for child in children:
                if isinstance(child, yaml.ScalarNode):
                    count, size = count + 1, size + _text_bytes(child)
                else:
                    child_count, child_size = sizes[id(child)]
                    count, size = count + child_count, size + child_size
            sizes[key] = (count, size)
            active.discard(key)
            order.append(node)
            continue
        if key in sizes or isinstance(node, yaml.ScalarNode):
            continue
        if key in active:  # only a node's own subtree is walked while it is active
            mark = _mark(node)
            message = (
                "an alias refers to the value it is inside (an endless value); "
                "YAML anchors may only be repeated, not nested in themselves"
            )
            raise ConfigError([_problem(name, mark.line, mark.column, message)])
        active.add(key)
        stack.append((node, True))
        stack.extend(
            (c, False)
            for c in _children(node)
            if not isinstance(c, yaml.ScalarNode) and id(c) not in sizes
        )
    count, size = sizes[id(root)]
    if count - written > MAX_ALIASED or size > MAX_TEXT:
        raise ConfigError([_too_big(name, root, count - written, size, sizes, order)])


def _text_bytes(node: yaml.ScalarNode) -> int:
    value: str = node.value
    return len(value) if value.isascii() else len(value.encode("utf-8", "surrogatepass"))


def _too_big(
    name: str,
    root: yaml.Node,
    added: int,
    size: int,
    sizes: dict[int, tuple[int, int]],
    order: list[yaml.Node],
) -> Problem:
    """The bound passed, located at the repeated value that costs most (the usual cause:
    one long text or one big mapping aliased many times)."""
    by_text = added <= MAX_ALIASED  # else size > MAX_TEXT: name the count first
    if by_text:
        message = (
            f"aliases expand this document to {size / 1_048_576:,.0f} MiB of text, over the "
            f"bound of {MAX_TEXT // 1_048_576} MiB once aliases are expanded"
        )
    else:
        message = (
            f"aliases add {added:,} values to those written, over the bound of "
            f"{MAX_ALIASED:,} values added by aliases"
        )
    # How many times each node appears once expanded: parents before children.
    times: dict[int, int] = {id(root): 1}
    nodes: dict[int, yaml.Node] = {}
    for node in reversed(order):
        parent = times.get(id(node), 0)
        for child in _children(node):
            times[id(child)] = times.get(id(child), 0) + parent
            nodes[id(child)] = child

    def cost(node: yaml.Node) -> int:
        if isinstance(node, yaml.ScalarNode):
            return _text_bytes(node) if by_text else 1
        values, text = sizes[id(node)]
        return text if by_text else values

    repeated = [n for n in nodes.values() if times[id(n)] > 1]
    if not repeated:  # pragma: no cover - a bound passed without repeats: the file is too big
        mark = _mark(root)
        return _problem(name, mark.line, mark.column, message + "; refusing to expand them")
    worst = max(repeated, key=lambda n: times[id(n)] * cost(n))
    unit = "bytes" if by_text else ("values" if cost(worst) != 1 else "value")
    message += (
        f": this value ({cost(worst):,} {unit}) is repeated {times[id(worst)]:,} times; "
        "refusing to expand it (write it once, or move what differs into the data)"
    )
    mark = _mark(worst)
    return _problem(name, mark.line, mark.column, message)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


class _Converter:
    """Nodes to plain data, positions into ``doc``; each node converted once (see the docstring)."""

    def __init__(self, doc: Document, problems: list[Problem]) -> None:
        self.doc = doc
        self.problems = problems
        self.done: dict[int, tuple[Any, JsonPath]] = {}  # id(node) -> (value, first path)

    def report(self, node: yaml.Node, path: JsonPath, message: str) -> None:
        mark = _mark(node)
        self.problems.append(
            _problem(self.doc.file, mark.line, mark.column, message, _dotted(path))
        )

    def convert(self, node: yaml.Node, path: JsonPath) -> Any:
        self.doc.values.setdefault(path, _mark(node))
        if isinstance(node, yaml.ScalarNode):
            try:
                return scalar_value(node)
            except TagProblem as exc:
                self.report(node, path, str(exc))
                return None
        seen = self.done.get(id(node))
        if seen is not None:  # an alias: the same object, positioned where it was written
            value, first = seen
            if first != path:
                self.doc.aliases[path] = first
            return value
        problem = collection_problem(node)
        if problem is not None:
            self.report(node, path, problem)
            value = None
        elif isinstance(node, yaml.SequenceNode):
            value = [self.convert(child, (*path, i)) for i, child in enumerate(node.value)]
        else:
            assert isinstance(node, yaml.MappingNode)
            value = self.mapping(node, path)
        self.done[id(node)] = (value, path)
        return value

    def mapping(self, node: yaml.MappingNode, path: JsonPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        seen: dict[str, Mark] = {}
        merges: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merges.append(value_node)  # after the keys written here, which win
                continue
            key_mark = _mark(key_node)
            if not isinstance(key_node, yaml.ScalarNode):
                self.report(key_node, path, "a key must be a plain string")
                continue
            try:
                key = str(scalar_value(key_node)) if key_node.value != "" else ""
            except TagProblem as exc:
                self.report(key_node, path, f"this key: {exc}")
                continue
            if key in seen:
                first = seen[key]
                self.report(
                    key_node,
                    (*path, key),
                    f"duplicate key '{key}' (first defined at line {first.line}); "
                    "YAML would silently keep only the last one",
                )
                continue
            seen[key] = key_mark
            self.doc.keys.setdefault((*path, key), key_mark)
            result[key] = self.convert(value_node, (*path, key))
        for value_node in merges:
            for source in self.merge_sources(value_node, path):
                # An alias converted before keeps its positions where it was written; an
                # inline mapping is converted here, under this mapping's path.
                value = self.convert(source, path)
                origin = self.done[id(source)][1]
                for k, v in value.items() if isinstance(value, dict) else ():
                    if k not in result:
                        result[k] = v
                        if origin != path:
                            self.doc.aliases[(*path, k)] = (*origin, k)
        return result

    def merge_sources(self, node: yaml.Node, path: JsonPath) -> list[yaml.Node]:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        if all(isinstance(n, yaml.MappingNode) for n in sources):
            return list(sources)
        self.report(
            node,
            path,
            "a merge key (<<) takes a mapping or a list of mappings, e.g. <<: *defaults "
            "or <<: [*a, *b]",
        )
        return [n for n in sources if isinstance(n, yaml.MappingNode)]


def _dotted(path: JsonPath) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


dotted = _dotted
