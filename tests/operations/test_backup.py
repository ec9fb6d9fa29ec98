"""Backups on real databases: create -> verify -> restore into an empty data directory on
SQLite and PostgreSQL (real pg_dump / pg_restore / psql), the refusal to overwrite data,
tampered and encrypted archives, retention and the scheduled task."""

from __future__ import annotations

import gzip
import io
import json
import os
import sqlite3
import tarfile
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.engine import make_url

from app.cli import main as cli
from app.db import upgrade
from conversations.models import Conversation
from core import audit
from core.database import session_scope, utcnow
from core.errors import DependencyUnavailable, ValidationFailed
from core.settings import get_settings
from handoff.models import Ticket
from knowledge_base import service as kb
from knowledge_base.models import Article
from operations import backup
from operations.backup_crypto import MAGIC
from tests.conftest import POSTGRES_ADMIN_URL, configure
from tests.factories import PASSWORD, make_ticket, make_user
from training import live_pointer
from training.models import ModelStatus, ModelVersion

ENV_KEYS = ("TANDEM_DATA_DIR", "TANDEM_DATABASE_URL", "TANDEM_MODELS_DIR", "TANDEM_BACKUP_KEY",
            "TANDEM_BACKUP_DIR", "TANDEM_RASA_TRACKER_DB_URL", "TANDEM_KB_INDEX_DIR")
INDEX_BYTES = os.urandom(4096)


def switch(**values: str | None) -> None:
    """Point settings at a data directory / database; None unsets a variable."""
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    configure()


@pytest.fixture
def env(db_url):
    saved = {key: os.environ.get(key) for key in ENV_KEYS}
    yield switch
    switch(**saved)  # before db_url's teardown empties the tables of the test database


@dataclass
class Source:
    data_dir: Path
    ticket_ids: list[int]
    article_slug: str
    admin_email: str
    counts: dict[str, int]


def _count(model) -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def source(env, db_url, tmp_path) -> Source:
    """A platform with data in every part a backup holds."""
    data = tmp_path / "source"
    env(TANDEM_DATA_DIR=str(data), TANDEM_MODELS_DIR=str(data / "models"),
        TANDEM_DATABASE_URL=db_url, TANDEM_BACKUP_KEY=None, TANDEM_BACKUP_DIR=None,
        TANDEM_RASA_TRACKER_DB_URL=None, TANDEM_KB_INDEX_DIR=None)
    settings = get_settings()
    registry = data / "registry" / "v0002"
    registry.mkdir(parents=True)
    (registry / "classifier.pkl").write_bytes(b"classifier")
    with session_scope() as session:
        admin = make_user(session, role="supervisor")
        tickets = [make_ticket(session, text=f"order {n} never arrived") for n in range(2)]
        article = kb.create_article(session, kb.ArticleInput(
            title="Where is my parcel?", body="Track it from the e-mail we sent.",
            category="shipping"), admin.id)
        session.add(ModelVersion(version=2, name="v2", status=ModelStatus.CANDIDATE,
                                 artifact_dir=str(registry),
                                 artifacts={"classifier": str(registry / "classifier.pkl")}))
        audit.record(session, actor=admin.id, action="test.setting.changed", target="x:1")
        ids, slug, email = [t.id for t in tickets], article.slug, admin.email
    settings.index_dir.mkdir(parents=True)
    (settings.index_dir / "index.faiss").write_bytes(INDEX_BYTES)
    (settings.index_dir / "manifest.json").write_text('{"count": 1}')
    (settings.index_dir / ".write.lock").write_text("")
    settings.models_dir.mkdir(parents=True)
    (settings.models_dir / "intents-0123.pkl").write_bytes(b"model")
    live_pointer.write({"version": 2, "classifier": str(registry / "classifier.pkl")})
    settings.signing_secret()
    settings.action_secret()
    (data / "rasa").mkdir()
    (data / "rasa" / "active.json").write_text(json.dumps(
        {"url": "http://127.0.0.1:5005", "model": str(settings.models_dir / "rasa.tar.gz")}))
    if settings.is_sqlite:
        tracker = sqlite3.connect(data / "rasa_tracker.db")
        tracker.execute("CREATE TABLE events (sender_id TEXT)")
        tracker.execute("INSERT INTO events VALUES ('c1')")
        tracker.commit()
        tracker.close()
    counts = {"conversations": _count(Conversation), "tickets": _count(Ticket),
              "audit_log": _count(audit.AuditEntry)}
    return Source(data, ids, slug, email, counts)


@pytest.fixture
def empty_target(db_url, tmp_path):
    """Settings for a new machine: an empty data directory and a database not yet created."""
    target = tmp_path / "restored"
    if db_url.startswith("sqlite"):
        yield target, f"sqlite:///{target / 'tandem.db'}"
        return
    name = f"tandem_restore_{uuid.uuid4().hex[:10]}"
    yield target, POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    configure()
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_round_trip_into_an_empty_data_directory(source, empty_target, env, tmp_path):
    created = backup.create(tmp_path / "out")
    assert backup.backup_time(created.path.name) is not None
    assert created.manifest["row_counts"]["tickets"] == 2
    assert created.manifest["row_counts"]["kb_articles"] == 1

    target, url = empty_target
    env(TANDEM_DATA_DIR=str(target), TANDEM_MODELS_DIR=str(target / "models"),
        TANDEM_DATABASE_URL=url)
    verified = backup.verify(created.path)  # on the new machine, before anything is there
    assert verified.ok, verified.lines()
    assert verified.row_counts == created.manifest["row_counts"]
    assert any("not recorded in the audit trail" in note for note in verified.notes)
    restored = backup.restore(created.path)
    assert restored.ok, restored.lines()
    upgrade()  # `tandem db upgrade` on the restored database: already current

    with session_scope() as session:
        assert sorted(session.scalars(select(Ticket.id))) == source.ticket_ids
        assert session.scalar(select(func.count()).select_from(Conversation)) == 2
        assert session.scalar(select(Article.slug)) == source.article_slug
        actions = list(session.scalars(select(audit.AuditEntry.action)
                                       .order_by(audit.AuditEntry.id)))
        assert actions[-1] == "backup.restored"
        assert "test.setting.changed" in actions
        assert len(actions) == source.counts["audit_log"] + 1
        assert audit.verify_chain(session) == []
        version = session.get(ModelVersion, 2)
        assert version.artifacts["classifier"] == str(
            target / "registry" / "v0002" / "classifier.pkl")

    settings = get_settings()
    assert (settings.index_dir / "index.faiss").read_bytes() == INDEX_BYTES
    assert (settings.models_dir / "intents-0123.pkl").read_bytes() == b"model"
    assert live_pointer.read()["classifier"] == str(target / "registry/v0002/classifier.pkl")
    active = json.loads((target / "rasa" / "active.json").read_text())
    assert active["model"] == str(target / "models" / "rasa.tar.gz")
    for name in ("secret_key", "action_token"):
        restored_secret = target / "secrets" / name
        assert restored_secret.read_text() == (source.data_dir / "secrets" / name).read_text()
        assert restored_secret.stat().st_mode & 0o777 == 0o600
    if settings.is_sqlite:
        tracker = sqlite3.connect(target / "rasa_tracker.db")
        assert tracker.execute("SELECT sender_id FROM events").fetchall() == [("c1",)]
        tracker.close()

    from tests.api_helpers import api_client, login

    with api_client() as client:  # the platform starts on it, and the staff can sign in
        headers = login(client, source.admin_email, PASSWORD)
        response = client.get(f"/api/v1/agent/tickets/{source.ticket_ids[0]}", headers=headers)
        assert response.status_code == 200, response.text


def test_restore_refuses_a_database_with_data_unless_forced(source, tmp_path):
    created = backup.create(tmp_path / "out")
    with session_scope() as session:
        make_ticket(session, text="written after the backup")
        # A table from a later migration, holding a key into the backed-up tables.
        session.execute(text("CREATE TABLE later_table (id INTEGER PRIMARY KEY, ticket_id "
                             "INTEGER REFERENCES tickets (id))"))
        session.execute(text("INSERT INTO later_table VALUES (1, :ticket)"),
                        {"ticket": source.ticket_ids[0]})

    runner = CliRunner()
    refused = runner.invoke(cli, ["backup", "restore", str(created.path)])
    assert refused.exit_code == 2, refused.output
    assert "already has data" in refused.output
    assert _count(Ticket) == 3

    forced = runner.invoke(cli, ["backup", "restore", str(created.path), "--force"])
    assert forced.exit_code == 0, forced.output
    assert _count(Ticket) == 2
    with session_scope() as session:
        assert not inspect(session.connection()).has_table("later_table")
        entry = session.scalars(select(audit.AuditEntry)
                                .order_by(audit.AuditEntry.id.desc())).first()
        assert entry.action == "backup.restored"
        assert entry.after["forced"] is True
        assert entry.after["replaced"]["tickets"] == 3
        assert audit.verify_chain(session) == []


@pytest.mark.parametrize("db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)],
                         indirect=True)
def test_a_failing_postgresql_load_changes_nothing(source, tmp_path):
    # The load drops the old schema and loads the dump in one transaction; a dump that
    # pg_restore cannot read must not leave the drops committed on their own.
    bogus = tmp_path / "bogus.pgdump"
    bogus.write_bytes(b"PGDMP" + os.urandom(64))
    with pytest.raises(DependencyUnavailable, match="nothing was changed"):
        backup._pg_load(make_url(get_settings().database_url), bogus, tmp_path)
    assert _count(Ticket) == 2


def _rewrite_member(archive: Path, member: str, out: Path) -> None:
    """The archive with one byte of `member` changed, recompressed (so gzip's CRC holds)."""
    raw = bytearray(gzip.decompress(archive.read_bytes()))
    with tarfile.open(fileobj=io.BytesIO(bytes(raw))) as tar:
        offset = tar.getmember(member).offset_data
    raw[offset + 10] ^= 0x01
    out.write_bytes(gzip.compress(bytes(raw)))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_tampered_archive_fails_verify_and_is_not_restored(source, env, tmp_path):
    created = backup.create(tmp_path / "out")
    tampered = tmp_path / "tampered" / created.path.name
    tampered.parent.mkdir()
    _rewrite_member(created.path, "kb_index/index.faiss", tampered)

    report = backup.verify(tampered)
    assert not report.ok
    assert report.problems == ["kb_index/index.faiss: checksum does not match the manifest"]
    result = CliRunner().invoke(cli, ["backup", "verify", str(tampered)])
    assert result.exit_code == 1
    assert "FAILED" in result.output
    with session_scope() as session:
        entry = session.scalars(select(audit.AuditEntry)
                                .order_by(audit.AuditEntry.id.desc())).first()
    assert (entry.action, entry.after["ok"]) == ("backup.verified", False)

    damaged = tmp_path / "damaged.tar.gz"
    body = bytearray(created.path.read_bytes())
    body[len(body) // 2] ^= 0xFF
    damaged.write_bytes(bytes(body))
    report = backup.verify(damaged)
    assert not report.ok
    assert "damaged" in report.problems[0]

    target = tmp_path / "restored"
    env(TANDEM_DATA_DIR=str(target), TANDEM_DATABASE_URL=f"sqlite:///{target / 'tandem.db'}")
    with pytest.raises(ValidationFailed, match="nothing was restored"):
        backup.restore(tampered)
    assert not (target / "tandem.db").exists()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_encrypted_round_trip_and_a_wrong_key(source, env, tmp_path):
    env(TANDEM_BACKUP_KEY="a long passphrase kept in the vault")
    created = backup.create(tmp_path / "out")
    assert created.path.name.endswith(".tar.gz.enc")
    body = created.path.read_bytes()
    assert body.startswith(MAGIC)
    assert b"test.setting.changed" not in body and b"manifest" not in body
    assert backup.verify(created.path).ok

    altered = tmp_path / "altered.tar.gz.enc"
    altered.write_bytes(body[:-20])  # cut inside the sealed last record
    report = backup.verify(altered)
    assert report.problems == ["the encrypted archive was altered (record 0)"]

    env(TANDEM_BACKUP_KEY="not the passphrase")
    with pytest.raises(ValidationFailed, match="not the key"):
        backup.verify(created.path)
    result = CliRunner().invoke(cli, ["backup", "verify", str(created.path)])
    assert result.exit_code == 1
    assert "not the key" in result.output
    env(TANDEM_BACKUP_KEY=None)
    with pytest.raises(ValidationFailed, match="encrypted"):
        backup.verify(created.path)

    target = tmp_path / "restored"
    env(TANDEM_BACKUP_KEY="a long passphrase kept in the vault", TANDEM_DATA_DIR=str(target),
        TANDEM_MODELS_DIR=str(target / "models"),
        TANDEM_DATABASE_URL=f"sqlite:///{target / 'tandem.db'}")
    report = backup.restore(created.path)
    assert report.ok, report.lines()
    assert _count(Ticket) == 2


def _touch(directory: Path, age: timedelta, now, suffix: str = ".tar.gz") -> Path:
    path = directory / f"tandem-backup-{(now - age).strftime(backup.STAMP_FORMAT)}{suffix}"
    path.write_bytes(b"old")
    return path


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_retention_keeps_the_newest_and_the_scheduled_task(source, env, tmp_path):
    now = utcnow()
    folder = tmp_path / "retention"
    folder.mkdir()
    old = [_touch(folder, timedelta(days=20), now),
           _touch(folder, timedelta(days=15), now, ".tar.gz.enc")]
    recent = _touch(folder, timedelta(days=3), now)
    others = [folder / "notes.txt", folder / "tandem-backup-manual.tar.gz"]
    for path in others:
        path.write_text("not a backup of ours")
    assert backup.prune(folder, 14, now=now) == old
    assert sorted(folder.iterdir()) == sorted([recent, *others])

    only_old = tmp_path / "only-old"
    only_old.mkdir()
    oldest = _touch(only_old, timedelta(days=30), now)
    newest = _touch(only_old, timedelta(days=20), now)
    assert backup.prune(only_old, 14, now=now) == [oldest]
    assert list(only_old.iterdir()) == [newest]

    from app.worker import TASK_MODULES, celery_app
    from operations.backup_tasks import scheduled_backup_task

    assert "operations.backup_tasks" in TASK_MODULES
    schedule = {entry["task"]: entry["schedule"]
                for entry in celery_app.conf.beat_schedule.values()}
    assert schedule["operations.scheduled_backup"] == 24 * 3600

    backups = tmp_path / "backups"
    env(TANDEM_BACKUP_DIR=str(backups))
    backups.mkdir()
    stale = _touch(backups, timedelta(days=40), now)
    outcome = scheduled_backup_task()
    assert outcome["removed"] == [stale.name]
    assert [p.name for p in backups.iterdir() if not p.name.startswith(".")] == [
        outcome["archive"]]
    with session_scope() as session:
        actions = list(session.scalars(select(audit.AuditEntry.action)
                                       .order_by(audit.AuditEntry.id)))
    assert actions[-2:] == ["backup.created", "backup.pruned"]
