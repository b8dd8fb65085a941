"""Ansible Tower / AWX (Automation Controller) webhook notifications.

A webhook notification template posts the job's metadata when a job, project update, inventory
update, ad hoc command, system job or workflow starts, succeeds or fails: its id, name, page,
status and, for playbook runs, the playbook, inventory and a summary per host. These are the events
"started", "success" and "error", after the notification triggers. Workflow approval notifications
post only `{"body": "The approval node ... needs review ..."}`: the event "approval".
"""

import re
from typing import ClassVar

from marshmallow import fields

from bot import markdown as md
from bot.message import Message
from bot.sources._ci import build_message, codes, elapsed, outcome
from bot.sources.base import Event, Lenient, Source

# Job status -> (event, (severity, verb)). AWX notifies "error" for failed, errored and canceled jobs.
STATUSES = {
    "pending": ("started", ("info", "is pending")),
    "waiting": ("started", ("info", "is waiting")),
    "running": ("started", outcome("started")),
    "successful": ("success", ("success", "succeeded")),
    "failed": ("error", outcome("failed")),
    "error": ("error", outcome("errored")),
    "canceled": ("error", outcome("canceled")),
}
APPROVAL = re.compile(
    r"approval node [\"'](?P<node>.+?)[\"'] (?P<what>needs review|was approved|was denied|has timed out)"
)
APPROVAL_SEVERITY = {"needs review": "warning", "was approved": "success", "was denied": "error"}
URL = re.compile(r"https?://\S+")


class Host(Lenient):
    failed = fields.Bool(allow_none=True)


class TowerSchema(Lenient):
    id = fields.Int()
    status = fields.Str()
    body = fields.Str(allow_none=True)


class Job(Lenient):
    id = fields.Int(required=True)
    status = fields.Str(required=True)
    name = fields.Str(allow_none=True)
    friendly_name = fields.Str(allow_none=True)
    url = fields.Str(allow_none=True)
    created_by = fields.Str(allow_none=True)
    project = fields.Str(allow_none=True)
    playbook = fields.Str(allow_none=True)
    inventory = fields.Str(allow_none=True)
    limit = fields.Str(allow_none=True)
    traceback = fields.Str(allow_none=True)
    hosts = fields.Dict(keys=fields.Str(), values=fields.Nested(Host), allow_none=True)
    body = fields.Str(allow_none=True)


class Approval(Lenient):
    body = fields.Str(required=True)


def format_job(p: dict):
    hosts = p.get("hosts") or {}
    failed = [name for name, host in hosts.items() if host.get("failed")]
    ok = [name for name, host in hosts.items() if not host.get("failed")]
    blocks = []
    if p.get("traceback"):
        blocks.append(md.fenced(p["traceback"], limit=1500))
    # A workflow job's body lists, one "- node ..." line each, what its nodes ran and how that ended.
    nodes = [line[2:] for line in (p.get("body") or "").splitlines() if line.startswith("- node ")]
    if nodes:
        blocks.append(md.bullets([md.inline(node) for node in nodes]))
    # Scheduled jobs have no creator, which AWX writes as the string "None".
    by = p.get("created_by") if p.get("created_by") != "None" else None
    what = " ".join(str(part) for part in (p.get("friendly_name") or "Job", f"#{p['id']}", p.get("name")) if part)
    return build_message(
        what=what,
        result=STATUSES.get(p["status"], (None, outcome(p["status"])))[1],
        url=p.get("url"),
        by=by,
        extra=[
            ("Playbook", md.code(p["playbook"]) if p.get("playbook") else None),
            ("Inventory", md.inline(p["inventory"]) if p.get("inventory") else None),
            ("Limit", md.code(p["limit"]) if p.get("limit") else None),
            ("Failed hosts", codes(failed)),
            ("Hosts" if not failed else "OK hosts", codes(ok)),
        ],
        blocks=blocks,
        repo=p.get("project"),
        took=elapsed(p.get("started"), p.get("finished")),
    )


def format_approval(p: dict):
    match = APPROVAL.search(p["body"])
    # A custom message may end its sentence right after the URL.
    urls = [url.rstrip(".,;") for url in URL.findall(p["body"])]
    if not match:
        return Message(title="Workflow approval", url=urls[0] if urls else None, body=[md.quote(p["body"], 500)])
    return Message(
        title=f'Approval "{match["node"]}" {match["what"]}',
        url=urls[0] if urls else None,
        severity=APPROVAL_SEVERITY.get(match["what"], "warning"),
    )


class AnsibleTower(Source):
    name = "ansible-tower"
    title = "Ansible Tower / AWX"
    setup = (
        "Notifications → Add notification template → type Webhook: Target URL https://<relay>/hooks/<route>, "
        'HTTP Headers {"Authorization": "Bearer <secret>"}; then enable it on templates for Start/Success/Failure'
    )
    schema = TowerSchema
    events: ClassVar[dict[str, Event]] = {
        "started": Event(format_job, Job),
        "success": Event(format_job, Job),
        "error": Event(format_job, Job),
        "approval": Event(format_approval, Approval),
    }

    def detect_event(self, payload, headers):
        if "id" in payload and "status" in payload:
            return STATUSES.get(payload["status"], (payload["status"],))[0]
        return "approval" if isinstance(payload.get("body"), str) else None

    def payload_delivery_id(self, event, payload):
        return f"{payload['id']}:{payload['status']}" if event != "approval" else None


SOURCE = AnsibleTower()
