"""mktsync: trigger Marketo Engage smart campaigns from data, declared in git."""

from __future__ import annotations

__version__ = "0.1.0"
