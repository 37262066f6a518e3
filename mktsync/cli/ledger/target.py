"""The `mktsync ledger` options that name a campaign (``--campaign``, ``--campaign-id``).

Which ledger a command opens is the library's (``mktsync.ledger.tools.target``).
"""

from __future__ import annotations

import argparse

from mktsync.errors import MktsyncError


def add_campaign_choice(p: argparse.ArgumentParser, *, verb: str = "only") -> None:
    """``--campaign NAME`` (an entry of the config) or ``--campaign-id N``, as on plan and apply."""
    p.add_argument("--campaign", metavar="NAME", help=f"{verb} this campaign entry of the config")
    p.add_argument("--campaign-id", type=int, metavar="N", help=f"{verb} this Marketo campaign id")


def campaign_id_of(args: argparse.Namespace) -> int | None:
    """The campaign id ``--campaign NAME`` or ``--campaign-id N`` names (None: neither given)."""
    name, campaign_id = getattr(args, "campaign", None), getattr(args, "campaign_id", None)
    if name is None:
        return campaign_id
    from mktsync.cli.options import environment_of, find_config
    from mktsync.config import load_config
    from mktsync.config.schema import did_you_mean

    config = load_config(find_config(args.config, args), environment=environment_of(args))
    campaign = config.campaigns.get(name)
    if campaign is None:
        hint = did_you_mean(name, list(config.campaigns))
        raise MktsyncError(f"no campaign named '{name}' in the config{hint}")
    if campaign_id is not None and campaign_id != campaign.campaign_id:
        raise MktsyncError(
            f"--campaign {name} sends to campaign {campaign.campaign_id}, "
            f"but --campaign-id says {campaign_id}"
        )
    return campaign.campaign_id
