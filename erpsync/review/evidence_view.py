"""A campaign's evidence as a report document (``erpsync report review``): the JSON form
the report views (text, CSV, HTML) lay out, built from the ``erpsync_review`` records."""

from __future__ import annotations

from typing import Any

from erpsync.owntables import format_time
from erpsync.review.evidence import Campaign


def review_doc(found: Campaign, broken: list[str], head: str | None = None) -> dict[str, Any]:
    """``head``: the newest record of the whole chain (``id:hash``), to compare with the
    one ``review start``/``close`` printed."""
    started = found.started.body
    closed = found.closed.body if found.closed else {}
    counts: dict[str, dict[str, int]] = closed.get("counts", {})
    returned: dict[str, str] = closed.get("returned", {})
    reviewers = [
        {
            "reviewer": sent["reviewer"],
            "name": sent["reviewer_name"],
            "lines": len(sent["lines"]),
            "digest": sent["digest"],
            "returned": returned.get(sent["reviewer"]),
            "counts": counts.get(sent["reviewer"], {}),
        }
        for sent in started["sheets"]
    ]
    return {
        "report": "review",
        "view": "evidence",
        "campaign": found.id,
        "status": found.status,
        "target": started.get("target"),
        "scope": started.get("scope"),
        "started_at": format_time(found.started.recorded_at),
        "started_by": found.started.actor,
        "due": started.get("due"),
        "closed_at": format_time(found.closed.recorded_at) if found.closed else None,
        "closed_by": found.closed.actor if found.closed else None,
        "evidence": {
            "records": [found.started.id, *([found.closed.id] if found.closed else [])],
            "intact": not broken,
            "problems": broken,
            "head": head,
        },
        "reviewers": reviewers,
        "decisions": closed.get("decisions", []),
        "policy_changes": closed.get("policy_changes", []),
        "manual": closed.get("manual", []),
        "files_edited": closed.get("files_edited", []),
    }
