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

__all__ = [
    "AuthError",
    "BatchTooLarge",
    "CampaignInfo",
    "ClientStats",
    "ConnectFailed",
    "CreateResult",
    "Limiter",
    "MarketoAuth",
    "MarketoClient",
    "NotFound",
    "OutcomeUnknown",
    "PreflightResult",
    "ProgramToken",
    "Qualification",
    "QuotaExceeded",
    "RequestFailed",
    "RetryPolicy",
    "Retryable",
    "SmartCampaign",
    "Stats",
    "Throttled",
    "TokenRejected",
    "Transient",
    "TriggerResult",
    "bare_token_name",
    "error_for",
    "instance_root",
]
