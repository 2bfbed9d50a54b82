"""The service catalogue: which instance of which service runs where, and is healthy.

Consul's catalogue and Registrator's role in Gluu's multi-host design, on the etcd config
store: :class:`Registrator` writes leased records of the healthy instances of its node;
:class:`Catalogue` reads and watches them.
"""

from oxswarm.catalogue.health import HealthChecker, Probe, ProbeChecker
from oxswarm.catalogue.reader import Catalogue, Snapshot
from oxswarm.catalogue.records import Instance, health_url, instance_key
from oxswarm.catalogue.registrator import Registrator
from oxswarm.catalogue.source import EventSource, SourceEvent, StaticSource

__all__ = [
    "Catalogue",
    "EventSource",
    "HealthChecker",
    "Instance",
    "Probe",
    "ProbeChecker",
    "Registrator",
    "Snapshot",
    "SourceEvent",
    "StaticSource",
    "health_url",
    "instance_key",
]
