"""Single sign-on (SAML 2.0 Profiles 4.1, Web Browser SSO; Bindings 3.4 HTTP-Redirect and
3.5 HTTP-POST) at Shibboleth's paths.

``/idp/profile/SAML2/Redirect/SSO`` and ``/idp/profile/SAML2/POST/SSO`` take an
AuthnRequest: the guards of :mod:`oxswarm.oxshibboleth.messages` (size, no DOCTYPE), a
trusted issuer, its signature when the SP's metadata says ``AuthnRequestsSigned="true"``
(checked by pysaml2 on xmlsec1), an ACS from the SP's metadata (never another URL), a fresh
IssueInstant and an ID never seen before (kept in the shared cache). Before an ACS is known,
a refusal is an error page (400); after, a non-Success SAML response to that ACS. The
request's state goes to the shared cache (any node continues it) and the browser to oxAuth
(the IdP's client, config-init's ``idp_client_id``, through
:mod:`oxswarm.oxauth.relying_party`): ``ForceAuthn`` becomes ``prompt=login`` (the ID
token's ``auth_time`` must then be newer than the request), ``IsPassive`` ``prompt=none``.
``/idp/auth/callback`` comes back with the person and answers the SP with a signed
Response through an auto-submitted HTTP-POST form.
``/idp/profile/SAML2/Unsolicited/SSO?providerId=...`` starts the same without a request
(IdP-initiated, SAML Profiles 4.1.5).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any, Final

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, samlp
from saml2.saml import AUTHN_PASSWORD_PROTECTED, NameID
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from oxswarm.cache.aio import AsyncCache
from oxswarm.directory.connection import Directory
from oxswarm.directory.tree import Tree
from oxswarm.errors import CacheUnavailable, OxSwarmError
from oxswarm.oxauth.relying_party import PASSIVE_ERRORS, OidcError, RelyingParty
from oxswarm.oxshibboleth import idp, messages, sessions
from oxswarm.oxshibboleth.engine import Engine
from oxswarm.oxshibboleth.messages import MessageRefused
from oxswarm.oxshibboleth.release import nameid_value, person_attributes, released
from oxswarm.oxshibboleth.trust import SpMetadata

log = logging.getLogger(__name__)
STATE_KIND: Final = "saml-sso"
SEEN_KIND: Final = "saml-request-id"
STATE_TTL: Final = 600
MAX_RELAY_STATE: Final = 1024
CALLBACK_PATH: Final = "/idp/auth/callback"
COOKIE_PREFIX: Final = "oxidp_"
HEADERS: Final = {"Cache-Control": "no-store", "Pragma": "no-cache",
                  "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"}


@dataclass(frozen=True)
class IdpDeps:
    engine: Engine
    rp: RelyingParty
    directory: Directory
    tree: Tree
    cache: AsyncCache
    nameid_key: bytes
    secure: bool  # cookies Secure (https public URL)


def error_page(status: int, message: str) -> HTMLResponse:
    body = ("<!doctype html><html lang=en><meta charset=utf-8><title>Sign-in failed</title>"
            f"<h1>Sign-in failed</h1><p id=error>{html.escape(message)}</p></html>")
    return HTMLResponse(body, status, headers={
        **HEADERS, "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'"})


def post_form(acs: str, response_b64: str, relay_state: str | None, *,
              field: str = "SAMLResponse", frame_ancestors: str = "'none'") -> HTMLResponse:
    """HTTP-POST binding (Bindings 3.5.4): a form the browser submits to the ACS (or an
    SLO endpoint); ``frame_ancestors``: who may frame it (single logout in oxAuth's
    front-channel logout frame)."""
    nonce = secrets.token_urlsafe(16)
    relay = (f'<input type="hidden" name="RelayState" value="{html.escape(relay_state)}">'
             if relay_state else "")
    body = (
        "<!doctype html><html lang=en><meta charset=utf-8><title>Signing in</title>"
        f'<body><form method="post" action="{html.escape(acs)}">'
        f'<input type="hidden" name="{field}" value="{html.escape(response_b64)}">'
        f'{relay}<noscript><button type="submit">Continue</button></noscript></form>'
        f'<script nonce="{nonce}">document.forms[0].submit()</script></body></html>'
    )
    origin = acs.split("/", 3)
    csp = (f"default-src 'none'; script-src 'nonce-{nonce}'; "
           f"form-action {'/'.join(origin[:3])}; frame-ancestors {frame_ancestors}")
    return HTMLResponse(body, headers={**framing(frame_ancestors), "Content-Security-Policy": csp})


def framing(frame_ancestors: str) -> dict[str, str]:
    """:data:`HEADERS`, without ``X-Frame-Options: DENY`` when a frame ancestor is allowed."""
    if frame_ancestors == "'none'":
        return dict(HEADERS)
    return {k: v for k, v in HEADERS.items() if k != "X-Frame-Options"}


def choose_acs(message: Any, sp: SpMetadata) -> str | None:
    """The ACS to answer at (SAML Core 3.4.1): the request's URL or index if the SP's
    metadata lists it for HTTP-POST, else the metadata's default; None refuses."""
    url = message.assertion_consumer_service_url
    index = message.assertion_consumer_service_index
    binding = message.protocol_binding
    if binding and binding != BINDING_HTTP_POST:
        return None
    if url:
        return url if url in sp.post_acs() else None
    if index is not None:
        try:
            return sp.acs_by_index(int(index))
        except ValueError:
            return None
    return sp.default_acs()


def _b64(xml: str) -> str:
    return base64.b64encode(xml.encode()).decode()


def _cookie(state: str) -> str:
    return COOKIE_PREFIX + hashlib.sha256(state.encode()).hexdigest()[:24]


async def _saml_error(deps: IdpDeps, record: dict[str, Any], code: str,
                      text: str) -> HTMLResponse:
    """A non-Success Response, signed, to the request's ACS."""
    snapshot = await deps.engine.current()
    server = snapshot.plain
    log.warning("SSO for %s refused: %s (%s)", record["sp"], text, code.rsplit(":", 1)[-1])

    def build() -> str:
        response = server.create_error_response(
            record["request_id"], record["acs"], (code, text), sign=True)
        return str(response)

    xml = await asyncio.to_thread(build)
    return post_form(record["acs"], _b64(xml), record.get("relay_state"))


async def handle_sso(deps: IdpDeps, request: Request, binding: str) -> Response:
    """An AuthnRequest in: checked, kept in the cache, the browser sent to oxAuth."""
    if binding == BINDING_HTTP_REDIRECT:
        params: Any = request.query_params
    else:
        params = await request.form()
    saml_request = params.get("SAMLRequest")
    relay_state = params.get("RelayState")
    if not isinstance(saml_request, str) or not saml_request:
        return error_page(400, "SAMLRequest: missing")
    if relay_state is not None and (not isinstance(relay_state, str)
                                    or len(relay_state) > MAX_RELAY_STATE):
        return error_page(400, f"RelayState: longer than {MAX_RELAY_STATE} characters")
    issuer = "(unknown)"
    try:
        xml = (messages.decode_redirect(saml_request) if binding == BINDING_HTTP_REDIRECT
               else messages.decode_post(saml_request))
        issuer = messages.issuer_of(xml)
        snapshot, found = await deps.engine.lookup(issuer)
        if found is None:
            raise MessageRefused(f"Issuer: {issuer} is not a trusted service provider")
        _trust, sp = found
        server = snapshot.server_for(sp)
        try:
            parsed = await asyncio.to_thread(
                server.parse_authn_request, saml_request, binding, relay_state=relay_state,
                sigalg=params.get("SigAlg"), signature=params.get("Signature"))
        except Exception as exc:  # noqa: BLE001  (pysaml2's many refusals, all the SP's fault)
            reason = "signature: missing or not valid" if sp.authn_requests_signed else (
                f"not a valid AuthnRequest ({type(exc).__name__})")
            raise MessageRefused(f"SAMLRequest: {reason}") from None
    except MessageRefused as exc:
        log.warning("SSO request from %s refused: %s", issuer, exc.reason)
        return error_page(400, exc.reason)
    except OxSwarmError as exc:
        log.warning("SSO request from %s: %s", issuer, exc)
        return error_page(503, "the identity provider cannot serve now; try again")
    message = parsed.message
    acs = choose_acs(message, sp)
    if acs is None:
        log.warning("SSO request from %s refused: AssertionConsumerServiceURL not in its "
                    "metadata", issuer)
        return error_page(400, "AssertionConsumerServiceURL: not one of the service "
                               "provider's metadata (HTTP-POST)")
    record: dict[str, Any] = {
        "sp": issuer, "request_id": message.id, "acs": acs, "relay_state": relay_state,
        "force": str(message.force_authn).lower() in ("true", "1"),
        "passive": str(message.is_passive).lower() in ("true", "1"),
        "nameid_policy": (message.name_id_policy.format
                          if message.name_id_policy is not None else None),
        "at": int(time.time()),
    }
    return await _start(deps, record, message)


async def _start(deps: IdpDeps, record: dict[str, Any], message: Any) -> Response:
    """Fresh and never seen: keep the request's state, send the browser to oxAuth."""
    try:
        messages.check_fresh(message.issue_instant)
    except MessageRefused as exc:
        return await _saml_error(deps, record, samlp.STATUS_REQUEST_DENIED, exc.reason)
    seen = hashlib.sha256(f"{record['sp']}\x00{message.id}".encode()).hexdigest()
    if not await deps.cache.add(SEEN_KIND, seen, "1", STATE_TTL):
        return await _saml_error(deps, record, samlp.STATUS_REQUEST_DENIED,
                                 "ID: this AuthnRequest was already used (replay)")
    return await _to_oxauth(deps, record)


async def handle_unsolicited(deps: IdpDeps, request: Request) -> Response:
    """IdP-initiated SSO (Shibboleth's ``Unsolicited/SSO?providerId=...&target=...``): a
    Response without InResponseTo to the SP's default HTTP-POST ACS (or ``shire``, when it
    is one of the metadata's)."""
    params = request.query_params
    provider = params.get("providerId") or ""
    target = params.get("target")
    if not provider:
        return error_page(400, "providerId: missing")
    if target is not None and len(target) > MAX_RELAY_STATE:
        return error_page(400, f"target: longer than {MAX_RELAY_STATE} characters")
    try:
        _snapshot, found = await deps.engine.lookup(provider)
    except OxSwarmError as exc:
        log.warning("unsolicited SSO for %s: %s", provider, exc)
        return error_page(503, "the identity provider cannot serve now; try again")
    if found is None:
        log.warning("unsolicited SSO refused: %s is not a trusted service provider", provider)
        return error_page(400, f"providerId: {provider} is not a trusted service provider")
    _trust, sp = found
    shire = params.get("shire")
    acs = shire if shire in sp.post_acs() else (None if shire else sp.default_acs())
    if acs is None:
        log.warning("unsolicited SSO for %s refused: shire not in its metadata", provider)
        return error_page(400, "shire: not one of the service provider's metadata (HTTP-POST)")
    record: dict[str, Any] = {
        "sp": provider, "request_id": None, "acs": acs, "relay_state": target,
        "force": False, "passive": False, "nameid_policy": None, "at": int(time.time()),
    }
    return await _to_oxauth(deps, record)


async def _to_oxauth(deps: IdpDeps, record: dict[str, Any]) -> Response:
    """Keep the sign-in's state in the shared cache and send the browser to oxAuth."""
    state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
    record.update(nonce=nonce, verifier=verifier)
    await deps.cache.set_json(STATE_KIND, state, record, STATE_TTL)
    prompt = "none" if record["passive"] else ("login" if record["force"] else None)
    try:
        target = await deps.rp.authorize_url(state, nonce, verifier, prompt)
    except OidcError as exc:
        log.warning("SSO for %s: %s", record["sp"], exc)
        return error_page(503, "the sign-in service cannot be reached; try again")
    response = RedirectResponse(target, status_code=303, headers=HEADERS)
    response.set_cookie(_cookie(state), "1", max_age=STATE_TTL, path="/idp/auth",
                        httponly=True, secure=deps.secure, samesite="lax")
    return response


async def handle_callback(deps: IdpDeps, request: Request) -> Response:
    """Back from oxAuth: the person's Response (or a non-Success one) to the SP's ACS."""
    params = request.query_params
    state = params.get("state") or ""
    bound = bool(state) and request.cookies.get(_cookie(state)) == "1"
    try:
        record = await deps.cache.take_json(STATE_KIND, state) if bound else None
    except OxSwarmError:
        record = None
    if not isinstance(record, dict):
        return error_page(400, "state: unknown or expired; start again from the application")
    if params.get("error"):
        error = params.get("error", "")
        if record["passive"] and error in PASSIVE_ERRORS:
            answer = await _saml_error(deps, record, samlp.STATUS_NO_PASSIVE,
                                       "nobody is signed in")
        else:
            answer = await _saml_error(deps, record, samlp.STATUS_AUTHN_FAILED,
                                       f"sign-in: {error}")
        return _finish(deps, answer, state)
    code = params.get("code")
    if not code:
        return error_page(400, "code: missing")
    try:
        claims, id_token = await deps.rp.exchange(code, str(record["verifier"]),
                                                  str(record["nonce"]))
    except OidcError as exc:  # the detail (oxAuth's back-channel address) only in the log
        log.warning("SSO for %s: %s", record["sp"], exc)
        return error_page(exc.status, "the sign-in could not be completed; start again from "
                                      "the application")
    if record["force"] and int(claims.get("auth_time", 0)) < int(record["at"]) - 1:
        answer = await _saml_error(deps, record, samlp.STATUS_AUTHN_FAILED,
                                   "ForceAuthn: no fresh sign-in")
        return _finish(deps, answer, state)
    response = _finish(deps, await _answer(deps, record, claims, id_token), state)
    # the browser's oxAuth session, for IdP-initiated and front-channel logout
    handle = secrets.token_urlsafe(32)
    await sessions.keep_browser(deps.cache, handle, claims.get("sid"), id_token)
    response.set_cookie(sessions.BROWSER_COOKIE, handle, max_age=sessions.SESSION_TTL,
                        path=sessions.COOKIE_PATH, httponly=True, secure=deps.secure,
                        samesite="lax")
    return response


def _finish(deps: IdpDeps, response: HTMLResponse, state: str) -> HTMLResponse:
    response.delete_cookie(_cookie(state), path="/idp/auth", httponly=True,
                           secure=deps.secure, samesite="lax")
    return response


def sso_routes(deps: IdpDeps) -> list[Route]:
    async def metadata(_request: Request) -> Response:
        return Response(deps.engine.metadata, media_type="application/samlmetadata+xml")

    async def sso_redirect(request: Request) -> Response:
        return await handle_sso(deps, request, BINDING_HTTP_REDIRECT)

    async def sso_post(request: Request) -> Response:
        return await handle_sso(deps, request, BINDING_HTTP_POST)

    async def callback(request: Request) -> Response:
        return await handle_callback(deps, request)

    async def unsolicited(request: Request) -> Response:
        return await handle_unsolicited(deps, request)

    return [
        Route(idp.ENTITY_PATH, metadata, methods=["GET"]),
        Route(idp.SSO_REDIRECT_PATH, sso_redirect, methods=["GET"]),
        Route(idp.SSO_POST_PATH, sso_post, methods=["POST"]),
        Route(idp.UNSOLICITED_PATH, unsolicited, methods=["GET"]),
        Route(CALLBACK_PATH, callback, methods=["GET"]),
    ]


async def _answer(deps: IdpDeps, record: dict[str, Any], claims: dict[str, Any],
                  id_token: str) -> HTMLResponse:
    """The signed (and, when the trust asks, encrypted) Response for the signed-in person."""
    snapshot, found = await deps.engine.lookup(record["sp"])
    if found is None:
        return error_page(403, "the service provider is no longer trusted")
    trust, _sp = found
    inum = str(claims["sub"])
    try:
        attrs = await asyncio.to_thread(person_attributes, deps.directory, deps.tree, inum)
    except OxSwarmError as exc:
        log.warning("SSO for %s: person %s: %s", record["sp"], inum, exc)
        return await _saml_error(deps, record, samlp.STATUS_AUTHN_FAILED, "unknown person")
    fmt = idp.NAMEID_FORMATS[trust.nameid_format]
    asked = record.get("nameid_policy")
    if asked and asked not in (fmt, idp.NAMEID_FORMATS["unspecified"]):
        return await _saml_error(deps, record, samlp.STATUS_INVALID_NAMEID_POLICY,
                                 f"NameIDPolicy: this SP's NameID format is {trust.nameid_format}")
    value = nameid_value(trust.nameid_format, deps.nameid_key, trust.entity_id, inum, attrs)
    if value is None:
        return await _saml_error(deps, record, samlp.STATUS_INVALID_NAMEID_POLICY,
                                 f"the person has no value for {trust.nameid_format}")
    name_id = NameID(format=fmt, text=value, sp_name_qualifier=trust.entity_id,
                     name_qualifier=snapshot.plain.config.entityid)
    identity = released(attrs, trust.release)
    authn = {"class_ref": AUTHN_PASSWORD_PROTECTED,
             "authn_instant": int(claims.get("auth_time") or time.time())}

    session_index = "_" + secrets.token_hex(16)

    def build() -> str:
        idp.SESSION_INDEX.set(session_index)  # this thread's context only
        response = snapshot.plain.create_authn_response(
            identity, record["request_id"], record["acs"], trust.entity_id, name_id=name_id,
            authn=authn, sign_response=True, sign_assertion=trust.sign_assertions,
            encrypt_assertion=trust.encrypt_assertions, encrypt_assertion_self_contained=True,
            best_effort=True,
        )
        return str(response)

    try:
        xml = await asyncio.to_thread(build)
    except OxSwarmError as exc:  # e.g. encryption asked, no certificate: never in clear
        log.warning("SSO for %s: %s", trust.entity_id, exc)
        return await _saml_error(deps, record, samlp.STATUS_AUTHN_FAILED,
                                 "the identity provider cannot answer this service provider")
    # for single logout: this SP's NameID leads to the oxAuth session and the reverse. Best
    # effort: a cache lost with its node must not fail the sign-in; that SP's LogoutRequest
    # then finds no session and is answered at once (see SLO)
    try:
        await sessions.remember(deps.cache, claims.get("sid"), id_token, sessions.participant(
            trust.entity_id, value, fmt, session_index))
    except CacheUnavailable as exc:
        log.warning("SSO for %s: the session for single logout not kept: %s",
                    trust.entity_id, exc)
    log.info("SSO: %s signed in to %s", inum, trust.entity_id)
    return post_form(record["acs"], _b64(xml), record.get("relay_state"))

