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


def _say(text: str) -> None:
    """One line on stderr; if even stderr cannot be written there is no one left to tell."""
    try:
        click.echo(text, err=True)
    except (OSError, ValueError):
        pass


def _run(fn, *args, **kwargs) -> None:
    """Call a command; user mistakes become a message and exit code, never a traceback.

    ZhikeError carries its own message and exit code. An OSError that escaped
    the command's own handling is the environment (disk, permissions), so one
    line and exit 2. Anything else is a bug in zhike: one line asking for a
    report and exit 1; ZHIKE_DEBUG=1 shows the traceback instead.
    """
    import os

    from engine.errors import EXIT_FAILED, EXIT_USAGE, ZhikeError

    try:
        code = fn(*args, **kwargs)
    except ZhikeError as e:
        _say(str(e) if str(e) else type(e).__name__)
        if getattr(e, "problems", None) and len(e.problems) > 1:
            _say(f"{len(e.problems)} problems")
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        _say("interrupted")
        sys.exit(130)
    except BrokenPipeError:
        _quiet_stdout()
        sys.exit(0)
    except Exception as e:
        if os.environ.get("ZHIKE_DEBUG", "") not in ("", "0"):
            raise
        if isinstance(e, OSError):
            where = f"{e.filename}: " if e.filename else ""
            _say(f"zhike: {where}{e.strerror or e}")
            sys.exit(EXIT_USAGE)
        message = " ".join(str(e).split())[:300]
        _say(f"zhike: internal error: {type(e).__name__}: {message} — please report it; "
             "set ZHIKE_DEBUG=1 to see the traceback")
        sys.exit(EXIT_FAILED)
    sys.exit(code or 0)


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    import os

    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, sys.stdout.fileno())
        os.close(fd)
    except (OSError, ValueError):
        pass


class _Group(click.Group):
    """The top-level group: click's own output (--help, --version, usage errors) to a
    full disk or closed stdout is one line, not a traceback."""

    def main(self, *args, **kwargs):
        try:
            return super().main(*args, **kwargs)
        except BrokenPipeError:
            _quiet_stdout()
            sys.exit(0)
        except OSError as e:
            from engine.report.output import write_failure

            _quiet_stdout()
            _say(str(write_failure(None, e)))
            sys.exit(2)


def _rb(path: Path | None) -> Path:
    from engine.paths import default_rulebase

    return path or default_rulebase()


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
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


# --- trainer toolchain ---------------------------------------------------------

@main.group()
def rules() -> None:
    """Tools for the people who write the rulebase: check, test, doc, schema."""


def _dir_argument(f):
    return click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))(f)


@rules.command("check")
@_dir_argument
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--strict", is_flag=True, help="Exit 1 when there are warnings.")
def rules_check(directory: Path | None, fmt: str, strict: bool) -> None:
    """Validate and analyse a rulebase: every finding as file:line:col, all at once."""
    from engine.commands import rules_check as cmd

    _run(cmd.run, _rb(directory), fmt, strict)


@rules.command("test")
@_dir_argument
@click.option("--coverage", "show_coverage", is_flag=True, help="List the rules no case exercises.")
@click.option("-k", "keyword", default=None, help="Only cases whose name contains this text.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("-v", "--verbose", is_flag=True, help="Show passing cases too.")
def rules_test(directory: Path | None, show_coverage: bool, keyword: str | None, fmt: str, verbose: bool) -> None:
    """Run the rulebase's golden cases (tests/*.yaml) and report rule coverage."""
    from engine.commands import rules_test as cmd

    _run(cmd.run, _rb(directory), show_coverage, keyword, fmt, verbose)


@rules.command("doc")
@_dir_argument
@click.option("-o", "--output", default=None, help="Write to this file instead of stdout.")
@click.option("--lang", type=LANGS, default="zh", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["md", "html"]), default="html", show_default=True)
def rules_doc(directory: Path | None, output: str | None, lang: str, fmt: str) -> None:
    """Generate the sales playbook a trainer hands to new reps."""
    from engine.commands import rules_doc as cmd

    _run(cmd.run, _rb(directory), output, lang, fmt)


@rules.command("schema")
@click.option("-o", "--output", default=None, help="Write to this file instead of stdout.")
def rules_schema(output: str | None) -> None:
    """Print the JSON Schema of the rule files, for editor autocomplete."""
    from engine.commands import rules_schema as cmd

    _run(cmd.run, output)


# --- reps: the questionnaire ------------------------------------------------------

@main.command()
@click.option("--lang", type=LANGS, default="zh", show_default=True)
@click.option("--goal", "goals", multiple=True, help="Typology to settle (repeatable; default: all).")
@click.option("--answers", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Scripted answers (YAML, keyed by fact id): runs without a terminal.")
@click.option("--save", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Save the session here after every answer.")
@click.option("--resume", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Continue a saved session.")
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True, help="Format of the final report.")
@click.option("-o", "--output", default=None, help="Write the final report to this file.")
@_rulebase_option
def ask(lang: str, goals: tuple[str, ...], answers: Path | None, save: Path | None, resume: Path | None, fmt: str,
        output: str | None, rulebase: Path | None) -> None:
    """Interactive questionnaire: asks only what can still change the outcome."""
    from engine.commands import ask as cmd

    _run(cmd.run, lang=lang, goals=list(goals), answers=answers, save=save, resume=resume, fmt=fmt,
         output=output, rulebase=_rb(rulebase))


# --- sales ops: batch -----------------------------------------------------------------

@main.command()
@click.argument("input_path", metavar="INPUT")
@click.option("-o", "--output", default=None, help="Output file (default: stdout); format by extension.")
@click.option("--map", "mapping", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Column mapping YAML (column -> fact id, value translation).")
@click.option("--rejects", default=None, help="Where rows that cannot be classified go (same format as input).")
@click.option("--max-errors", type=click.IntRange(min=0), default=None, help="Stop after this many rejected rows.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Worker processes.")
@click.option("--resume", is_flag=True, help="Continue an interrupted run from its checkpoint.")
@click.option("--lang", type=LANGS, default="zh", show_default=True)
@click.option("--columns", default=None, help="Comma-separated result columns to write (default: all).")
@click.option("--input-format", type=click.Choice(["csv", "xlsx", "jsonl"]), default=None)
@click.option("--output-format", type=click.Choice(["csv", "xlsx", "jsonl"]), default=None)
@click.option("--encoding", default=None, help="Input text encoding (default: detect UTF-8 / UTF-8-BOM / GB18030).")
@click.option("--explain-map", is_flag=True, help="Show which columns map to which facts, then stop.")
@_rulebase_option
def batch(input_path: str, output: str | None, mapping: Path | None, rejects: str | None, max_errors: int | None,
          workers: int, resume: bool, lang: str, columns: str | None, input_format: str | None,
          output_format: str | None, encoding: str | None, explain_map: bool, rulebase: Path | None) -> None:
    """Classify every row of a prospect list (CSV, XLSX, JSONL); no row is ever lost."""
    from engine.commands import batch as cmd

    _run(cmd.run, input_path=input_path, output=output, mapping=mapping, rejects=rejects, max_errors=max_errors,
         workers=workers, resume=resume, lang=lang, columns=columns, input_format=input_format,
         output_format=output_format, encoding=encoding, explain_map=explain_map, rulebase=_rb(rulebase))


if __name__ == "__main__":  # pragma: no cover
    main()
