"""`harbor`: Harbor container registry project webhooks (the "Default" payload format).

Handles artifacts pushed and deleted, vulnerability scans (completed with a summary by severity,
failed, stopped), project quota warnings and overruns, replication results and tag retention runs.
Artifact pulls are acknowledged without a post: they happen on every deployment.

Harbor names the event in the payload's `type` and sends the webhook's configured "Auth Header"
value verbatim as `Authorization`, so that value is `Bearer <secret>`.
"""

from __future__ import annotations

from typing import ClassVar

from marshmallow import fields

from bot import markdown as md
from bot.message import Message, rank
from bot.sources.base import Event, Lenient, Source

# Harbor's vulnerability severities, most severe first, and how each ranks here.
SCAN_SEVERITIES = {
    "Critical": "critical",
    "High": "error",
    "Medium": "warning",
    "Low": "info",
    "Negligible": "info",
    "Unknown": "info",
}
SEVERITY_ORDER = {level: i for i, level in enumerate(SCAN_SEVERITIES)}
REPLICATION_WORDS = {"success": "succeeded", "succeed": "succeeded", "stopped": "stopped"}
MAX_ITEMS = 10


# -- schemas --------------------------------------------------------------------------------------
class Resource(Lenient):
    digest = fields.Str(allow_none=True)
    tag = fields.Str(allow_none=True)
    scan_overview = fields.Dict(allow_none=True)


class Repository(Lenient):
    name = fields.Str(allow_none=True)
    namespace = fields.Str(allow_none=True)
    repo_full_name = fields.Str(allow_none=True)


class ArtifactInfo(Lenient):
    name_tag = fields.Str(allow_none=True)
    fail_reason = fields.Str(allow_none=True)


class ReplicationEndpoint(Lenient):
    registry_name = fields.Str(allow_none=True)
    endpoint = fields.Str(allow_none=True)
    namespace = fields.Str(allow_none=True)


class Replication(Lenient):
    job_status = fields.Str(allow_none=True)
    trigger_type = fields.Str(allow_none=True)
    description = fields.Str(allow_none=True)
    src_resource = fields.Nested(ReplicationEndpoint, allow_none=True)
    dest_resource = fields.Nested(ReplicationEndpoint, allow_none=True)
    successful_artifact = fields.List(fields.Nested(ArtifactInfo), allow_none=True)
    failed_artifact = fields.List(fields.Nested(ArtifactInfo), allow_none=True)


class Retention(Lenient):
    total = fields.Int(allow_none=True)
    retained = fields.Int(allow_none=True)
    project_name = fields.Str(allow_none=True)
    result = fields.Str(allow_none=True)
    deleted_artifact = fields.List(fields.Nested(ArtifactInfo), allow_none=True)


class EventData(Lenient):
    resources = fields.List(fields.Nested(Resource), allow_none=True)
    repository = fields.Nested(Repository, allow_none=True)
    replication = fields.Nested(Replication, allow_none=True)
    retention = fields.Nested(Retention, allow_none=True)
    custom_attributes = fields.Dict(keys=fields.Str(), values=fields.Str(allow_none=True), allow_none=True)


class HarborPayload(Lenient):
    """Every Harbor notification: the event type, who caused it, and the event's data."""

    type = fields.Str(required=True)
    operator = fields.Str(allow_none=True)
    event_data = fields.Nested(EventData, required=True)


# -- formatting -----------------------------------------------------------------------------------
def _data(p: dict) -> dict:
    return p["event_data"]


def _resources(p: dict) -> list[dict]:
    return _data(p).get("resources") or []


def _repo(p: dict) -> str:
    repo = _data(p).get("repository") or {}
    return repo.get("repo_full_name") or "/".join(filter(None, (repo.get("namespace"), repo.get("name")))) or "Harbor"


def _reference(p: dict, resource: dict) -> str:
    """`project/repo:tag`, or `project/repo@sha256:…` for an untagged artifact."""
    if resource.get("tag"):
        return f"{_repo(p)}:{resource['tag']}"
    return f"{_repo(p)}@{resource['digest']}" if resource.get("digest") else _repo(p)


def _references(p: dict) -> str:
    refs = [md.code(_reference(p, r)) for r in _resources(p)] or [md.code(_repo(p))]
    return ", ".join(refs[:MAX_ITEMS]) + (f" and {len(refs) - MAX_ITEMS} more" if len(refs) > MAX_ITEMS else "")


def _operator(p: dict) -> str:
    return md.bold(p.get("operator") or "Someone")


def _artifact_event(verb: str):
    def format_artifact(p: dict) -> Message:
        return Message(
            title=f"{_repo(p)}: artifact {verb}",
            body=[f"{_operator(p)} {verb} {_references(p)}."],
            repo=_repo(p),
        )

    return format_artifact


def _reports(resource: dict) -> list[dict]:
    # The overview is keyed by report MIME type; each value is one scanner's summary.
    overview = resource.get("scan_overview") or {}
    return [report for report in overview.values() if isinstance(report, dict)]


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _scan_line(p: dict, resource: dict) -> tuple[str, str]:
    """One artifact's findings by severity, and the severity of the worst one."""
    counts: dict[str, int] = {}
    fixable = 0
    for report in _reports(resource):
        summary = _dict(report.get("summary"))
        fixable += summary["fixable"] if isinstance(summary.get("fixable"), int) else 0
        for level, count in _dict(summary.get("summary")).items():
            if isinstance(count, int) and count > 0:
                counts[level] = counts.get(level, 0) + count
    ref = md.code(_reference(p, resource))
    if not counts:
        return f"{ref}: no vulnerabilities found.", "success"
    ranked = sorted(counts, key=lambda level: SEVERITY_ORDER.get(level, len(SEVERITY_ORDER)))
    found = ", ".join(f"{md.inline(level)} **{counts[level]}**" for level in ranked)
    found += f" ({fixable} fixable)" if fixable else ""
    return f"{ref}: {found}", SCAN_SEVERITIES.get(ranked[0], "info")


def format_scan_completed(p: dict) -> Message:
    resources = _resources(p)
    results = [_scan_line(p, r) for r in resources]
    severity = min((level for _, level in results), key=rank, default="info")
    if not results:
        outcome, lines = "scan finished", [f"{md.code(_repo(p))}: no results in the notification."]
    else:
        outcome = "no vulnerabilities" if severity == "success" else "vulnerabilities found"
        lines = [line for line, _ in results]
    scanner = _dict(next((r.get("scanner") for r in _reports(resources[0])), None) if resources else None)
    by = f" by {md.inline(scanner['name'])}" if scanner.get("name") else ""
    body = [f"Vulnerability scan{by} finished:", lines[0] if len(lines) == 1 else md.bullets(lines, MAX_ITEMS)]
    return Message(title=f"{_repo(p)}: {outcome}", severity=severity, body=body, repo=_repo(p))


def _scan_problem(word: str, severity: str):
    def format_problem(p: dict) -> Message:
        return Message(
            title=f"{_repo(p)}: scan {word}",
            severity=severity,
            body=[f"The vulnerability scan of {_references(p)} {word}."],
            repo=_repo(p),
        )

    return format_problem


def _quota_event(what: str, severity: str):
    def format_quota(p: dict) -> Message:
        project = (_data(p).get("repository") or {}).get("namespace") or _repo(p)
        details = (_data(p).get("custom_attributes") or {}).get("Details")
        body = [md.fields([("Artifact", _references(p)), ("Pushed by", md.inline(p.get("operator") or ""))])]
        if details:
            body.append(md.text(details, 500))
        return Message(title=f"{project}: project quota {what}", severity=severity, body=body, repo=_repo(p))

    return format_quota


def _endpoint(end) -> str:
    end = end or {}
    where = end.get("registry_name") or end.get("endpoint") or "?"
    return md.code(f"{where}/{end['namespace']}" if end.get("namespace") else where)


def format_replication(p: dict) -> Message:
    rep = _data(p).get("replication") or {}
    status = (rep.get("job_status") or "").lower()
    failed = rep.get("failed_artifact") or []
    word = "failed" if failed or status in ("error", "failure", "failed") else REPLICATION_WORDS.get(status, "finished")
    items = [
        md.code(a.get("name_tag") or "?") + (f": {md.inline(a['fail_reason'])}" if a.get("fail_reason") else "")
        for a in failed + (rep.get("successful_artifact") or [])
    ]
    body = [f"From {_endpoint(rep.get('src_resource'))} to {_endpoint(rep.get('dest_resource'))}."]
    if items:
        body.append(md.bullets(items, MAX_ITEMS))
    policy = f": {rep['description']}" if rep.get("description") else ""
    return Message(
        title=f"Replication {word}{policy}",
        severity={"failed": "error", "succeeded": "success", "stopped": "warning"}.get(word, "info"),
        body=body,
        labels={"trigger": rep.get("trigger_type") or ""},
    )


def format_retention(p: dict) -> Message:
    ret = _data(p).get("retention") or {}
    project = ret.get("project_name") or "Harbor"
    result = (ret.get("result") or "").lower()
    word = {"success": "succeeded", "error": "failed", "failed": "failed"}.get(result, result or "finished")
    body = []
    if isinstance(ret.get("total"), int) and isinstance(ret.get("retained"), int):
        body.append(f"Kept {ret['retained']} of {ret['total']} artifacts.")
    deleted = [md.code(a.get("name_tag") or "?") for a in ret.get("deleted_artifact") or []]
    if deleted:
        # Labelled, or the list under "Kept 11 of 14" reads as the kept ones.
        body += ["Deleted:", md.bullets(deleted, MAX_ITEMS, noun="more deleted")]
    return Message(
        title=f"{project}: tag retention {word}",
        severity={"succeeded": "success", "failed": "error"}.get(word, "info"),
        body=body,
        repo=project,
    )


class Harbor(Source):
    name = "harbor"
    title = "Harbor"
    setup = (
        "Project → Webhooks → New webhook: Notify type http, payload format Default, "
        "Endpoint URL https://<relay>/hooks/<route>, Auth Header `Bearer <secret>`"
    )
    schema = HarborPayload
    events: ClassVar[dict[str, Event]] = {
        "PUSH_ARTIFACT": Event(_artifact_event("pushed")),
        "DELETE_ARTIFACT": Event(_artifact_event("deleted")),
        "SCANNING_COMPLETED": Event(format_scan_completed),
        "SCANNING_FAILED": Event(_scan_problem("failed", "error")),
        "SCANNING_STOPPED": Event(_scan_problem("was stopped", "warning")),
        "QUOTA_EXCEED": Event(_quota_event("exceeded", "error")),
        "QUOTA_WARNING": Event(_quota_event("nearly used up", "warning")),
        "REPLICATION": Event(format_replication),
        "TAG_RETENTION": Event(format_retention),
    }
    ignored: ClassVar[dict[str, str]] = {"PULL_ARTIFACT": "artifact pulls are not posted"}

    def detect_event(self, payload, headers):
        return payload["type"].strip().upper() or None


SOURCE = Harbor()
