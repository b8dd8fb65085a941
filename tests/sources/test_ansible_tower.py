import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import Headers, render_fixture


def test_failed_playbook_run_lists_hosts():
    assert render_fixture("ansible-tower", "error__playbook_hosts.json") == [
        "🔴 **[Job #9182 Patch web servers failed](https://awx.acme.test/#/jobs/playbook/9182)**\n\n"
        "**By:** jdoe\n"
        "**Playbook:** `patch/web.yml`\n"
        "**Inventory:** Production\n"
        "**Limit:** `webservers`\n"
        "**Failed hosts:** `web-02.acme.test`, `web-03.acme.test`\n"
        "**OK hosts:** `web-01.acme.test`\n"
        "**Took:** 3m 47s",
    ]


def test_errored_scheduled_project_update_shows_the_traceback():
    assert render_fixture("ansible-tower", "error__project_update_traceback.json") == [
        "🔴 **[Project Update #9190 infra-playbooks errored](https://awx.acme.test/#/jobs/project/9190)**\n\n"
        "**Took:** 6s\n\n"
        "```\n"
        "Traceback (most recent call last):\n"
        '  File "/awx/main/tasks/jobs.py", line 604, in run\n'
        "    self.pre_run_hook(self.instance, private_data_dir)\n"
        "awx.main.exceptions.PostRunError: git clone failed: repository not found\n"
        "```",
    ]


def test_job_started():
    assert render_fixture("ansible-tower", "started__job.json") == [
        "🔵 **[Job #9210 Patch web servers started](https://awx.acme.test/#/jobs/playbook/9210)**\n\n"
        "**By:** jdoe\n"
        "**Playbook:** `patch/web.yml`\n"
        "**Inventory:** Production",
    ]


def test_successful_workflow_lists_its_nodes():
    assert render_fixture("ansible-tower", "success__workflow.json") == [
        "✅ **[Workflow Job #9201 Release 2024.03 succeeded](https://awx.acme.test/#/jobs/workflow/9201)**\n\n"
        "**By:** jdoe\n"
        "**Took:** 12m 44s\n\n"
        '- node #311 spawns job #9202, "Build artifacts", which finished with status successful.\n'
        '- node #312 spawns job #9203, "Deploy to production", which finished with status successful.',
    ]


def test_workflow_approval_needs_review():
    assert render_fixture("ansible-tower", "approval__needs_review.json") == [
        '🟠 **[Approval "Approve production deploy" needs review](https://awx.acme.test/#/jobs/workflow/9201/output)**',
    ]


def test_unknown_job_status_is_not_supported():
    with pytest.raises(Ignored, match="not supported"):
        SOURCES["ansible-tower"].receive(b'{"id": 4, "status": "new"}', "application/json", Headers())


def test_payload_not_from_ansible_tower_is_rejected():
    with pytest.raises(PayloadError):
        SOURCES["ansible-tower"].receive(b'{"job": 4, "result": "failed"}', "application/json", Headers())
