"""The admin API's oxPassport providers (``/identity/restv1/api/v1/passport/providers``):
the same rules and the same store as ``oxswarm providers``
(:class:`~oxswarm.passport.providers.ProviderStore`), free of HTTP. The client secret is
write-only: given on create (required) and replace (optional: kept when absent), shown
only as ``client_secret_set``. A replace or delete with ``If-Match`` is checked inside the
store's compare-and-swap (``expect``), so an edit that raced another one on the same
provider is refused (412) rather than applied over it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from oxswarm.config.manager import ConfigManager
from oxswarm.directory.people import PeopleRepository
from oxswarm.errors import InvalidInput
from oxswarm.oxtrust.api import models as m
from oxswarm.passport.providers import Expect, Provider, ProviderStore, build


class _Service(Protocol):
    config: ConfigManager
    people: PeopleRepository

    def _audit(self, actor: Any, action: str, target: str,
               detail: Mapping[str, Any] | None = None) -> None: ...


def provider_out(store: ProviderStore, provider: Provider) -> dict[str, Any]:
    """The provider as the API shows it (and its ETag is computed from)."""
    return {**provider.public(), "client_secret_set": provider.type == "oidc"
            and store.has_secret(provider.id)}


def _provider(body: m.ProviderIn, provider_id: str) -> Provider:
    data = body.model_dump(exclude={"client_secret"}, exclude_none=True)
    return build({**data, "id": provider_id})


class ProviderOperations:
    """Mixed into :class:`~oxswarm.oxtrust.api.service.AdminService`."""

    def list_providers(self: _Service, start: int, limit: int, q: str | None) -> Any:
        from oxswarm.oxtrust.api.service import _matches, _window

        store = ProviderStore(self.config)
        items = [provider_out(store, p) for p in store.list()]
        items = [p for p in items if _matches(p, q, ("id", "name", "issuer"))]
        return _window(items, start, limit)

    def get_provider(self: _Service, provider_id: str) -> dict[str, Any]:
        store = ProviderStore(self.config)
        return provider_out(store, store.get(provider_id))

    def create_provider(self: _Service, actor: Any, body: m.ProviderIn) -> dict[str, Any]:
        if not body.id:
            raise InvalidInput("id: required", field="id")
        if not body.client_secret and body.type != "saml":
            raise InvalidInput("client_secret: required", field="client_secret")
        store = ProviderStore(self.config)
        made = store.add(_provider(body, body.id), body.client_secret)
        self._audit(actor, "passport_provider.create", made.id, made.public())
        return provider_out(store, made)

    def replace_provider(self: _Service, actor: Any, provider_id: str,
                         body: m.ProviderIn, expect: Expect | None = None) -> dict[str, Any]:
        if body.id is not None and body.id != provider_id:
            raise InvalidInput("id: cannot be changed", field="id")
        store = ProviderStore(self.config)
        store.get(provider_id)
        fresh = _provider(body, provider_id)
        changed = store.replace(fresh, body.client_secret, expect)
        self._audit(actor, "passport_provider.update", changed.id,
                    {**changed.public(), "credential_changed": bool(body.client_secret)})
        return provider_out(store, changed)

    def delete_provider(self: _Service, actor: Any, provider_id: str,
                        expect: Expect | None = None) -> None:
        store = ProviderStore(self.config)
        store.remove(provider_id, expect)
        self._audit(actor, "passport_provider.delete", provider_id)

    def person_links(self: _Service, inum: str) -> dict[str, Any]:
        """The person's links (``oxExternalUid``), as ``oxswarm users show`` lists them."""
        return {"links": self.people.external_uids(inum)}

    def remove_person_link(self: _Service, actor: Any, inum: str, link: str) -> None:
        """Unlink (as ``oxswarm users unlink``): the next sign-in with that identity
        follows its provider's linking mode again."""
        self.people.remove_external_uid(inum, link)
        self._audit(actor, "person.unlink", inum, {"link": link})
