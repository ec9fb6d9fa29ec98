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


def test_concurrent_appends_keep_one_unbroken_chain(db_url):
    """Eight writers appending at once: no two entries may chain onto the same predecessor."""
    from concurrent.futures import ThreadPoolExecutor

    from core.database import session_scope

    def writer(n):
        for i in range(10):
            with session_scope() as s:
                audit.record(s, actor=n, action="test.concurrent", target=f"w{n}:{i}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(writer, range(8)))
    with session_scope() as s:
        entries = s.query(AuditEntry).order_by(AuditEntry.id).all()
        assert len(entries) == 80
        assert len({e.prev_hash for e in entries}) == 80
        assert audit.verify_chain(s) == []


def test_deleting_a_row_is_detected(session):
    for i in range(3):
        audit.record(session, actor=None, action="test.action", target=f"thing:{i}")
    session.commit()
    middle = session.query(AuditEntry).order_by(AuditEntry.id).all()[1]
    session.delete(middle)
    session.commit()
    broken = audit.verify_chain(session)
    assert len(broken) == 1 and broken[0] > middle.id
