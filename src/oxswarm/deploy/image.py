"""The one image of every role: a debootstrap base (imported once, cached by content), then
``docker/Dockerfile`` on a builder dockerd in the root namespace, pushed to the lab registry.

Debian comes from the host's own apt sources (:mod:`oxswarm.deploy.apt_sources`): the
debootstrap mirror and, copied into the base, the sources apt uses inside the image.
Facts from ``lab.md``: build with a dockerd started with ``--bridge=none --iptables=false
--ip-forward=false --ip-masq=false`` and ``docker build --network host`` so build steps use
the host's own network; import the base once (each import is a new ID
and throws away the build cache). Python dependencies are built into a wheelhouse on the
host (``pip wheel``), cached by the hash of ``pyproject.toml``, so no index is contacted
inside the build.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from oxswarm.deploy.apt_sources import HostSources, host_sources
from oxswarm.deploy.docker import Docker
from oxswarm.deploy.lab.dockerd import Dockerd, DockerdConfig
from oxswarm.deploy.runner import Runner, SubprocessRunner, clean_env
from oxswarm.errors import DeployError

log = logging.getLogger(__name__)

BUILDER_ROOT = Path("/var/lib/oxswarm/builder")
CACHE_DIR = Path("/var/cache/oxswarm")
SUITE = "bookworm"
LAB_REGISTRIES = ("10.213.0.0/16",)
REPO_NAME = "oxswarm"
HOST_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
Step = Callable[[str], None]

# Applied to the debootstrap tree before import (like the official debian image).
DPKG_EXCLUDES = """path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/info/*
"""
APT_NO_RECOMMENDS = 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n'
APT_CLEAN = ('DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb '
             '/var/cache/apt/*.bin || true"; };\n')
POLICY_RC = "#!/bin/sh\nexit 101\n"
BASE_RECIPE = "|".join(["v1", SUITE, "minbase", DPKG_EXCLUDES, APT_NO_RECOMMENDS, APT_CLEAN])


def _quiet(_: str) -> None:
    return None


def project_root(start: Path | None = None) -> Path:
    """The source tree (``pyproject.toml`` + ``docker/Dockerfile``) this package came from."""
    here = (start or Path(__file__)).resolve()
    for folder in here.parents:
        if (folder / "pyproject.toml").is_file() and (folder / "docker" / "Dockerfile").is_file():
            return folder
    raise DeployError("the OxSwarm source tree (pyproject.toml, docker/Dockerfile) was not found; "
                      "run `oxswarm up` from an install of the repository")


def base_key(sources: str) -> str:
    """The base image's cache key: the recipe and the host's apt sources it was made from."""
    return hashlib.sha256(f"{BASE_RECIPE}|{sources}".encode()).hexdigest()[:12]


def tree_hash(root: Path) -> str:
    """Content hash of what goes into the image: sources, pyproject, Dockerfile."""
    digest = hashlib.sha256()
    files = [root / "pyproject.toml", root / "docker" / "Dockerfile"]
    files += sorted(p for p in (root / "src").rglob("*") if p.is_file()
                    and "__pycache__" not in p.parts and ".egg-info" not in str(p))
    for file in files:
        digest.update(str(file.relative_to(root)).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()[:12]


def slim_rootfs(rootfs: Path) -> None:
    """Make a debootstrap tree container-friendly (no docs, no daemons started by dpkg)."""
    (rootfs / "etc/dpkg/dpkg.cfg.d/docker-excludes").write_text(DPKG_EXCLUDES)
    (rootfs / "etc/apt/apt.conf.d/90oxswarm-norecommends").write_text(APT_NO_RECOMMENDS)
    (rootfs / "etc/apt/apt.conf.d/90oxswarm-clean").write_text(APT_CLEAN)
    for pattern in ("var/cache/apt/archives/*.deb", "var/cache/apt/*.bin", "var/lib/apt/lists/*",
                    "usr/share/doc/*", "usr/share/man/*", "usr/share/locale/*",
                    "usr/share/info/*"):
        for path in rootfs.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
    policy = rootfs / "usr/sbin/policy-rc.d"
    policy.write_text(POLICY_RC)
    policy.chmod(0o755)
    for name in ("etc/hostname", "etc/resolv.conf", "etc/machine-id"):
        (rootfs / name).unlink(missing_ok=True)
        (rootfs / name).write_text("")


@dataclass
class BuildResult:
    image: str
    built: bool
    seconds: float
    size_bytes: int


class ImageBuilder:
    """Builds the image on a root-namespace dockerd and pushes it to a registry."""

    def __init__(self, root: Path | None = None, runner: Runner | None = None,
                 builder_root: Path = BUILDER_ROOT, cache_dir: Path = CACHE_DIR) -> None:
        self.root = root or project_root()
        self.runner = runner or SubprocessRunner()
        self.cache_dir = cache_dir
        self.daemon = Dockerd(DockerdConfig(
            name="builder", root=builder_root, namespace=None, hostname=None,
            cgroup_parent="/oxs-builder", containerd_namespace="oxs-builder",
            insecure_registries=LAB_REGISTRIES, builder=True))
        self.docker = Docker(self.daemon.config.host, self.runner)

    def tag(self, registry: str | None) -> str:
        name = f"{registry}/{REPO_NAME}" if registry else f"local/{REPO_NAME}"
        return f"{name}:{tree_hash(self.root)}"

    # -- base -------------------------------------------------------------------
    def ensure_base(self, step: Step = _quiet) -> str:
        sources = host_sources(SUITE)
        key = base_key(sources.text())
        ref = f"oxswarm/base:{key}"
        if self.docker.image_exists(ref):
            return ref
        tarball = self.cache_dir / f"base-{key}.tar"
        if not tarball.is_file():
            step(f"debootstrap {SUITE} (minbase) from the host's apt source {sources.mirror}")
            self._debootstrap(sources, tarball)
        step(f"import base image {ref}")
        with tarball.open("rb") as data:
            proc = subprocess.run([self.docker.binary, "-H", self.docker.host, "import", "-c",
                                   'CMD ["bash"]', "-", ref], stdin=data, capture_output=True,
                                  text=True, check=False, env=clean_env())
        if proc.returncode != 0:
            raise DeployError(f"docker import of the base failed: {proc.stderr.strip()}")
        return ref

    def _debootstrap(self, sources: HostSources, tarball: Path) -> None:
        work = self.cache_dir / "rootfs-work"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        try:
            self.runner.run(["debootstrap", "--variant=minbase", SUITE, str(work),
                             sources.mirror], timeout=900)
            slim_rootfs(work)
            sources.install(work)  # apt in the image uses the host's sources too
            partial = tarball.with_suffix(".partial")
            self.runner.run(["tar", "--numeric-owner", "-C", str(work), "-cf", str(partial),
                             "."], timeout=300)
            partial.rename(tarball)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    # -- context --------------------------------------------------------------------
    def context(self, step: Step = _quiet) -> Path:
        """Build context: Dockerfile, wheels/ (deps, cached), app/ (this tree's wheel)."""
        ctx = self.cache_dir / "context"
        shutil.rmtree(ctx, ignore_errors=True)
        (ctx / "app").mkdir(parents=True)
        shutil.copy(self.root / "docker" / "Dockerfile", ctx / "Dockerfile")
        deps_key = hashlib.sha256((self.root / "pyproject.toml").read_bytes()).hexdigest()[:12]
        wheels = self.cache_dir / f"wheels-{deps_key}"
        if not wheels.is_dir():
            step("wheels of the dependencies (pip wheel)")
            partial = wheels.with_suffix(".partial")
            shutil.rmtree(partial, ignore_errors=True)
            self.runner.run([sys.executable, "-m", "pip", "wheel", "-q", "-w", str(partial),
                             str(self.root)], timeout=900)
            for wheel in partial.glob("oxswarm-*.whl"):
                wheel.unlink()
            partial.rename(wheels)
        shutil.copytree(wheels, ctx / "wheels")
        (ctx / "wheels" / "requirements.txt").write_text("\n".join(self.requirements()) + "\n")
        ca_bundle = Path(HOST_CA_BUNDLE)
        (ctx / "wheels" / "host-ca.crt").write_bytes(
            ca_bundle.read_bytes() if ca_bundle.is_file() else b"")
        step("wheel of oxswarm")
        self.runner.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w",
                         str(ctx / "app"), str(self.root)], timeout=300)
        return ctx

    def requirements(self) -> list[str]:
        """The project's runtime dependencies, from ``pyproject.toml``."""
        data = tomllib.loads((self.root / "pyproject.toml").read_text())
        return [str(dep) for dep in data["project"]["dependencies"]]

    # -- build ---------------------------------------------------------------------
    def build(self, registry: str | None, step: Step = _quiet) -> BuildResult:
        """Build (unless this tree's tag exists) and push to ``registry`` if given."""
        started = time.monotonic()
        step("builder dockerd")
        self.daemon.start()
        ref = self.tag(registry)
        built = False
        if not self.docker.image_exists(ref):
            base = self.ensure_base(step)
            ctx = self.context(step)
            step(f"docker build {ref}")
            self.docker.run("build", "--network", "host", "--build-arg", f"BASE={base}",
                            "-t", ref, str(ctx), timeout=1800)
            built = True
        if registry:
            step(f"push {ref}")
            self.docker.run("push", ref, timeout=600)
        size = int(self.docker.run("image", "inspect", ref, "--format", "{{.Size}}").stdout)
        return BuildResult(ref, built, time.monotonic() - started, size)

    def stop(self) -> None:
        """Stop the builder and unmount what it left under its exec root (its cache stays)."""
        from oxswarm.deploy.lab.cleanup import unmount_all

        self.daemon.stop()
        unmount_all(self.runner, self.daemon.config.exec_root)
