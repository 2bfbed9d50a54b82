"""The admin API's SAML trust relationships (``/identity/restv1/api/v1/trusts``): the same
rules as ``oxswarm saml trust`` (:mod:`oxswarm.oxshibboleth.trust` checks the metadata and
the choices; :mod:`oxswarm.directory.trust_relationships` stores them), free of HTTP."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from oxswarm.directory.connection import Directory
from oxswarm.directory.tree import Tree
from oxswarm.directory.trust_relationships import TrustRepository
from oxswarm.errors import InvalidInput
from oxswarm.oxshibboleth.trust import Trust, check_attributes, new_inum, parse_sp_metadata
from oxswarm.oxtrust.api import models as m


class _Service(Protocol):
    directory: Directory
    tree: Tree

    def _audit(self, actor: Any, action: str, target: str,
               detail: Mapping[str, Any] | None = None) -> None: ...


def _audited(trust: Trust) -> dict[str, Any]:
    return {k: v for k, v in trust.summary().items() if k != "acs"}


def _trust(body: m.TrustIn, inum: str) -> Trust:
    sp = parse_sp_metadata(body.metadata)
    return Trust(
        inum=inum, name=body.name or sp.entity_id, entity_id=sp.entity_id,
        metadata=body.metadata, release=check_attributes(body.release),
        nameid_format=body.nameid_format, sign_assertions=body.sign_assertions,
        encrypt_assertions=body.encrypt_assertions, enabled=body.enabled,
    ).check()


class TrustOperations:
    """Mixed into :class:`~oxswarm.oxtrust.api.service.AdminService`."""

    def list_trusts(self: _Service, start: int, limit: int, q: str | None) -> Any:
        from oxswarm.oxtrust.api.service import _matches, _window

        items = [t.summary() for t in TrustRepository(self.directory, self.tree).list()]
        items = [t for t in items if _matches(t, q, ("name", "entity_id"))]
        return _window(items, start, limit)

    def get_trust(self: _Service, inum: str) -> dict[str, Any]:
        return TrustRepository(self.directory, self.tree).get(inum).summary()

    def create_trust(self: _Service, actor: Any, body: m.TrustIn) -> dict[str, Any]:
        created = TrustRepository(self.directory, self.tree).add(_trust(body, new_inum()))
        self._audit(actor, "saml_trust.create", created.entity_id, _audited(created))
        return created.summary()

    def replace_trust(self: _Service, actor: Any, inum: str, body: m.TrustIn) -> dict[str, Any]:
        repo = TrustRepository(self.directory, self.tree)
        current = repo.get(inum)
        fresh = _trust(body, inum)
        if fresh.entity_id != current.entity_id:
            raise InvalidInput("metadata: its entityID is not this trust's (create a new trust "
                               "for another SP)", field="metadata")
        updated = repo.update(fresh)
        self._audit(actor, "saml_trust.update", updated.entity_id, _audited(updated))
        return updated.summary()

    def delete_trust(self: _Service, actor: Any, inum: str) -> None:
        repo = TrustRepository(self.directory, self.tree)
        trust = repo.get(inum)
        repo.remove(inum)
        self._audit(actor, "saml_trust.delete", trust.entity_id)
