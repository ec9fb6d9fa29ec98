"""Deferred work runs at the real commit only: a released savepoint is not a commit, and a
rolled-back savepoint discards just what was deferred inside it."""

from core import after_commit
from core.database import get_sessionmaker

KEY = "test_after_commit_items"
delivered: list[list[str]] = []
after_commit.register(KEY, lambda items: delivered.append(list(items)))


def test_savepoints_neither_deliver_early_nor_lose_outer_work(db_url):
    delivered.clear()
    session = get_sessionmaker()()
    try:
        session.begin()
        after_commit.defer(session, KEY, "outer")
        with session.begin_nested():
            after_commit.defer(session, KEY, "kept savepoint")
        assert delivered == []  # releasing the savepoint is not a commit
        try:
            with session.begin_nested():
                after_commit.defer(session, KEY, "rolled back")
                raise RuntimeError("undo this savepoint")
        except RuntimeError:
            pass
        assert delivered == []
        session.commit()
        assert delivered == [["outer", "kept savepoint"]]
    finally:
        session.close()


def test_a_rolled_back_transaction_delivers_nothing(db_url):
    delivered.clear()
    session = get_sessionmaker()()
    try:
        session.begin()
        after_commit.defer(session, KEY, "lost")
        with session.begin_nested():
            after_commit.defer(session, KEY, "also lost")
        session.rollback()
        session.begin()
        session.commit()
        assert delivered == []
    finally:
        session.close()
