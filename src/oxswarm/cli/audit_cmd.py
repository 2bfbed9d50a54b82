"""``oxswarm audit list``: the audit log (docs/oxtrust-api.md#audit-log), newest first;
and :func:`record_cli`, with which ``oxswarm clients|users`` record their changes
(actor ``cli:<OS user>``, no address)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import click

from oxswarm.cli.directory_options import DirectoryAccess, ldap_url_option, open_directory
from oxswarm.cli.options import store_options
from oxswarm.errors import OxSwarmError
from oxswarm.oxtrust import audit
from oxswarm.settings import Settings

log = logging.getLogger(__name__)
MAX_LIMIT = 1000


def record_cli(
    access: DirectoryAccess, action: str, target: str, detail: Mapping[str, Any] | None = None
) -> None:
    """Record a change the command made; a failure is reported, the change stays."""
    try:
        audit.record(access.directory, audit.cli_actor(), action, target,
                     detail=detail, tree=access.tree)  # fmt: skip
    except OxSwarmError as exc:
        click.echo(f"warning: the change was made but not recorded in the audit log: {exc}",
                   err=True)  # fmt: skip


@click.group("audit")
def audit_group() -> None:
    """The audit log: who changed what, when and from where (UI, API and CLI)."""


@audit_group.command("list")
@click.option("--limit", type=click.IntRange(1, MAX_LIMIT), default=20, show_default=True,
              help="How many events, newest first.")
@click.option("--start", type=click.IntRange(0), default=0, show_default=True,
              help="Skip this many of the newest events.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@store_options
@ldap_url_option
def list_audit(
    settings: Settings, ldap_urls: tuple[str, ...], limit: int, start: int, as_json: bool
) -> None:
    """Recorded changes, newest first (a table; --json for the full details)."""
    with open_directory(settings, ldap_urls) as access:
        found = audit.page(access.directory, start, limit, tree=access.tree)
    if as_json:
        click.echo(json.dumps({"total": found.total, "start": start, "limit": limit,
                               "items": [e.to_json() for e in found.events]}))  # fmt: skip
        return
    rows = [("TIME (UTC)", "ACTOR", "ACTION", "TARGET", "ADDRESS")]
    rows += [(e.time.strftime("%Y-%m-%d %H:%M:%S"), e.actor, e.action, e.target or "-",
              e.address or "-") for e in found.events]  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    click.echo(f"{len(found.events)} of {found.total} (from {start})")
