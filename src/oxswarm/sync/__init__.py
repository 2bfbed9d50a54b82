"""Keeping the shared folder (SAML IdP files) identical on every node: csync2, run
within seconds of a change."""

from oxswarm.sync.csync2 import Csync2Group, Csync2Host, Csync2Node, hosts_for, render_csync2_cfg
from oxswarm.sync.loop import SyncLoop

__all__ = ["Csync2Group", "Csync2Host", "Csync2Node", "SyncLoop", "hosts_for", "render_csync2_cfg"]
