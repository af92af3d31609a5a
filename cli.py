"""The `zhike` command: parses arguments and calls engine.commands. Nothing else.

Imports of the engine are deferred into each command so `zhike --help`
starts in a few tens of milliseconds.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

from engine import __version__

LANGS = click.Choice(["zh", "en"])
FORMATS = click.Choice(["text", "md", "html", "json"])


def _rulebase_option(f):
    return click.option("--rulebase", "rulebase", type=click.Path(file_okay=False, path_type=Path), default=None,
                        help="Rulebase directory (default: $ZHIKE_RULEBASE or the bundled one).")(f)


def _run(fn, *args, **kwargs) -> None:
    """Call a command; user mistakes become a message and exit code, not a traceback."""
    from engine.errors import ZhikeError

    try:
        code = fn(*args, **kwargs)
    except ZhikeError as e:
        click.echo(str(e) if str(e) else type(e).__name__, err=True)
        if getattr(e, "problems", None) and len(e.problems) > 1:
            click.echo(f"{len(e.problems)} problems", err=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    sys.exit(code or 0)


def _rb(path: Path | None) -> Path:
    from engine.paths import default_rulebase

    return path or default_rulebase()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="zhike", message="%(prog)s %(version)s")
def main() -> None:
    """知客 zhike — who is your customer, and how to sell to them.

    Facts about a customer go in; a durable_rules rulebase infers their
    social style, objection, MAN qualification and more; you get an
    explained strategy with the rules, facts and sources behind it.
    """


@main.command()
@click.argument("profile")
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True, help="Output format.")
@click.option("--lang", type=LANGS, default="zh", show_default=True, help="Language of the report.")
@_rulebase_option
@click.option("--template", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Your own Jinja template (gets the same data as --format json).")
@click.option("-o", "--output", default=None, help="Write to this file instead of stdout.")
def classify(profile: str, fmt: str, lang: str, rulebase: Path | None, template: Path | None,
             output: str | None) -> None:
    """Classify one customer PROFILE (YAML or JSON file, or - for stdin) and explain the strategy."""
    from engine.commands import classify as cmd

    _run(cmd.run, profile, fmt, lang, _rb(rulebase), template, output)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable list of facts.")
@click.option("--lang", type=LANGS, default="zh", show_default=True)
@_rulebase_option
@click.option("-o", "--output", default=None, help="Write to this file instead of stdout.")
def facts(as_json: bool, lang: str, rulebase: Path | None, output: str | None) -> None:
    """List the fact catalogue: every input a rule may use, with its question."""
    from engine.commands import facts as cmd

    _run(cmd.run, _rb(rulebase), as_json, lang, output)


if __name__ == "__main__":  # pragma: no cover
    main()
