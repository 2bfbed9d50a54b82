"""Telling every client of a session that it ended.

* Front-channel (Front-Channel Logout 1.0 section 4): one ``iframe`` URL per client that
  registered a ``frontchannel_logout_uri``, rendered in the logged-out page.
* Back-channel (Back-Channel Logout 1.0 section 2.5): a signed Logout Token POSTed to each
  client's ``backchannel_logout_uri``, all at once, through the guarded
  :class:`~oxswarm.oxauth.adapters.outbound.Outbound` (checked addresses: a URI that
  resolves to loopback, a private network or the cluster itself is not sent to; https;
  5 s; no redirects). It runs after the response is sent; a refusal or failure is logged
  (client id and the reason, never the token) and never blocks or fails the logout.
"""

from __future__ import annotations

import asyncio
import logging

from oxswarm.oauth import jose
from oxswarm.oauth.models import ClientMetadata
from oxswarm.oauth.oidc import backchannel_logout, frontchannel_logout
from oxswarm.oauth.oidc.core.pairwise import subject_for
from oxswarm.oxauth.adapters.outbound import FetchError, Outbound
from oxswarm.oxauth.model import OxAuthDeps, Session

log = logging.getLogger(__name__)


async def session_clients(deps: OxAuthDeps, session: Session) -> list[ClientMetadata]:
    found = []
    for client_id in session.clients:
        client = await deps.clients.get(client_id)
        if client is not None:
            found.append(client)
    return found


def frontchannel_urls(
    deps: OxAuthDeps, session: Session, clients: list[ClientMetadata]
) -> list[str]:
    urls = []
    for client in clients:
        url = frontchannel_logout.logout_iframe_url(
            client, issuer=deps.config.issuer, sid=session.sid
        )
        if url:
            urls.append(url)
    return urls


def logout_token(deps: OxAuthDeps, session: Session, client: ClientMetadata, now: int) -> str:
    sub = subject_for(client, session.sub, deps.config.pairwise_key, deps.config.pairwise_salt)
    claims = backchannel_logout.logout_token_claims(
        client, issuer=deps.config.issuer, sub=sub, sid=session.sid, now=now
    )
    alg = client.id_token_signed_response_alg or deps.config.default_signing_alg
    try:
        key = deps.keys.signing_key(alg)
    except KeyError:
        alg = deps.config.default_signing_alg
        key = deps.keys.signing_key(alg)
    return jose.sign(claims, key, alg, typ=backchannel_logout.TYP)


async def _post(http: Outbound, client: ClientMetadata, token: str) -> bool:
    assert client.backchannel_logout_uri is not None
    try:
        status, _ = await http.request(
            "POST", client.backchannel_logout_uri, data={"logout_token": token}
        )
    except FetchError as exc:
        log.warning("back-channel logout to client %s not sent or failed: %s",
                    client.client_id, exc)  # fmt: skip
        return False
    if status != 200:
        log.warning("back-channel logout to client %s: HTTP %d", client.client_id, status)
        return False
    return True


async def backchannel(
    deps: OxAuthDeps,
    http: Outbound,
    session: Session,
    clients: list[ClientMetadata],
    now: int,
) -> list[bool]:
    """POST a Logout Token to every client with a ``backchannel_logout_uri``."""
    jobs = []
    for client in clients:
        if not client.backchannel_logout_uri:
            continue
        try:
            token = logout_token(deps, session, client, now)
        except (KeyError, ValueError) as exc:
            log.warning("no logout token for client %s: %s", client.client_id, exc)
            continue
        jobs.append(_post(http, client, token))
    return list(await asyncio.gather(*jobs)) if jobs else []
