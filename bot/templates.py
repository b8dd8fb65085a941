"""Per-route message templates, rendered in Jinja2's sandbox.

Templates are compiled when the routes file is loaded, so a syntax error or an attempt to reach
Python internals stops the process at start-up with a clear message. Every value a template
prints is escaped as untrusted text unless it comes from one of the markdown filters (`link`,
`code`, `bold`), so payload text cannot inject markup through a template either.
"""

from __future__ import annotations

from jinja2 import ChainableUndefined, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from bot import markdown as md

MAX_OUTPUT = md.MAX_MESSAGE


class TemplateError(ValueError):
    """A route template that cannot be compiled or rendered."""


class SafeMarkdown(str):
    """Markdown produced by a trusted helper; printed as is."""


def _finalize(value):
    if isinstance(value, SafeMarkdown):
        return value
    if value is None or isinstance(value, ChainableUndefined):
        return ""
    return md.text(value)


def _env() -> SandboxedEnvironment:
    env = SandboxedEnvironment(undefined=ChainableUndefined, autoescape=False, finalize=_finalize)
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
    return None


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
        self.source = text
        self._template = _ENV.from_string(text)

    def render(self, context: dict) -> str:
        try:
            out = self._template.render(**context)
        except SecurityError as exc:
            raise TemplateError(f"blocked by the sandbox: {exc}") from None
        except (UndefinedError, TypeError, ValueError, ArithmeticError, LookupError) as exc:
            raise TemplateError(f"{type(exc).__name__}: {exc}") from None
        return md.fit([out.strip()], MAX_OUTPUT) or "(empty template output)"
