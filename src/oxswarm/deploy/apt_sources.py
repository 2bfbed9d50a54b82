"""The host's Debian sources, for the image: debootstrap's mirror and the image's own apt.

The image is built from the archive this machine's apt already uses, never from a name
written in code: ``/etc/apt/sources.list`` and ``/etc/apt/sources.list.d/*.list`` (one-line
format) and ``*.sources`` (deb822, ``sources.list(5)``). Entries of the image's suite
family (``bookworm``, ``bookworm-updates``, ``bookworm-security``, ...) are kept verbatim
(options such as ``Signed-By`` or ``check-valid-until`` included); other suites, other
distributions' repositories, ``Enabled: no`` stanzas and comments are left out.
debootstrap takes the first URI that serves the suite itself.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from oxswarm.errors import DeployError

APT_DIR = Path("/etc/apt")
IMAGE_SOURCES = "etc/apt/sources.list.d/oxswarm-host.sources"
IMAGE_LIST = "etc/apt/sources.list"
_LINE = re.compile(r"^\s*(?P<type>deb|deb-src)\s+(?:\[(?P<opts>[^]]*)\]\s*)?"
                   r"(?P<uri>\S+)\s+(?P<suite>\S+)(?P<rest>.*)$")


def _field(stanza: list[str], name: str) -> str | None:
    for line in stanza:
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() == name.lower():
            return value.strip()
    return None


@dataclass(frozen=True)
class HostSources:
    """The kept entries: deb822 stanzas and one-line entries, as the host wrote them."""

    stanzas: tuple[str, ...]
    lines: tuple[str, ...]
    mirror: str
    keyrings: tuple[str, ...]

    def text(self) -> str:
        """What goes into the image (also the base image's cache key)."""
        return "\n".join(self.stanzas) + "\n--\n" + "\n".join(self.lines) + "\n"

    def install(self, rootfs: Path) -> None:
        """Replace debootstrap's sources in ``rootfs`` by these, with their keyrings."""
        (rootfs / IMAGE_LIST).write_text("".join(f"{line}\n" for line in self.lines))
        target = rootfs / IMAGE_SOURCES
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("\n".join(self.stanzas))
        for keyring in self.keyrings:
            inside = rootfs / keyring.lstrip("/")
            if not inside.exists() and Path(keyring).is_file():
                inside.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(keyring, inside)


def in_family(suite: str, family: str) -> bool:
    return suite == family or suite.startswith((f"{family}-", f"{family}/"))


def _stanzas(text: str) -> list[list[str]]:
    found: list[list[str]] = []
    current: list[str] = []
    for raw in [*text.splitlines(), ""]:
        if not raw.strip():
            if current:
                found.append(current)
            current = []
        elif not raw.lstrip().startswith("#"):
            current.append(raw.rstrip())
    return found


def _signed_by(value: str | None) -> list[str]:
    return [v for v in (value or "").split() if v.startswith("/")]


def host_sources(family: str, apt_dir: Path = APT_DIR) -> HostSources:
    """The host's entries for ``family``; :class:`DeployError` when there is none."""
    stanzas: list[str] = []
    lines: list[str] = []
    mirrors: list[str] = []
    keyrings: list[str] = []
    lists = [apt_dir / "sources.list", *sorted((apt_dir / "sources.list.d").glob("*.list"))]
    for file in lists:
        if not file.is_file():
            continue
        for line in file.read_text().splitlines():
            match = _LINE.match(line.split("#", 1)[0])
            if not match or not in_family(match["suite"], family):
                continue
            lines.append(line.strip())
            opts = dict(o.split("=", 1) for o in (match["opts"] or "").split() if "=" in o)
            keyrings += _signed_by(opts.get("signed-by"))
            if match["type"] == "deb" and match["suite"] == family:
                mirrors.append(match["uri"])
    for file in sorted((apt_dir / "sources.list.d").glob("*.sources")):
        for stanza in _stanzas(file.read_text()):
            suites = (_field(stanza, "Suites") or "").split()
            types = (_field(stanza, "Types") or "").split()
            if (_field(stanza, "Enabled") or "yes").lower() == "no" or "deb" not in types \
                    or not suites or not all(in_family(s, family) for s in suites):
                continue
            stanzas.append("\n".join(stanza) + "\n")
            keyrings += _signed_by(_field(stanza, "Signed-By"))
            if family in suites:
                mirrors += (_field(stanza, "URIs") or "").split()
    if not mirrors:
        raise DeployError(f"no Debian {family} source in {apt_dir}/sources.list or "
                          f"{apt_dir}/sources.list.d/: the image is built from the host's "
                          "own apt sources (add one, e.g. from your distribution's mirror list)")
    return HostSources(tuple(stanzas), tuple(lines), mirrors[0], tuple(dict.fromkeys(keyrings)))
