"""max_value_bytes on the fast path: lengths are checked in the generated code, and the
few long values are measured in bytes by the careful path (a character is 1-4 bytes)."""

from __future__ import annotations

from render_testing import run

from mktsync.items import InvalidItem, Item

LIMIT = 65_536  # the default max_value_bytes


def test_values_over_the_byte_bound_are_invalid_and_those_under_it_are_not() -> None:
    rows = [
        {"email": "a@example.com", "body": "x" * LIMIT},  # exactly the bound: fine
        {"email": "b@example.com", "body": "x" * (LIMIT + 1)},
        {
            "email": "c@example.com",
            "body": "\U0001f600" * (LIMIT // 4),
        },  # 4-byte chars, at the bound
        {"email": "d@example.com", "body": "\U0001f600" * (LIMIT // 4 + 1)},
        {"email": "e@example.com", "body": "é" * (LIMIT // 2 + 1)},  # 2-byte chars, just over
    ]
    results = run(rows, tokens={"Body": "{{ row.body }}"})
    assert [type(r) for r in results] == [Item, InvalidItem, Item, InvalidItem, InvalidItem]
    assert isinstance(results[1], InvalidItem)
    assert results[1].reason == (
        "tokens.{{my.Body}}: renders 65,537 bytes, over max_value_bytes (65,536)"
    )


def test_a_long_key_or_email_is_measured_too() -> None:
    long_email = "x" * LIMIT + "@example.com"
    (by_key,) = run([{"email": "a@example.com", "code": "k" * (LIMIT + 1)}], key="{{ row.code }}")
    assert isinstance(by_key, InvalidItem) and by_key.reason.startswith("key: renders 65,537")
    (by_email,) = run([{"email": long_email}], key="fixed")
    assert isinstance(by_email, InvalidItem) and by_email.reason.startswith("lead.email: renders")
