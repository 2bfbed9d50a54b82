"""Reading a service's ``/metrics`` in tests (Prometheus text format, parsed by
``prometheus_client``'s own parser)."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample: (name, labels) -> value."""
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def scrape(base_url: str) -> Samples:
    r = httpx.get(base_url + "/metrics", timeout=10.0, trust_env=False)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return parse(r.text)


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sample's value, 0 when absent (a counter not yet incremented)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum over every sample of ``name`` whose labels include ``labels``."""
    want = set(labels.items())
    return sum(v for (n, got), v in samples.items() if n == name and want <= got)


def moved(before: Samples, after: Samples) -> Mapping[tuple[str, frozenset[tuple[str, str]]],
                                                        float]:
    """The samples whose value changed, with the change (new series count from 0)."""
    return {key: v - before.get(key, 0.0) for key, v in after.items()
            if v != before.get(key, 0.0)}
