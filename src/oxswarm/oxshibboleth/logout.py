"""Single logout's fan-out (SAML 2.0 Profiles 4.4.3: the IdP sends a LogoutRequest to
each other session participant) and IdP-initiated logout (Shibboleth's ``/idp/profile/Logout``).

A *logout run* is kept in the shared cache (``saml-logout``, 10 minutes, under a random
id that is also the RelayState of every LogoutRequest it sends): the participants still
to log out, the one being logged out (its SP and the request's ID), the results, and how
to end: a LogoutResponse to the SP that asked (SP-initiated), a page (IdP-initiated) or
an empty page inside oxAuth's front-channel logout frame (an OIDC logout). The browser goes
through each participant's SingleLogoutService in turn, front channel (HTTP-Redirect,
signed over the query string, or HTTP-POST, signed in the XML; the SP's metadata order),
and the SP's LogoutResponse comes back to ``/idp/profile/SAML2/{Redirect,POST}/SLO``,
must be signed by that SP (Profiles 4.4.3.4), answer the request sent (``InResponseTo``)
and come from the SP asked; anything else is recorded as that SP's failure and the run
goes on. A participant without a SingleLogoutService is recorded as failed. The SP that
asked gets ``Success``, or ``Success`` with the second-level ``PartialLogout`` when any
participant failed (Core 3.7.3.2).
"""

from __future__ import annotations

import asyncio
import base64
import html
import logging
import secrets
from typing import Any, Final
from urllib.parse import urlencode, urlsplit

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, samlp
from saml2.saml import NameID
from saml2.sigver import verify_redirect_signature
from saml2.xmldsig import SIG_RSA_SHA256
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from oxswarm.errors import OxSwarmError
from oxswarm.oxauth.relying_party import OidcError
from oxswarm.oxshibboleth import messages, sessions
from oxswarm.oxshibboleth.messages import MessageRefused
from oxswarm.oxshibboleth.sso import IdpDeps, error_page, framing, post_form

log = logging.getLogger(__name__)
LOGOUT_KIND: Final = "saml-logout"
RUN_TTL: Final = 600
SIGNED_OUT_PATH: Final = "/idp/auth/signed-out"
LOGOUT_PATH: Final = "/idp/profile/Logout"
FRONTCHANNEL_PATH: Final = "/idp/profile/Logout/frontchannel"
CONTINUE_PATH: Final = "/idp/profile/Logout/continue"
USER_REASON: Final = "urn:oasis:names:tc:SAML:2.0:logout:user"
_DS: Final = "{http://www.w3.org/2000/09/xmldsig#}Signature"


def _b64(xml: str) -> str:
    return base64.b64encode(xml.encode()).decode()


def new_run(participants: list[dict[str, str]], *, answer: dict[str, Any] | None = None,
            frame: str | None = None) -> dict[str, Any]:
    return {"pending": participants, "current": None, "results": [], "answer": answer,
            "frame": frame}


async def save(deps: IdpDeps, run: dict[str, Any], run_id: str | None = None) -> str:
    run_id = run_id or secrets.token_urlsafe(32)
    await deps.cache.set_json(LOGOUT_KIND, run_id, run, RUN_TTL)
    return run_id


def logout_response(server: Any, message: Any, partial: bool = False) -> dict[str, str] | None:
    """The LogoutResponse and where it goes, or None without an SLO endpoint in the SP's
    metadata. HTTP-POST preferred (signed in the XML); HTTP-Redirect is signed over the
    query string when delivered (Bindings 3.4.4.1)."""
    status = None
    if partial:
        status = samlp.Status(status_code=samlp.StatusCode(
            value=samlp.STATUS_SUCCESS,
            status_code=samlp.StatusCode(value=samlp.STATUS_PARTIAL_LOGOUT)))
    for binding in (BINDING_HTTP_POST, BINDING_HTTP_REDIRECT):
        try:
            server.pick_binding("single_logout_service", [binding], "spsso",
                                entity_id=message.issuer.text.strip())
        except Exception:  # noqa: BLE001, S112  (pysaml2: no endpoint for that binding)
            continue
        response = server.create_logout_response(
            message, [binding], status=status, sign=binding == BINDING_HTTP_POST)
        return {"xml": str(response), "destination": str(response.destination),
                "binding": binding}
    return None


async def deliver(deps: IdpDeps, record: dict[str, Any], *, field: str = "SAMLResponse",
                  frame: str | None = None) -> Response:
    """A logout message to an SP's SingleLogoutService (``field``: SAMLRequest for ours)."""
    relay = record.get("relay_state")
    ancestors = frame or "'none'"
    if record["binding"] == BINDING_HTTP_POST:
        return post_form(record["destination"], _b64(record["xml"]), relay, field=field,
                         frame_ancestors=ancestors)
    snapshot = await deps.engine.current()
    info = await asyncio.to_thread(
        snapshot.plain.apply_binding, BINDING_HTTP_REDIRECT, record["xml"],
        record["destination"], relay or "", response=field == "SAMLResponse", sign=True,
        sigalg=SIG_RSA_SHA256)
    location = dict(info["headers"])["Location"]
    return RedirectResponse(location, status_code=303, headers=framing(ancestors))


def _slo_endpoint(server: Any, sp: str) -> tuple[str, str] | None:
    """The SP's SingleLogoutService (binding, URL) from its metadata: HTTP-Redirect first."""
    for binding in (BINDING_HTTP_REDIRECT, BINDING_HTTP_POST):
        try:
            _, destination = server.pick_binding("single_logout_service", [binding], "spsso",
                                                 entity_id=sp)
        except Exception:  # noqa: BLE001, S112  (pysaml2: no endpoint for that binding)
            continue
        return binding, str(destination)
    return None


def _logout_request(server: Any, who: dict[str, str]) -> dict[str, str] | None:
    """A signed LogoutRequest to a participant, or None without an SLO endpoint."""
    endpoint = _slo_endpoint(server, who["sp"])
    if endpoint is None:
        return None
    binding, destination = endpoint
    name_id = NameID(format=who["format"], text=who["name_id"], sp_name_qualifier=who["sp"],
                     name_qualifier=server.config.entityid)
    request_id, request = server.create_logout_request(
        destination, who["sp"], name_id=name_id, reason=USER_REASON,
        session_indexes=[who["session_index"]], sign=binding == BINDING_HTTP_POST)
    return {"xml": str(request), "destination": destination, "binding": binding,
            "id": str(request_id)}


async def step(deps: IdpDeps, run_id: str, run: dict[str, Any]) -> Response:
    """The next participant's LogoutRequest, or the run's end."""
    snapshot = await deps.engine.current()
    while run["pending"]:
        who = run["pending"].pop(0)
        await deps.cache.delete(sessions.SESSION_KIND,
                                sessions.session_key(who["sp"], who["name_id"]))
        _snap, found = await deps.engine.lookup(who["sp"])
        request = (await asyncio.to_thread(_logout_request, snapshot.plain, who)
                   if found is not None else None)
        if request is None:
            log.warning("SLO: %s has no SingleLogoutService (or is no longer trusted)",
                        who["sp"])
            run["results"].append({"sp": who["sp"], "ok": False,
                                   "reason": "no SingleLogoutService"})
            continue
        run["current"] = {"sp": who["sp"], "id": request["id"]}
        await save(deps, run, run_id)
        log.info("SLO: sending a LogoutRequest to %s", who["sp"])
        return await deliver(deps, {**request, "relay_state": run_id}, field="SAMLRequest",
                             frame=run.get("frame"))
    return await _finish(deps, run_id, run)


async def _finish(deps: IdpDeps, run_id: str, run: dict[str, Any]) -> Response:
    await deps.cache.delete(LOGOUT_KIND, run_id)
    results: list[dict[str, Any]] = run["results"]
    partial = not all(r["ok"] for r in results)
    answer = run.get("answer")
    if answer:  # SP-initiated: the LogoutResponse to the SP that asked
        snapshot = await deps.engine.current()
        message = samlp.logout_request_from_string(answer["request_xml"])
        record = await asyncio.to_thread(logout_response, snapshot.plain, message, partial)
        if record is None:
            return error_page(400, "the service provider's metadata has no SingleLogoutService")
        log.info("SLO for %s: answering (%d other participants, %s)", answer["sp"],
                 len(results), "partial" if partial else "all signed out")
        return await deliver(deps, {**record, "relay_state": answer.get("relay_state")})
    items = "".join(
        f'<li data-sp="{html.escape(r["sp"])}" data-ok="{str(r["ok"]).lower()}">'
        f'{html.escape(r["sp"])}: {"signed out" if r["ok"] else html.escape(r["reason"])}</li>'
        for r in results)
    title = "You are signed out" if not partial else "You may still be signed in somewhere"
    return page(title, f"<ul id=results>{items}</ul>", frame=run.get("frame"))


def page(title: str, body: str, status: int = 200, frame: str | None = None,
         frame_src: str | None = None) -> HTMLResponse:
    """A page of the IdP's; ``frame``: its allowed ancestors, ``frame_src``: the origins
    its own iframes may load (the front-channel chain)."""
    ancestors = frame or "'none'"
    text = (f"<!doctype html><html lang=en><meta charset=utf-8><title>{html.escape(title)}"
            f"</title><h1>{html.escape(title)}</h1>{body}</html>")
    csp = f"default-src 'none'; frame-ancestors {ancestors}"
    if frame_src:
        csp += f"; frame-src {frame_src}"
    return HTMLResponse(text, status, headers={**framing(ancestors),
                                               "Content-Security-Policy": csp})


def _slo_origins(server: Any, participants: list[dict[str, str]]) -> list[str]:
    """The origins of the participants' SingleLogoutServices (the chain frame's frame-src)."""
    origins: set[str] = set()
    for who in participants:
        endpoint = _slo_endpoint(server, who["sp"])
        if endpoint is not None:
            parts = urlsplit(endpoint[1])
            if parts.scheme in ("http", "https") and parts.netloc:
                origins.add(f"{parts.scheme}://{parts.netloc}")
    return sorted(origins)


def _verify_response(server: Any, binding: str, params: Any, issuer: str,
                     xml: bytes) -> tuple[str, bool]:
    """(InResponseTo, Success?) of an SP's LogoutResponse whose signature pysaml2 checked
    on xmlsec1 (HTTP-POST: enveloped; HTTP-Redirect: over the query string)."""
    if binding == BINDING_HTTP_REDIRECT:
        if not params.get("Signature") or not params.get("SigAlg"):
            raise MessageRefused("SAMLResponse: not signed")
        signed = {k: params[k] for k in ("SAMLResponse", "RelayState", "SigAlg", "Signature")
                  if params.get(k) is not None}
        certs = server.metadata.certs(issuer, "any", "signing")
        try:
            good = any(verify_redirect_signature(signed, server.sec.sec_backend, cert)
                       for _name, cert in certs)
        except Exception:  # noqa: BLE001  (pysaml2: unknown SigAlg, bad base64)
            good = False
        if not good:
            raise MessageRefused("SAMLResponse: signature not valid")
    elif messages.root_of(xml).find(_DS) is None:
        raise MessageRefused("SAMLResponse: not signed")
    try:  # HTTP-POST: a present signature is always checked (pysaml2 forces it)
        parsed = server.parse_logout_request_response(params["SAMLResponse"], binding)
    except Exception:  # noqa: BLE001  (pysaml2's refusals: the SP's fault)
        raise MessageRefused("SAMLResponse: not a valid LogoutResponse") from None
    if parsed is None:
        raise MessageRefused("SAMLResponse: not a valid LogoutResponse")
    return str(parsed.response.in_response_to or ""), bool(parsed.status_ok())


async def handle_sp_response(deps: IdpDeps, params: Any, binding: str) -> Response:
    """A participant's LogoutResponse: recorded, then the next participant."""
    run_id = params.get("RelayState") or ""
    run = (await deps.cache.get_json(LOGOUT_KIND, run_id)
           if isinstance(run_id, str) and 0 < len(run_id) <= 128 else None)
    if not isinstance(run, dict) or not run.get("current"):
        return error_page(400, "RelayState: unknown or expired logout")
    current = run["current"]
    value = params.get("SAMLResponse")
    try:
        xml = (messages.decode_redirect(value) if binding == BINDING_HTTP_REDIRECT
               else messages.decode_post(value))
        issuer = messages.issuer_of(xml, "LogoutResponse")
        if issuer != current["sp"]:
            raise MessageRefused(f"Issuer: {issuer} is not the service provider asked")
        snapshot, found = await deps.engine.lookup(issuer)
        if found is None:
            raise MessageRefused(f"Issuer: {issuer} is not a trusted service provider")
        in_response_to, ok = await asyncio.to_thread(
            _verify_response, snapshot.plain, binding, params, issuer, xml)
        if in_response_to != current["id"]:
            raise MessageRefused("InResponseTo: not the LogoutRequest sent")
        result = {"sp": issuer, "ok": ok, "reason": "" if ok else "logout refused"}
    except MessageRefused as exc:
        log.warning("SLO: the LogoutResponse from %s refused: %s", current["sp"], exc.reason)
        result = {"sp": current["sp"], "ok": False, "reason": exc.reason}
    log.info("SLO: %s answered: %s", result["sp"], "signed out" if result["ok"] else
             result["reason"])
    run["results"].append(result)
    run["current"] = None
    return await step(deps, run_id, run)


async def handle_signed_out(deps: IdpDeps, request: Request) -> Response:
    """Back from oxAuth's end_session: the run's participants, then its end."""
    run_id = request.query_params.get("state") or ""
    try:
        run = await deps.cache.get_json(LOGOUT_KIND, run_id) if run_id else None
    except OxSwarmError:
        run = None
    if not isinstance(run, dict):
        return error_page(400, "state: unknown or expired; you are signed out of this server")
    return await step(deps, run_id, run)


async def end_session_then_step(deps: IdpDeps, run_id: str, run: dict[str, Any],
                                 id_token: str) -> Response:
    try:
        target = await deps.rp.end_session_url(
            id_token, deps.engine.base_url + SIGNED_OUT_PATH, run_id)
    except OidcError as exc:
        log.warning("SLO: %s", exc)
        return error_page(503, "the sign-in service cannot be reached; try again")
    if target is None:
        return await step(deps, run_id, run)
    return RedirectResponse(target, status_code=303, headers=dict(framing("'none'")))


async def handle_idp_logout(deps: IdpDeps, request: Request) -> Response:
    """IdP-initiated logout: GET asks, POST (the form's token) ends the oxAuth session and
    logs out of every SP of the session."""
    handle = request.cookies.get(sessions.BROWSER_COOKIE) or ""
    known = await sessions.browser_session(deps.cache, handle)
    if known is None:
        return page("You have no session at this identity provider", "")
    if request.method == "GET":
        csrf = sessions.csrf_token(deps.nameid_key, handle)
        form = (f'<form method="post" action="{LOGOUT_PATH}"><input type="hidden" '
                f'name="csrf_token" value="{csrf}"><button type="submit" id="logout">'
                "Sign out of all applications</button></form>")
        return page("Sign out", form)
    token = (await request.form()).get("csrf_token")
    if not isinstance(token, str) or not sessions.csrf_ok(deps.nameid_key, handle, token):
        return error_page(403, "csrf_token: missing or not valid; start again")
    known = await sessions.browser_session(deps.cache, handle, take=True)
    if known is None:
        return page("You have no session at this identity provider", "")
    sid = known.get("sid")
    participants = await sessions.take_participants(deps.cache, sid)
    run = new_run(participants)
    run_id = await save(deps, run)
    log.info("IdP-initiated logout: %d participants", len(participants))
    response = await end_session_then_step(deps, run_id, run, str(known["id_token"]))
    response.delete_cookie(sessions.BROWSER_COOKIE, path=sessions.COOKIE_PATH, httponly=True,
                           secure=deps.secure, samesite="lax")
    return response


async def handle_frontchannel(deps: IdpDeps, request: Request) -> Response:
    """OIDC Front-Channel Logout 1.0 from oxAuth (``iss``, ``sid``): the SAML participants
    of that session are logged out inside oxAuth's logout frame. Only the browser holding
    that session (its ``oxidp_session`` cookie names the same ``sid``) starts the run."""
    iss, sid = request.query_params.get("iss", ""), request.query_params.get("sid", "")
    try:
        meta = await deps.rp.discovery()
    except OidcError as exc:
        log.warning("front-channel logout: %s", exc)
        return page("Sign-out could not reach the sign-in service", "", 503)
    end = str(meta.get("end_session_endpoint") or meta["authorization_endpoint"])
    frame = "/".join(end.split("/", 3)[:3])  # oxAuth's logged-out page, the frame's parent
    if urlsplit(frame).scheme not in ("http", "https"):
        frame = "'none'"
    if not secrets.compare_digest(iss.encode(), str(meta.get("issuer", "")).encode()):
        return page("Not signed out", "<p id=error>iss: not this identity provider's issuer",
                    400, frame)
    handle = request.cookies.get(sessions.BROWSER_COOKIE)
    known = await sessions.browser_session(deps.cache, handle)
    if known is None or not sid or not secrets.compare_digest(
            str(known.get("sid") or "").encode(), sid.encode()):
        return page("Signed out", "", frame=frame)  # nothing of this session here
    await sessions.browser_session(deps.cache, handle, take=True)
    participants = await sessions.take_participants(deps.cache, sid)
    if not participants:
        return page("Signed out", "", frame=frame)
    # The chain runs in an iframe of this page: oxAuth's page allows only the IdP's origin
    # as frame-src, so the SPs are reached from a frame whose parent is the IdP's page,
    # whose frame-src names their SingleLogoutService origins.
    run = new_run(participants, frame=f"'self' {frame}")
    run_id = await save(deps, run)
    snapshot = await deps.engine.current()
    origins = await asyncio.to_thread(_slo_origins, snapshot.plain, participants)
    log.info("front-channel logout from oxAuth: %d SAML participants", len(participants))
    chain = f"{CONTINUE_PATH}?{urlencode({'run': run_id})}"
    return page("Signing out", f'<iframe id=chain src="{html.escape(chain)}" '
                'title="Signing out of the SAML applications"></iframe>', frame=frame,
                frame_src=" ".join(["'self'", *origins]))


async def handle_continue(deps: IdpDeps, request: Request) -> Response:
    """The first step of a front-channel run, inside the frame page's iframe."""
    run_id = request.query_params.get("run") or ""
    run = await deps.cache.get_json(LOGOUT_KIND, run_id) if 0 < len(run_id) <= 128 else None
    if not isinstance(run, dict) or run.get("current") is not None or not run.get("frame"):
        return error_page(400, "run: unknown, expired or already going")
    return await step(deps, run_id, run)


def logout_routes(deps: IdpDeps) -> list[Route]:
    async def signed_out(request: Request) -> Response:
        return await handle_signed_out(deps, request)

    async def idp_logout(request: Request) -> Response:
        return await handle_idp_logout(deps, request)

    async def frontchannel(request: Request) -> Response:
        return await handle_frontchannel(deps, request)

    async def chain(request: Request) -> Response:
        return await handle_continue(deps, request)

    return [
        Route(SIGNED_OUT_PATH, signed_out, methods=["GET"]),
        Route(LOGOUT_PATH, idp_logout, methods=["GET", "POST"]),
        Route(FRONTCHANNEL_PATH, frontchannel, methods=["GET"]),
        Route(CONTINUE_PATH, chain, methods=["GET"]),
    ]
