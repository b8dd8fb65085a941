"""SonarQube quality gate results (project or global webhooks).

SonarQube posts one payload when an analysis finishes, and again when a change to an issue flips the
quality gate: the project and its dashboard URL, the analysed branch or pull request, the status of
the background task and the quality gate with each of its conditions. Every payload is one event,
"analysis".
"""

from typing import ClassVar

from marshmallow import fields

from bot import markdown as md
from bot.sources._ci import build_message
from bot.sources.base import Event, Lenient, Source

GATE_RESULTS = {
    "OK": ("success", "passed"),
    "ERROR": ("error", "failed"),
    "WARN": ("warning", "raised warnings"),
}
# The operator says when a condition fails, so the requirement is its opposite.
REQUIREMENTS = {"GREATER_THAN": "≤", "LESS_THAN": "≥", "EQUALS": "≠", "NOT_EQUALS": "="}
RATINGS = "ABCDE"


class Project(Lenient):
    key = fields.Str(required=True)
    name = fields.Str(allow_none=True)
    url = fields.Str(allow_none=True)


class Branch(Lenient):
    name = fields.Str(allow_none=True)
    type = fields.Str(allow_none=True)
    url = fields.Str(allow_none=True)


class Condition(Lenient):
    metric = fields.Str(required=True)
    operator = fields.Str(allow_none=True)
    value = fields.Str(allow_none=True)
    status = fields.Str(allow_none=True)
    errorThreshold = fields.Str(allow_none=True)


class QualityGate(Lenient):
    status = fields.Str(allow_none=True)
    conditions = fields.List(fields.Nested(Condition), allow_none=True)


class SonarQubeSchema(Lenient):
    taskId = fields.Str(required=True)
    status = fields.Str(allow_none=True)
    project = fields.Nested(Project, required=True)
    branch = fields.Nested(Branch, allow_none=True)
    qualityGate = fields.Nested(QualityGate, allow_none=True)
    revision = fields.Str(allow_none=True)


def _shown(metric: str, value) -> str:
    """A measure as people read it: ratings as letters, long decimals rounded."""
    text = str(value)
    if metric.endswith("_rating") and text in ("1", "2", "3", "4", "5"):
        return RATINGS[int(text) - 1]
    if len(text.partition(".")[2]) > 2:
        try:
            return f"{float(text):.2f}"
        except ValueError:
            pass
    return text


def _condition(c: dict) -> str:
    """One failing condition: the measure, what the gate requires, and how bad it is."""
    metric = c["metric"]
    value = _shown(metric, c["value"]) if c.get("value") is not None else "no value"
    requirement = ""
    if c.get("errorThreshold") is not None:
        operator = REQUIREMENTS.get(c.get("operator") or "", "not")
        requirement = f", must be {operator} {_shown(metric, c['errorThreshold'])}"
    level = "warning" if c.get("status") == "WARN" else "error"
    return f"{md.bold(metric.replace('_', ' '))} {md.inline(f'is {value}{requirement}', 160)} ({level})"


def format_analysis(p: dict):
    project = p["project"]
    branch = p.get("branch") or {}
    gate = p.get("qualityGate") or {}
    name = project.get("name") or project["key"]
    if str(p.get("status") or "SUCCESS").upper() != "SUCCESS":
        what, result = f"{name} analysis", ("error", "failed")
    else:
        what, result = f"{name} quality gate", GATE_RESULTS.get(gate.get("status"), ("info", "was not computed"))
    failing = [_condition(c) for c in gate.get("conditions") or [] if c.get("status") in ("ERROR", "WARN")]
    pull_request = branch.get("type") == "PULL_REQUEST"
    return build_message(
        what=what,
        result=result,
        url=branch.get("url") or project.get("url"),
        branch=None if pull_request else branch.get("name"),
        sha=p.get("revision"),
        extra=[("Pull request", md.code(f"#{branch.get('name')}") if pull_request else None)],
        blocks=[md.bullets(failing)] if failing else [],
        repo=project["key"],
    )


class SonarQube(Source):
    name = "sonarqube"
    only_event = "analysis"
    title = "SonarQube"
    setup = (
        "Project Settings (or Administration → Configuration) → Webhooks → Create: URL "
        "https://copera:<secret>@<relay>/hooks/<route> (the secret as the URL's Basic-auth password)"
    )
    schema = SonarQubeSchema
    events: ClassVar[dict[str, Event]] = {"analysis": Event(format_analysis)}

    def payload_delivery_id(self, event, payload):
        # A changed issue re-sends the analysis's task id with a new quality gate, at a new time.
        return f"{payload['taskId']}:{payload.get('changedAt') or payload.get('analysedAt') or ''}"

    def branch(self, event, payload):
        branch = payload.get("branch") or {}
        return None if branch.get("type") == "PULL_REQUEST" else branch.get("name")


SOURCE = SonarQube()
