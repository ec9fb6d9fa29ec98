from sqlalchemy import update

from core import audit
from core.audit import AuditEntry


def test_chain_verifies_and_detects_an_edited_row(session):
    for i in range(3):
        audit.record(session, actor=None, action="test.action", target=f"thing:{i}")
    session.commit()
    assert audit.verify_chain(session) == []

    second = session.query(AuditEntry).order_by(AuditEntry.id).all()[1]
    session.execute(update(AuditEntry).where(AuditEntry.id == second.id)
                    .values(target="thing:forged"))
    session.commit()
    session.expire_all()
    assert audit.verify_chain(session) == [second.id]
