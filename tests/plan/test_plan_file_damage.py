"""A damaged saved or reviewed plan is refused in words, and nothing is sent (QA of issue 21).

``apply PLAN`` and ``apply --reviewed PLAN`` read a file someone may have cut short,
edited or replaced.  Hypothesis damages a real saved plan -- cut at any byte, any field the
reader uses given another type, a number of thousands of digits or lists nested thousands
deep anywhere -- and each run must exit 1 with one plain line naming the file, and the
emulator (real, on loopback) must have received no call at all.
"""

from __future__ import annotations

import copy
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from testing.project import LEAD_BY_EMAIL, MARKETO_FROM_ENV, csv_source, write_file, write_project
from testing.seed import serve_project

from mktsync.cli import main
from mktsync.emulator import Emulator
from mktsync.plan.fileshape import PLAN, AnyValue, Kind, ListOf, MapOf, Obj, Shape

PYTHON_WORDS = (
    "Traceback",
    "internal error",
    "object is not",
    "NoneType",
    "invalid literal",
    "subscriptable",
    "indices must",
    "KeyError",
    "Exceeds the limit",
    "recursion",
    "missing or wrong",
)
MODES = ("saved", "reviewed")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Emulator, str]]:
    root = tmp_path_factory.mktemp("damage")
    write_file(root / "data" / "regs.csv", "email,w\nann@example.com,A\nbob@example.com,B\n")
    config = write_project(
        root,
        marketo=MARKETO_FROM_ENV,
        sources={"regs": csv_source("data/regs.csv")},
        campaigns={
            "reminder": {
                "campaign_id": 1234,
                "source": "regs",
                "lead": LEAD_BY_EMAIL,
                "tokens": {"my.W": "{{ row.w }}"},
            }
        },
    )
    with serve_project(config) as emu:
        code, _, err = run(config, emu, ["plan", str(config), "--out", str(root / "good.json")])
        assert code == 0, err
        yield config, emu, (root / "good.json").read_text(encoding="utf-8")


def run(config: Path, emu: Emulator, argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    env = {
        "MARKETO_BASE_URL": emu.base_url,
        "MARKETO_CLIENT_ID": emu.client_id,
        "MARKETO_CLIENT_SECRET": emu.client_secret,
    }
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        mp.chdir(config.parent)
        code = main(argv, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def paths(
    data: Any, shape: Shape, at: tuple[Any, ...] = ()
) -> Iterator[tuple[tuple[Any, ...], Shape]]:
    """Every place in ``data`` the reader uses, with its shape."""
    if isinstance(shape, AnyValue):
        return
    yield at, shape
    if isinstance(shape, Obj) and isinstance(data, dict):
        for name, inner in shape.fields.items():
            if name in data:
                yield from paths(data[name], inner, (*at, name))
    elif isinstance(shape, ListOf) and isinstance(data, list):
        for n, value in enumerate(data):
            yield from paths(value, shape.item, (*at, n))
    elif isinstance(shape, MapOf) and isinstance(data, dict):
        for name, value in data.items():
            yield from paths(value, shape.value, (*at, name))


def allowed(value: Any, shape: Shape) -> bool:
    """Would ``value`` fit ``shape`` as a type (so swapping it in is no damage)?"""
    if value is None:
        return bool(getattr(shape, "nullable", False)) or (
            isinstance(shape, Kind) and "null" in shape.types
        )
    if isinstance(shape, Kind):
        kinds = {bool: "bool", int: "int", float: "number", str: "text"}
        kind = kinds.get(type(value))
        return kind in shape.types or (kind == "int" and "number" in shape.types)
    if isinstance(shape, ListOf):
        return isinstance(value, list)
    return isinstance(value, dict)


SWAPS = ["x", 7, 2.5, True, None, [], {}, ["x"], {"x": 1}]


def put(data: Any, at: tuple[Any, ...], value: Any) -> Any:
    if not at:
        return value
    copied = copy.deepcopy(data)
    node = copied
    for step in at[:-1]:
        node = node[step]
    node[at[-1]] = value
    return copied


@st.composite
def damaged(draw: st.DrawFn, good: str) -> str:
    data = json.loads(good)
    kind = draw(st.sampled_from(["cut", "swap", "huge", "deep"]))
    if kind == "cut":  # at least the closing brace goes
        return good[: draw(st.integers(0, len(good.rstrip()) - 1))]
    places = list(paths(data, PLAN))
    at, shape = draw(st.sampled_from(places))
    if kind == "swap":
        value = draw(st.sampled_from([v for v in SWAPS if not allowed(v, shape)]))
        return json.dumps(put(data, at, value), indent=1)
    marker = "__DAMAGE__"
    text = json.dumps(put(data, at, marker), indent=1) if at else json.dumps(marker)
    if kind == "huge":
        digits = draw(st.integers(31, 6000))
        return text.replace(f'"{marker}"', "1" + "0" * digits, 1)
    depth = draw(st.integers(2000, 60000))
    return text.replace(f'"{marker}"', "[" * depth + "]" * depth, 1)


@pytest.mark.parametrize("mode", MODES)
def test_a_damaged_plan_file_is_refused_in_words_and_nothing_is_sent(
    project: tuple[Path, Emulator, str], mode: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    config, emu, good = project
    folder = tmp_path_factory.mktemp(mode)

    @settings(
        max_examples=150,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(text=damaged(good))
    def refused(text: str) -> None:
        plan = folder / "plan.json"
        plan.write_text(text, encoding="utf-8")
        before = len(emu.journal())
        argv = ["apply", str(plan), "--yes"]
        if mode == "reviewed":
            argv = ["apply", "--reviewed", str(plan), str(config), "--yes"]
        code, out, err = run(config, emu, argv)
        assert code == 1, (out, err)
        lines = err.splitlines()
        assert lines and lines[0].startswith(f"error: {plan}: "), err
        assert "damaged plan file" in lines[0] or "not a saved" in lines[0], err
        assert not any(word in out + err for word in PYTHON_WORDS), err
        assert len(emu.journal()) == before, "a damaged plan reached Marketo"

    refused()


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda d: d | {"campaigns": "x"}, "campaigns is the text 'x', not a list"),
        (lambda d: d | {"summary": None}, "summary is null, not an object"),
        (
            lambda d: d | {"retry_unknown": "yes"},
            "retry_unknown is the text 'yes', not true or false",
        ),
        (lambda d: d | {"timezone": "Mars/Base"}, "timezone: unknown time zone 'Mars/Base'"),
        (lambda d: d | {"now": "0001-01-01T00:00:00+05:00"}, "now is outside the instants"),
    ],
)
def test_each_damage_is_named_by_its_field(
    project: tuple[Path, Emulator, str], tmp_path: Path, edit: Any, words: str
) -> None:
    config, emu, good = project
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(edit(json.loads(good))), encoding="utf-8")
    code, _, err = run(config, emu, ["apply", str(plan), "--yes"])
    assert code == 1
    assert err.startswith(f"error: {plan}: damaged plan file: {words}"), err


def test_a_number_in_place_of_a_lead_and_deep_lists_are_named(
    project: tuple[Path, Emulator, str], tmp_path: Path
) -> None:
    config, emu, good = project
    plan = tmp_path / "plan.json"
    plan.write_text(good.replace('"ann@example.com"', "1" + "0" * 5000, 1), encoding="utf-8")
    code, _, err = run(config, emu, ["apply", "--reviewed", str(plan), str(config), "--yes"])
    assert (code, err) == (
        1,
        f"error: {plan}: damaged plan file: it holds a number of 5,001 digits\n",
    )
    plan.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    code, _, err = run(config, emu, ["apply", str(plan), "--yes"])
    assert code == 1 and "nests lists and objects deeper than a plan ever does" in err, err
    assert os.path.exists(plan)
