import pytest

from bot.sources import SOURCES
from bot.sources.base import PayloadError
from tests.formatting import render_fixture


def test_alert_shows_the_raw_event():
    assert render_fixture("splunk", "alert__raw_event.json") == [
        "🔴 **[Splunk alert: Failed SSH logins](https://splunk.example.com:8000/app/search/@go?"
        "sid=scheduler__admin__search__RMD5e2a9c3f1_at_1714641300_4021)**\n\n"
        "**Host:** bastion-1\n"
        "**Source:** `/var/log/secure`\n\n"
        "```\n"
        "May  2 09:15:02 bastion-1 sshd[20211]: Failed password for invalid user deploy from "
        "203.0.113.45 port 52214 ssh2\n"
        "```",
    ]


def test_unnamed_aggregate_search_shows_the_row():
    assert render_fixture("splunk", "alert__stats_count.json") == [
        "🔴 **[Splunk alert](https://splunk.example.com:8000/app/search/@go?sid=scheduler__admin__"
        "search__W2_at_1714641600_133)**\n\n"
        "**Search:** `scheduler__admin__search__W2_at_1714641600_133`\n\n"
        "- `sourcetype`: nginx:error\n"
        "- `count`: 412",
    ]


def test_form_encoded_payload_is_accepted():
    assert render_fixture("splunk", "alert__form_encoded.txt") == [
        "🔴 **[Splunk alert: sudo on bastion](https://splunk.example.com:8000/app/search/@go?sid=rt_"
        "scheduler__admin__search__sudo_at_1714641900_7.3)**\n\n"
        "**Host:** bastion-1\n"
        "**Source:** `/var/log/secure`\n\n"
        "```\n"
        "May  2 09:25:11 bastion-1 sudo:   alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; "
        "COMMAND=/bin/systemctl restart nginx\n"
        "```",
    ]


def test_payload_without_sid_is_rejected():
    with pytest.raises(PayloadError):
        SOURCES["splunk"].receive(b'{"search_name": "sudo"}', "application/json", {})
