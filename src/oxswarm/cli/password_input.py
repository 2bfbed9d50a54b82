"""Where a command reads a password from: never its command line.

Anything on argv is visible to every local user (``ps``, ``/proc/<pid>/cmdline``) and
lands in shell histories. :func:`password_options` gives a command three sources, and
:func:`read_password` takes the one given:

* ``--password-file PATH``: the file's first line (a trailing newline is dropped);
* ``--password-stdin``: the first line of standard input (``... | oxswarm users add``);
* neither, on a terminal: a hidden prompt, asked twice.

``--password VALUE`` is still recognised, only to refuse it (exit 2, one line saying which
sources to use) so that old scripts fail loudly instead of leaking the password.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from oxswarm.errors import InvalidInput

F = TypeVar("F", bound=Callable[..., Any])

SOURCES = "--password-file PATH, --password-stdin or the prompt (on a terminal)"
REFUSED = f"password: --password is not accepted (it would show in ps); use {SOURCES}"


def password_options(func: F) -> F:
    """Add ``--password-file``, ``--password-stdin`` and the refused ``--password``."""
    for option in reversed(
        [
            click.option(
                "--password-file",
                type=click.Path(dir_okay=False, path_type=Path),
                default=None,
                metavar="PATH",
                help="Read the password from the first line of this file.",
            ),
            click.option(
                "--password-stdin", is_flag=True, help="Read the password from standard input."
            ),
            click.option("--password", "password_argv", default=None, hidden=True),
            click.option("--interactive", is_flag=True, hidden=True, help="Prompt without a tty."),
        ]
    ):
        func = option(func)
    return func


def _first_line(text: str) -> str:
    return text.split("\n", 1)[0].removesuffix("\r")


def read_password(
    *,
    password_file: Path | None,
    password_stdin: bool,
    password_argv: str | None,
    interactive: bool,
    prompt: str = "Password",
) -> str:
    """The password from the one source given; :class:`InvalidInput` (exit 2) otherwise."""
    if password_argv is not None:
        raise InvalidInput(REFUSED, field="password")
    if password_file is not None and password_stdin:
        raise InvalidInput(
            "password: give --password-file or --password-stdin, not both", field="password"
        )
    if password_file is not None:
        try:
            return _first_line(password_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise InvalidInput(
                f"password-file: cannot read {password_file}: {reason}", field="password-file"
            ) from exc
    if password_stdin:
        return _first_line(click.get_text_stream("stdin").read())
    if interactive or sys.stdin.isatty():
        return str(click.prompt(prompt, hide_input=True, confirmation_prompt=f"{prompt} again"))
    raise InvalidInput(f"password: not given; use {SOURCES}", field="password")
