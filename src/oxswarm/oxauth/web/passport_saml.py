"""oxPassport through an upstream SAML 2.0 IdP (SAML 2.0 Profiles 4.1, Web Browser SSO).

* ``GET /passport/auth/{id}`` (a ``saml`` provider; :mod:`.passport` dispatches here): a
  signed AuthnRequest (HTTP-Redirect, RSA-SHA256) with ``RelayState`` a fresh 256-bit
  state; the record ``{provider, sealed request, AuthnRequest ID, SHA-256 of the browser
  cookie}`` goes to the shared cache for 10 minutes.
* ``POST /passport/auth/saml/{id}/callback`` (the ACS, HTTP-POST): the record of
  ``RelayState`` must be this provider's and this browser's, and is then taken (single
  use); the Response must be signed (Response or assertion) by a key of the IdP's metadata,
  for our SP entityID (audience), to our ACS (Destination, Recipient), in response to the
  record's AuthnRequest, inside its validity window; an assertion ID seen before is a
  replay (kept in the shared cache until it expires). Then the account, as for OIDC, and a
  session with ``acr`` ``passport_saml`` and ``amr`` ``["fed"]``.
* ``GET /passport/auth/meta/idp/{id}``: our SP metadata for that provider (its entityID is
  this URL).

The IdP POSTs the Response from its own site: a ``SameSite=Lax`` cookie is not sent with
a cross-site POST, so a SAML start (re)sets the browser cookie with ``SameSite=None`` and
``Secure`` (on https; on plain http, which only dev uses, browsers refuse ``None`` without
``Secure`` and it stays ``Lax``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Final

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from oxswarm.oauth.oidc.core import acr
from oxswarm.oauth.oidc.upstream import FederationError, random_value
from oxswarm.oxauth.model import OxAuthDeps
from oxswarm.oxauth.web import render, sessions
from oxswarm.oxauth.web.deps import web_deps
from oxswarm.oxauth.web.passport import (
    COOKIE,
    COOKIE_PATH,
    KIND,
    STATE_TTL,
    _hash,
    _record,
    _resolve,
    _signed_in,
    enabled,
    refused,
)
from oxswarm.oxauth.web.security import new_id, open_params, seal_params, well_formed
from oxswarm.oxshibboleth.idp import IdpKeys
from oxswarm.passport.providers import Provider
from oxswarm.passport.saml import SpEngine

log = logging.getLogger(__name__)

SEEN: Final = "passport_saml_seen"
MAX_FORM: Final = 128 * 1024


def browser_cookie(response: Response, deps: OxAuthDeps, value: str) -> None:
    """The browser cookie as a cross-site POST from the IdP still carries it."""
    secure = sessions.secure(deps)
    response.set_cookie(COOKIE, value, max_age=STATE_TTL * 6, path=COOKIE_PATH, httponly=True,
                        secure=secure, samesite="none" if secure else "lax")


async def engine_of(deps: OxAuthDeps, provider: Provider) -> SpEngine:
    """The provider's SP engine, built once per (provider, keys) and kept."""
    keys = deps.extras.get("passport_sp_keys")
    if not isinstance(keys, IdpKeys):
        raise FederationError("the cluster has no SAML key pair (run config-init)",
                              code="temporarily_unavailable")
    engines = deps.extras.setdefault("passport_saml_engines", {})
    wanted = (provider, keys)
    found = engines.get(provider.id)
    if found is not None and found[0] == wanted:
        return found[1]  # type: ignore[no-any-return]
    engine = await asyncio.to_thread(SpEngine, deps.config.issuer, provider.id,
                                     provider.metadata, keys)
    engines[provider.id] = (wanted, engine)
    # a replaced engine's key files go with it (TemporaryDirectory's finalizer), never
    # under a request still using it
    return engine


async def start_saml(request: Request, deps: OxAuthDeps, provider: Provider,
                     params: dict[str, str]) -> Response:
    try:
        engine = await engine_of(deps, provider)
        state = random_value()
        request_id, url = await asyncio.to_thread(engine.authn_request, state)
    except FederationError as exc:
        return refused(provider.id, exc.reason, code=exc.code, status=502, params=params)
    browser = request.cookies.get(COOKIE)
    browser = browser if well_formed(browser) else new_id()
    await deps.extras["cache"].set_json(KIND, state, {
        "provider": provider.id, "authz": seal_params(sessions.secret_of(deps), params),
        "request_id": request_id, "browser": _hash(browser),
    }, STATE_TTL)
    response = RedirectResponse(url, 302, headers={"Cache-Control": "no-store"})
    browser_cookie(response, deps, browser)
    return response


async def callback(request: Request) -> Response:
    deps: OxAuthDeps = request.app.state.deps
    web = web_deps(deps)
    render.use(request, deps)
    provider_id = str(request.path_params["provider"])
    if int(request.headers.get("content-length") or 0) > MAX_FORM:
        return refused(provider_id, "the form is too large", status=413,
                       code="invalid_request")
    form = await request.form(max_files=0, max_fields=8)
    relay, message = form.get("RelayState"), form.get("SAMLResponse")
    try:
        record = await _record(request, deps, provider_id, relay if isinstance(relay, str)
                               else "")
    except FederationError as exc:
        return refused(provider_id, exc.reason.replace("state", "RelayState"), status=400,
                       code="invalid_request")
    params = open_params(sessions.secret_of(deps), str(record.get("authz")),
                         web.settings.request_lifetime)
    provider = enabled(deps, provider_id)
    if params is None or provider is None or provider.type != "saml":
        return refused(provider_id, "the sign-in request expired or the provider is disabled",
                       status=400, code="invalid_request", params=params)
    if not isinstance(message, str) or not message:
        return refused(provider.id, "the callback has no SAMLResponse", status=400,
                       code="invalid_request", params=params)
    try:
        engine = await engine_of(deps, provider)
        signed = await asyncio.to_thread(engine.verify, message, str(record["request_id"]),
                                         provider.subject_attribute)
        ttl = max(60, min(signed.not_on_or_after - int(time.time()) + 120, 3600))
        if not await deps.extras["cache"].add(SEEN, f"{provider.id}:{signed.assertion_id}",
                                              "1", ttl):
            raise FederationError("SAMLResponse: the assertion was already used (replay)")
        person, how = await _resolve(deps, provider, signed.subject, signed.claims)
    except FederationError as exc:
        status = 502 if exc.code == "temporarily_unavailable" else 403
        return refused(provider.id, exc.reason, code=exc.code, status=status, params=params)
    log.info("passport %s: %s signed in through SAML (%s)", provider.id, person.uid, how)
    return await _signed_in(request, deps, params, person.inum, person.uid,
                            acr_value=acr.PASSPORT_SAML)


async def metadata(request: Request) -> Response:
    deps: OxAuthDeps = request.app.state.deps
    render.use(request, deps)
    provider_id = str(request.path_params["provider"])
    provider = enabled(deps, provider_id)
    if provider is None or provider.type != "saml":
        return refused(provider_id, "no such SAML provider is enabled", status=404,
                       code="invalid_request")
    try:
        engine = await engine_of(deps, provider)
    except FederationError as exc:
        return refused(provider.id, exc.reason, code=exc.code, status=502)
    return Response(engine.metadata_xml(), media_type="application/samlmetadata+xml")
