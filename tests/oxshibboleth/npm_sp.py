"""Independent SAML service providers from npm (``@node-saml/node-saml``, ``samlify``) for the
IdP's tests: ``npm_sp.mjs`` in a Node process, driven over stdin/stdout (one JSON object a
line). The packages (``npm-sp/package.json``, exact versions) are installed on first use
into ``$OXSWARM_SAML_SP_HOME`` (default ``~/.cache/oxswarm-saml-sp``), outside the project,
with the machine's own npm configuration."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from oxswarm.crypto import pki

HERE = Path(__file__).parent


def modules_home() -> Path:
    """The folder holding ``node_modules`` with the pinned packages (installed if needed)."""
    home = Path(os.environ.get("OXSWARM_SAML_SP_HOME")
                or Path.home() / ".cache" / "oxswarm-saml-sp")
    home.mkdir(parents=True, exist_ok=True)
    wanted = (HERE / "npm-sp" / "package.json").read_text()
    installed = home / "package.json"
    if not installed.exists() or installed.read_text() != wanted or not (
            home / "node_modules" / "samlify").is_dir():
        installed.write_text(wanted)
        npm = shutil.which("npm")
        assert npm, "npm is not installed (Debian packages nodejs npm; scripts/install adds them)"
        subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(home)],
                       check=True, capture_output=True, timeout=600)
    return home


class NpmSp:
    """One SP: a Node process with its own key pair."""

    def __init__(self, lib: str, idp_metadata: str, idp_entity_id: str, *,
                 nameid_format: str, encrypted: bool = False) -> None:
        name = uuid.uuid4().hex[:10]
        self.lib = lib
        self.entity_id = f"https://sp-{name}.test/{lib}"
        self.acs = self.entity_id + "/acs"
        self.slo = self.entity_id + "/slo"
        pair = pki.self_signed_cert("sp.test")
        node = shutil.which("node")
        assert node, "node is not installed (Debian package nodejs)"
        self.proc = subprocess.Popen(
            [node, str(HERE / "npm_sp.mjs"), str(modules_home() / "node_modules")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        answer = self.call({
            "op": "init", "lib": lib, "entity_id": self.entity_id, "acs": self.acs,
            "slo": self.slo, "idp_metadata": idp_metadata, "idp_entity_id": idp_entity_id,
            "key": pair.key_pem, "cert": pair.cert_pem, "nameid_format": nameid_format,
            "encrypted": encrypted,
        })
        self.metadata = str(answer["metadata"])

    def call(self, message: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(message) + "\n")
        line = self.proc.stdout.readline()
        assert line, f"the {self.lib} SP stopped"
        answer: dict[str, Any] = json.loads(line)
        return answer

    def ok(self, message: dict[str, Any]) -> dict[str, Any]:
        answer = self.call(message)
        assert "error" not in answer, f"{self.lib}: {answer['error']}"
        return answer

    def at_slo(self, op: str, location: str) -> dict[str, Any]:
        """Hand the SP a message the IdP sent to its SLO endpoint (HTTP-Redirect)."""
        raw = urlsplit(location).query
        query = {k: v[0] for k, v in parse_qs(raw).items()}
        return self.call({"op": op, "query": query, "raw": raw})

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
