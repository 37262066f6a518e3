"""The plan: every item classified against the ledger, and the calls that would send them.

>>> plan = make_plan(config, ledger)                    # doctest: +SKIP
>>> plan.summary.trigger_calls                          # doctest: +SKIP

- ``records``: the plan's records (``Plan``, ``CampaignPlan``, ``Call``, ``Summary``) and
  the one ``Action`` vocabulary (``CLASSES``, ``BATCH_CLASSES``: what each kind counts);
- ``classifier``: ``classify``, an item or a batch run against its ledger record;
- ``planner``: ``make_plan``, grouping by token set and cutting calls;
- ``spill`` and ``lists``: what a plan keeps on disk so that a million items cost no memory;
- ``batch``: batch campaigns (``schedules:``) planned;
- ``qualify``: qualification rules a campaign's re-triggers run into;
- ``file``, ``filecalls`` and ``fileshape``: the plan file (``plan --out``), written and read
  back; ``fileshape`` says in words what is wrong with a damaged one.
"""

from __future__ import annotations

from mktsync.plan.file import dumps, load_plan, plan_to_json, write_plan
from mktsync.plan.planner import check_budget, make_plan
from mktsync.plan.records import (
    BATCH_CLASSES,
    CLASSES,
    MAX_LEADS_PER_CALL,
    Action,
    Binding,
    Call,
    CampaignPlan,
    ChangedItem,
    FieldWrite,
    HeldItem,
    Plan,
    PlannedItem,
    Summary,
)

__all__ = [
    "BATCH_CLASSES",
    "CLASSES",
    "MAX_LEADS_PER_CALL",
    "Action",
    "Binding",
    "Call",
    "CampaignPlan",
    "ChangedItem",
    "FieldWrite",
    "HeldItem",
    "Plan",
    "PlannedItem",
    "Summary",
    "check_budget",
    "dumps",
    "load_plan",
    "make_plan",
    "plan_to_json",
    "write_plan",
]
