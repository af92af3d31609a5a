"""The `zhike` command: parses arguments and calls engine.commands. Nothing else.

Imports of the engine are deferred into each command so `zhike --help`
starts in a few tens of milliseconds.

Language: every command takes `--lang zh|en`; without it the language comes
from ZHIKE_LANG, else the locale, else zh (`engine.i18n.resolve_lang`). It is
settled before click parses anything (from the environment and a `--lang` in
the arguments), so help, usage and click's own errors speak it too:

- our help texts are English message ids (`N_`) kept as such on the click
  objects and translated when click reads them (`_Translated`, `_Option`…);
- click's own words ("Usage:", "Show this message and exit.", "No such
  option" …) go through the stdlib `gettext.gettext`; `_speak` points the
  process's gettext domain at our catalogue, which carries their Chinese
  (`CLICK_MESSAGES` below marks them for extraction);
- Chinese help is wrapped by display width (`_Formatter`), two columns a character.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

from engine import __version__
from engine.i18n import N_, _, current_lang, ngettext

LANGS = click.Choice(["zh", "en"])
FORMATS = click.Choice(["text", "md", "html", "json"])

# click's own messages that a zhike user can meet, marked so they are extracted
# into the catalogue and translated there (click looks them up through gettext).
CLICK_MESSAGES = (
    N_("Usage:"), N_("Options"), N_("Commands"), N_("Positional arguments"), N_("Show this message and exit."),
    N_("Show the version and exit."), N_("Error: {message}"), N_("Try '{command} {option}' for help."),
    N_("No such option {name!r}."), N_("No such command {name!r}."), N_("Missing argument"), N_("Missing option"),
    N_("Missing parameter"), N_("Missing command."), N_("Missing parameter: {param_name}"),
    N_("Invalid value for {param_hint}: {message}"), N_("Invalid value: {message}"),
    N_("{value!r} is not a valid {number_type}."), N_("{value} is not in the range {range}."),
    N_("{name} {filename!r} does not exist."), N_("{name} {filename!r} is a file."),
    N_("{name} {filename!r} is a directory."), N_("{name} {filename!r} is not readable."),
    N_("default: {default}"), N_("(dynamic)"), N_("required"), N_("Aborted!"), N_("file"), N_("directory"),
    N_("path"), N_("[OPTIONS]"), N_("COMMAND [ARGS]..."),
)


def _click_plural_messages(n: int) -> tuple[str, ...]:
    """click's own messages with plural forms, for the catalogue's extractor only (never called)."""
    return (
        ngettext("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)", n),
        ngettext("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})", n),
        ngettext("{value!r} is not {choice}.", "{value!r} is not one of {choices}.", n),
        ngettext("Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments.", n),
    )


# --- the language of a run ------------------------------------------------------------

def _lang_in(args: list[str]) -> str | None:
    """The value of a `--lang` in the arguments (before a `--`), if any."""
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
    return None


def _speak(lang: str | None) -> str:
    """Make `lang` (or the environment's choice) the language of everything this process says."""
    import gettext
    import os

    from engine.i18n import DOMAIN, LOCALE_DIR, resolve_lang, set_lang

    lang = resolve_lang(lang)
    set_lang(lang)
    # click asks the stdlib gettext with no language of its own: GNU gettext's LANGUAGE
    # variable chooses it, and the domain is ours, so click's words come from our catalogue.
    gettext.bindtextdomain(DOMAIN, str(LOCALE_DIR))
    gettext.textdomain(DOMAIN)
    os.environ["LANGUAGE"] = lang
    return lang


# --- click objects whose texts are translated when they are shown -------------------------

def _cells(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _wrap(text: str, width: int) -> list[str]:
    """Lines of at most `width` columns: breaks at spaces, or between two Chinese characters."""
    import re

    wide = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef"
    # a space, one Chinese character (with the punctuation that must not start a line), or a word
    tokens = re.compile(rf"\s+|[{wide}][,.;:!?)。，；：！？）、」]*|[^\s{wide}]+")
    out: list[str] = []
    for para in text.split("\n\n"):
        if out:
            out.append("")
        line, used = "", 0
        for token in tokens.findall(para):
            if token.isspace():
                if line:
                    line, used = line + " ", used + 1
                continue
            size = _cells(token)
            if line and used + size > width:
                out.append(line.rstrip())
                line, used = "", 0
            line, used = line + token, used + size
        if line.strip():
            out.append(line.rstrip())
    return out


class _Formatter(click.HelpFormatter):
    """click's help layout, with text wrapped by display width (a Chinese character takes two columns)."""

    def write_text(self, text: str) -> None:
        indent = " " * self.current_indent
        for line in _wrap(text, max(self.width - self.current_indent, 20)):
            self.write(f"{indent}{line}\n" if line else "\n")

    def write_dl(self, rows, col_max: int = 30, col_spacing: int = 2) -> None:
        rows = list(rows)
        first_col = min(max((_cells(r[0]) for r in rows), default=0), col_max) + col_spacing
        for first, second in rows:
            self.write(f"{'':>{self.current_indent}}{first}")
            if not second:
                self.write("\n")
                continue
            if _cells(first) <= first_col - col_spacing:
                self.write(" " * (first_col - _cells(first)))
            else:
                self.write("\n" + " " * (first_col + self.current_indent))
            lines = _wrap(second, max(self.width - first_col - self.current_indent - 2, 10)) or [""]
            self.write(f"{lines[0]}\n")
            for line in lines[1:]:
                self.write(f"{'':>{first_col + self.current_indent}}{line}\n")


class _Context(click.Context):
    formatter_class = _Formatter


def _translated(name: str) -> property:
    """An attribute holding a message id, read in the language of the run."""
    def get(self):
        value = self.__dict__.get("_msg_" + name)
        return _(value) if isinstance(value, str) and value else value

    def put(self, value) -> None:
        self.__dict__["_msg_" + name] = value

    return property(get, put)


class _Translated:
    help = _translated("help")
    short_help = _translated("short_help")
    options_metavar = _translated("options_metavar")
    context_class = _Context


class _Command(_Translated, click.Command):
    pass


class _Option(click.Option):
    help = _translated("help")
    metavar = _translated("metavar")


class _Argument(click.Argument):
    metavar = _translated("metavar")


class _Path(click.Path):
    name = _translated("name")  # "file", "directory": the start of click's "… does not exist" messages


class _Group(_Translated, click.Group):
    """The command groups: click's own output (--help, --version, usage errors) to a full
    disk or closed stdout is one line, not a traceback; the language is set before parsing."""

    command_class = _Command
    subcommand_metavar = _translated("subcommand_metavar")

    def main(self, args=None, *rest, **kwargs):
        argv = list(sys.argv[1:] if args is None else args)
        _speak(_lang_in(argv))
        try:
            return super().main(argv, *rest, **kwargs)
        except BrokenPipeError:
            _quiet_stdout()
            sys.exit(0)
        except OSError as e:
            from engine.report.output import write_failure

            _quiet_stdout()
            _say(str(write_failure(None, e)))
            sys.exit(2)


_Group.group_class = _Group


def _option(*decls: str, **attrs):
    return click.option(*decls, cls=_Option, **attrs)


def _argument(name: str, metavar: str, **attrs):
    return click.argument(name, cls=_Argument, metavar=metavar, **attrs)


def _lang_option(f):
    return _option("--lang", type=LANGS, default=current_lang,
                   help=N_("Language of the output and the messages (default: $ZHIKE_LANG, else the locale, "
                           "else zh)."))(f)


def _rulebase_option(f):
    return _option("--rulebase", "rulebase", type=_Path(file_okay=False, path_type=Path), default=None,
                   metavar=N_("DIR"), help=N_("Rulebase directory (default: $ZHIKE_RULEBASE or the bundled one)."))(f)


def _map_option(f):
    return _option("--map", "mapping", type=_Path(dir_okay=False, exists=True, path_type=Path), default=None,
                   metavar=N_("FILE"), help=N_("Column mapping YAML (column -> fact, value translation)."))(f)


def _output_option(f):
    return _option("-o", "--output", default=None, metavar=N_("FILE"),
                   help=N_("Write to this file instead of stdout."))(f)


# --- running a command -------------------------------------------------------------------

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
        problems = getattr(e, "problems", None)
        if problems and len(problems) > 1:
            _say(ngettext("{n} problem", "{n} problems", len(problems)))
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        _say(_("interrupted"))
        sys.exit(130)
    except BrokenPipeError:
        _quiet_stdout()
        sys.exit(0)
    except Exception as e:
        if os.environ.get("ZHIKE_DEBUG", "") not in ("", "0"):
            raise
        if isinstance(e, OSError):
            from engine.report.output import os_reason

            where = f"{e.filename}: " if e.filename else ""
            _say(f"zhike: {where}{os_reason(e)}")
            sys.exit(EXIT_USAGE)
        message = " ".join(str(e).split())[:300]
        _say(_("zhike: internal error: {error}: {message} — please report it; set ZHIKE_DEBUG=1 to see the "
               "traceback", error=type(e).__name__, message=message))
        sys.exit(EXIT_FAILED)
    sys.exit(code or 0)


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    from engine.report.output import silence_stdout

    silence_stdout()


def _rb(path: Path | None) -> Path:
    from engine.paths import default_rulebase

    return path or default_rulebase()


def _in_lang(lang: str | None) -> str:
    """The language a command runs in: its parsed --lang (settled once, before anything prints)."""
    return _speak(lang)


# --- the commands ---------------------------------------------------------------------

@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]},
             short_help=N_("Who is your customer, and how to sell to them."),
             help=N_("zhike — who is your customer, and how to sell to them.\n\n"
                     "Facts about a customer go in; a rulebase infers their social style, objection, MAN "
                     "qualification and more; you get an explained strategy with the facts and sources behind it."))
@click.version_option(__version__, "--version", prog_name="zhike", message="%(prog)s %(version)s", cls=_Option,
                      help=N_("Show the version and exit."))
@_option("--lang", type=LANGS, default=None, expose_value=False,
         help=N_("Language of the output and the messages (default: $ZHIKE_LANG, else the locale, else zh)."))
def main() -> None:
    pass


@main.command(
              short_help=N_("Classify one customer and explain the strategy."),
              help=N_("Classify one customer PROFILE (a YAML or JSON file, a session saved by `zhike ask`, or - "
                      "for stdin) and explain the strategy."))
@_argument("profile", N_("PROFILE"))
@_option("--format", "fmt", type=FORMATS, default="text", show_default=True, help=N_("Output format."))
@_lang_option
@_rulebase_option
@_option("--template", type=_Path(dir_okay=False, exists=True, path_type=Path), default=None, metavar=N_("FILE"),
         help=N_("Your own Jinja template (gets the same data as --format json)."))
@_output_option
@_option("--detail", is_flag=True, help=N_("The full explanation: every conclusion with its evidence."))
@_option("--debug", is_flag=True, help=N_("Show the ids of rules, classes and facts (for trainers)."))
@_option("--why-not", "why_not", metavar=N_("TYPOLOGY=CLASS"), help=N_("Why not this class, and what would make it."))
def classify(profile: str, fmt: str, lang: str, rulebase: Path | None, template: Path | None,
             output: str | None, detail: bool, debug: bool, why_not: str | None) -> None:
    from engine.commands import classify as cmd

    _run(cmd.run, profile, fmt, _in_lang(lang), _rb(rulebase), template, output, detail=detail, debug=debug,
         why_not=why_not)


@main.command(
              short_help=N_("List the facts a profile, a question or a column can give."),
              help=N_("List the fact catalogue: every fact a profile, a question or a batch column can give, "
                      "grouped by topic, with the names that profile keys and column headers accept."))
@_option("--json", "as_json", is_flag=True, help=N_("Machine-readable list of facts."))
@_lang_option
@_rulebase_option
@_output_option
def facts(as_json: bool, lang: str, rulebase: Path | None, output: str | None) -> None:
    from engine.commands import facts as cmd

    _run(cmd.run, _rb(rulebase), as_json, _in_lang(lang), output)


# --- trainer toolchain ---------------------------------------------------------

@main.group(cls=_Group,
            short_help=N_("Tools for the people who write the rulebase."),
            help=N_("Tools for the people who write the rulebase: check, test, doc, schema."))
@_option("--lang", type=LANGS, default=None, expose_value=False,
         help=N_("Language of the output and the messages (default: $ZHIKE_LANG, else the locale, else zh)."))
def rules() -> None:
    pass


def _dir_argument(f):
    return _argument("directory", N_("DIR"), required=False, type=_Path(file_okay=False, path_type=Path))(f)


@rules.command("check",
               short_help=N_("Validate and analyse a rulebase."),
               help=N_("Validate and analyse a rulebase: every finding as file:line:col, all at once."))
@_dir_argument
@_option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
         help=N_("Output format."))
@_option("--strict", is_flag=True, help=N_("Exit 1 when there are warnings."))
@_option("--seeds", type=_Path(file_okay=False, path_type=Path), metavar=N_("DIR"),
         help=N_("Folder with the seed documents (default: $ZHIKE_SEEDS, else ../shared/seeds)."))
@_option("--require-seeds", is_flag=True, help=N_("Make a missing seeds folder an error instead of a note."))
@_lang_option
def rules_check(directory: Path | None, fmt: str, strict: bool, seeds: Path | None, require_seeds: bool,
                lang: str) -> None:
    from engine.commands import rules_check as cmd

    _in_lang(lang)
    _run(cmd.run, _rb(directory), fmt, strict, seeds, require_seeds)


@rules.command("test",
               short_help=N_("Run the rulebase's golden cases."),
               help=N_("Run the rulebase's golden cases (tests/*.yaml) and report rule coverage."))
@_dir_argument
@_option("--coverage", "show_coverage", is_flag=True, help=N_("List the rules no case exercises."))
@_option("-k", "keyword", default=None, metavar=N_("TEXT"), help=N_("Only cases whose name contains this text."))
@_option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
         help=N_("Output format."))
@_option("-v", "--verbose", is_flag=True, help=N_("Show passing cases too."))
@_option("--corpus", "corpus", is_flag=False, flag_value="", default=None, metavar=N_("[DIR]"),
         help=N_("Run the utterance corpus instead (default: the rulebase's corpus/ folder): per-class precision, "
                 "recall and F1, and exit 1 when a held-out macro-F1 is below its floor."))
@_option("--split", type=click.Choice(["train", "heldout", "all"]), default="all", show_default=True,
         help=N_("With --corpus: which split to run."))
@_option("--show-misses", is_flag=True,
         help=N_("With --corpus: list the misread train sentences (held-out ones are only counted)."))
@_option("--write-floor", is_flag=True,
         help=N_("With --corpus: write the current held-out macro-F1 figures, rounded down, as the floor."))
@_lang_option
def rules_test(directory: Path | None, show_coverage: bool, keyword: str | None, fmt: str, verbose: bool,
               corpus: str | None, split: str, show_misses: bool, write_floor: bool, lang: str) -> None:
    from engine.commands import rules_test as cmd

    _in_lang(lang)
    _run(cmd.run, _rb(directory), show_coverage, keyword, fmt, verbose, corpus, split, show_misses, write_floor)


@rules.command("diff", short_help=N_("Compare two rulebases on a prospect list."),
               help=N_("Classify every row with both rulebases and report what changes and why; OLD may be git:REV."))
@_argument("old", N_("OLD"))
@_argument("new", N_("NEW"), type=_Path(file_okay=False, exists=True, path_type=Path))
@_option("--on", "on", default=None, metavar=N_("FILE|DIR"),
         help=N_("A prospect list (CSV, XLSX, JSONL) or a folder of profiles (default: NEW's golden cases)."))
@_map_option
@_option("--format", "fmt", type=FORMATS, default="text", show_default=True, help=N_("Output format."))
@_option("--fail-on-change", is_flag=True, help=N_("Exit 1 when any row changes (for CI)."))
@_output_option
@_lang_option
def rules_diff(lang: str, **options: object) -> None:
    from engine.commands import rules_diff as cmd

    _run(cmd.run, lang=_in_lang(lang), **options)


@rules.command("calibrate", short_help=N_("Check the rules against won and lost deals."),
               help=N_("Win rates of rules, strategies and next best actions on closed deals; suggestions only."))
@_option("--outcomes", required=True, metavar=N_("FILE"), help=N_("Closed deals with an outcome column."))
@_map_option
@_option("--outcome-column", "column", metavar=N_("COLUMN"), help=N_("The won/lost column (default: 结果)."))
@_option("--won", metavar=N_("WORDS"), help=N_("Words for a won deal (default: 赢单,成交,won)."))
@_option("--lost", metavar=N_("WORDS"), help=N_("Words for a lost deal (default: 输单,未成交,lost)."))
@_option("--min-deals", "min_n", type=click.IntRange(min=1), metavar=N_("N"),
         help=N_("Deals needed on each side before a verdict (default: 30)."))
@_option("--show-rows", is_flag=True, help=N_("Also list each deal's outcome and next best action."))
@_option("--format", "fmt", type=FORMATS, default="text", show_default=True, help=N_("Output format."))
@_output_option
@_lang_option
@_rulebase_option
def rules_calibrate(lang: str, rulebase: Path | None, **options: object) -> None:
    from engine.commands import rules_calibrate as cmd

    _run(cmd.run, rulebase=_rb(rulebase), lang=_in_lang(lang), **options)


@rules.command("doc",
               short_help=N_("Generate the sales playbook."),
               help=N_("Generate the sales playbook a trainer hands to new reps."))
@_dir_argument
@_output_option
@_lang_option
@_option("--format", "fmt", type=click.Choice(["md", "html"]), default="html", show_default=True,
         help=N_("Output format."))
def rules_doc(directory: Path | None, output: str | None, lang: str, fmt: str) -> None:
    from engine.commands import rules_doc as cmd

    _run(cmd.run, _rb(directory), output, _in_lang(lang), fmt)


@rules.command("schema",
               short_help=N_("Print the JSON Schema of the rule files."),
               help=N_("Print the JSON Schema of the rule files, for editor autocomplete."))
@_output_option
@_lang_option
def rules_schema(output: str | None, lang: str) -> None:
    from engine.commands import rules_schema as cmd

    _in_lang(lang)
    _run(cmd.run, output)


# --- reps: the questionnaire ------------------------------------------------------

@main.command(
              short_help=N_("Interview: asks only what can still change the outcome."),
              help=N_("Interactive questionnaire: asks only what can still change the outcome."))
@_lang_option
@_option("--goal", "goals", multiple=True, metavar=N_("GOAL"),
         help=N_("What to find out (repeatable): a typology's id or name, or all."))
@_option("--answers", type=_Path(dir_okay=False, exists=True, path_type=Path), default=None, metavar=N_("FILE"),
         help=N_("Scripted answers (YAML keyed by fact, or a profile): runs without a terminal."))
@_option("--save", type=_Path(dir_okay=False, path_type=Path), default=None, metavar=N_("FILE"),
         help=N_("Save the session here after every answer."))
@_option("--resume", type=_Path(dir_okay=False, exists=True, path_type=Path), default=None, metavar=N_("FILE"),
         help=N_("Continue a saved session."))
@_option("--format", "fmt", type=FORMATS, default="text", show_default=True, help=N_("Format of the final report."))
@_option("-o", "--output", default=None, metavar=N_("FILE"), help=N_("Write the final report to this file."))
@_option("--detail", is_flag=True, help=N_("The report's full explanation."))
@_option("--debug", is_flag=True, help=N_("Show the ids of rules, classes and facts (for trainers)."))
@_rulebase_option
def ask(lang: str, goals: tuple[str, ...], answers: Path | None, save: Path | None, resume: Path | None, fmt: str,
        output: str | None, detail: bool, debug: bool, rulebase: Path | None) -> None:
    from engine.commands import ask as cmd

    _run(cmd.run, lang=_in_lang(lang), goals=list(goals), answers=answers, save=save, resume=resume, fmt=fmt,
         output=output, rulebase=_rb(rulebase), detail=detail, debug=debug)


# --- sales ops: batch -----------------------------------------------------------------

@main.command(
              short_help=N_("Classify every row of a prospect list."),
              help=N_("Classify every row of a prospect list (CSV, XLSX, JSONL); no row is ever lost."))
@_argument("input_path", N_("INPUT"))
@_option("-o", "--output", default=None, metavar=N_("FILE"),
         help=N_("Output file (default: stdout); the format follows the extension."))
@_map_option
@_option("--rejects", default=None, metavar=N_("FILE"),
         help=N_("Where rows that cannot be classified go (same format as the input)."))
@_option("--max-errors", type=click.IntRange(min=0), default=None, metavar=N_("N"),
         help=N_("Stop after this many rejected rows."))
@_option("--workers", type=click.IntRange(min=1), default=1, show_default=True, metavar=N_("N"),
         help=N_("Worker processes."))
@_option("--resume", is_flag=True, help=N_("Continue an interrupted run from its checkpoint."))
@_lang_option
@_option("--columns", default=None, metavar=N_("COLUMNS"),
         help=N_("Comma-separated result columns to write (default: all)."))
@_option("--input-format", type=click.Choice(["csv", "xlsx", "jsonl", "parquet"]), default=None,
         help=N_("Format of the input (default: from the extension, else from the content)."))
@_option("--output-format", type=click.Choice(["csv", "xlsx", "jsonl", "parquet"]), default=None,
         help=N_("Format of the output (default: from the extension, else the input's)."))
@_option("--encoding", default=None, metavar=N_("ENCODING"),
         help=N_("Input text encoding (default: detect UTF-8 / UTF-8-BOM / GB18030)."))
@_option("--explain-map", is_flag=True,
         help=N_("Show which columns map to which facts and what the first rows give, then stop (exit 1 when rows "
                 "would be rejected)."))
@_option("--init-map", "init_map", default=None, metavar=N_("FILE"),
         help=N_("Write a commented mapping file for this sheet (to edit and pass to --map), then stop."))
@_option("--header-row", type=click.IntRange(min=1), default=None, metavar=N_("N"),
         help=N_("The row that holds the headers (default: found by itself, below titles and notes)."))
@_option("--sheet", default=None, metavar=N_("NAME|N"), help=N_("The XLSX sheet to read, by name or number."))
@_option("--on-bad-value", type=click.Choice(["blank", "reject"]), default="blank", show_default=True,
         help=N_("A cell that fits nothing: leave it blank and say so in the warnings column, or reject the row."))
@_option("--ids", is_flag=True, help=N_("Also write the id columns machines read (class ids, confidences as numbers)."))
@_option("--summary", default=None, metavar=N_("FILE"),
         help=N_("Also write a one-page summary for a manager (.html or .md)."))
@_option("--dask", default=None, metavar=N_("SCHEDULER"),
         help=N_("Classify on a Dask cluster: the scheduler's address (tcp://host:8786), or local:N for N local "
                 "worker processes."))
@_rulebase_option
def batch(input_path: str, output: str | None, mapping: Path | None, rejects: str | None, max_errors: int | None,
          workers: int, resume: bool, lang: str, columns: str | None, input_format: str | None,
          output_format: str | None, encoding: str | None, explain_map: bool, init_map: str | None,
          header_row: int | None, sheet: str | None, on_bad_value: str, ids: bool, summary: str | None,
          dask: str | None, rulebase: Path | None) -> None:
    from engine.commands import batch as cmd

    _run(cmd.run, input_path=input_path, output=output, mapping=mapping, rejects=rejects, max_errors=max_errors,
         workers=workers, resume=resume, lang=_in_lang(lang), columns=columns, input_format=input_format,
         output_format=output_format, encoding=encoding, explain_map=explain_map, rulebase=_rb(rulebase),
         header_row=header_row, sheet=sheet, on_bad_value=on_bad_value, ids=ids, init_map=init_map, summary=summary,
         dask=dask)


# --- the web app ---------------------------------------------------------------------------

@main.command(
              short_help=N_("Serve the interview, the report and an API in the browser."),
              help=N_("Serve the interview and the report as web pages (for reps on their phones), the batch page, "
                      "and a JSON API for CRMs under /api/v1. Binds 127.0.0.1 unless --host is given; any other "
                      "address needs --token-file."))
@_option("--host", default="127.0.0.1", show_default=True, metavar=N_("HOST"), help=N_("Address to listen on."))
@_option("--port", type=click.IntRange(min=0, max=65535), default=8000, show_default=True, metavar=N_("PORT"),
         help=N_("Port to listen on (0: any free port)."))
@_rulebase_option
@_option("--data", type=_Path(file_okay=False, path_type=Path), default=None, metavar=N_("DIR"),
         help=N_("Where interviews and uploads are kept (default: the user's data folder)."))
@_option("--token-file", type=_Path(dir_okay=False, exists=True, path_type=Path), default=None, metavar=N_("FILE"),
         help=N_("A file holding the access token: the API then needs it as a bearer token, the pages ask for it."))
@_option("--workers", type=click.IntRange(min=1, max=64), default=1, show_default=True, metavar=N_("N"),
         help=N_("Server processes answering at the same time (for a team: one per CPU core)."))
@_option("--workers-pool", type=click.IntRange(min=1, max=64), default=4, show_default=True, metavar=N_("N"),
         help=N_("Compiled rulebases kept, per process, for requests running at the same time."))
@_lang_option
def serve(rulebase: Path | None, lang: str, **options: object) -> None:
    from engine.commands import serve as cmd

    _run(cmd.run, rulebase=_rb(rulebase), lang=_in_lang(lang), **options)


if __name__ == "__main__":  # pragma: no cover
    main()
