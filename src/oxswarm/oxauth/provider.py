"""The protocol objects of one oxAuth process, assembled from its :class:`OxAuthDeps`.

Registration happens here, once: grant types on the token endpoint, authentication
methods on the client authenticator. The views in :mod:`oxswarm.oxauth.endpoints` read
``request.app.state.provider``.
"""

from __future__ import annotations

from oxswarm.oauth.client_metadata import DEFAULT_SCOPES, MetadataPolicy
from oxswarm.oauth.interfaces import JwksFetcher
from oxswarm.oauth.oidc.core.claims import STANDARD_SCOPES
from oxswarm.oauth.rfc6749.client_auth import (
    ClientAuthenticator,
    ClientSecretBasic,
    ClientSecretPost,
    NoneAuth,
)
from oxswarm.oauth.rfc6749.grants.authorization_code import AuthorizationCodeGrant
from oxswarm.oauth.rfc6749.grants.client_credentials import ClientCredentialsGrant
from oxswarm.oauth.rfc6749.grants.password import PasswordGrant, SignInGuard
from oxswarm.oauth.rfc6749.grants.refresh_token import RefreshTokenGrant
from oxswarm.oauth.rfc6749.token_endpoint import TokenEndpoint
from oxswarm.oauth.rfc7009 import RevocationEndpoint
from oxswarm.oauth.rfc7523 import ClientAssertion
from oxswarm.oauth.rfc7591 import dynamic_policy
from oxswarm.oauth.rfc7662 import IntrospectionEndpoint
from oxswarm.oauth.tokens import TokenFactory
from oxswarm.oxauth import addressing
from oxswarm.oxauth.addressing import Network
from oxswarm.oxauth.model import OxAuthDeps


class Provider:
    """Token, introspection and revocation endpoints, client authentication, policies."""

    def __init__(self, deps: OxAuthDeps, fetcher: JwksFetcher | None = None) -> None:
        self.deps = deps
        config = deps.config
        self.factory = TokenFactory(config, deps.tokens, deps.grants, deps.keys, deps.users)
        self.authenticator = ClientAuthenticator(deps.clients)
        self.authenticator.register(ClientSecretBasic())
        self.authenticator.register(ClientSecretPost())
        self.authenticator.register(ClientAssertion(config.issuer, deps.replay, fetcher))
        self.authenticator.register(NoneAuth())
        self.token_endpoint = TokenEndpoint(self.authenticator)
        self.token_endpoint.register_grant(AuthorizationCodeGrant(self.factory, deps.codes))
        self.token_endpoint.register_grant(RefreshTokenGrant(self.factory, deps.replay))
        self.token_endpoint.register_grant(ClientCredentialsGrant(self.factory))
        self.token_endpoint.register_grant(PasswordGrant(self.factory, self._sign_in_guard()))
        self.introspection = IntrospectionEndpoint(self.factory, deps.clients)
        self.revocation = RevocationEndpoint(self.factory)
        self.scopes: tuple[str, ...] = tuple(deps.extras.get("scopes", STANDARD_SCOPES))

    def _sign_in_guard(self) -> SignInGuard | None:
        """The login form's lockout (same counters, the live policy), when the deps have a
        cache."""
        if "cache" not in self.deps.extras or "directory" not in self.deps.extras:
            return None
        from oxswarm.oxauth.web.deps import web_deps
        from oxswarm.oxauth.web.lockout import BoundLockout

        return BoundLockout(lambda: web_deps(self.deps).lockout, self.deps.users)

    @property
    def trusted_proxies(self) -> tuple[Network, ...]:
        settings = self.deps.extras.get("web_settings")
        return tuple(getattr(settings, "trusted_proxies", ()))

    def client_address(self, peer: str | None, forwarded: str | None) -> str:
        """The user agent's address (:func:`oxswarm.oxauth.addressing.client_address`
        through the configured trusted proxies)."""
        return addressing.client_address(peer, forwarded, self.trusted_proxies)

    def registration_policy(self) -> MetadataPolicy:
        """What dynamic registration may ask for: the default scopes (those the directory
        marks default), no password grant, http URIs only when the issuer is http."""
        defaults = self.deps.extras.get("default_scopes") or DEFAULT_SCOPES
        return dynamic_policy(
            default_scopes=tuple(defaults),
            signing_algs=self.deps.keys.algorithms(),
            allow_http=self.deps.config.issuer.startswith("http://"),
        )

    def endpoint_url(self, name: str) -> str:
        return f"{self.deps.config.base}/{name}"
