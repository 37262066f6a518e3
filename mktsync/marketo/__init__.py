"""The Marketo REST client: auth, limits, retries, typed errors and records.

>>> from mktsync.marketo import MarketoClient, RetryPolicy  # doctest: +SKIP
>>> client = MarketoClient(url, client_id, secret, limits=config.marketo.limits)  # doctest: +SKIP
"""

from __future__ import annotations

from mktsync.marketo.auth import MarketoAuth
from mktsync.marketo.client import BatchTooLarge, MarketoClient, bare_token_name, instance_root
from mktsync.marketo.codes import (
    AuthError,
    ConnectFailed,
    NotFound,
    NotSent,
    OutcomeUnknown,
    QuotaExceeded,
    RequestFailed,
    Retryable,
    Throttled,
    TokenRejected,
    Transient,
    error_for,
)
from mktsync.marketo.limits import Limiter
from mktsync.marketo.records import (
    CampaignInfo,
    CreateResult,
    PreflightResult,
    ProgramToken,
    Qualification,
    SmartCampaign,
    TriggerResult,
)
from mktsync.marketo.retry import RetryPolicy
from mktsync.marketo.stats import ClientStats, Stats
from mktsync.marketo.stop import Stop
from mktsync.marketo.transport import Sending
from mktsync.marketo.usage import CallBudget, DailyUsage, ReserveReached, UserUsage

__all__ = [
    "AuthError",
    "BatchTooLarge",
    "CallBudget",
    "CampaignInfo",
    "ClientStats",
    "ConnectFailed",
    "CreateResult",
    "DailyUsage",
    "Limiter",
    "MarketoAuth",
    "MarketoClient",
    "NotFound",
    "NotSent",
    "OutcomeUnknown",
    "PreflightResult",
    "ProgramToken",
    "Qualification",
    "QuotaExceeded",
    "RequestFailed",
    "ReserveReached",
    "RetryPolicy",
    "Retryable",
    "Sending",
    "SmartCampaign",
    "Stats",
    "Stop",
    "Throttled",
    "TokenRejected",
    "Transient",
    "TriggerResult",
    "UserUsage",
    "bare_token_name",
    "error_for",
    "instance_root",
]
