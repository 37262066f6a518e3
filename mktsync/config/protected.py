"""Protected lead fields (issue 25): what a field sync never writes unless a campaign says so.

>>> protected_field("Unsubscribed").category, protected_field("webinarJoinLink")
('consent', None)
>>> consent_value("unsubscribed", " TRUE "), consent_value("unsubscribed", "0")
('withdraw', 'grant')

Marketo's identity, consent, ownership and system fields (docs/fields.md lists each with
its source) are refused by ``validate`` in ``fields:`` and ``lead.fields`` unless the
campaign's ``allow_protected_fields`` names the field with a reason.  Names are matched
**ignoring case**: Marketo's REST names are case-sensitive, but a deny list that
``Unsubscribed`` slips past protects nothing, and a custom field whose name differs from a
protected one only in case is one a reviewer would confuse with it anyway.

Consent flags (``unsubscribed``, ``marketingSuspended``, ...) are booleans where ``true``
withdraws consent.  Naming one in ``allow_protected_fields`` allows withdrawing only; a
value that would grant consent (``false``, ``0``, empty) needs ``grant_consent: true`` on
that entry, else the item is invalid (:func:`field_guard`), never sent.  Values are
strings after rendering: ``true``/``1`` and ``false``/``0`` (any case, surrounding
whitespace ignored: the forms the emulator's boolean check and Adobe's own example
accept) and the empty string, which would clear the flag; anything else in a consent flag
is invalid, since nobody can say what Marketo would make of ``yes``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from mktsync.config.model import AllowedField, Campaign
from mktsync.config.yamlfile import JsonPath

Category = Literal["identity", "consent", "ownership", "system"]
Direction = Literal["withdraw", "grant"]


@dataclass(frozen=True, kw_only=True)
class ProtectedField:
    """One protected lead field: Marketo's spelling of its REST name, and why it is protected."""

    name: str
    category: Category


def _table(category: Category, names: str) -> dict[str, ProtectedField]:
    return {n.lower(): ProtectedField(name=n, category=category) for n in names.split()}


# The sources of each name are in docs/fields.md ("Protected lead fields"); a test keeps
# that table and this one the same.
PROTECTED: dict[str, ProtectedField] = {
    **_table(
        "identity",
        "email id cookies leadPerson leadPersonOrgId isAnonymous isLead personType"
        " sfdcId sfdcType sfdcLeadId sfdcContactId sfdcAccountId externalCompanyId",
    ),
    **_table(
        "consent",
        "unsubscribed unsubscribedReason marketingSuspended marketingSuspendedCause"
        " marketingSuspendedReason doNotCall doNotCallReason mktoDoNotCallCause"
        " emailInvalid emailInvalidCause emailSuspended emailSuspendedAt emailSuspendedCause"
        " blackListed blackListedCause",
    ),
    **_table(
        "ownership",
        "leadPartitionId sfdcLeadOwnerId externalSalesPersonId acquisitionProgramId"
        " mktoAcquisitionDate leadRevenueCycleModelId leadRevenueStageId",
    ),
    **_table(
        "system",
        "createdAt updatedAt priority relativeScore relativeUrgency urgency"
        " originalSourceType originalSourceInfo registrationSourceType"
        " registrationSourceInfo originalReferrer originalSearchEngine originalSearchPhrase",
    ),
}

# Consent flags: booleans whose `true` withdraws consent; what writing `false` would do.
CONSENT_FLAGS: dict[str, str] = {
    "unsubscribed": "re-subscribe the lead",
    "marketingsuspended": "lift the lead's marketing suspension",
    "donotcall": "allow calling the lead again",
    "blacklisted": "take the lead off the block list",
    "emailinvalid": "mark the lead's address valid again",
    "emailsuspended": "lift the lead's email suspension",
}
WITHDRAWING = frozenset({"true", "1"})
GRANTING = frozenset({"false", "0", ""})


def protected_field(name: str) -> ProtectedField | None:
    """The protected field ``name`` is (ignoring case), or None."""
    return PROTECTED.get(name.lower())


def is_consent_flag(name: str) -> bool:
    return name.lower() in CONSENT_FLAGS


def consent_value(name: str, value: str) -> Direction | None:
    """What writing ``value`` to consent flag ``name`` does; None when it is no boolean."""
    text = value.strip().lower()
    if text in WITHDRAWING:
        return "withdraw"
    if text in GRANTING:
        return "grant"
    return None


def allowance(campaign: Campaign, name: str) -> AllowedField | None:
    """The campaign's ``allow_protected_fields`` entry for field ``name`` (exact name)."""
    for allowed in campaign.allow_protected_fields:
        if allowed.field == name:
            return allowed
    return None


def consent_problem(name: str, value: str, grant: bool) -> str | None:
    """Why writing ``value`` to consent flag ``name`` is refused, or None when it may be
    (``grant``: the campaign's entry for it says ``grant_consent: true``)."""
    direction = consent_value(name, value)
    if direction is None:
        return (
            f"{value.strip()!r} is not a value for the consent flag '{name}': write true or 1"
            " (withdraw consent), or false or 0 (grant it)"
        )
    if direction == "grant" and not grant:
        verb = CONSENT_FLAGS[name.lower()]
        granted = f"would grant consent ({verb})"
        if not value.strip():  # an empty value clears the flag: consent is granted too
            granted = f"renders empty, which would clear the flag and so grant consent ({verb})"
        else:
            granted = f"{value!r} {granted}"
        return (
            f"{granted}; mktsync only withdraws consent unless"
            f" allow_protected_fields says grant_consent: true for {name}"
        )
    return None


FieldGuard = Callable[[tuple[tuple[str, str], ...]], str | None]


def field_guard(campaign: Campaign) -> FieldGuard | None:
    """A check of an item's field values for ``campaign``, or None when it writes no
    protected field (the common case costs nothing per row).

    The check returns the reason the item may not be sent: a protected field the campaign
    does not allow (``validate`` refuses that config; this holds for configs built in
    code), or a consent flag value that is no boolean or grants consent without
    ``grant_consent``.  Each failing field is named, as ``fields.X`` or ``lead.fields.X``.
    """
    declared = [(n, "fields.") for n, _ in campaign.fields]
    if campaign.create_missing:
        declared += [(n, "lead.fields.") for n, _ in campaign.lead.fields]
    rules: dict[str, tuple[str, AllowedField | None, bool]] = {}
    for name, prefix in declared:
        if protected_field(name) is None:
            continue
        allowed = allowance(campaign, name)
        rules[name] = (prefix + name, allowed, is_consent_flag(name))
    if not rules:
        return None

    def check(fields: tuple[tuple[str, str], ...]) -> str | None:
        reasons = []
        for name, value in fields:
            rule = rules.get(name)
            if rule is None:
                continue
            where, allowed, flag = rule
            if allowed is None:
                reasons.append(f"{where}: {not_allowed_message(name)}")
                continue
            problem = consent_problem(name, value, allowed.grant_consent) if flag else None
            if problem is not None:
                reasons.append(f"{where}: {problem}")
        return "; ".join(reasons) or None

    return check


def not_allowed_message(name: str) -> str:
    found = protected_field(name)
    assert found is not None
    spelled = (
        "" if found.name == name else f" (Marketo's '{found.name}'; names match ignoring case)"
    )
    return (
        f"'{name}' is a protected lead field ({found.category}){spelled}: mktsync does not"
        " write it unless allow_protected_fields names it with a reason"
    )


class Report(Protocol):
    def __call__(self, path: JsonPath, message: str, *, key: bool = False) -> None: ...


def check_protected(campaign: dict[str, Any], path: JsonPath, error: Report, warn: Report) -> None:
    """``validate``'s part (``Checker.run`` calls it per campaign): every protected field in
    ``fields:`` or ``lead.fields`` is named by ``allow_protected_fields``, each entry is
    sound, and a constant value of a consent flag is a boolean that may be written."""
    entries = campaign.get("allow_protected_fields")
    allowed: dict[str, tuple[int, dict[str, Any]]] = {}  # name -> (index, entry)
    for i, entry in enumerate(entries if isinstance(entries, list) else []):
        name = entry.get("field") if isinstance(entry, dict) else None
        if not isinstance(name, str):
            continue  # the schema said so
        at: JsonPath = (*path, "allow_protected_fields", i)
        if name in allowed:
            error((*at, "field"), f"'{name}' is named twice in allow_protected_fields")
            continue
        allowed[name] = (i, entry)
        if entry.get("grant_consent") is True and not is_consent_flag(name):
            flags = ", ".join(sorted(PROTECTED[n].name for n in CONSENT_FLAGS))
            error(
                (*at, "grant_consent"),
                f"grant_consent applies only to the consent flags ({flags}); '{name}' is not one",
            )
    lead = campaign.get("lead")
    sections: list[tuple[JsonPath, Any]] = [
        ((*path, "fields"), campaign.get("fields")),
        ((*path, "lead", "fields"), lead.get("fields") if isinstance(lead, dict) else None),
    ]
    written: set[str] = set()
    for where, fields in sections:
        for name, text in (fields if isinstance(fields, dict) else {}).items():
            written.add(str(name))
            if protected_field(str(name)) is None:
                continue
            found = allowed.get(name)
            if found is None:
                near = [a for a in allowed if a.lower() == str(name).lower()]
                hint = (
                    f"; allow_protected_fields names '{near[0]}', which differs in case:"
                    " spell both alike"
                    if near
                    else ""
                )
                error((*where, name), not_allowed_message(str(name)) + hint, key=True)
            elif is_consent_flag(str(name)) and isinstance(text, str) and _constant(text):
                problem = consent_problem(str(name), text, found[1].get("grant_consent") is True)
                if problem is not None:
                    error((*where, name), problem)
    for name, (i, _) in allowed.items():
        at = (*path, "allow_protected_fields", i, "field")
        if protected_field(name) is None:
            warn(
                at,
                f"'{name}' is not a protected lead field: it needs no allow_protected_fields entry",
            )
        elif name not in written:
            warn(at, f"'{name}' is not written by this campaign (under fields or lead.fields)")


def _constant(text: str) -> bool:
    """A template with no Jinja markup renders as itself."""
    return not any(mark in text for mark in ("{{", "{%", "{#"))
