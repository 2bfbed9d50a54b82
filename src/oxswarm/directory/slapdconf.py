"""Render ``slapd.conf`` for node *i* of an N-way multi-provider OpenLDAP 2.5 cluster.

Pure: a :class:`SlapdSpec` in, the configuration text out (slapd.conf(5) format; the
static file is simpler to render, diff and check with ``slaptest`` than cn=config LDIF).

Replication follows the OpenLDAP 2.5 Administrator's Guide, section 18.3.3 "N-Way
Multi-Provider": a distinct ``serverID`` per node, one ``syncrepl`` stanza per peer
(``refreshAndPersist``, ``retry="1 +"``), ``multiprovider on`` after the ``syncrepl``
lines, and the ``syncprov`` overlay (slapo-syncprov(5)); peers are ``ldaps://`` URLs
checked against the cluster CA (``tls_reqcert=demand``).

Transport: ``security simple_bind=128`` (slapd.conf(5)): a simple bind (a person's
password, the root DN's, replication's) needs a TLS session (ldaps, or StartTLS); over
plain LDAP it gets ``confidentialityRequired`` (13) before the password is looked at.

Lockout: the ``ppolicy`` overlay (slapo-ppolicy(5)) with the default policy
``cn=default,ou=policies,<suffix>`` (:data:`DEFAULT_POLICY`, loaded by ``ldap init``):
``pwdMaxFailure`` wrong binds lock a person for ``pwdLockoutDuration`` seconds.

Access control follows slapd.access(5): the password is never readable (only usable to
bind), anonymous clients may only bind, people see only their own entry, and clients,
grants (``ou=tokens``), consents (``ou=authorizations``), sessions and the other
server-side subtrees (:data:`PRIVATE_OUS`) are for the root DN (oxAuth, the CLI) only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from oxswarm.directory.passwords import ARGON2, DEFAULT_ARGON2, SCHEMES, SSHA512, Argon2Params
from oxswarm.errors import InvalidInput

DEFAULT_SUFFIX: Final = "o=gluu"
DEFAULT_ROOT_DN: Final = "cn=directory manager,o=gluu"
SCHEMA_DIR: Final = Path("/etc/ldap/schema")
MODULE_PATH: Final = Path("/usr/lib/ldap")


def best_password_scheme(module_path: Path = MODULE_PATH) -> str:
    """``{ARGON2}`` when slapd's argon2 module is installed, else ``{SSHA512}`` (pw-sha2)."""
    return ARGON2 if (module_path / "argon2.so").exists() else SSHA512
STANDARD_SCHEMAS: Final = ("core", "cosine", "inetorgperson", "nis")
ADMIN_GROUP_INUM: Final = "managers"
POLICIES_OU: Final = "policies"
# Subtrees no bind but the root DN (oxAuth, the CLI; it bypasses the ACLs) may read.
PRIVATE_OUS: Final = (
    "clients", "tokens", "authorizations", "sessions", "configuration", "scripts",
    "trustRelationships", "sector_identifiers", POLICIES_OU,
)
# The default password policy (slapo-ppolicy(5), draft-behera-ldap-password-policy).
DEFAULT_POLICY: Final = {
    "pwdAttribute": "userPassword",
    "pwdMaxFailure": "5",
    "pwdLockout": "TRUE",
    "pwdLockoutDuration": "900",
    "pwdFailureCountInterval": "900",
}

# Values end up between double quotes or as bare words in slapd.conf: refuse anything
# that could break out of them (quotes, backslashes, control characters, whitespace).
_SAFE_VALUE = re.compile(r'^[^"\\\x00-\x1f\x7f]+$')
_SAFE_WORD = re.compile(r"^[^\s\"\\\x00-\x1f\x7f]+$")

INDEXES: Final = (
    ("objectClass", "eq"),
    ("entryCSN,entryUUID", "eq"),
    ("inum", "eq"),
    ("uid,mail", "eq,sub"),
    ("cn,sn,givenName,displayName", "eq,sub"),
    ("member,owner", "eq"),
    ("oxId,oxClientId,oxUserInum,oxGrantId,oxTokenHash,oxEntityId", "eq"),
    ("oxStatus,oxTokenType,oxScriptType", "eq"),
    ("oxExpiration", "eq"),
    ("oxExternalId,telephoneNumber", "eq"),  # SCIM filters (docs/scim.md)
    ("oxExternalUid", "eq"),  # oxPassport links (docs/passport.md)
    ("oxScimEmail,oxScimPhone", "sub"),
)


def bundled_schema() -> Path:
    """Path of OxSwarm's own schema file shipped inside the package."""
    return Path(str(resources.files("oxswarm.directory") / "schema" / "oxswarm.schema"))


@dataclass(frozen=True)
class TLSFiles:
    """PEM files for TLS: config-init's ``ldap_ssl_cert``, ``ldap_ssl_key``, ``ca_cert``."""

    cert_file: Path
    key_file: Path
    ca_file: Path


@dataclass(frozen=True)
class SlapdSpec:
    """Everything that differs between nodes and deployments.

    ``server_id`` is this node's index (1..4095, slapd.conf(5) ``serverID``);
    ``peers`` are the URLs of the *other* providers (``ldap://`` or ``ldaps://``).
    ``root_password`` is needed in clear for the ``syncrepl`` binds to peers;
    ``root_password_hash`` is what goes into ``rootpw`` (see
    :func:`oxswarm.directory.passwords.hash_password`).
    """

    server_id: int
    peers: tuple[str, ...]
    data_dir: Path
    run_dir: Path
    root_password: str
    root_password_hash: str
    suffix: str = DEFAULT_SUFFIX
    root_dn: str = DEFAULT_ROOT_DN
    tls: TLSFiles | None = None
    password_hash: str = ARGON2
    argon2: Argon2Params = DEFAULT_ARGON2
    schema_dir: Path = SCHEMA_DIR
    module_path: Path = MODULE_PATH
    extra_schemas: tuple[Path, ...] = field(default_factory=tuple)
    max_size: int = 1 << 30
    log_level: str = "none"

    def __post_init__(self) -> None:
        if not 1 <= self.server_id <= 4095:
            raise InvalidInput(f"server_id: {self.server_id} is outside 1..4095", field="server_id")
        for url in self.peers:
            parts = urlsplit(url)
            if parts.scheme not in ("ldap", "ldaps") or not parts.hostname:
                raise InvalidInput(
                    f"peers: {url!r} is not an ldap:// or ldaps:// URL", field="peers"
                )
            _check(url, "peers", word=True)
        if len(set(self.peers)) != len(self.peers):
            raise InvalidInput("peers: the same URL is listed twice", field="peers")
        if len(self.peers) > 998:
            raise InvalidInput("peers: at most 998 peers", field="peers")
        if not self.root_password:
            raise InvalidInput("root_password: must not be empty", field="root_password")
        _check(self.root_password, "root_password", word=False)
        if not self.root_password_hash.startswith(SCHEMES):
            raise InvalidInput(
                f"root_password_hash: must start with one of {SCHEMES}",
                field="root_password_hash",
            )
        _check(self.root_password_hash, "root_password_hash", word=True)
        if self.password_hash not in SCHEMES:
            raise InvalidInput(
                f"password_hash: {self.password_hash!r} is not one of {SCHEMES}",
                field="password_hash",
            )
        for name in ("suffix", "root_dn"):
            _check(getattr(self, name), name, word=False)
        if not self.root_dn.lower().endswith(self.suffix.lower()):
            raise InvalidInput(
                f"root_dn: {self.root_dn!r} is not under the suffix {self.suffix!r}",
                field="root_dn",
            )
        paths = [self.data_dir, self.run_dir, self.schema_dir, self.module_path]
        paths += list(self.extra_schemas)
        if self.tls:
            paths += [self.tls.cert_file, self.tls.key_file, self.tls.ca_file]
        for path in paths:
            _check(str(path), "path", word=False)
        _check(self.log_level, "log_level", word=False)

    @property
    def admin_group_dn(self) -> str:
        return f"inum={ADMIN_GROUP_INUM},ou=groups,{self.suffix}"

    @property
    def policy_dn(self) -> str:
        return policy_dn(self.suffix)


def policy_dn(suffix: str) -> str:
    """The default password policy's DN (``ppolicy_default``)."""
    return f"cn=default,ou={POLICIES_OU},{suffix}"


def _check(value: str, name: str, *, word: bool) -> None:
    pattern = _SAFE_WORD if word else _SAFE_VALUE
    if not pattern.match(value):
        raise InvalidInput(
            f"{name}: contains a quote, backslash, control character"
            + (" or space" if word else ""),
            field=name,
        )


def _modules(spec: SlapdSpec) -> list[str]:
    lines = [f"modulepath {spec.module_path}", "moduleload back_mdb", "moduleload syncprov",
             "moduleload ppolicy"]
    if spec.password_hash == ARGON2:
        lines.append(f"moduleload argon2 {spec.argon2.module_args()}")
    else:
        lines.append("moduleload pw-sha2")
    return lines


def _syncrepl(spec: SlapdSpec, rid: int, url: str) -> list[str]:
    lines = [
        f"syncrepl rid={rid:03d} provider={url}",
        f'  bindmethod=simple binddn="{spec.root_dn}" credentials="{spec.root_password}"',
        f'  searchbase="{spec.suffix}" type=refreshAndPersist',
        '  retry="1 +" timeout=3 network-timeout=3 keepalive=60:3:5',
    ]
    if url.startswith("ldaps://") and spec.tls:
        lines.append(f"  tls_cacert={spec.tls.ca_file} tls_reqcert=demand")
    return lines


def _acls(spec: SlapdSpec) -> list[str]:
    admins = f'group/oxGroup/member.exact="{spec.admin_group_dn}"'
    people = f"ou=people,{spec.suffix}"
    return [
        "# the password is only ever used to bind; its owner and admins may replace it",
        "access to attrs=userPassword",
        "  by self =wx",
        f"  by {admins} =wx",
        "  by anonymous auth",
        "  by * none",
        "# encrypted client secrets and token hashes: the root DN only",
        "access to attrs=oxClientSecret,oxRegistrationAccessTokenHash,oxTokenHash",
        "  by * none",
        'access to dn.base=""',
        "  by users read",
        "  by * none",
        'access to dn.base="cn=Subschema"',
        "  by users read",
        "  by * none",
        "# clients, grants, consents, sessions...: the root DN only (oxAuth, the CLI)",
        *[line for ou in PRIVATE_OUS
          for line in (f'access to dn.subtree="ou={ou},{spec.suffix}"', "  by * none")],
        f'access to dn.subtree="{people}"',
        f"  by {admins} write",
        "  by self read",
        "  by * none",
        "access to *",
        f"  by {admins} write",
        "  by users read",
        "  by * none",
    ]


def render_slapd_conf(spec: SlapdSpec) -> str:
    """The complete slapd.conf of node ``spec.server_id``."""
    schemas = [spec.schema_dir / f"{name}.schema" for name in STANDARD_SCHEMAS]
    schemas += [bundled_schema(), *spec.extra_schemas]
    out: list[str] = [f"# slapd.conf rendered by OxSwarm for serverID {spec.server_id}"]
    out += [f"include {path}" for path in schemas]
    out += [
        f"pidfile {spec.run_dir / 'slapd.pid'}",
        f"argsfile {spec.run_dir / 'slapd.args'}",
        *_modules(spec),
        f"serverID {spec.server_id}",
        f"loglevel {spec.log_level}",
        f"password-hash {spec.password_hash}",
        "disallow bind_anon",
        "require LDAPv3",
        "security simple_bind=128",
        "sizelimit 500",
    ]
    if spec.tls:
        out += [
            f"TLSCACertificateFile {spec.tls.ca_file}",
            f"TLSCertificateFile {spec.tls.cert_file}",
            f"TLSCertificateKeyFile {spec.tls.key_file}",
            "TLSProtocolMin 3.3",
            "TLSVerifyClient never",
        ]
    out += ["", *_acls(spec), ""]
    out += [
        "database mdb",
        f'suffix "{spec.suffix}"',
        f'rootdn "{spec.root_dn}"',
        f"rootpw {spec.root_password_hash}",
        f"directory {spec.data_dir}",
        f"maxsize {spec.max_size}",
        f'limits dn.exact="{spec.root_dn}" size=unlimited time=unlimited',
    ]
    out += [f"index {attrs} {kinds}" for attrs, kinds in INDEXES]
    for rid, url in enumerate(spec.peers, start=1):
        out += _syncrepl(spec, rid, url)
    if spec.peers:
        out.append("multiprovider on")
    out += [
        "overlay syncprov",
        "syncprov-checkpoint 100 5",
        "syncprov-sessionlog 1000",
        "overlay ppolicy",
        f'ppolicy_default "{spec.policy_dn}"',
        "ppolicy_hash_cleartext",
        "",
    ]
    return "\n".join(out)
