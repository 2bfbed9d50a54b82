"""The initial tree of a new directory: ``oxswarm ldap init``.

Loads, under the suffix: the organisational units (people, groups, clients, scopes,
...), the default password policy (lockout after 5 wrong binds, slapo-ppolicy(5)), one
configuration entry per component, the admin person and the managers group, the
standard OpenID scopes (OIDC Core 5.4), the SCIM and oxTrust API scopes (not default)
and oxAuth's own clients. Every step first
looks for its entry and leaves an existing one alone, so a second run changes nothing.
The admin's password is stored as an Argon2id hash (``Directory.set_password``); clear
text is never stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from oxswarm.directory.clients import ClientRepository, SecretCipher
from oxswarm.directory.connection import Directory
from oxswarm.directory.models import Client, Group, Person
from oxswarm.directory.people import GroupRepository, PeopleRepository
from oxswarm.directory.scopes import (
    OXTRUST_API_SCOPES,
    SCIM_SCOPES,
    STANDARD_SCOPES,
    ScopeRepository,
)
from oxswarm.directory.slapdconf import ADMIN_GROUP_INUM, DEFAULT_POLICY, policy_dn
from oxswarm.directory.tree import CONFIGURATION_OUS, OUS, Tree, base_entry
from oxswarm.errors import Conflict, InvalidInput


@dataclass(frozen=True)
class OwnClient:
    """One of oxAuth's own clients (``config.keys.OWN_CLIENTS``) with its id and secret."""

    name: str
    client_id: str
    client_secret: str = field(repr=False)


@dataclass(frozen=True)
class InitialData:
    """Plain values the initial load needs (read from the config store by the CLI)."""

    admin_inum: str
    admin_password: str = field(repr=False)
    admin_email: str | None = None
    hostname: str | None = None
    own_clients: tuple[OwnClient, ...] = ()
    suffix: str = "o=gluu"

    def __post_init__(self) -> None:
        if not self.admin_inum:
            raise InvalidInput("admin_inum: must not be empty", field="admin_inum")
        if not self.admin_password:
            raise InvalidInput("admin_pw: must not be empty", field="admin_pw")


@dataclass
class InitResult:
    """DNs added by this run and DNs that were already present."""

    added: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added)


def _ensure(directory: Directory, result: InitResult, dn: str, attrs: dict[str, list[str]]) -> None:
    if directory.exists(dn):
        result.present.append(dn)
        return
    try:
        directory.add(dn, attrs)
    except Conflict:  # another node or run added it meanwhile
        result.present.append(dn)
        return
    result.added.append(dn)


def admin_person(data: InitialData) -> Person:
    return Person(
        inum=data.admin_inum,
        uid="admin",
        given_name="Admin",
        family_name="User",
        display_name="Default Admin User",
        email=data.admin_email,
        email_verified=bool(data.admin_email),
    )


# how the admin UI signs in (code flow + PKCE), on top of its redirect URIs
OXTRUST_SIGN_IN: Final[dict[str, list[str]]] = {
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
    "scopes": ["openid", "profile", "email"],
}


def own_client(spec: OwnClient, hostname: str | None) -> Client:
    """oxTrust and the SAML IdP sign in with the code flow (and PKCE), trusted (no consent
    page); the other own clients are machine clients."""
    if spec.name == "oxTrust" and hostname:
        return Client(
            client_id=spec.client_id,
            client_secret=spec.client_secret,
            name=spec.name,
            trusted=True,
            redirect_uris=[oxtrust_uris(f"https://{hostname}")[0]],
            post_logout_redirect_uris=[oxtrust_uris(f"https://{hostname}")[1]],
            grant_types=list(OXTRUST_SIGN_IN["grant_types"]),
            response_types=list(OXTRUST_SIGN_IN["response_types"]),
            scopes=list(OXTRUST_SIGN_IN["scopes"]),
        )
    if spec.name == "SAML IdP" and hostname:  # the IdP signs people in through oxAuth
        return Client(
            client_id=spec.client_id,
            client_secret=spec.client_secret,
            name=spec.name,
            trusted=True,
            redirect_uris=[idp_callback(f"https://{hostname}")],
            post_logout_redirect_uris=[idp_signed_out(f"https://{hostname}")],
            frontchannel_logout_uri=idp_frontchannel(f"https://{hostname}"),
            grant_types=["authorization_code"],
            response_types=["code"],
            scopes=["openid"],
        )
    return Client(
        client_id=spec.client_id,
        client_secret=spec.client_secret,
        name=spec.name,
        grant_types=["client_credentials"],
        response_types=[],
        scopes=[],
    )


def oxtrust_uris(base: str) -> tuple[str, str]:
    """The admin UI's redirect and post-logout URIs under ``base`` (``https://<hostname>``)."""
    base = base.rstrip("/")
    return f"{base}/identity/auth/callback", f"{base}/identity/auth/signed-out"


def allow_oxtrust_at(clients: ClientRepository, client_id: str, base: str) -> Client:
    """Let the oxTrust client also sign in at ``base`` (``oxswarm dev up``: its loopback
    address); registered URIs are matched exactly, so each base is listed. Idempotent."""
    client = clients.get(client_id)
    callback, signed_out = oxtrust_uris(base)
    updated = client.model_copy(update={
        "trusted": True,
        "redirect_uris": list(dict.fromkeys([*client.redirect_uris, callback])),
        "post_logout_redirect_uris": list(
            dict.fromkeys([*client.post_logout_redirect_uris, signed_out])),
    })
    return clients.update(updated) if updated != client else client


def idp_callback(base: str) -> str:
    """The SAML IdP's redirect URI at oxAuth under ``base`` (``https://<hostname>``)."""
    return f"{base.rstrip('/')}/idp/auth/callback"


def idp_signed_out(base: str) -> str:
    """Where oxAuth's end_session sends the browser back to the IdP (single logout)."""
    return f"{base.rstrip('/')}/idp/auth/signed-out"


def idp_frontchannel(base: str) -> str:
    """The IdP's OIDC Front-Channel Logout URI: an OIDC logout at oxAuth reaches the
    session's SAML SPs through it (docs/saml.md, single logout)."""
    return f"{base.rstrip('/')}/idp/profile/Logout/frontchannel"


def allow_idp_at(clients: ClientRepository, client_id: str, base: str) -> Client:
    """Let the SAML IdP's client also sign in at ``base`` (``oxswarm dev up``, tests: a
    loopback address) as a trusted code-flow client, its front-channel logout URI there
    (one per client: the last base given). Idempotent."""
    client = clients.get(client_id)
    updated = client.model_copy(update={
        "trusted": True,
        "redirect_uris": list(dict.fromkeys([*client.redirect_uris, idp_callback(base)])),
        "post_logout_redirect_uris": list(dict.fromkeys(
            [*client.post_logout_redirect_uris, idp_signed_out(base)])),
        "frontchannel_logout_uri": idp_frontchannel(base),
        "grant_types": list(dict.fromkeys([*client.grant_types, "authorization_code"])),
        "response_types": list(dict.fromkeys([*client.response_types, "code"])),
        "scopes": list(dict.fromkeys([*client.scopes, "openid"])),
    })
    return clients.update(updated) if updated != client else client


def init_directory(directory: Directory, data: InitialData, cipher: SecretCipher) -> InitResult:
    """Load the initial tree; idempotent (existing entries are reported, not changed)."""
    tree = Tree(data.suffix)
    result = InitResult()
    _ensure(directory, result, data.suffix, base_entry(data.suffix))
    for ou in OUS:
        attrs = {"objectClass": ["top", "organizationalUnit"], "ou": [ou]}
        _ensure(directory, result, tree.ou(ou), attrs)
    # the password policy slapd's ppolicy overlay applies to every bind (lockout)
    policy = {"objectClass": ["top", "device", "pwdPolicy"], "cn": ["default"]}
    policy |= {name: [value] for name, value in DEFAULT_POLICY.items()}
    _ensure(directory, result, policy_dn(data.suffix), policy)
    for name in CONFIGURATION_OUS:
        attrs = {"objectClass": ["top", "oxConfiguration"], "ou": [name], "oxRevision": ["1"]}
        _ensure(directory, result, tree.configuration(name), attrs)

    people = PeopleRepository(directory, tree)
    admin = admin_person(data)
    dn = tree.person(admin.inum)
    if directory.exists(dn):
        result.present.append(dn)
    else:
        people.add(admin, password=data.admin_password)
        result.added.append(dn)

    groups = GroupRepository(directory, tree)
    dn = tree.group(ADMIN_GROUP_INUM)
    if directory.exists(dn):
        result.present.append(dn)
    else:
        group = Group(
            inum=ADMIN_GROUP_INUM,
            display_name="Gluu Manager Group",
            description="Administrators of this server",
            members=[admin.inum],
        )
        groups.add(group)
        result.added.append(dn)

    scopes = ScopeRepository(directory, tree)
    for scope in (*STANDARD_SCOPES, *SCIM_SCOPES, *OXTRUST_API_SCOPES):
        dn = tree.scope(scope.name)
        if directory.exists(dn):
            result.present.append(dn)
        else:
            scopes.add(scope)
            result.added.append(dn)

    clients = ClientRepository(directory, cipher, tree)
    for spec in data.own_clients:
        dn = tree.client(spec.client_id)
        if directory.exists(dn):
            result.present.append(dn)
            if spec.name == "oxTrust" and data.hostname:
                upgrade_oxtrust_client(clients, spec.client_id, data.hostname)
        else:
            clients.add(own_client(spec, data.hostname))
            result.added.append(dn)
    return result


def upgrade_oxtrust_client(clients: ClientRepository, client_id: str, hostname: str) -> bool:
    """oxTrust's client of a directory loaded before the admin UI was a machine client:
    give it the UI's sign-in (code flow, trusted, the cluster's URIs), keeping whatever
    else it has. True when it changed; a client already so is left alone."""
    client = clients.get(client_id)
    callback, signed_out = oxtrust_uris(f"https://{hostname}")
    if callback in client.redirect_uris and "authorization_code" in client.grant_types:
        return False
    joined = {name: list(dict.fromkeys([*getattr(client, name), *values]))
              for name, values in OXTRUST_SIGN_IN.items()}
    clients.update(client.model_copy(update={
        "trusted": True,
        "redirect_uris": list(dict.fromkeys([*client.redirect_uris, callback])),
        "post_logout_redirect_uris": list(
            dict.fromkeys([*client.post_logout_redirect_uris, signed_out])),
    } | joined))
    return True
