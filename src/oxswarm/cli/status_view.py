"""``oxswarm status`` for a person: the rows of :func:`oxswarm.deploy.status.cluster_status`
as ``rich`` tables, one per section, the same data as ``--json`` (every cell is a value
of the JSON; nothing is added but headings and a count of catalogue instances).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

# section -> (title, [(column heading, row key)])
SECTIONS: Final[tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...]] = (
    ("nodes", "Nodes", (("node", "node"), ("status", "status"),
                        ("availability", "availability"), ("manager", "manager"))),
    ("services", "Services", (("node", "node"), ("service", "service"), ("state", "state"),
                              ("since", "since"))),
    ("store", "Config store (etcd members)", (("node", "node"), ("state", "state"),
                                              ("raft index", "raft_index"),
                                              ("leader", "leader"))),
    ("directory", "Directory replication", (("node", "node"), ("replication", "replication"))),
    ("catalogue", "Catalogue", (("service", "service"), ("node", "node"),
                                ("endpoint", "endpoint"))),
    ("memory", "Memory", (("node", "node"), ("memory", "memory"))),
)
GOOD: Final = frozenset({"Ready", "Active", "Running", "up", "Leader", "Reachable"})
BAD: Final = frozenset({"Down", "Failed", "Rejected", "unreachable", "Unreachable",
                        "Shutdown", "Disconnected"})


def cell(value: Any) -> Text:
    """One value as a cell: yes/no for flags, "-" for none, colour for a health word."""
    if isinstance(value, bool):
        return Text("yes" if value else "no", style="bold" if value else "")
    if value is None or value == "":
        return Text("-", style="dim")
    text = str(value)
    first = text.split(" ", 1)[0]
    style = "green" if first in GOOD or text.startswith("in sync") else (
        "red" if first in BAD or text.startswith("behind") else "")
    return Text(text, style=style)


def table(title: str, columns: Sequence[tuple[str, str]], rows: Sequence[Mapping[str, Any]],
          caption: str | None = None) -> Table:
    out = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
    for heading, _key in columns:
        out.add_column(heading)
    for row in rows:
        out.add_row(*(cell(row.get(key)) for _heading, key in columns))
    return out


def cluster_line(cluster: Mapping[str, Any]) -> Text:
    parts = [f"{key}: {cluster[key]}" for key in ("name", "hostname", "image", "state")
             if key in cluster]
    return Text("cluster  " + "   ".join(parts), style="bold")


def status_renderables(status: Mapping[str, Any]) -> list[RenderableType]:
    """The cluster line, one table per section present, then what could not be read."""
    out: list[RenderableType] = [cluster_line(status.get("cluster", {}))]
    for section, title, columns in SECTIONS:
        rows = status.get(section)
        if rows is None:
            continue
        caption = None
        if section == "catalogue":
            services = len({r.get("service") for r in rows})
            caption = f"{len(rows)} instances of {services} services"
        out.append(table(title, columns, rows, caption))
    for section, message in (status.get("errors") or {}).items():
        out.append(Text(f"{section}: cannot read: {message}", style="red"))
    return out


def print_status(status: Mapping[str, Any], console: Console) -> None:
    console.print(Group(*status_renderables(status)))
