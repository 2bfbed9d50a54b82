#!/usr/bin/env python3
"""What the password hash costs a sign-in: slapd's CPU time per bind, by stored hash.

Starts one real slapd (TLS, ppolicy, the argon2 module at OWASP's m=7 MiB t=5 p=1),
adds people whose passwords are stored as Argon2id (hashed by oxswarm,
``Directory.set_password``) and as Argon2i (slapd's Password Modify, as before), then
binds ``--binds`` times each on a kept connection (``Directory.check_password``, as a
sign-in does) and prints slapd's CPU time (user + system, ``/proc``) per bind: the
right password, a wrong one, and a DN that names nobody (no hash: the bind's own cost).
Last, the CPU of one ``cryptography`` Argon2id hash in this process (what setting a
password costs oxswarm).

    python bench/hash_cost.py [--binds 40]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peer import cpu_seconds

from oxswarm.directory.connection import Directory, DirectoryConfig
from oxswarm.directory.models import Person
from oxswarm.directory.passwords import hash_password
from oxswarm.directory.people import PeopleRepository
from oxswarm.directory.tree import Tree
from oxswarm.local.slapd import slapd_cluster

ROOT_DN, ROOT_PW, PASSWORD = "cn=directory manager,o=gluu", "Root-Pw-1", "Bench-Pw-1"


def per_bind(pid: int, binds: int, check: Callable[[], bool], expect: bool) -> float:
    """slapd's CPU milliseconds per bind of ``check``."""
    began = cpu_seconds(pid)
    for _ in range(binds):
        if check() is not expect:
            raise SystemExit("a bind did not answer as expected")
    return 1000 * (cpu_seconds(pid) - began) / binds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binds", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="oxswarm-hash-") as tmp, \
            slapd_cluster(Path(tmp) / "ldap", 1, ROOT_PW) as nodes:
        node, tree = nodes[0], Tree()
        config = DirectoryConfig((node.url,), ROOT_DN, ROOT_PW, ca_file=node.ca_file)
        with Directory(config) as directory:
            directory.add(tree.ou("people"), {"objectClass": ["organizationalUnit"],
                                              "ou": ["people"]})
            people = PeopleRepository(directory, tree)
            people.add(Person(inum="p-id", uid="id", family_name="Id"), PASSWORD)
            people.add(Person(inum="p-i", uid="i", family_name="I"))
            old = tree.person("p-i")
            directory.run(lambda c: c.extend.standard.modify_password(
                user=old, new_password=PASSWORD), "set an Argon2i password")
            pid = node.daemon.pid or 0
            for name, inum in (("argon2id", "p-id"), ("argon2i", "p-i")):
                dn = tree.person(inum)
                stored = directory.read(dn, ["userPassword"]).get("userPassword") or ""
                assert stored.startswith(f"{{ARGON2}}${name}$"), stored
                right = per_bind(pid, args.binds, lambda: directory.check_password(
                    dn, PASSWORD), True)  # noqa: B023 (used at once)
                wrong = per_bind(pid, 5, lambda: directory.check_password(
                    dn, "Wrong-Pw-1"), False)  # noqa: B023
                print(f"{name}: right password {right:.1f} ms, wrong {wrong:.1f} ms "
                      f"of slapd CPU a bind")
            nobody = per_bind(pid, args.binds, lambda: directory.check_password(
                tree.person("nobody"), PASSWORD), False)
            print(f"bind to a DN that names nobody (no hash): {nobody:.2f} ms")
    hashes = []
    for _ in range(12):
        before = resource.getrusage(resource.RUSAGE_SELF)
        hash_password(PASSWORD)
        after = resource.getrusage(resource.RUSAGE_SELF)
        hashes.append(1000 * (after.ru_utime - before.ru_utime
                              + after.ru_stime - before.ru_stime))
    print(f"cryptography Argon2id, m=7168 KiB t=5 p=1: {statistics.median(hashes):.1f} ms "
          "CPU a hash (median of 12)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
