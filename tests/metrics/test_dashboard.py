"""docs/grafana-oxswarm.json reads the metrics the services expose: every metric name,
every label it groups or filters by, and a panel for each thing operations asked for."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from prometheus_client.metrics import MetricWrapperBase

from oxswarm import metrics

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana-oxswarm.json"
TARGET_LABELS = {"job", "instance", "le"}  # Prometheus's own, and a histogram's bucket


def exposed() -> dict[str, set[str]]:
    """Every sample name our metrics expose -> their label names."""
    out: dict[str, set[str]] = {}
    for item in vars(metrics).values():
        if not isinstance(item, MetricWrapperBase):
            continue
        name, labels = item._name, set(item._labelnames)
        suffixes = {"counter": ("_total",), "gauge": ("",),
                    "histogram": ("_bucket", "_count", "_sum")}[item._type]
        for suffix in suffixes:
            out[name + suffix] = labels
    return out


def panels() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(DASHBOARD.read_text())["panels"]
    return found


def test_every_query_reads_exposed_metrics_and_labels() -> None:
    known = exposed()
    queries = [t["expr"] for p in panels() for t in p.get("targets", [])]
    assert len(queries) >= 15
    for expr in queries:
        names = set(re.findall(r"\boxswarm_[a-z_]+", expr))
        assert names and names <= known.keys(), (expr, names - known.keys())
        labels = set().union(*(known[n] for n in names)) | TARGET_LABELS
        grouped = {label.strip() for group in re.findall(r"by \(([^)]*)\)", expr)
                   for label in group.split(",")}
        matched = set(re.findall(r"([a-z_]+)\s*(?:=~|!=|!~|=)\s*\"", expr))
        assert grouped | matched <= labels, (expr, (grouped | matched) - labels)


def test_panels_cover_what_operations_need() -> None:
    titles = " | ".join(p["title"] for p in panels()).lower()
    for wanted in ("request rate by status", "p50 / p95", "sign-ins by result",
                   "tokens by grant type", "backend errors", "backend latency",
                   "catalogue size"):
        assert wanted in titles, wanted
    ids = [p["id"] for p in panels()]
    assert len(ids) == len(set(ids))
    for p in panels():
        assert {"h", "w", "x", "y"} <= p["gridPos"].keys()
        for target in p.get("targets", []):
            assert target["datasource"]["uid"] == "${datasource}"
