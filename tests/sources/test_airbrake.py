import pytest

from bot.sources import SOURCES
from bot.sources.base import PayloadError
from tests.formatting import receive_fixture, render_fixture


def test_error_with_request_and_backtrace():
    assert render_fixture("airbrake", "error__with_backtrace.json") == [
        "🔴 **[PG::ConnectionBad: could not connect to server: Connection "
        "refused](https://acme.airbrake.io/projects/40812/groups/2817364455019283746)**\n\n"
        "**Project:** Storefront\n"
        "**Environment:** `production`\n"
        "**Occurrences:** 1\n"
        "**Request:** [https://shop.example.com/orders](https://shop.example.com/orders)\n\n"
        "```\n"
        "[PROJECT_ROOT]/app/models/order.rb:88:in `finalize!'\n"
        "[PROJECT_ROOT]/app/controllers/orders_controller.rb:31:in `create'\n"
        "[GEM_ROOT]/gems/actionpack-7.1.3/lib/action_controller/metal/basic_implicit_render.rb:6:in `send_action'\n"
        "[GEM_ROOT]/gems/actionpack-7.1.3/lib/abstract_controller/base.rb:224:in `process_action'\n"
        "[GEM_ROOT]/gems/actionpack-7.1.3/lib/action_controller/metal/rendering.rb:165:in `process_action'\n"
        "```",
    ]


def test_error_class_prefixes_a_bare_message():
    assert render_fixture("airbrake", "error__reoccurred_without_request.json") == [
        "🔴 **[ZeroDivisionError: division by zero in monthly "
        "report](https://acme.airbrake.io/projects/40813/groups/2817364455019281111)**\n\n"
        "**Project:** Reporting worker\n"
        "**Environment:** `staging`\n"
        "**Occurrences:** 27",
    ]


def test_redelivery_is_recognised_by_its_notice():
    incoming = receive_fixture("airbrake", "error__with_backtrace.json")
    key, _ = SOURCES["airbrake"].delivery_key(incoming.event, incoming.payload, {}, b"")
    assert key == "id:notice:2817364455019290001"


def test_the_alert_is_the_error_group_and_each_notice_a_revision():
    refs = []
    for fixture in ("error__with_backtrace.json", "error__reoccurred_without_request.json"):
        incoming = receive_fixture("airbrake", fixture)
        refs.append(SOURCES["airbrake"].format(incoming.event, incoming.payload)[0].alert)
    new, back = refs
    assert (new.key, new.status, new.revision, new.started_at) == (
        "2817364455019283746", "firing", "2817364455019290001", 1714641164.118)
    assert (back.key, back.status, back.revision, back.started_at) == (
        "2817364455019281111", "firing", "2817364455019299999", 1714528804.0)


def test_payload_from_another_sender_is_rejected():
    with pytest.raises(PayloadError):
        SOURCES["airbrake"].receive(b'{"message": "Backup finished"}', "application/json", {})
