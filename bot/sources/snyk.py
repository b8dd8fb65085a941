"""`snyk`: Snyk's webhooks (the V1 Webhooks API, in beta at Snyk).

Documentation: https://docs.snyk.io/snyk-api/using-specific-snyk-apis/webhooks-apis/webhooks (events
and payloads) and .../webhooks-apis/validation-and-versioning-of-payloads (signing).

Snyk names the event in `X-Snyk-Event` with a version suffix (`ping/v0`, `project_snapshot/v0`);
the suffix is dropped here, since versions only change on breaking changes and this module reads v0.
`X-Snyk-Transport-ID` is a GUID per delivery, the dedup key.

- `ping` (sent when the webhook is created, or on demand) is acknowledged without a post.
- `project_snapshot` comes after every test of an Open Source or container project, with the
  `project` (`name`, `id`, `type`, `origin`, `branch`, `browseUrl`, `issueCountsBySeverity`: the
  issues open after this test), the `org`, and the issues the test found (`newIssues`) and no
  longer found (`removedIssues`), each with `pkgName`, `pkgVersions` and `issueData` (`title`,
  `severity` low/medium/high/critical, `url`) and `fixInfo.nearestFixedInVersion`. A test that
  changed nothing is acknowledged without a post.

New issues are a firing alert of the project (keyed by the project id) with the worst new issue's
severity (critical → critical, high → error, medium → warning, low → info); the new issues' ids are
its revision, so a later test finding other issues is news, not a repeat. Removed issues are a
separate success message; it resolves the project's alert only when the project has no open issue
left (a partial fix leaves it firing, so it gets no identity), as Alertmanager groups do.

Auth: `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw body>`, keyed with the secret given
when the webhook was created. `X-Snyk-Timestamp` (ISO 8601, when the event occurred, unsigned) is
not checked.
"""

import hashlib
from typing import ClassVar

from marshmallow import fields, validate

from bot import markdown as md
from bot.auth import HmacSignature
from bot.message import Message
from bot.sources._monitoring import alert_ref
from bot.sources.base import Event, Lenient, Source

MAX_ISSUES = 10
# Snyk's issue severities, worst first, and the relay's severity for each.
SEVERITIES = {"critical": "critical", "high": "error", "medium": "warning", "low": "info"}


class ProjectSchema(Lenient):
    id = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    name = fields.Str(allow_none=True)
    type = fields.Str(allow_none=True)
    origin = fields.Str(allow_none=True)
    branch = fields.Str(allow_none=True)
    browseUrl = fields.Str(allow_none=True)
    issueCountsBySeverity = fields.Dict(keys=fields.Str(), values=fields.Int(allow_none=True), allow_none=True)


class OrgSchema(Lenient):
    name = fields.Str(allow_none=True)


class IssueDataSchema(Lenient):
    id = fields.Str(allow_none=True)
    title = fields.Str(allow_none=True)
    severity = fields.Str(allow_none=True)
    url = fields.Str(allow_none=True)


class FixInfoSchema(Lenient):
    nearestFixedInVersion = fields.Str(allow_none=True)


class IssueSchema(Lenient):
    id = fields.Str(required=True)
    pkgName = fields.Str(allow_none=True)
    pkgVersions = fields.List(fields.Str(), allow_none=True)
    issueData = fields.Nested(IssueDataSchema, allow_none=True)
    fixInfo = fields.Nested(FixInfoSchema, allow_none=True)


class SnapshotSchema(Lenient):
    project = fields.Nested(ProjectSchema, required=True)
    org = fields.Nested(OrgSchema, allow_none=True)
    newIssues = fields.List(fields.Nested(IssueSchema), required=True)
    removedIssues = fields.List(fields.Nested(IssueSchema), required=True)


def _severity_word(issue: dict) -> str:
    word = str((issue.get("issueData") or {}).get("severity") or "").strip().lower()
    return word if word in SEVERITIES else ""


def _worst_first(issues: list[dict]) -> list[dict]:
    order = list(SEVERITIES)
    return sorted(issues, key=lambda i: order.index(w) if (w := _severity_word(i)) else len(order))


def _issue_line(issue: dict, fixed: bool) -> str:
    data = issue.get("issueData") or {}
    word = _severity_word(issue)
    versions = issue.get("pkgVersions") or []
    name = issue.get("pkgName") or ""
    package = md.code(f"{name}@{', '.join(versions[:3])}" if name and versions else name, 120)
    fix = (issue.get("fixInfo") or {}).get("nearestFixedInVersion")
    return "".join([
        f"**{word.capitalize()}** " if word else "",
        md.link(data.get("title") or issue["id"], data.get("url"), 150),
        f" in {package}" if package else "",
        f" (fixed in {md.code(fix, 40)})" if fix and not fixed else "",
    ])


def _open_counts(project: dict) -> tuple[str, int]:
    """The project's open issues after this test ("2 critical, 5 high"), and their total."""
    counts = project.get("issueCountsBySeverity") or {}
    shown = [(word, n) for word in SEVERITIES if isinstance(n := counts.get(word), int) and n > 0]
    return ", ".join(f"{n} {word}" for word, n in shown), sum(n for _, n in shown)


def _facts(p: dict) -> str:
    project = p["project"]
    kind = " / ".join(md.inline(project.get(k), 40) for k in ("origin", "type") if project.get(k))
    open_text, _ = _open_counts(project)
    return md.fields([
        ("Organization", md.inline((p.get("org") or {}).get("name"), 120)),
        ("Project", kind),
        ("Branch", md.code(project.get("branch"), 100)),
        ("Open issues", open_text or ("none" if project.get("issueCountsBySeverity") is not None else "")),
    ])


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def format_snapshot(p: dict) -> list[Message]:
    project = p["project"]
    name = project.get("name") or project["id"]
    messages = []
    new, removed = p["newIssues"], p["removedIssues"]
    if new:
        ids = hashlib.sha256("|".join(sorted(i["id"] for i in new)).encode()).hexdigest()[:16]
        worst = next((w for i in _worst_first(new) if (w := _severity_word(i))), "")
        messages.append(Message(
            title=f"{name}: {_plural(len(new), 'new issue')}",
            url=project.get("browseUrl"),
            severity=SEVERITIES.get(worst, "warning"),
            status="firing",
            body=[_facts(p), md.bullets([_issue_line(i, False) for i in _worst_first(new)], MAX_ISSUES)],
            repo=name,
            alert=alert_ref(project["id"], up=False, revision=ids),
        ))
    if removed:
        _, still_open = _open_counts(project)
        clean = still_open == 0 and project.get("issueCountsBySeverity") is not None
        messages.append(Message(
            title=f"{name}: {_plural(len(removed), 'issue')} no longer found",
            url=project.get("browseUrl"),
            severity="success",
            status="resolved",
            body=[_facts(p), md.bullets([_issue_line(i, True) for i in _worst_first(removed)], MAX_ISSUES)],
            repo=name,
            alert=alert_ref(project["id"], up=True) if clean else None,
        ))
    return messages


def _unchanged(p: dict) -> str | None:
    return None if p["newIssues"] or p["removedIssues"] else "the test found no new or removed issues"


class Snyk(Source):
    name = "snyk"
    title = "Snyk"
    setup = (
        "Snyk has no webhook form: create one with the API, POST https://api.snyk.io/v1/org/<org id>/webhooks "
        'with {"url": "https://<relay>/hooks/<route>", "secret": "<secret>"} (Authorization: token <API token>)'
    )
    auth = HmacSignature("X-Hub-Signature", prefix="sha256=")
    event_header = "X-Snyk-Event"
    delivery_headers = ("X-Snyk-Transport-ID",)
    events: ClassVar[dict[str, Event]] = {
        "project_snapshot": Event(format_snapshot, SnapshotSchema, ignore=_unchanged,
                                  branch=lambda p: p["project"].get("branch")),
    }
    ignored: ClassVar[dict[str, str]] = {"ping": "Snyk's ping: the webhook reaches the relay"}

    def detect_event(self, payload, headers):
        name = super().detect_event(payload, headers)
        return name.partition("/")[0].strip() or None if name else None


SOURCE = Snyk()
