"""What points every command at a cluster from the operator's machine (``oxswarm env``).

After docker-machine's ``eval "$(docker-machine env NAME)"``: the variables the CLI reads
(:mod:`oxswarm.settings`, :mod:`oxswarm.cli.directory_options`) with the values of a
cluster ``up`` made, read from its state folder: the store's endpoints as the operator
reaches them, the cluster, the master key file, the store's TLS files when ``up`` wrote
them, and the directory's published addresses (the store's ``ldap_peers`` are overlay
names, resolvable inside the swarm only). ``up --json`` carries the same as ``env``.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path

from oxswarm.deploy.render.stack import operator_ldap_urls
from oxswarm.deploy.spec import ClusterSpec
from oxswarm.settings import (
    ENV_CLUSTER,
    ENV_LDAP_URLS,
    ENV_MASTER_KEY_FILE,
    ENV_STORE,
    ENV_STORE_CA_FILE,
    ENV_STORE_CERT_FILE,
    ENV_STORE_KEY_FILE,
)

# The store's TLS (client certificates): files ``up`` writes into the state folder.
STORE_TLS_FILES = {ENV_STORE_CA_FILE: "ca.crt", ENV_STORE_CERT_FILE: "operator.crt",
                   ENV_STORE_KEY_FILE: "operator.key"}


def operator_env(spec: ClusterSpec, state_dir: Path) -> dict[str, str]:
    """``NAME -> value`` for a cluster whose files live in ``state_dir``."""
    env = {
        ENV_STORE: spec.store_url(),
        ENV_CLUSTER: spec.cluster,
        ENV_MASTER_KEY_FILE: str(state_dir / "master.key"),
    }
    for name, file in STORE_TLS_FILES.items():
        if (state_dir / file).is_file():
            env[name] = str(state_dir / file)
    env[ENV_LDAP_URLS] = ",".join(operator_ldap_urls(spec))
    return env


def export_lines(env: Mapping[str, str]) -> str:
    """``export NAME=VALUE`` lines, values shell-quoted, for ``eval``."""
    return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in env.items())
