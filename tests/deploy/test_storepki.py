"""The store's credentials on the operator's machine and in the stack file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography import x509

from oxswarm.config.etcd_auth import user_name
from oxswarm.config.etcd_rbac import SERVICE_ROLES
from oxswarm.crypto.pki import key_matches_cert
from oxswarm.deploy.render.stack import StoreTLS, render_stack, stack_text
from oxswarm.deploy.roll import held_secrets, interim_stack
from oxswarm.deploy.spec import ClusterSpec, lab_spec
from oxswarm.deploy.storepki import StorePki
from oxswarm.deploy.storeupgrade import needs_upgrade
from oxswarm.roles.etcd import etcd_argv


def test_ensure_makes_one_ca_and_every_certificate_once(tmp_path: Path) -> None:
    spec = lab_spec(nodes=3, state_dir=str(tmp_path), cluster="c", image="i")
    pki = StorePki(tmp_path, "c")
    made = pki.ensure(spec)
    assert len(made) == 1 + 3 + len(SERVICE_ROLES) + 1
    assert pki.ensure(spec) == []  # compare, act: nothing to do the second time
    for key in [pki.ca_key_file, tmp_path / "operator.key", *(tmp_path / "store").glob("*.key")]:
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
    ca = x509.load_pem_x509_certificate(pki.ca_file.read_bytes())
    member = x509.load_pem_x509_certificate((tmp_path / "store/etcd-manager.crt").read_bytes())
    assert member.issuer == ca.subject and not member.subject.rfc4514_string()  # no CN
    sans = member.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "etcd-manager" in sans.get_values_for_type(x509.DNSName)
    assert key_matches_cert(pki.ca().cert_pem, pki.ca().key_pem)


def test_rotate_gives_every_client_a_new_user(tmp_path: Path) -> None:
    spec = lab_spec(nodes=1, state_dir=str(tmp_path), cluster="c", image="i")
    pki = StorePki(tmp_path, "c")
    pki.ensure(spec)
    before = pki.users()
    pki.rotate()
    after = pki.users()
    assert len(before) == len(after) == len(SERVICE_ROLES) + 1
    assert not set(before) & set(after)
    assert {u.split(".")[0] for u in before} == {u.split(".")[0] for u in after}


def test_stack_hands_each_service_its_own_credentials(tmp_path: Path) -> None:
    spec = lab_spec(nodes=3, state_dir=str(tmp_path), cluster="c", image="i")
    pki = StorePki(tmp_path, "c")
    pki.ensure(spec)
    tls = pki.stack_tls(spec)
    stack = render_stack(spec, "/k", store_tls=tls)
    for name, svc in stack["services"].items():
        env = svc["environment"]
        assert env["OXSWARM_STORE"].startswith("etcd+https://etcd-manager:2379,"), name
        sources = {s["source"] for s in svc["secrets"]}
        if name.startswith("etcd-"):
            assert tls.ca.name in sources
            node = name.removeprefix("etcd-")
            assert {f.name for f in tls.members[node]} <= sources
            assert env["OXS_ETCD_CERT_FILE"] == "/run/secrets/etcd.crt"
        else:  # redis and twemproxy too: they read the cache password from the store
            role = svc["command"][0]
            cert, key = tls.clients[role]
            assert {cert.name, key.name} <= sources
            assert env["OXSWARM_STORE_KEY_FILE"] == "/run/secrets/store.key"
            assert tls.ca.name in sources
            assert user_name(Path(cert.file).read_bytes()).startswith(f"{role}.")  # type: ignore[union-attr]
        assert all(s["mode"] == 0o400 for s in svc["secrets"])
    text = stack_text(spec, "/k", store_tls=tls)
    assert "PRIVATE KEY" not in text  # files by path only, never their content
    assert set(stack["secrets"]) >= {f.name for f in tls.files()}


def test_a_new_certificate_is_a_new_secret_name(tmp_path: Path) -> None:
    spec = lab_spec(nodes=1, state_dir=str(tmp_path), cluster="c", image="i")
    pki = StorePki(tmp_path, "c")
    pki.ensure(spec)
    before = pki.stack_tls(spec)
    pki.rotate()
    after = pki.stack_tls(spec)
    assert before.clients["oxauth"][0].name != after.clients["oxauth"][0].name
    assert before.members == after.members and before.ca == after.ca


def test_etcd_member_speaks_tls_only_with_files() -> None:
    argv = etcd_argv("etcd-a", ["etcd-a", "etcd-b"], "t",
                     tls=("/run/secrets/store-ca.crt", "/run/secrets/etcd.crt",
                          "/run/secrets/etcd.key"))
    text = " ".join(argv)
    assert "http://" not in text
    assert "--initial-cluster etcd-a=https://etcd-a:2380,etcd-b=https://etcd-b:2380" in text
    for flag in ("--client-cert-auth", "--peer-client-cert-auth"):
        assert flag in argv
    assert argv[argv.index("--key-file") + 1] == "/run/secrets/etcd.key"


def test_etcd_member_upgrade_phases_listen_on_both_schemes() -> None:
    """Phase 1: clients plain and TLS on one port, peers plain 2380 (the open cluster's
    URL) and TLS 2381; phase 2: peers TLS on both; the closed member: TLS only on 2380."""
    tls = ("/run/secrets/store-ca.crt", "/run/secrets/etcd.crt", "/run/secrets/etcd.key")

    def flags(phase: str | None) -> dict[str, str]:
        argv = etcd_argv("etcd-a", ["etcd-a"], "t", tls=tls, upgrade=phase)
        return {f: argv[argv.index(f) + 1] for f in (
            "--listen-client-urls", "--listen-peer-urls", "--initial-advertise-peer-urls")}

    assert flags("1") == {"--listen-client-urls": "http://0.0.0.0:2379,https://0.0.0.0:2379",
                          "--listen-peer-urls": "http://0.0.0.0:2380,https://0.0.0.0:2381",
                          "--initial-advertise-peer-urls": "https://etcd-a:2381"}
    assert flags("2") == {"--listen-client-urls": "http://0.0.0.0:2379,https://0.0.0.0:2379",
                          "--listen-peer-urls": "https://0.0.0.0:2380,https://0.0.0.0:2381",
                          "--initial-advertise-peer-urls": "https://etcd-a:2380"}
    assert flags(None) == {"--listen-client-urls": "https://0.0.0.0:2379",
                           "--listen-peer-urls": "https://0.0.0.0:2380",
                           "--initial-advertise-peer-urls": "https://etcd-a:2380"}
    with pytest.raises(ValueError, match="OXS_ETCD_UPGRADE"):
        etcd_argv("etcd-a", ["etcd-a"], "t", upgrade="1")  # a phase needs the TLS files


def test_up_knows_an_open_stack_and_one_halfway_closed(tmp_path: Path) -> None:
    """What `up` upgrades: a stack deployed before the store was closed, or one whose
    members are still in a phase; a closed stack goes the usual way."""
    spec = lab_spec(nodes=3, state_dir=str(tmp_path), cluster="c", image="i")
    tls = _tls(tmp_path, spec)
    assert needs_upgrade(render_stack(spec, "/k"))  # the open stack
    assert needs_upgrade(render_stack(spec, "/k", store_tls=tls, etcd_upgrade="2"))
    closed = render_stack(spec, "/k", store_tls=tls)
    assert not needs_upgrade(closed)
    phase = render_stack(spec, "/k", store_tls=tls, etcd_upgrade="1")
    assert {n for n, svc in phase["services"].items() if svc != closed["services"][n]} == {
        f"etcd-{n.name}" for n in spec.nodes}


def _tls(folder: Path, spec: ClusterSpec) -> StoreTLS:
    pki = StorePki(folder, spec.cluster)
    pki.ensure(spec)
    return pki.stack_tls(spec)


def test_rotation_holds_pinned_services_on_their_old_secrets(tmp_path: Path) -> None:
    """New credentials: the pinned services (ldap-*, csync2-*, redis-*) keep their old secrets in
    the interim stack and take the new ones one at a time; global services roll by their
    own update_config; etcd members (certificates unchanged) are not touched."""
    spec = lab_spec(nodes=3, state_dir=str(tmp_path), cluster="c", image="i")
    pki = StorePki(tmp_path, "c")
    pki.ensure(spec)
    old = render_stack(spec, "/k", store_tls=pki.stack_tls(spec))
    pki.rotate()
    new = render_stack(spec, "/k", store_tls=pki.stack_tls(spec))
    held = held_secrets(old, new)
    assert sorted(held) == sorted(f"{k}-{n.name}" for k in ("ldap", "csync2", "redis")
                                for n in spec.nodes)
    interim = interim_stack(new, held, "oxs")
    old_cert = old["services"]["ldap-manager"]["secrets"][1]["source"]
    assert interim["services"]["ldap-manager"] == old["services"]["ldap-manager"]
    assert interim["secrets"][old_cert] == {"external": True, "name": f"oxs_{old_cert}"}
    assert interim["services"]["oxauth"] == new["services"]["oxauth"]
    assert held_secrets(new, new) == {}
