"""Who an upstream identity is here: links, linking modes and attribute mapping.

The link is Gluu's: ``passport-<provider id>:<subject>`` in the person's multi-valued
``oxExternalUid`` (a person may have several). On a sign-in (:func:`resolve`):

* a person already linked is that person (refused when inactive); with the provider's
  ``update: always`` their mapped attributes are refreshed from the claims;
* otherwise by the provider's ``linking`` mode:
  ``create`` (default) provisions a person when the e-mail is unused and refuses when it
  is taken; ``link_by_email`` links to the person with that e-mail only when the provider
  asserts ``email_verified`` (unverified and taken: refused; unused: provisioned);
  ``deny_on_collision`` provisions, and refuses any existing e-mail (also case-folded);
  ``existing_only`` refuses anyone not linked yet.

A provisioned person has no password, the mapped attributes (defaults: the standard
OIDC claims, :data:`~oxswarm.passport.providers.DEFAULT_MAPPING`), ``email_verified``
as the provider asserted it, and the link, all in one LDAP add: a refusal writes nothing.
Synchronous (the directory client is): oxAuth runs it in a thread.
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from oxswarm.directory.models import Person
from oxswarm.directory.people import PeopleRepository
from oxswarm.errors import Conflict
from oxswarm.oauth.oidc.upstream import FederationError
from oxswarm.passport.providers import Provider

log = logging.getLogger(__name__)

_UID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")


def link_of(provider_id: str, subject: str) -> str:
    return f"passport-{provider_id}:{subject}"


def verified(claims: Mapping[str, Any]) -> bool:
    value = claims.get("email_verified")
    return value is True or value == "true"


def mapped(provider: Provider, claims: Mapping[str, Any]) -> dict[str, str]:
    """Person fields from the claims under the provider's mapping (strings, 1-256)."""
    out: dict[str, str] = {}
    for claim, target in provider.effective_mapping().items():
        value = claims.get(claim)
        if isinstance(value, str) and 0 < len(value.strip()) <= 256:
            out[target] = value.strip()
    return out


def _uid(repo: PeopleRepository, provider: Provider, subject: str, wanted: str | None) -> str:
    if wanted and _UID.match(wanted) and repo.get_by_uid(wanted) is None:
        return wanted
    digest = hashlib.sha256(f"{provider.id}\x00{subject}".encode()).hexdigest()[:12]
    return f"{provider.id}-{digest}"


def _person(fields: Mapping[str, str], inum: str, uid: str, email_ok: bool,
            base: Person | None = None) -> Person:
    values: dict[str, Any] = base.model_dump(exclude={"created", "updated"}) if base else {}
    values.update({k: v for k, v in fields.items() if k != "uid"})
    values.update(inum=inum, uid=uid)
    values.setdefault("family_name", uid)
    if not base:
        values["email_verified"] = email_ok and "email" in fields
    try:
        return Person(**values)
    except ValidationError:
        # a claim the directory cannot hold (a malformed e-mail, country): keep the rest
        safe = {k: v for k, v in values.items()
                if k in ("inum", "uid", "family_name", "email_verified", "status")}
        safe["family_name"] = safe.get("family_name") or uid
        return Person(**safe)


def resolve(repo: PeopleRepository, provider: Provider, subject: str,
            claims: Mapping[str, Any]) -> tuple[Person, str]:
    """The person the upstream identity signs in as, and what happened
    (``linked``, ``link_by_email``, ``provisioned``); :class:`FederationError` when the
    mode refuses (nothing is written then)."""
    link = link_of(provider.id, subject)
    fields = mapped(provider, claims)
    person = repo.get_by_external_uid(link)
    if person is not None:
        if person.status != "active":
            raise FederationError("the account linked to this identity is disabled")
        if provider.update == "always":
            changed = _person(fields, person.inum, person.uid, False, base=person)
            if changed != person:
                person = repo.update(changed)
        return person, "linked"
    if provider.linking == "existing_only":
        raise FederationError("no account is linked to this identity (existing_only)")
    email = fields.get("email")
    taken = repo.get_by_email(email) if email else None
    if taken is not None:
        if provider.linking == "link_by_email" and verified(claims):
            if taken.status != "active":
                raise FederationError("the account with this e-mail address is disabled")
            repo.add_external_uid(taken.inum, link)
            return taken, "link_by_email"
        if provider.linking == "link_by_email":
            raise FederationError("the e-mail address is used by another account and the "
                                  "provider did not assert it is verified")
        raise FederationError(f"the e-mail address is used by another account "
                              f"({provider.linking})")
    uid = _uid(repo, provider, subject, fields.get("uid"))
    new = _person(fields, str(uuid.uuid4()), uid, verified(claims))
    try:
        added = repo.add(new, None, external_uids=[link])
    except Conflict:  # the uid was taken meanwhile
        new = _person(fields, new.inum, _uid(repo, provider, subject, None), verified(claims))
        added = repo.add(new, None, external_uids=[link])
    log.info("passport %s: provisioned %s (%s) for %s", provider.id, added.uid, added.inum,
             link)
    return added, "provisioned"
