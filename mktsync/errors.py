"""The exceptions mktsync raises on purpose, and the exit code each one means.

::

    MktsyncError                  exit 1    anything the user can act on
    ├── ConfigError               exit 1    campaigns.yaml is wrong; carries every Problem
    ├── SourceError               exit 1    a source cannot be read (file, line, reason)
    ├── EnvironmentVariableError  exit 1    a ${VAR} needed now is not set
    ├── LedgerError               exit 1    the ledger cannot be opened, migrated or written
    │   ├── LedgerLocked          exit 1    another run holds the ledger's lock
    │   └── WrongInstance         exit 1    the ledger belongs to another Marketo instance
    ├── PlanError                 exit 1    a plan cannot be made or applied
    │   ├── BudgetExceeded        exit 1    the plan would exceed max_calls, or the daily
    │   │                                   quota when no max_calls is set
    │   ├── StalePlan             exit 1    a saved plan no longer matches ledger or config
    │   └── ForeignPlan           exit 1    a saved plan was made for another environment,
    │                                       instance or ledger (or records none of them)
    ├── TempSpaceError            exit 1    the temp folder has no room for plan's and apply's files
    ├── PreflightError            exit 1    a campaign is not ready to be triggered
    ├── ImpossibleKeys            exit 1    keys of an import file the campaign's key cannot make
    ├── KeysNotFound              exit 1    keys asked of `mktsync ledger` are not in the ledger
    ├── NotSent                   exit 130  a stop came while a call waited: nothing of it left
    │   ├── DeadlineReached       exit 1    a read's deadline came first: the call never left
    │   ├── LimiterLost           exit 1    the shared limiter's store went away mid-run: no
    │   │                                   call starts after it; the next run sends the rest
    │   └── ReserveReached        exit 4    the calls a run may make today are spent: kept home
    ├── LimiterUnavailable        exit 1    the shared limiter's store cannot be reached or
    │                                       set up (PostgreSQL, the file): nothing was sent
    └── MarketoError              exit 1    an error answered by Marketo (code, message, requestId)
        ├── AuthError             exit 1    bad client id or secret (identity said 401)
        ├── QuotaExceeded         exit 4    607: the daily quota is spent; the next run resumes
        ├── Retryable             exit 1    not carried out: may be sent again after a pause
        │   ├── Throttled         exit 1    606, 615: calls per window, concurrent calls
        │   ├── Transient         exit 1    604, 608, 713, 500/502: a passing fault of Marketo's
        │   └── ConnectFailed     exit 1    no connection: the request never left
        ├── TokenRejected         exit 1    601/602 still, after the token was renewed
        ├── OutcomeUnknown        exit 1    the request left and no answer came
        ├── NotFound              exit 1    1013, 702, 610: the object does not exist
        └── RequestFailed         exit 1    anything else: resending will not fix it

Defined beside the code that raises them: ``WrongInstance`` in ``ledger``,
``ImpossibleKeys`` in ``apply``, ``KeysNotFound`` with the ledger tools, ``NotSent``,
``DeadlineReached``, ``LimiterLost``, ``LimiterUnavailable`` and the ``MarketoError``
classes below ``QuotaExceeded`` in ``marketo.codes`` (which says what a caller may do
about each), ``ReserveReached`` in ``marketo.usage``.  ``tests/test_errors.py`` checks
this drawing against the classes, so it cannot drift.

Outside the tree, exceptions that never reach the user as such: PathRefused, TagProblem,
RenderLimitError, Unusual, BatchTooLarge, ApiError, UsageError, Damaged, OutOfRange.
``Damaged`` (a plan file's damage in words) and ``OutOfRange`` (an instant no zone can hold)
become an error of the tree (a ``PlanError``, a ``ConfigError``) naming the file,
option or variable.  ``PathRefused`` and
``TagProblem`` become located problems (or a ``SourceError``), ``RenderLimitError`` an
invalid item; ``Unusual`` sends a row down render's careful path; ``BatchTooLarge`` guards
against a bug; ``ApiError`` is the emulator's answer to a client; ``UsageError`` is
argparse's refusal, which ``cli`` prints with exit 1 (kept out of the tree so that a bare
``mktsync --help`` need not load this module).

Only ``cli`` turns these into output and exit codes: one line per problem, never a
traceback.  Messages never contain secrets: they are built from names and
positions, never from the values of ``${VAR}`` references.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_INCOMPLETE = 3
EXIT_QUOTA = 4
EXIT_HELD = 5  # apply --reviewed: what it was asked to send went out, but items are held
EXIT_INTERRUPTED = 130

Severity = Literal["error", "warning"]


@dataclass(frozen=True, kw_only=True, order=True)
class Problem:
    """One located finding about a file: ``campaigns.yaml:14:18: campaigns.x.campaign_id: ...``.

    ``line`` and ``column`` are 1-based; 0 means "the file as a whole".
    """

    file: str
    line: int
    column: int
    path: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = self.file if self.line == 0 else f"{self.file}:{self.line}:{self.column}"
        prefix = "warning: " if self.severity == "warning" else ""
        field = f" {self.path}:" if self.path else ""
        return one_line(f"{where}:{field} {prefix}{self.message}")

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "message": self.message,
            "severity": self.severity,
        }


# Only these can be unsafe to show: printable ASCII never is (the fast path).
_SUSPECT = re.compile(r"[^\x20-\x7e]")
# Shown escaped by category: controls (Cc), format characters (Cf: bidi controls such as
# U+202E, zero-width characters, U+FEFF, tag characters), lone surrogates (Cs), line and
# paragraph separators (Zl, Zp), private-use (Co) and unassigned code points (Cn: a newer
# terminal may know them as anything, including a format character).
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt) outside those
# categories: fillers that draw nothing and variation selectors (which can carry hidden bytes).
_IGNORABLE = (
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x115F, 0x1160),  # Hangul choseong and jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian free variation selectors
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors 1-16
    (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
    (0xE0100, 0xE01EF),  # variation selectors 17-256
)


def hidden(char: str) -> bool:
    """Whether ``char`` may be invisible or change how the text around it is drawn."""
    if unicodedata.category(char) in _HIDDEN_CATEGORIES:
        return True
    point = ord(char)
    return any(low <= point <= high for low, high in _IGNORABLE)


@functools.lru_cache(maxsize=4096)
def _shown(char: str) -> str:
    if not hidden(char):
        return char
    escaped = repr(char)[1:-1]  # '\\n', '\\x1b', '\\u202e' as Python writes them
    if escaped != char:
        return escaped
    point = ord(char)  # printable to repr, yet hidden (a filler, a variation selector)
    return f"\\u{point:04x}" if point <= 0xFFFF else f"\\U{point:08x}"


def one_line(text: str) -> str:
    """``text`` safe to show on one line of a terminal, a log or a Markdown comment.

    The one place that decides what is shown escaped: control characters (a key like
    '\\r' in a YAML file, an escape sequence in a CSV cell), and everything that draws
    nothing or reorders what is drawn (``hidden``: U+202E shown as ``\\u202e``, U+200B
    as ``\\u200b``), so one problem stays one line and a value cannot display reversed or
    hide a difference.  Only for showing: what is sent, stored and written as JSON keeps
    the true value.

    It also defuses GitHub Actions' workflow commands, which its runner reads from every
    line a step prints, on stdout and stderr alike: a line that starts with ``::`` after
    white space (``::add-mask::...``), or holds ``##[`` anywhere (the older form, matched
    anywhere in a line: ``##[set-output name=x]y``).  Their first character is shown as
    its escape (``\\x3a:add-mask::``, ``\\x23#[``), so a value from a pull request cannot
    issue a command, stop the annotations or mask a line of the log (docs/ci.md).

    >>> one_line("evil\\u202etxt.exe\\n")
    'evil\\\\u202etxt.exe\\\\n'
    >>> one_line(" ::add-mask::x ##[error]y")
    ' \\\\x3a:add-mask::x \\\\x23#[error]y'
    """
    if _SUSPECT.search(text):
        if _OPEN in text:  # a personal value no display resolved: masked, never in clear
            text = shown_personal(text, show_pii=False)
        text = _SUSPECT.sub(lambda m: _shown(m.group()), text)
    if "::" in text or "##[" in text:  # rare: two substring scans keep the common case fast
        text = _defused(text)
    return text


# A personal value a message quotes (a cell meant to be an e-mail address: issue 22) is
# marked, never masked where the message is built: each display shows it masked or in
# clear by its own rule (``--show-pii``), as it shows leads and keys.  The markers are
# private-use characters, taken out of the value itself, so data cannot forge a span;
# ``one_line`` shows a stray one escaped.
_OPEN, _CLOSE = "\ue000", "\ue001"
_PERSONAL = re.compile("\ue000([^\ue000\ue001]*)\ue001")
QUOTED_WIDTH = 60  # a quoted value longer than this is cut with "..."


def quoted(value: object) -> str:
    """``value`` as a message quotes it: ``'ada@example.com'``, cut to ``QUOTED_WIDTH``."""
    shown = repr(value)
    return shown if len(shown) <= QUOTED_WIDTH else shown[: QUOTED_WIDTH - 3] + "..."


def personal(value: str) -> str:
    """``value`` marked as personal in a message (a reason, an error): shown quoted, and
    masked unless the reader asked to see personal data (``shown_personal``)."""
    return f"{_OPEN}{value.replace(_OPEN, '').replace(_CLOSE, '')}{_CLOSE}"


def masked_personal(value: str) -> str:
    """The masked form of a personal value: ``ada@example.com`` -> ``a***@example.com``,
    ``evelyn.private@`` -> ``e***@``, other text its first character (``A***``)."""
    local, at, domain = value.partition("@")
    if at:
        return f"{local[:1]}***@{domain}"
    return f"{value[:1]}***" if value else value


def shown_personal(text: str, *, show_pii: bool) -> str:
    """``text`` with each marked personal value quoted, masked unless ``show_pii``.

    >>> reason = f"lead.email: {personal('evelyn.private@')} is not plausible"
    >>> shown_personal(reason, show_pii=False), shown_personal(reason, show_pii=True)
    ("lead.email: 'e***@' is not plausible", "lead.email: 'evelyn.private@' is not plausible")
    """
    if _OPEN not in text:
        return text
    show = (lambda v: v) if show_pii else masked_personal
    return _PERSONAL.sub(lambda m: quoted(show(m.group(1))), text)


def one_line_keeping_personal(text: str) -> str:
    """``one_line(text)`` for a message still to be shown (an error built from reasons):
    its personal values stay marked, for the display to mask or show."""
    if _OPEN not in text:
        return one_line(text)
    pieces = _PERSONAL.split(text)  # outside, value, outside, value, ..., outside
    return "".join(
        personal(one_line(piece)) if n % 2 else one_line(piece) for n, piece in enumerate(pieces)
    )


def personal_values(text: str) -> list[str]:
    """The personal values marked in ``text``, in order (the plan file keeps them)."""
    return _PERSONAL.findall(text) if _OPEN in text else []


def marked_again(text: str, values: list[str]) -> str:
    """``text`` as ``shown_personal(show_pii=True)`` wrote it, with ``values`` marked
    again (a plan file read back): each one's first quoted occurrence."""
    for value in values:
        text = text.replace(quoted(value), personal(value), 1)
    return text


# GitHub's runner trims leading white space (.NET ``TrimStart``) before looking for ``::``.
_COMMAND_START = re.compile(r"^(\s*):")
_OLD_COMMAND = "##["


def _defused(text: str) -> str:
    """``text`` with no workflow command in it for GitHub's runner (see ``one_line``)."""
    text = text.replace(_OLD_COMMAND, "\\x23#[")
    if text.lstrip().startswith("::"):
        text = _COMMAND_START.sub(lambda m: m.group(1) + "\\x3a", text, count=1)
    return text


class MktsyncError(Exception):
    """Base of every error mktsync reports to the user."""

    exit_code: int = EXIT_ERROR

    def lines(self) -> list[str]:
        """What the CLI prints, one line per problem, each with its ``error:`` prefix."""
        return [f"error: {self}"]


SHOWN_PER_KIND = 10
# A path's entry name (``campaigns.NAME``...) and the names below it (a token, a field,
# a column, a list index) stand for any: what is left says what kind of problem it is.
_ENTRY = re.compile(r"^(campaigns|sources|schedules|environments)\.([^.\[]+)")
_BELOW = [
    (re.compile(r"\.tokens\..*$"), ".tokens.*"),
    (re.compile(r"\.(fields|columns)\.[^.\[]+"), r".\1.*"),
    (re.compile(r"\[\d+\]"), "[*]"),
]
# Numbers outside quotes are counts and lines ("got 338", "first defined at line 12"):
# they vary between instances of one kind.  A quoted name is what the problem is about.
_QUOTED_OR_NUMBER = re.compile(r"'[^']*'|\d[\d,.]*")


def problem_kind(problem: Problem) -> tuple[str, str, str, str]:
    """(file, severity, field path with names as ``*``, message with the entry's own name
    as ``*`` and numbers outside quotes as ``#``): ``campaigns.*.source: no source named
    'x' under 'sources'``, ``campaigns.*.tokens: at most # entries (Marketo's limit), got #``."""
    path, message = _generic(problem)
    return problem.file, problem.severity, path, _QUOTED_OR_NUMBER.sub(_number_sign, message)


def _generic(problem: Problem) -> tuple[str, str]:
    """The path and the message with the entry's own name as ``*`` (numbers kept)."""
    path, message = problem.path, problem.message
    entry = _ENTRY.match(path)
    if entry:
        path = f"{entry.group(1)}.*{path[entry.end() :]}"
        message = message.replace(f"'{entry.group(2)}'", "'*'")
    for pattern, replacement in _BELOW:
        path = pattern.sub(replacement, path)
    return path, message


def _number_sign(match: re.Match[str]) -> str:
    text = match.group()
    return text if text.startswith("'") else "#"


def capped(problems: Iterable[Problem], per_kind: int = SHOWN_PER_KIND) -> list[Problem]:
    """Problems in file order, at most ``per_kind`` of each kind, each cut kind followed by
    one line counting the rest: ``… and 59,990 more errors like this one (campaigns.*.source:
    no source named 'x' under 'sources')``.

    60,000 aliases of one broken campaign are one problem repeated, not 60,000 to read;
    every *distinct* problem is still shown (see ``problem_kind``).
    """
    ordered = sorted(problems, key=_order)
    seen: dict[tuple[str, str, str, str], int] = {}
    kinds = [problem_kind(p) for p in ordered]
    for kind in kinds:
        seen[kind] = seen.get(kind, 0) + 1
    if all(count <= per_kind for count in seen.values()):
        return ordered
    shown: list[Problem] = []
    met: dict[tuple[str, str, str, str], int] = {}
    for problem, kind in zip(ordered, kinds, strict=True):
        met[kind] = met.get(kind, 0) + 1
        if met[kind] <= per_kind:
            shown.append(problem)
        elif met[kind] == per_kind + 1:  # the first one left out: count the rest here
            path, message = _generic(problem)
            rest = seen[kind] - per_kind
            noun = ("error" if problem.severity == "error" else "warning") + "s" * (rest != 1)
            shown.append(
                Problem(
                    file=problem.file,
                    line=problem.line,
                    column=problem.column,
                    path="",
                    message=f"… and {rest:,} more {noun} like this one ({path}: {message})",
                    severity=problem.severity,
                )
            )
    return shown


def _order(problem: Problem) -> tuple[str, int, int, str, str, str]:
    # The dataclass's own order, as a key: sorting 60,000 problems by __lt__ takes seconds.
    p = problem
    return (p.file, p.line, p.column, p.path, p.message, p.severity)


class ConfigError(MktsyncError):
    """The configuration is invalid; ``problems`` holds every problem found, in file order,
    at most ``SHOWN_PER_KIND`` of a kind (then a line counting the rest, see ``capped``)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = capped(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def lines(self) -> list[str]:
        # Warnings travel with the errors (so one run shows every problem) but are not
        # errors: they keep their own "warning:" and get no "error:" in front.
        return [str(p) if p.severity == "warning" else f"error: {p}" for p in self.problems]


class SourceError(MktsyncError):
    """A source cannot be read: ``registrations: data/registrations.csv:88: unterminated quoted field``."""

    def __init__(self, source: str, location: str, message: str) -> None:
        self.source = source
        self.location = location
        self.message = message
        super().__init__(f"{source}: {location}: {message}" if location else f"{source}: {message}")


class EnvironmentVariableError(MktsyncError):
    """A ``${VAR}`` reference is needed now but the variable is not set."""


class LedgerError(MktsyncError):
    """The ledger cannot be opened, migrated, read or written."""


class LedgerLocked(LedgerError):
    """Another run holds the ledger's run lock; the message names the holder."""


class PlanError(MktsyncError):
    """A plan cannot be made, saved or applied.

    ``invalid``: the invalid rows behind it (``items.InvalidItem``) when a campaign has
    more than ``max_invalid`` allows, so each can be shown at its line of the data file
    (``report.annotations``).
    """

    def __init__(self, message: str, *, invalid: tuple[object, ...] = ()) -> None:
        super().__init__(message)
        self.invalid = invalid


class TempSpaceError(MktsyncError):
    """The temp folder has no room for what plan and apply keep on disk (issue 16)."""


def disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` says a disk is full: SQLite's SQLITE_FULL, or ENOSPC / EDQUOT."""
    if isinstance(exc, OSError) and exc.errno in (28, 122):  # ENOSPC, EDQUOT (Linux)
        return True
    return "database or disk is full" in str(exc)


def no_temp_space(what: str) -> TempSpaceError:
    return TempSpaceError(
        f"the temp folder is full: {what}; free space there, or point TMPDIR (for SQLite"
        " also SQLITE_TMPDIR) at a folder with room"
    )


class BudgetExceeded(PlanError):
    """The plan needs more API calls than ``max_calls`` allows, or, with no ``max_calls``,
    more than the daily quota (``plan.check_budget``: ``plan`` and ``apply`` alike)."""


class StalePlan(PlanError):
    """A saved plan was made against another ledger state or config; plan again."""


class ForeignPlan(PlanError):
    """A saved or reviewed plan was made for another environment, Marketo instance or
    ledger than this run's: it applies only where it was made (issue 21)."""


class PreflightError(MktsyncError):
    """A campaign is not ready to be triggered (missing, batch, inactive, tokens absent)."""


class MarketoError(MktsyncError):
    """An error Marketo answered, with its string code, message and requestId."""

    def __init__(self, code: str, message: str, request_id: str | None = None) -> None:
        self.code = code
        self.message = message
        self.request_id = request_id
        suffix = f" (requestId {request_id})" if request_id else ""
        super().__init__(f"Marketo error {code}: {message}{suffix}")


class AuthError(MarketoError):
    """The identity service refused the client id or secret."""


class QuotaExceeded(MarketoError):
    """607: the daily quota is spent. What was sent is recorded; the next run resumes."""

    exit_code = EXIT_QUOTA
