"""Named capabilities and the built-in roles that bundle them.

Endpoints ask for a permission, never for a role name: this map is the one place that
says which role may do what.
"""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    TICKETS_READ = "tickets.read"
    TICKETS_REPLY = "tickets.reply"
    TICKETS_ASSIGN = "tickets.assign"
    KB_READ = "kb.read"
    KB_EDIT = "kb.edit"
    KB_PUBLISH = "kb.publish"
    # The learning loop: review candidates, build training sets (training.*), then train and
    # promote models (models.*).
    TRAINING_READ = "training.read"
    TRAINING_ANNOTATE = "training.annotate"
    MODELS_TRAIN = "models.train"
    MODELS_PROMOTE = "models.promote"
    REPORTS_READ = "reports.read"
    REPORTS_EXPORT = "reports.export"
    USERS_MANAGE = "users.manage"
    AUDIT_READ = "audit.read"
    PII_READ = "pii.read"
    SYSTEM_READ = "system.read"
    # Tickets of every team, not just the caller's own (see handoff.visibility.can_see).
    TICKETS_ALL_TEAMS = "tickets.all_teams"
    # Teams' routing and assignment, business hours, SLA policies, shared canned replies.
    SUPPORT_CONFIGURE = "support.configure"


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    AGENT = "agent"
    KNOWLEDGE_EDITOR = "knowledge_editor"
    ML_ENGINEER = "ml_engineer"
    ANALYST = "analyst"
    TECHNICAL_SUPPORT = "technical_support"


P = Permission

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.SUPERVISOR: frozenset(
        {P.TICKETS_READ, P.TICKETS_REPLY, P.TICKETS_ASSIGN, P.KB_READ, P.REPORTS_READ, P.PII_READ,
         P.SUPPORT_CONFIGURE}
    ),
    Role.AGENT: frozenset({P.TICKETS_READ, P.TICKETS_REPLY, P.KB_READ, P.PII_READ}),
    Role.KNOWLEDGE_EDITOR: frozenset({P.KB_READ, P.KB_EDIT, P.KB_PUBLISH}),
    Role.ML_ENGINEER: frozenset({P.TRAINING_READ, P.TRAINING_ANNOTATE, P.MODELS_TRAIN,
                                 P.MODELS_PROMOTE, P.REPORTS_READ, P.KB_READ}),
    Role.ANALYST: frozenset({P.REPORTS_READ, P.REPORTS_EXPORT}),
    Role.TECHNICAL_SUPPORT: frozenset({P.SYSTEM_READ, P.AUDIT_READ}),
}


def permissions_for(role: str) -> frozenset[Permission]:
    """Unknown roles get nothing: deny by default."""
    try:
        return ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return frozenset()
