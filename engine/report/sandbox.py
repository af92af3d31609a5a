"""A trainer's own report template (`--template`): sandboxed, bounded, one-line errors.

The template gets the same data as the bundled reports. It cannot reach
Python internals, includes only files from its own directory, and is bounded
in size, output and time; any problem in it is one `file:line: message`.
"""
from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..i18n import _

TEMPLATE_MAX_BYTES = 1 << 20  # one template file (source)
TEMPLATE_MAX_OUTPUT = 64 << 20  # characters a user template may produce
TEMPLATE_MAX_SECONDS = 30.0  # rendering time of a user template (main thread only)
_MAX_SEQUENCE = 10_000_000  # `"x" * n`, `[..] * n` in a user template
_MAX_INT_BITS = 100_000  # `a ** b` in a user template


class _TemplateRefused(Exception):
    """A user template asked for something it may not have; `where` is file:line when known."""

    def __init__(self, message: str, where: str | None = None):
        super().__init__(message)
        self.where = where


class _OwnDirLoader:
    """Loads templates only from the top template's own directory.

    No absolute paths, no `..`, no symlink leading out of the directory, only
    regular files up to TEMPLATE_MAX_BYTES of UTF-8 text.
    """

    def __init__(self, directory: Path):
        self.directory = directory
        self.real = Path(os.path.realpath(directory))
        self.files: set[str] = set()  # display names, to find template frames in a traceback

    def shown(self, name: str) -> str:
        return str(self.directory / name)

    def get_source(self, environment, template: str):
        parts = template.replace("\\", "/").split("/")
        if template.startswith(("/", "\\")) or os.path.isabs(template) or ".." in parts or "\0" in template:
            raise _TemplateRefused(_("cannot load template {name}: a template may only include or extend files "
                                     "in its own directory ({directory}), by a name without '..' or a leading '/'",
                                     name=repr(template), directory=self.real))
        parts = [p for p in parts if p not in ("", ".")]
        name = "/".join(parts)
        path = self.directory.joinpath(*parts)
        shown = self.shown(name)
        real = Path(os.path.realpath(path))
        if real != self.real and self.real not in real.parents:
            raise _TemplateRefused(_("cannot load template {name}: it leads out of {directory}", name=shown,
                                     directory=self.real))
        try:
            st = os.stat(real)
        except FileNotFoundError:
            import jinja2

            raise jinja2.TemplateNotFound(template, _("template {name} not found", name=shown)) from None
        except OSError as e:
            raise _TemplateRefused(_("cannot read template {name}: {reason}", name=shown, reason=e.strerror)) from None
        if not stat.S_ISREG(st.st_mode):
            raise _TemplateRefused(_("cannot load template {name}: not a regular file", name=shown))
        if st.st_size > TEMPLATE_MAX_BYTES:
            raise _TemplateRefused(_("template {name} is larger than {n} MB", name=shown, n=TEMPLATE_MAX_BYTES >> 20))
        try:
            with open(real, "rb") as fh:
                data = fh.read(TEMPLATE_MAX_BYTES + 1)
        except OSError as e:
            raise _TemplateRefused(_("cannot read template {name}: {reason}", name=shown, reason=e.strerror)) from None
        try:
            source = data.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            line = data[:e.start].count(b"\n") + 1
            byte = f"0x{data[e.start]:02x}"
            raise _TemplateRefused(_("the template is not UTF-8 text (byte {byte}); save it as UTF-8", byte=byte),
                                   where=f"{shown}:{line}") from None
        self.files.add(shown)
        return source, shown, lambda: True

    def load(self, environment, name, globals=None):
        # jinja2's own load() compiles what get_source returns (not subclassed: jinja2 loads lazily)
        import jinja2

        return jinja2.BaseLoader.load(self, environment, name, globals)


def _sandbox(directory: Path, fmt: str, setup: Callable[[Any, str], None]):
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment, SecurityError

    class Sandbox(SandboxedEnvironment):
        # `*` and `**` can build a gigabyte from a few characters: bounded
        intercepted_binops = frozenset(["*", "**"])

        def call_binop(self, context, operator, left, right):
            if operator == "**" and _is_int(left) and _is_int(right) and right > 0 \
                    and abs(left) > 1 and abs(left).bit_length() * right > _MAX_INT_BITS:
                raise SecurityError(_("{left} ** {right} is too large a number for a template", left=left,
                                      right=right))
            if operator == "*":
                for seq, n in ((left, right), (right, left)):
                    if isinstance(seq, (str, list, tuple)) and _is_int(n) and len(seq) * n > _MAX_SEQUENCE:
                        raise SecurityError(_("repeating a {kind} {n} times is too much for a template",
                                              kind=type(seq).__name__, n=n))
            return super().call_binop(context, operator, left, right)

    loader = _OwnDirLoader(directory)
    env = Sandbox(loader=loader, autoescape=(fmt == "html"), undefined=jinja2.StrictUndefined,
                  trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, extensions=["jinja2.ext.i18n"])
    env.globals.pop("lipsum", None)  # generates any amount of text from one call
    setup(env, fmt)
    return env, loader


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _user_template_kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm", ".xml"):
        return "html"
    if suffix in (".md", ".markdown"):
        return "md"
    return "text"


class _Timeout(Exception):
    pass


def render_user_template(path: Path, data: dict[str, Any], setup: Callable[[Any, str], None],
                         max_seconds: float = TEMPLATE_MAX_SECONDS) -> str:
    """Render a trainer's template; any problem in it is one `file:line: message` InputError.

    `setup(env, kind)` gives the environment zhike's filters, the catalogue and, for
    Markdown (`kind` "md"), escaping of every value: the same as the bundled reports.
    """
    if path.is_symlink():  # includes are looked up beside the real file
        path = Path(os.path.realpath(path))
    env, loader = _sandbox(path.parent, _user_template_kind(path), setup)
    try:
        with _time_limit(max_seconds):
            tpl = env.get_template(path.name)
            out: list[str] = []
            size = 0
            for chunk in tpl.generate(**data):
                size += len(chunk)
                if size > TEMPLATE_MAX_OUTPUT:
                    raise _TemplateRefused(_("the template produces more than {n} MB of output",
                                             n=TEMPLATE_MAX_OUTPUT >> 20))
                out.append(chunk)
            return "".join(out)
    except Exception as e:  # the trainer's own code: every error is theirs to fix
        top = loader.shown(path.name)
        raise InputError(_template_problem(e, loader.files, top, max_seconds)) from None


def _template_problem(e: BaseException, files: set[str], top: str, max_seconds: float) -> str:
    import jinja2

    where = None
    if isinstance(e, _TemplateRefused) and e.where:
        where = e.where
    elif isinstance(e, jinja2.TemplateSyntaxError) and e.lineno:
        where = f"{e.filename or top}:{e.lineno}"
    else:
        tb = e.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename in files:
                where = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}"
            tb = tb.tb_next
    if isinstance(e, _Timeout):
        seconds = f"{max_seconds:g}"
        message = _("the template ran for more than {seconds} seconds; stopped", seconds=seconds)
    elif isinstance(e, RecursionError):
        message = _("templates include or call each other too deeply")
    elif isinstance(e, jinja2.TemplateSyntaxError):
        message = _("syntax error: {reason}", reason=e.message)
    elif isinstance(e, jinja2.TemplateNotFound):
        message = e.message or _("template {name} not found", name=e.name)
    elif isinstance(e, (jinja2.TemplateError, _TemplateRefused)):
        message = str(e)
    else:
        message = f"{type(e).__name__}: {e}"
    message = " ".join(str(message).split())
    return f"{where or top}: {message}"


class _time_limit:
    """Raise _Timeout in the main thread after `seconds` (SIGALRM); elsewhere no limit."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.armed = False

    def __enter__(self):
        import signal
        import threading

        if hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread():
            def _expired(signum, frame):
                raise _Timeout()

            self.old = signal.signal(signal.SIGALRM, _expired)
            self.old_timer = signal.setitimer(signal.ITIMER_REAL, self.seconds)
            self.armed = True
        return self

    def __exit__(self, *exc) -> None:
        import signal

        if self.armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.old)
            if self.old_timer[0]:
                signal.setitimer(signal.ITIMER_REAL, *self.old_timer)
