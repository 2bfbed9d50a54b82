"""csync2.cfg rendering and the certificate file rule (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from oxswarm.crypto.pki import create_ca, issue_server_cert, self_signed_cert
from oxswarm.errors import InvalidInput
from oxswarm.sync.csync2 import (
    Csync2Group,
    Csync2Host,
    cert_file_text,
    hosts_for,
    render_csync2_cfg,
)


def test_hosts_sharing_a_filesystem_get_a_prefix_each() -> None:
    group = Csync2Group(
        hosts=(Csync2Host("n1", Path("/lab/n1/shared")), Csync2Host("n2", Path("/lab/n2/shared"))),
        key_file=Path("/lab/csync2.key"),
    )
    text = render_csync2_cfg(group)
    assert "host n1 n2;" in text
    assert "key /lab/csync2.key;" in text
    assert "include %shared%;" in text
    assert "auto younger;" in text
    assert "on n1: /lab/n1/shared;" in text and "on n2: /lab/n2/shared;" in text
    assert "#" not in text.split("\n", 1)[1], "a '#' starts a comment in csync2.cfg"


def test_one_folder_everywhere_is_one_prefix_line() -> None:
    group = Csync2Group(hosts_for(["manager", "worker-1"], Path("/opt/shared")), Path("/etc/k"))
    assert "on *: /opt/shared;" in render_csync2_cfg(group)


@pytest.mark.parametrize(
    ("hosts", "field"),
    [((), "hosts"), ((Csync2Host("a", Path("/x")), Csync2Host("a", Path("/y"))), "hosts")],
)
def test_bad_groups_are_refused(hosts: tuple[Csync2Host, ...], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        Csync2Group(hosts, Path("/k"))
    assert err.value.field == field


def test_a_path_that_could_break_the_config_is_refused() -> None:
    with pytest.raises(InvalidInput) as err:
        Csync2Host("n1", Path("/a;b"))
    assert err.value.field == "folder"


def test_a_ca_issued_certificate_needs_its_ca_in_the_file() -> None:
    ca = create_ca("T")
    leaf = issue_server_cert(ca.cert_pem, ca.key_pem, ["csync2"], key_type="rsa")
    with pytest.raises(InvalidInput) as err:
        cert_file_text(leaf.cert_pem, None)
    assert err.value.field == "csync2_cert"
    assert cert_file_text(leaf.cert_pem, ca.cert_pem).endswith(ca.cert_pem)
    other = create_ca("Other")
    with pytest.raises(InvalidInput):
        cert_file_text(leaf.cert_pem, other.cert_pem)
    own = self_signed_cert("csync2")
    assert cert_file_text(own.cert_pem, None) == own.cert_pem
