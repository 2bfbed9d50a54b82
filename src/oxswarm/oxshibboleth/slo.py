"""SP-initiated single logout (SAML 2.0 Profiles 4.4, Bindings 3.4/3.5) at Shibboleth's
``/idp/profile/SAML2/Redirect/SLO`` and ``/idp/profile/SAML2/POST/SLO``.

A LogoutRequest must come from a trusted SP and be signed (Profiles 4.4.3.1: the
requester authenticates itself; pysaml2 checks the signature on xmlsec1), be fresh and
never seen, and the SP's metadata must name a SingleLogoutService. Its NameID leads to the
oxAuth session it was issued in (kept by :mod:`oxswarm.oxshibboleth.sso` at sign-in); the
browser then goes through oxAuth's RP-Initiated Logout (``end_session`` with that
session's ID token), which ends the oxAuth session and runs the OIDC clients' front- and
back-channel logout, and comes back to ``/idp/auth/signed-out``, which sends the SP its
signed LogoutResponse. Without a known session the LogoutResponse goes at once.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import secrets
from typing import Any, Final

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.xmldsig import SIG_RSA_SHA256
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from oxswarm.errors import OxSwarmError
from oxswarm.oxshibboleth import idp, messages
from oxswarm.oxshibboleth.messages import MessageRefused
from oxswarm.oxshibboleth.oidc import OidcError
from oxswarm.oxshibboleth.sso import (
    HEADERS,
    SEEN_KIND,
    SESSION_KIND,
    STATE_TTL,
    IdpDeps,
    error_page,
    post_form,
    session_key,
)

log = logging.getLogger(__name__)
SLO_KIND: Final = "saml-slo"
SIGNED_OUT_PATH: Final = "/idp/auth/signed-out"


def _b64(xml: str) -> str:
    return base64.b64encode(xml.encode()).decode()


async def handle_slo(deps: IdpDeps, request: Request, binding: str) -> Response:
    params: Any = request.query_params if binding == BINDING_HTTP_REDIRECT else (
        await request.form())
    saml_request, relay_state = params.get("SAMLRequest"), params.get("RelayState")
    if not isinstance(saml_request, str) or not saml_request:
        return error_page(400, "SAMLRequest: missing")
    issuer = "(unknown)"
    try:
        xml = (messages.decode_redirect(saml_request) if binding == BINDING_HTTP_REDIRECT
               else messages.decode_post(saml_request))
        issuer = messages.issuer_of(xml, "LogoutRequest")
        snapshot, found = await deps.engine.lookup(issuer)
        if found is None:
            raise MessageRefused(f"Issuer: {issuer} is not a trusted service provider")
        server = snapshot.signed  # a LogoutRequest is always signed
        try:
            parsed = await asyncio.to_thread(
                server.parse_logout_request, saml_request, binding, relay_state=relay_state,
                sigalg=params.get("SigAlg"), signature=params.get("Signature"))
        except Exception:  # noqa: BLE001  (pysaml2's refusals: the SP's fault)
            raise MessageRefused("SAMLRequest: signature: missing or not valid") from None
        message = parsed.message
        messages.check_fresh(message.issue_instant)
        seen = hashlib.sha256(f"{issuer}\x00{message.id}".encode()).hexdigest()
        if not await deps.cache.add(SEEN_KIND, seen, "1", STATE_TTL):
            raise MessageRefused("ID: this LogoutRequest was already used (replay)")
        answer = await asyncio.to_thread(_logout_response, server, parsed.message)
    except MessageRefused as exc:
        log.warning("SLO request from %s refused: %s", issuer, exc.reason)
        return error_page(400, exc.reason)
    except OxSwarmError as exc:
        log.warning("SLO request from %s: %s", issuer, exc)
        return error_page(503, "the identity provider cannot serve now; try again")
    if answer is None:
        log.warning("SLO request from %s refused: no SingleLogoutService in its metadata",
                    issuer)
        return error_page(400, "the service provider's metadata has no SingleLogoutService")
    record = {**answer, "relay_state": relay_state, "sp": issuer}
    name_id = (message.name_id.text or "").strip() if message.name_id is not None else ""
    session = await deps.cache.take_json(SESSION_KIND, session_key(issuer, name_id))
    if not isinstance(session, dict):
        log.info("SLO from %s: no session of %s known here; answering at once", issuer,
                 name_id or "(no NameID)")
        return await _deliver(deps, record)
    state = secrets.token_urlsafe(32)
    await deps.cache.set_json(SLO_KIND, state, record, STATE_TTL)
    try:
        target = await deps.rp.end_session_url(
            str(session["id_token"]), deps.engine.base_url + SIGNED_OUT_PATH, state)
    except OidcError as exc:
        log.warning("SLO for %s: %s", issuer, exc)
        return error_page(503, "the sign-in service cannot be reached; try again")
    if target is None:
        return await _deliver(deps, record)
    log.info("SLO from %s: ending the oxAuth session", issuer)
    return RedirectResponse(target, status_code=303, headers=HEADERS)


def _logout_response(server: Any, message: Any) -> dict[str, str] | None:
    """The LogoutResponse (Success) and where it goes, or None without an SLO endpoint in
    the SP's metadata. HTTP-POST preferred (signed in the XML); HTTP-Redirect is signed
    over the query string when delivered (Bindings 3.4.4.1)."""
    for binding in (BINDING_HTTP_POST, BINDING_HTTP_REDIRECT):
        try:
            server.pick_binding("single_logout_service", [binding], "spsso",
                                entity_id=message.issuer.text.strip())
        except Exception:  # noqa: BLE001, S112  (pysaml2: no endpoint for that binding)
            continue
        response = server.create_logout_response(
            message, [binding], sign=binding == BINDING_HTTP_POST)
        return {"xml": str(response), "destination": str(response.destination),
                "binding": binding}
    return None


async def _deliver(deps: IdpDeps, record: dict[str, Any]) -> Response:
    """The LogoutResponse to the SP's SingleLogoutService."""
    relay = record.get("relay_state")
    if record["binding"] == BINDING_HTTP_POST:
        return post_form(record["destination"], _b64(record["xml"]), relay)
    snapshot = await deps.engine.current()
    info = await asyncio.to_thread(
        snapshot.plain.apply_binding, BINDING_HTTP_REDIRECT, record["xml"],
        record["destination"], relay or "", response=True, sign=True, sigalg=SIG_RSA_SHA256)
    location = dict(info["headers"])["Location"]
    return RedirectResponse(location, status_code=303, headers=HEADERS)


async def handle_signed_out(deps: IdpDeps, request: Request) -> Response:
    state = request.query_params.get("state") or ""
    try:
        record = await deps.cache.take_json(SLO_KIND, state) if state else None
    except OxSwarmError:
        record = None
    if not isinstance(record, dict):
        return error_page(400, "state: unknown or expired; you are signed out of this server")
    log.info("SLO for %s: oxAuth session ended, answering the SP", record["sp"])
    return await _deliver(deps, record)


def slo_routes(deps: IdpDeps) -> list[Route]:
    async def slo_redirect(request: Request) -> Response:
        return await handle_slo(deps, request, BINDING_HTTP_REDIRECT)

    async def slo_post(request: Request) -> Response:
        return await handle_slo(deps, request, BINDING_HTTP_POST)

    async def signed_out(request: Request) -> Response:
        return await handle_signed_out(deps, request)

    return [
        Route(idp.SLO_REDIRECT_PATH, slo_redirect, methods=["GET"]),
        Route(idp.SLO_POST_PATH, slo_post, methods=["POST"]),
        Route(SIGNED_OUT_PATH, signed_out, methods=["GET"]),
    ]
