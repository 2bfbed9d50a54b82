"""slapd.conf rendering: structure of the output, input validation, slaptest accepts it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from oxswarm.directory.passwords import ARGON2, SSHA512, hash_password
from oxswarm.directory.slapdconf import SlapdSpec, TLSFiles, bundled_schema, render_slapd_conf
from oxswarm.errors import InvalidInput

ROOT_HASH = "{SSHA512}" + "A" * 88
PEERS = ("ldaps://ldap2.example:1636/", "ldaps://ldap3.example:1636/")


def spec(tmp_path: Path, **overrides: object) -> SlapdSpec:
    values: dict[str, object] = {
        "server_id": 1,
        "peers": PEERS,
        "data_dir": tmp_path / "db",
        "run_dir": tmp_path,
        "root_password": "s3cret-Pw",
        "root_password_hash": ROOT_HASH,
        "tls": TLSFiles(tmp_path / "ldap.crt", tmp_path / "ldap.key", tmp_path / "ca.crt"),
    }
    values.update(overrides)
    return SlapdSpec(**values)  # type: ignore[arg-type]


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_replication_directives_in_order(tmp_path: Path) -> None:
    text = lines(render_slapd_conf(spec(tmp_path, server_id=3)))
    assert "serverID 3" in text
    syncrepl = [i for i, line in enumerate(text) if line.startswith("syncrepl ")]
    assert [text[i] for i in syncrepl] == [
        f"syncrepl rid=001 provider={PEERS[0]}",
        f"syncrepl rid=002 provider={PEERS[1]}",
    ]
    multiprovider = text.index("multiprovider on")
    overlay = text.index("overlay syncprov")
    database = text.index("database mdb")
    assert database < syncrepl[0] < syncrepl[1] < multiprovider < overlay
    body = "\n".join(text)
    assert body.count("type=refreshAndPersist") == 2
    assert body.count('retry="1 +"') == 2
    assert body.count("tls_reqcert=demand") == 2


def test_database_tls_and_hashing(tmp_path: Path) -> None:
    text = lines(render_slapd_conf(spec(tmp_path)))
    assert 'suffix "o=gluu"' in text
    assert 'rootdn "cn=directory manager,o=gluu"' in text
    assert f"rootpw {ROOT_HASH}" in text
    assert f"directory {tmp_path / 'db'}" in text
    assert f"TLSCertificateFile {tmp_path / 'ldap.crt'}" in text
    assert f"TLSCertificateKeyFile {tmp_path / 'ldap.key'}" in text
    assert f"TLSCACertificateFile {tmp_path / 'ca.crt'}" in text
    assert "password-hash {ARGON2}" in text
    assert any(line.startswith("moduleload argon2 m=") for line in text)
    assert "index objectClass eq" in text
    assert "index entryCSN,entryUUID eq" in text
    assert f"include {bundled_schema()}" in text
    # the clear root password is only in the syncrepl credentials, never in rootpw
    assert not any(line.startswith("rootpw s3cret") for line in text)


def test_sha2_fallback_and_single_node(tmp_path: Path) -> None:
    text = lines(render_slapd_conf(spec(tmp_path, peers=(), password_hash=SSHA512, tls=None)))
    assert "moduleload pw-sha2" in text
    assert "password-hash {SSHA512}" in text
    assert "multiprovider on" not in text
    assert not any(line.startswith(("syncrepl", "TLS")) for line in text)
    assert "overlay syncprov" in text


def test_acls_protect_passwords_and_refuse_anonymous(tmp_path: Path) -> None:
    text = lines(render_slapd_conf(spec(tmp_path)))
    first = text.index("access to attrs=userPassword")
    rules = text[first + 1 : first + 5]
    assert rules == [
        "  by self =wx",
        '  by group/oxGroup/member.exact="inum=managers,ou=groups,o=gluu" =wx',
        "  by anonymous auth",
        "  by * none",
    ]
    assert not any("read" in line for line in rules)
    # every "access to" block ends with "by * none": nothing is open to anonymous
    blocks = [i for i, line in enumerate(text) if line.startswith("access to")]
    for start, end in zip(blocks, [*blocks[1:], text.index("database mdb")], strict=True):
        assert text[end - 1] == "  by * none", text[start]
    assert "disallow bind_anon" in text


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("server_id", 0),
        ("server_id", 4096),
        ("peers", ("http://x/",)),
        ("peers", ("ldap://a/", "ldap://a/")),
        ("root_password", 'bad"quote'),
        ("root_password", ""),
        ("root_password_hash", "clear"),
        ("password_hash", "{MD5}"),
        ("suffix", "o=gl\nuu"),
    ],
)
def test_bad_input_names_the_field(tmp_path: Path, field: str, value: object) -> None:
    with pytest.raises(InvalidInput) as err:
        spec(tmp_path, **{field: value})
    assert err.value.field == field


def test_slaptest_accepts_rendered_config(tmp_path: Path) -> None:
    for scheme in (ARGON2, SSHA512):
        conf = tmp_path / f"slapd-{scheme[1:-1]}.conf"
        (tmp_path / "db").mkdir(exist_ok=True)
        rendered = render_slapd_conf(
            spec(
                tmp_path,
                tls=None,
                password_hash=scheme,
                root_password_hash=hash_password("s3cret-Pw", scheme),
            )
        )
        conf.write_text(rendered)
        result = subprocess.run(
            ["slaptest", "-u", "-f", str(conf)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stderr


def test_binds_need_tls_and_wrong_passwords_lock(tmp_path: Path) -> None:
    text = lines(render_slapd_conf(spec(tmp_path)))
    assert "security simple_bind=128" in text
    assert "moduleload ppolicy" in text
    assert 'ppolicy_default "cn=default,ou=policies,o=gluu"' in text
    assert text.index("overlay ppolicy") > text.index("database mdb")
    for ou in ("clients", "tokens", "authorizations"):
        at = text.index(f'access to dn.subtree="ou={ou},o=gluu"')
        assert text[at + 1] == "  by * none"
        assert at < text.index("access to *")
