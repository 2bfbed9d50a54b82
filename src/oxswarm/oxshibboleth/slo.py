"""SP-initiated single logout (SAML 2.0 Profiles 4.4, Bindings 3.4/3.5) at Shibboleth's
``/idp/profile/SAML2/Redirect/SLO`` and ``/idp/profile/SAML2/POST/SLO``.

A LogoutRequest must come from a trusted SP and be signed (Profiles 4.4.3.1: the
requester authenticates itself; pysaml2 checks the signature on xmlsec1), be fresh and
never seen, and the SP's metadata must name a SingleLogoutService. Its NameID leads to the
oxAuth session it was issued in (:mod:`oxswarm.oxshibboleth.sessions`); the session's
other SAML participants are taken into a logout run (:mod:`oxswarm.oxshibboleth.logout`),
the browser goes through oxAuth's RP-Initiated Logout (``end_session`` with that session's
ID token: oxAuth ends its session and runs the OIDC clients' front- and back-channel
logout), comes back to ``/idp/auth/signed-out``, goes through every other participant's
SingleLogoutService, and the SP that asked gets its signed LogoutResponse. Without a known
session the LogoutResponse goes at once. A LogoutResponse (``SAMLResponse``) at these
endpoints is a participant's answer to the IdP's LogoutRequest.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from oxswarm.errors import OxSwarmError
from oxswarm.oxshibboleth import idp, logout, messages, sessions
from oxswarm.oxshibboleth.messages import MessageRefused
from oxswarm.oxshibboleth.sso import SEEN_KIND, STATE_TTL, IdpDeps, error_page

log = logging.getLogger(__name__)


async def handle_slo(deps: IdpDeps, request: Request, binding: str) -> Response:
    params: Any = request.query_params if binding == BINDING_HTTP_REDIRECT else (
        await request.form())
    saml_request, relay_state = params.get("SAMLRequest"), params.get("RelayState")
    if not saml_request and isinstance(params.get("SAMLResponse"), str):
        return await logout.handle_sp_response(deps, params, binding)
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
        answer = await asyncio.to_thread(logout.logout_response, server, parsed.message)
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
    name_id = (message.name_id.text or "").strip() if message.name_id is not None else ""
    session = await sessions.session_of(deps.cache, issuer, name_id)
    if session is None:
        log.info("SLO from %s: no session of %s known here; answering at once", issuer,
                 name_id or "(no NameID)")
        return await logout.deliver(deps, {**answer, "relay_state": relay_state})
    others = [p for p in await sessions.take_participants(deps.cache, session.get("sid"))
              if (p["sp"], p["name_id"]) != (issuer, name_id)]
    run = logout.new_run(others, answer={"request_xml": xml.decode(), "sp": issuer,
                                         "relay_state": relay_state})
    run_id = await logout.save(deps, run)
    log.info("SLO from %s: ending the oxAuth session, then %d other participants", issuer,
             len(others))
    return await logout.end_session_then_step(deps, run_id, run, str(session["id_token"]))


def slo_routes(deps: IdpDeps) -> list[Route]:
    async def slo_redirect(request: Request) -> Response:
        return await handle_slo(deps, request, BINDING_HTTP_REDIRECT)

    async def slo_post(request: Request) -> Response:
        return await handle_slo(deps, request, BINDING_HTTP_POST)

    return [
        Route(idp.SLO_REDIRECT_PATH, slo_redirect, methods=["GET"]),
        Route(idp.SLO_POST_PATH, slo_post, methods=["POST"]),
    ]
