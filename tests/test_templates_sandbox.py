"""Route templates against sandbox escapes and resource exhaustion: each attempt either stops the relay at
start-up (ConfigError from `parse_config`) or fails its render quickly with TemplateError, which the
worker answers with the route's default format."""

from __future__ import annotations

import sys
import time

import pytest

from bot.config import ConfigError, parse_config
from bot.templates import MAX_RAW_OUTPUT, RENDER_SECONDS, Template, TemplateError
from tests.conftest import CHANNEL

SECRET = "s3cret-for-template-tests"
BEARER = {"Authorization": f"Bearer {SECRET}"}
CONTEXT = {
    "payload": {"message": "hi", "big": "x" * 100_000, "items": list(range(1000)), "nested": {"a": [1, 2]}},
    "event": "message", "source": "generic", "route": "g",
    "message": {"title": "hi", "url": None, "severity": "info", "status": None, "branch": None, "repo": None,
                "labels": {}},
}


def config_with(template: str):
    return parse_config({"routes": {"g": {"source": "generic", "channel": CHANNEL, "secret": SECRET,
                                          "template": template}}}, {})


# -- escapes that are refused at start-up --------------------------------------------------------

@pytest.mark.parametrize("template", [
    "{{ payload.__class__ }}",
    "{{ payload.__class__.__mro__[1].__subclasses__() }}",
    "{{ ''.__class__.__mro__ }}",
    "{{ payload['__class__'] }}",
    "{{ payload.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'] }}",
    "{{ range.__self__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ self._TemplateReference__context.cycler }}",
    "{{ payload|attr('__class__') }}",
    "{{ (payload|attr('__class__')).__base__ }}",
    "{{ payload._private }}",
    "{% set x = payload.__class__ %}{{ x }}",
    "{% for c in ''.__class__.__mro__ %}{{ c }}{% endfor %}",
    "{% include 'other.txt' %}",
    "{% extends 'base.txt' %}",
    "{% import 'macros.txt' as m %}",
    "{% from 'macros.txt' import m %}",
    "{% if %}",
    "{{ payload.message",
])
def test_escapes_and_loaders_stop_the_relay_at_start_up(template):
    with pytest.raises(ConfigError) as err:
        config_with(template)
    assert str(err.value).startswith("route 'g', field 'template': ")


# -- escapes that can only be seen at render time: blocked, quickly -------------------------------

@pytest.mark.parametrize("template", [
    "{{ payload.message.mro() }}",                       # not a type: no such attribute
    "{{ payload|attr('__cla' ~ 'ss__') }}",              # computed name: the sandbox refuses it
    "{{ payload[('__cla' ~ 'ss__')] }}",
    "{{ (payload|attr('_' ~ '_init__')) }}",
    "{{ payload.items.append(1) }}",                     # no mutation of the payload
    "{{ payload.nested.update({'a': 1}) }}",
    "{{ payload.message.format_map(payload) }}",
    "{{ lipsum(1) }}",                                   # removed: lorem ipsum of any length
    "{{ 'x'.translate({120: 'y' * 1000}) }}",
    "{{ config }}{{ request.environ }}",
])
def test_runtime_escapes_fail_the_render_or_print_nothing(template):
    t = Template(template)
    try:
        out = t.render(CONTEXT)
    except TemplateError:
        return
    assert "class" not in out and "function" not in out and "environ" not in out, out


# -- resource exhaustion: bounded at render ------------------------------------------------------

SLOW_OR_HUGE = [
    "{% for i in range(10**9) %}x{% endfor %}",
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "{% for a in payload.big %}{% for b in payload.big %}{% endfor %}{% endfor %}",
    "{% for i in range(100000) %}{{ payload.big }}{% endfor %}",
    "{{ 'x' * 10**9 }}",
    "{{ [0] * 10**9 }}",
    "{{ 10 ** (10 ** 10) }}",  # Jinja's ** groups to the left: 10 ** 10 ** 10 is (10 ** 10) ** 10
    "{{ 2 ** (10 ** 7) }}",
    "{{ 9 ** (9 ** 9) }}",
    "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
    "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
    "{% set ns = namespace(l=[1]) %}{% for i in range(64) %}{% set ns.l = ns.l + ns.l %}{% endfor %}",
    "{% set ns = namespace(n=3) %}{% for i in range(64) %}{% set ns.n = ns.n * ns.n %}{% endfor %}",
    "{{ 'a'.ljust(10**9) }}", "{{ 'a'.center(10**9) }}", "{{ 'a'.zfill(10**9) }}",
    "{{ payload.big.expandtabs(10**6) }}", "{{ ('\t' * 1000).expandtabs(10000) }}",
    "{{ 'a'|center(10**9) }}", "{{ payload.big|indent(10**6) }}", "{{ payload.big|indent(payload.big) }}x" * 40,
    "{{ '%999999999s'|format(1) }}", "{{ '%*s'|format(10**9, 1) }}", "{{ '%999999999d' % 1 }}",
    "{{ '{:>999999999}'.format(1) }}", "{{ '{:>{w}}'.format(1, w=10**9) }}", "{{ '{:.999999999f}'.format(1.0) }}",
    "{{ payload.big.replace('x', payload.big) }}", "{{ payload.big|replace('x', payload.big) }}",
    "{{ ''.replace('', 'y' * 100000) ~ payload.big.replace('', 'yy') }}",
    "{{ range(100000)|join(payload.big) }}", "{{ payload.big.join(range(100000)) }}",
    "{{ range(10)|batch(10**9, 'x')|list }}", "{{ range(10)|slice(10**9)|list }}",
    "{{ payload|tojson(indent=10**9) }}",
    "{{ range(100000)|list }}",
    "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
    "{% macro f() %}{{ f() }}{{ f() }}{% endmacro %}{{ f() }}",
    "{% for i in range(100000) %}{{ payload.big|wordwrap(1) }}{% endfor %}",
    "{% for i in range(100000) %}{{ payload.items|sort|join(',') }}{% endfor %}",
]


@pytest.mark.parametrize("template", SLOW_OR_HUGE)
def test_slow_or_huge_templates_fail_within_the_budget(template):
    t = Template(template)  # each is a valid template: accepted at start-up
    started = time.monotonic()
    with pytest.raises(TemplateError):
        t.render(CONTEXT)
    assert time.monotonic() - started < RENDER_SECONDS + 1.5


def test_render_budget_is_configurable_and_tracing_is_restored():
    before = sys.gettrace()
    t = Template("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}")
    started = time.monotonic()
    with pytest.raises(TemplateError, match=r"took more than 0\.2 s"):
        t.render(CONTEXT, seconds=0.2)
    assert time.monotonic() - started < 1.0
    assert sys.gettrace() is before


def test_output_cap_and_the_message_limit():
    with pytest.raises(TemplateError, match="output is over"):
        Template("{% for i in range(20000) %}0123456789{% endfor %}").render(CONTEXT)
    # Up to the cap, long output is shortened to the 10,000-character message, as before.
    out = Template("{% for i in range(5000) %}line {{ i }}\n{% endfor %}").render(CONTEXT)
    assert len(out) <= 10_000 and out.endswith("left out)*")
    with pytest.raises(TemplateError):
        Template("{{ payload.big }}{{ payload.big }}").render(CONTEXT, max_output=MAX_RAW_OUTPUT)


def test_ordinary_templates_are_unaffected_and_fast():
    t = Template("{{ message.severity | upper }}: {{ payload.message }} {{ payload.url | link('details') }} "
                 "{% for i in payload['items'][:3] %}{{ i * 2 }},{% endfor %} {{ payload['items']|length }} "
                 "{{ '%5.1f'|format(3.14159) }} {{ '{:>4}'.format(7) }} {{ (payload.message ~ '!') * 3 }} "
                 "{{ 2 ** 10 }} {{ 10 ** 10 ** 2 }} {{ payload.nested|tojson }} {{ ['a', 'b']|join('-') }} "
                 "{{ 'ab'.center(6, '*') }}")
    started = time.perf_counter()
    for _ in range(200):
        out = t.render({**CONTEXT, "payload": {**CONTEXT["payload"], "url": "https://x.example/1"}})
    assert (time.perf_counter() - started) / 200 < 0.01
    assert out == (f"INFO: hi [details](https://x.example/1) 0,2,4, 1000   3.1    7 hi!hi!hi! 1024 {10 ** 20} "
                   '{"a": [1, 2]} a-b \\*\\*ab\\*\\*')


def test_a_failing_template_falls_back_to_the_default_format(make_relay, copera):
    relay = make_relay({"g": {"source": "generic", "channel": CHANNEL, "secret": SECRET,
                              "template": "{% for i in range(10**5) %}{% for j in range(10**5) %}{% endfor %}"
                                          "{% endfor %}never"}})
    assert relay.post("g", {"message": "still delivered"}, BEARER).status_code == 202
    relay.work()
    assert copera.texts(CHANNEL) == ["🔵 **still delivered**"]


@pytest.mark.parametrize("source", [
    "{{ (['x' * 2000000] * 2000000) | length }}",  # the size was checked at the top level only
    "{{ ([['y' * 1000] * 1000] * 1000) | length }}",
    "{{ ({'k': 'z' * 1500000}.values() | list) * 2 }}",
])
def test_repetition_weighs_what_it_repeats(source):
    with pytest.raises(TemplateError, match="over the template limits"):
        Template(source).render({})
