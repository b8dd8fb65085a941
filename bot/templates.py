"""Per-route message templates, rendered in Jinja2's sandbox, within a time and size budget.

Templates are compiled when the routes file is loaded, so a syntax error, an attempt to reach
Python internals (`__class__`, `_TemplateReference__context`, `attr('__globals__')`…) or a tag that
loads other templates stops the process at start-up with a clear message. Every value a template
prints is escaped as untrusted text unless it comes from one of the markdown filters (`link`,
`code`, `bold`), so payload text cannot inject markup through a template either.

A template is written by whoever edits relay.yml, but the values it works on come from senders,
and a template bug (or a hostile edit) must not stall a worker. So a render is bounded:
- in time: `RENDER_SECONDS` of wall-clock time, checked on every line of Python executed during the
  render (loops in the template, filters, helpers) by a trace function installed for the render's
  thread only (a debugger's or coverage's tracer is put back afterwards);
- in output: more than `MAX_RAW_OUTPUT` characters is an error (up to that, output is shortened to
  the 10,000-character message limit as before);
- in single steps that could allocate or compute without end before the clock is checked:
  repetition (`'x' * 10**9`), powers (`10**10**10`), padding and format widths, `replace`, `join`,
  `indent`, `center`, `batch`, `slice`, `tojson(indent=…)`, and every intermediate string, list or
  integer is capped (`MAX_VALUE` items, `MAX_INT_BITS` bits).
Any failure raises `TemplateError`, which the worker answers with the route's default format.
"""

from __future__ import annotations

import re
import string
import sys
import time
from collections.abc import Iterable, Mapping

from jinja2 import ChainableUndefined, TemplateSyntaxError, nodes
from jinja2.compiler import CodeGenerator
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from rq.timeouts import JobTimeoutException

from bot import markdown as md

MAX_OUTPUT = md.MAX_MESSAGE
MAX_RAW_OUTPUT = 100_000
RENDER_SECONDS = 1.0
# Largest string/list/dict any single template operation may produce; payload values (bounded by
# RELAY_MAX_BODY_BYTES, 1 MiB by default) fit, doublings of them do not.
MAX_VALUE = 2_000_000
MAX_INT_BITS = 64_000
MAX_WIDTH = 10_000
# Tags that would load other templates; the relay has no template loader, and none is wanted.
_FORBIDDEN_TAGS = (nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)


class TemplateError(ValueError):
    """A route template that cannot be compiled or rendered."""


class SafeMarkdown(str):
    """Markdown produced by a trusted helper; printed as is."""


class _OverBudget(BaseException):
    """Raised from the render's trace function. A BaseException, so that no `except Exception`
    on the way (in Jinja or in a filter) can swallow it and let the render run on untimed."""


def _size(value, budget: int = MAX_VALUE) -> int:
    """Items a value holds, nested ones included (a list of long strings weighs their characters),
    counted until it passes `budget`: a list of one reference repeated a million times is small
    in memory but not to the filters that would walk or render it."""
    total, stack = 0, [value]
    while stack and total <= budget:
        item = stack.pop()
        if isinstance(item, (str, bytes)):
            total += len(item)
        elif isinstance(item, (list, tuple, set, frozenset)):
            total += len(item)
            stack.extend(item)
        elif isinstance(item, dict):
            total += len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
    return total


def _checked(value):
    """Rejects a value over the caps; returns it otherwise."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value.bit_length() > MAX_INT_BITS:
            raise TemplateError(f"an integer in the template is over {MAX_INT_BITS} bits")
    elif _size(value) > MAX_VALUE:
        raise TemplateError(f"a value in the template is over {MAX_VALUE:,} items")
    return value


def _need(condition: bool, what: str) -> None:
    if not condition:
        raise TemplateError(f"{what} is over the template limits")


def _int_arg(value, limit: int = MAX_WIDTH) -> None:
    if isinstance(value, int) and not isinstance(value, bool):
        _need(abs(value) <= limit, f"the argument {value if abs(value) < 10**12 else '(huge)'}")


_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0 +\-]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_percent_format(fmt: str) -> None:
    for width, precision in _PERCENT_SPEC.findall(fmt):
        for n in (width, precision):
            _need(n != "*" and (not n or int(n) <= MAX_WIDTH), "a %-format width")


def _check_brace_format(fmt: str) -> None:
    try:
        fields = list(string.Formatter().parse(fmt))
    except ValueError:
        return  # str.format will raise the same error itself
    for _, _, spec, _ in fields:
        if spec:
            _need("{" not in spec, "a nested format width")
            _need(all(int(n) <= MAX_WIDTH for n in re.findall(r"\d+", spec)), "a format width")


def _check_str_method(method, args, kwargs) -> None:
    """Pre-checks the str methods whose result can be far larger than their inputs."""
    s, name = method.__self__, method.__name__
    if name in ("ljust", "rjust", "center", "zfill"):
        _int_arg(args[0] if args else kwargs.get("width"))
    elif name == "expandtabs":
        size = args[0] if args else kwargs.get("tabsize", 8)
        _int_arg(size, MAX_WIDTH)
        _need(len(s) + s.count("\t") * max(0, size) <= MAX_VALUE, "expandtabs")
    elif name == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        _need(_replaced_size(s, args[0], args[1], args[2] if len(args) > 2 else -1) <= MAX_VALUE, "replace")
    elif name == "translate":
        raise TemplateError("str.translate is not available in templates")


def _replaced_size(s: str, old: str, new: str, count=-1) -> int:
    hits = (len(s) + 1) if old == "" else s.count(old)
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    return len(s) + hits * max(0, len(new) - len(old))


def _joined(sep: str, items: Iterable) -> list[str]:
    parts = [str(x) for x in items]
    _need(sum(map(len, parts)) + len(sep) * max(0, len(parts) - 1) <= MAX_VALUE, "join")
    return parts


def _finalize(value):
    if isinstance(value, SafeMarkdown):
        return value
    if value is None or isinstance(value, ChainableUndefined):
        return ""
    return md.text(value)


class _Generator(CodeGenerator):
    """Routes `a ~ b` through the environment, so concatenations are size-checked too."""

    def visit_Concat(self, node, frame):
        self.write("environment.checked_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class _Env(ImmutableSandboxedEnvironment):
    code_generator_class = _Generator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def call_binop(self, context, operator, left, right):
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(n, int) and not isinstance(n, bool) and _size(seq):
                    _need(max(len(seq), _size(seq)) * max(0, n) <= MAX_VALUE, "a repetition")
            if isinstance(left, int) and isinstance(right, int):
                _need(left.bit_length() + right.bit_length() <= MAX_INT_BITS, "a product")
        elif operator == "**":
            if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
                _need(right <= MAX_INT_BITS and abs(left).bit_length() * right <= MAX_INT_BITS, "a power")
        elif operator == "+":
            _need(_size(left) + _size(right) <= MAX_VALUE, "a concatenation")
        elif operator == "%" and isinstance(left, str):
            _check_percent_format(left)
        return _checked(super().call_binop(context, operator, left, right))

    def checked_concat(self, parts) -> str:
        return _checked("".join(_joined("", parts)))

    def wrap_str_format(self, value):
        wrapper = super().wrap_str_format(value)
        if wrapper is None:
            return None
        fmt = value.__self__

        def checked(*args, **kwargs):
            _check_brace_format(fmt)
            for v in (*args, *kwargs.values()):
                if isinstance(v, Mapping):  # format_map
                    for inner in v.values():
                        _checked(inner)
            return _checked(wrapper(*args, **kwargs))

        return checked

    def call(__self, __context, __obj, *args, **kwargs):
        if isinstance(getattr(__obj, "__self__", None), str) and callable(__obj):
            name = getattr(__obj, "__name__", "")
            if name == "join" and args:
                args = (_joined(__obj.__self__, args[0]), *args[1:])
            else:
                _check_str_method(__obj, args, kwargs)
        return _checked(super().call(__context, __obj, *args, **kwargs))


def _guarded_filters(env: _Env) -> dict:
    f = env.filters
    original = {name: f[name] for name in ("center", "indent", "format", "replace", "join", "batch", "slice",
                                           "tojson")}

    def center(value, width=80):
        _int_arg(width)
        return original["center"](value, width)

    def indent(s, width=4, first=False, blank=False):
        _int_arg(width)
        per_line = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
        text = str(s)
        _need(len(text) + (text.count("\n") + 1) * max(0, per_line) <= MAX_VALUE, "indent")
        return original["indent"](s, width, first, blank)

    def format_(value, *args, **kwargs):
        _check_percent_format(str(value))
        return _checked(original["format"](value, *args, **kwargs))

    def replace(eval_ctx, s, old, new, count=None):
        _need(_replaced_size(str(s), str(old), str(new), -1 if count is None else count) <= MAX_VALUE, "replace")
        return original["replace"](eval_ctx, s, old, new, count)

    def join(eval_ctx, value, d="", attribute=None):
        if attribute is None:
            value = _joined(str(d), value)
        return _checked(original["join"](eval_ctx, value, d, attribute))

    def batch(value, linecount, fill_with=None):
        _int_arg(linecount)
        return original["batch"](value, linecount, fill_with)

    def slice_(value, slices, fill_with=None):
        _int_arg(slices)
        return original["slice"](value, slices, fill_with)

    def tojson(eval_ctx, value, indent=None):
        _int_arg(indent, 16)
        return _checked(original["tojson"](eval_ctx, value, indent))

    for fn, orig in ((replace, "replace"), (join, "join"), (tojson, "tojson")):
        fn.jinja_pass_arg = original[orig].jinja_pass_arg  # type: ignore[attr-defined]
    return {"center": center, "indent": indent, "format": format_, "replace": replace, "join": join,
            "batch": batch, "slice": slice_, "tojson": tojson}


def _env() -> _Env:
    env = _Env(undefined=ChainableUndefined, autoescape=False, finalize=_finalize)
    env.globals.pop("lipsum", None)  # lorem ipsum of any length: no use in a chat message
    env.filters.update(_guarded_filters(env))
    env.filters.update(
        link=lambda url, label=None: SafeMarkdown(md.link(label if label is not None else url, url)),
        code=lambda value: SafeMarkdown(md.code(value)),
        bold=lambda value: SafeMarkdown(md.bold(value)),
        italic=lambda value: SafeMarkdown(md.italic(value)),
        quote=lambda value: SafeMarkdown(md.quote(value)),
        first_line=lambda value: md.first_line(value),
    )
    return env


_ENV = _env()


def _private_access(tree) -> str | None:
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        name = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
        if isinstance(name, str) and name.startswith("_"):
            return name
    for node in tree.find_all(nodes.Filter):
        # `x|attr('__class__')` is a Getattr in disguise.
        if node.name == "attr" and node.args and isinstance(getattr(node.args[0], "value", None), str):
            if node.args[0].value.startswith("_"):
                return node.args[0].value
    return None


def _deadline_tracer(deadline: float):
    clock = time.monotonic

    def trace(frame, event, arg):
        if clock() > deadline:
            raise _OverBudget
        return trace

    return trace


class Template:
    """A compiled route template: `render(context)` returns Copera markdown."""

    def __init__(self, text: str):
        try:
            tree = _ENV.parse(text)
        except TemplateSyntaxError as exc:
            raise TemplateError(f"syntax error on line {exc.lineno}: {exc.message}") from None
        private = _private_access(tree)
        if private:
            raise TemplateError(f"access to internal attribute {private!r} is not allowed in the sandbox")
        forbidden = next(iter(tree.find_all(_FORBIDDEN_TAGS)), None)
        if forbidden is not None:
            raise TemplateError(f"{type(forbidden).__name__.lower()} tags are not allowed in route templates")
        self.source = text
        try:
            self._template = _ENV.from_string(text)
        except TemplateSyntaxError as exc:
            raise TemplateError(f"syntax error on line {exc.lineno}: {exc.message}") from None

    def render(self, context: dict, seconds: float = RENDER_SECONDS, max_output: int = MAX_RAW_OUTPUT) -> str:
        """Renders within `seconds` and `max_output` characters; raises TemplateError otherwise."""
        chunks: list[str] = []
        size = 0
        previous = sys.gettrace()
        sys.settrace(_deadline_tracer(time.monotonic() + seconds))
        try:
            for chunk in self._template.generate(**context):
                size += len(chunk)
                if size > max_output:
                    raise TemplateError(f"template output is over {max_output:,} characters")
                chunks.append(chunk)
        except _OverBudget:
            raise TemplateError(f"template took more than {seconds:g} s to render") from None
        except TemplateError:
            raise
        except SecurityError as exc:
            raise TemplateError(f"blocked by the sandbox: {exc}") from None
        except JobTimeoutException:  # RQ's job timeout fails the job; it is not a template error
            raise
        except Exception as exc:  # any template failure means "use the default format"
            raise TemplateError(f"{type(exc).__name__}: {_short(exc)}") from None
        finally:
            sys.settrace(previous)
        return md.fit(["".join(chunks).strip()], MAX_OUTPUT) or "(empty template output)"


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) <= 300 else text[:299] + "…"

