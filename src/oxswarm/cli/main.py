"""Entry point of the ``oxswarm`` command: maps errors to one line and an exit code."""

from __future__ import annotations

import warnings
from typing import Any

import click

from oxswarm import __version__
from oxswarm.cli import logs
from oxswarm.errors import OxSwarmError

# pysaml2 (oxShibboleth, oxPassport's SAML) names a cipher mode ``cryptography`` deprecates
# (never used for our messages): a command prints its own lines, not a library's warning
warnings.filterwarnings("ignore", message="CFB has been moved", module=r"saml2\.")


class OxSwarmGroup(click.Group):
    """A click group that turns :class:`OxSwarmError` into ``error: ...`` and its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OxSwarmError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)


@click.group(cls=OxSwarmGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="oxswarm")
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages to stderr.")
def cli(verbose: bool) -> None:
    """OxSwarm: a highly available identity server on Docker Swarm."""
    # a person reads these beside a command's progress lines: "warning: message"
    logs.configure(verbose)


def main() -> None:
    cli(prog_name="oxswarm")


from oxswarm.cli import commands  # noqa: E402  (registers the sub-commands)

commands.register(cli)
