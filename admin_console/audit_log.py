"""Browsing and exporting the audit trail. An export is itself audited."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict

from sqlalchemy.orm import Session

from admin_console.schemas import AuditEntryOut
from core import audit
from core.audit import AuditFilter
from core.auth.service import Principal

CSV_COLUMNS = ["id", "created_at", "actor_user_id", "action", "target", "client_address",
               "before", "after", "prev_hash", "entry_hash"]


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    """Keep spreadsheet apps from running attacker-chosen text (a failed login's e-mail) as a
    formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def export(session: Session, actor: Principal, filters: AuditFilter, fmt: str, *,
           client_address: str | None) -> str:
    entries = [AuditEntryOut.of(e).model_dump() for e in audit.export(session, filters)]
    audit.record(session, actor=actor.user_id, action="audit.exported", target="audit_log",
                 client_address=client_address,
                 after={"format": fmt, "entries": len(entries),
                        "filters": {k: v for k, v in asdict(filters).items() if v is not None}})
    if fmt == "json":
        return json.dumps(entries, indent=1, default=str)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for row in entries:
        flat = {**row, "before": json.dumps(row["before"]) if row["before"] else "",
                "after": json.dumps(row["after"]) if row["after"] else ""}
        writer.writerow({k: _cell(v) for k, v in flat.items()})
    return out.getvalue()
