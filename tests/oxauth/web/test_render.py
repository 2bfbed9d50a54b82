"""The logged-out page's ``frame-src``: parsed origins only, no text of the client's."""

from __future__ import annotations

import pytest

from oxswarm.oxauth.web import render

INJECTIONS = [
    "https://rp.example; script-src *",
    "https://rp.example/fc; script-src *",
    "https://rp.example/fc 'unsafe-inline'",
    'https://rp.example/"x',
    "https://rp.example'/",
    "https://rp.example,evil.example/",
    "https://*.rp.example/",
    "https://rp.example\n/fc",
    "https://rp.example:99999/",
    "javascript:alert(1)",
    "data:text/html,hi",
    "http://rp.example/fc",  # http only on loopback during development
    "",
]


@pytest.mark.parametrize("url", INJECTIONS)
def test_anything_but_an_https_origin_is_skipped(url: str) -> None:
    kept, src = render.frame_sources([url], allow_http_loopback=True)
    assert kept == [] and src == "'none'"


def test_origins_are_rebuilt_from_their_parts() -> None:
    urls = [
        "https://RP.example:8443/fc?x=1&y='2'",
        "https://user:pw@rp.example/fc",
        "https://[::1]:4443/fc",
        "https://rp.example/other",
    ]
    kept, src = render.frame_sources(urls)
    assert kept == urls
    assert src == "https://[::1]:4443 https://rp.example https://rp.example:8443"


def test_http_loopback_only_in_development() -> None:
    url = "http://127.0.0.1:8080/fc"
    assert render.frame_sources([url]) == ([], "'none'")
    assert render.frame_sources([url], allow_http_loopback=True) == (
        [url],
        "http://127.0.0.1:8080",
    )


def test_the_page_csp_has_one_frame_src_and_no_injected_directive() -> None:
    _, src = render.frame_sources(["https://rp.example/fc", *INJECTIONS])
    csp = render.page("error.html", frame_src=src, error="e", description="d").headers[
        "content-security-policy"
    ]
    directives = [d.strip().split()[0] for d in csp.split(";")]
    assert directives.count("script-src") == 1 and directives.count("frame-src") == 1
    assert "frame-src https://rp.example;" in csp and "*" not in csp
