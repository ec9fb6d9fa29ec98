"""Backups of the whole platform: `tandem backup create|verify|restore` and the worker's
scheduled backup (operations/backup_tasks.py). docs/operations.md "Backups" is the
operator's view.

One archive, `tandem-backup-<UTC timestamp>.tar.gz`, or `.tar.gz.enc` when TANDEM_BACKUP_KEY
is set (operations/backup_crypto.py):

    database/tandem.db | database/tandem.pgdump   the database, copied online
    database/rasa_tracker.db                      Rasa's tracker store, when a SQLite file
    kb_index/  models/  registry/                 search index, trained models, model versions
                                                  and the live pointer (registry/live.json)
    secrets/  rasa/active.json                    generated secrets, the Rasa runner's pointer
    manifest.json (last member)                   sha256 and size of every member, row counts,
                                                  schema revisions, where the files came from

Consistency: SQLite is copied with the online backup API, PostgreSQL by pg_dump inside an
exported snapshot that the row counts are read in too, so the manifest's counts are exactly
what the dump holds. The index is copied under its write lock. The index and the models are
files next to the database, not in it: a backup taken during a reindex may hold the previous
index, which the worker's reconcile task brings up to date.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import hashlib
import json
import logging
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import uuid
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import IO, Any, Protocol

from sqlalchemy import Connection, create_engine, func, inspect, select, table, text, update
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from conversations.models import Conversation, Message
from core import audit
from core.auth.models import User
from core.database import reset_engine_cache, session_scope, utcnow
from core.errors import Conflict, DependencyUnavailable, NotFound, ValidationFailed
from core.settings import Settings, get_settings
from handoff.models import Ticket
from knowledge_base.index import write_lock
from knowledge_base.models import Article
from operations.backup_crypto import (
    CHUNK_BYTES,
    MAGIC,
    Damaged,
    DecryptingReader,
    EncryptingWriter,
    WrongKey,
    is_encrypted,
)
from training.models import ModelVersion

log = logging.getLogger(__name__)

FORMAT = "tandem-backup"
FORMAT_VERSION = 1
NAME_PATTERN = re.compile(r"^tandem-backup-(\d{8}T\d{6}Z)\.tar\.gz(?:\.enc)?$")
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database/tandem.db"
PG_MEMBER = "database/tandem.pgdump"
TRACKER_MEMBER = "database/rasa_tracker.db"
COUNTED_TABLES = (Conversation.__tablename__, Message.__tablename__, Ticket.__tablename__,
                  Article.__tablename__, audit.AuditEntry.__tablename__, User.__tablename__)
# Dot files in a backup directory are this module's own: the lock, half-written archives and
# staging folders of a run that was killed.
_LOCK_NAME = ".tandem-backup.lock"
_LEFTOVER_PREFIX = ".tandem-backup-"


class LiveDatabaseNotEmpty(Conflict):
    """Restore would overwrite a database that has data, and --force was not given."""


@dataclass(frozen=True)
class Created:
    path: Path
    size: int
    sha256: str
    encrypted: bool
    manifest: dict[str, Any]

    def lines(self) -> list[str]:
        database = self.manifest["database"]
        return [
            f"backup written: {self.path} ({_size(self.size)}"
            f"{', encrypted' if self.encrypted else ''}"
            f"{'' if self.manifest['includes_models'] else ', without models'})",
            f"sha256: {self.sha256}",
            f"database: {database['backend']} at {'+'.join(database['revisions']) or '-'}; "
            f"{_counts(self.manifest['row_counts'])}",
        ]


@dataclass
class Report:
    """What verify or restore found. `ok` when there are no problems."""

    archive: Path
    action: str
    sha256: str | None = None
    manifest: dict[str, Any] | None = None
    row_counts: dict[str, int | None] | None = None
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        out = [f"archive: {self.archive}" + (f" (sha256 {self.sha256})" if self.sha256 else "")]
        if self.manifest:
            database = self.manifest["database"]
            out.append(f"backup of {self.manifest['created_at']}, platform "
                       f"{self.manifest['platform_version']}, {database['backend']} database "
                       f"at {'+'.join(database['revisions']) or '-'}"
                       f"{'' if self.manifest['includes_models'] else ', without models'}")
        out += [f"  {note}" for note in self.notes]
        out += [f"  PROBLEM: {problem}" for problem in self.problems]
        out.append(f"{self.action}: " + ("OK" if self.ok else
                                         f"FAILED ({len(self.problems)} problems)"))
        return out


def default_backup_dir() -> Path:
    settings = get_settings()
    return settings.backup_dir or settings.data_dir / "backups"


def backup_time(name: str) -> datetime | None:
    """When a backup was taken, from its file name; None for any other file."""
    found = NAME_PATTERN.match(name)
    if found is None:
        return None
    return datetime.strptime(found.group(1), STAMP_FORMAT).replace(tzinfo=UTC)


# --- create ------------------------------------------------------------------------------

@dataclass
class _Dump:
    backend: str
    member: str
    members: list[tuple[str, Path]]
    row_counts: dict[str, int | None]
    revisions: list[str]


def create(output_dir: Path | None = None, *, include_models: bool = True,
           scheduled: bool = False) -> Created:
    """Write one archive of the running platform into `output_dir` (default: backup_dir)."""
    settings = get_settings()
    directory = output_dir or default_backup_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    passphrase = settings.backup_key.get_secret_value()
    with _exclusive(directory):
        _remove_leftovers(directory)
        stamp = utcnow().replace(microsecond=0)
        name = f"tandem-backup-{stamp.strftime(STAMP_FORMAT)}.tar.gz" + (
            ".enc" if passphrase else "")
        final = directory / name
        if final.exists():
            raise Conflict(f"{final} exists already; try again in a second", field="output_dir")
        staging = Path(tempfile.mkdtemp(prefix=_LEFTOVER_PREFIX, dir=directory))
        partial = directory / f"{_LEFTOVER_PREFIX}{stamp.strftime(STAMP_FORMAT)}.partial"
        try:
            dump = _dump_database(settings, staging)
            manifest: dict[str, Any] = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "created_at": stamp.isoformat(),
                "platform_version": _platform_version(),
                "database": {"backend": dump.backend, "member": dump.member,
                             "revisions": dump.revisions},
                "row_counts": dump.row_counts,
                "includes_models": include_models,
                "source": {"data_dir": str(settings.data_dir),
                           "models_dir": str(settings.models_dir),
                           "index_dir": str(settings.index_dir)},
            }
            sha256, size = _write_archive(partial, passphrase,
                                          _members(settings, dump, include_models), manifest)
            os.replace(partial, final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            partial.unlink(missing_ok=True)
    with session_scope() as session:
        audit.record(session, actor=None, action="backup.created", target=f"backup:{name}",
                     after={"sha256": sha256, "size": size, "encrypted": bool(passphrase),
                            "includes_models": include_models, "scheduled": scheduled,
                            "row_counts": manifest["row_counts"]})
    log.info("backup written: %s (%s)", final, _size(size))
    return Created(final, size, sha256, bool(passphrase), manifest)


@contextmanager
def _exclusive(directory: Path) -> Iterator[None]:
    # One backup per directory at a time: the scheduled one may still run when someone
    # starts another by hand.
    with open(directory / _LOCK_NAME, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise Conflict(f"a backup into {directory} is already running",
                           field="output_dir") from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_leftovers(directory: Path) -> None:
    for path in directory.glob(f"{_LEFTOVER_PREFIX}*"):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _dump_database(settings: Settings, staging: Path) -> _Dump:
    members: list[tuple[str, Path]] = []
    if settings.is_sqlite:
        source = _sqlite_path(settings.database_url)
        if not source.is_file():
            raise NotFound(f"no database at {source}; nothing to back up")
        copy = staging / "tandem.db"
        _sqlite_copy(source, copy)
        counts, revisions = _read_counts(f"sqlite:///{copy}")
        members.append((SQLITE_MEMBER, copy))
        dump = _Dump("sqlite", SQLITE_MEMBER, members, counts, revisions)
    else:
        copy = staging / "tandem.pgdump"
        counts, revisions = _pg_dump(make_url(settings.database_url), copy)
        members.append((PG_MEMBER, copy))
        dump = _Dump("postgresql", PG_MEMBER, members, counts, revisions)
    tracker = make_url(settings.rasa_tracker_db_url)
    if tracker.get_backend_name() == "sqlite" and tracker.database:
        tracker_file = Path(tracker.database)
        if tracker_file.is_file():
            _sqlite_copy(tracker_file, staging / "rasa_tracker.db")
            members.append((TRACKER_MEMBER, staging / "rasa_tracker.db"))
    return dump


def _members(settings: Settings, dump: _Dump,
             include_models: bool) -> Iterator[tuple[str, Path]]:
    yield from dump.members
    index = settings.index_dir
    if index.is_dir():
        # The generator is suspended inside the lock while each index file is added, so no
        # rebuild swaps files in the middle of the copy.
        with write_lock(index):
            yield from _tree(index, "kb_index")
    registry = settings.data_dir / "registry"
    if include_models:
        yield from _tree(settings.models_dir, "models")
        yield from _tree(registry, "registry")
    elif (registry / "live.json").is_file():
        yield "registry/live.json", registry / "live.json"
    # Every generated secret (secret_key, action_token, ...): signed links and the Rasa
    # action token must keep working after a restore.
    yield from _tree(settings.data_dir / "secrets", "secrets")
    active = settings.data_dir / "rasa" / "active.json"
    if active.is_file():
        yield "rasa/active.json", active


def _tree(root: Path, prefix: str) -> Iterator[tuple[str, Path]]:
    if not root.is_dir():
        return
    for directory, subdirectories, names in os.walk(root):
        subdirectories[:] = sorted(d for d in subdirectories if not d.startswith("."))
        for name in sorted(names):
            if name.startswith("."):
                continue  # locks and half-written temporaries (written, then renamed)
            path = Path(directory) / name
            if path.is_file():
                yield f"{prefix}/{path.relative_to(root).as_posix()}", path


class _Writable(Protocol):
    def write(self, data: bytes, /) -> int: ...

    def flush(self) -> None: ...


class _HashingWriter:
    def __init__(self, target: _Writable) -> None:
        self._target = target
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self._target.write(data)
        self._hash.update(data)
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        self._target.flush()

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _HashingReader:
    def __init__(self, source: _Readable) -> None:
        self._source = source
        self._hash = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self._source.read(size)
        self._hash.update(data)
        self.size += len(data)
        return data

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def _write_archive(path: Path, passphrase: str, members: Iterable[tuple[str, Path]],
                   manifest: dict[str, Any]) -> tuple[str, int]:
    """Stream the members through tar, gzip and (optionally) the cipher into `path`.

    Each member is hashed as it is copied, so the manifest describes exactly the bytes in the
    archive even if a file changes on disk meanwhile. Returns the archive's sha256 and size.
    """
    files: dict[str, dict[str, Any]] = {}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # it holds the secrets
    with os.fdopen(fd, "wb") as raw:
        hashed = _HashingWriter(raw)
        encrypting = EncryptingWriter(hashed, passphrase) if passphrase else None
        sink: _Writable = encrypting or hashed
        # Level 6: the models are compressed already, 9 costs time for nothing.
        with gzip.GzipFile(fileobj=sink, mode="wb", compresslevel=6, mtime=0) as compressed, \
                tarfile.open(fileobj=compressed, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            for arcname, source in members:
                try:
                    handle = source.open("rb")
                except FileNotFoundError:
                    log.warning("backup: %s disappeared while the backup ran", source)
                    continue
                with handle:
                    stat = os.fstat(handle.fileno())
                    info = tarfile.TarInfo(arcname)
                    info.size, info.mtime, info.mode = (stat.st_size, int(stat.st_mtime),
                                                        stat.st_mode & 0o777)
                    reader = _HashingReader(handle)
                    tar.addfile(info, reader)
                files[arcname] = {"sha256": reader.hexdigest(), "size": reader.size}
            manifest["files"] = files
            body = json.dumps(manifest, indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(body), int(utcnow().timestamp()), 0o600
            tar.addfile(info, _BytesReader(body))
        if encrypting is not None:
            encrypting.close()
        raw.flush()
        os.fsync(raw.fileno())
    return hashed.hexdigest(), hashed.size


class _BytesReader:
    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)

    def read(self, size: int = -1) -> bytes:
        size = len(self._data) if size < 0 else size
        out, self._data = bytes(self._data[:size]), self._data[size:]
        return out


# --- the databases -----------------------------------------------------------------------

def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise ValidationFailed("an in-memory SQLite database has no file to back up or "
                               "restore", field="database_url")
    return Path(database)


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup API: a consistent copy while other processes keep writing."""
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(source, timeout=30)
    try:
        dst = sqlite3.connect(target, timeout=30)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def _row_counts(connection: Connection) -> dict[str, int | None]:
    """Rows per counted table; None for a table the schema does not have (yet)."""
    inspector = inspect(connection)
    return {name: (connection.scalar(select(func.count()).select_from(table(name)))
                   if inspector.has_table(name) else None) for name in COUNTED_TABLES}


def _revisions(connection: Connection) -> list[str]:
    if not inspect(connection).has_table("alembic_version"):
        return []
    return sorted(connection.scalars(text("SELECT version_num FROM alembic_version")))


def _read_counts(url: str) -> tuple[dict[str, int | None], list[str]]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return _row_counts(connection), _revisions(connection)
    finally:
        engine.dispose()


def _client(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise DependencyUnavailable(f"{name} is not installed; PostgreSQL backups need the "
                                    "PostgreSQL client tools (apt install postgresql-client)")
    return path


# libpq reads these from the environment; the password never appears on a command line.
_LIBPQ_QUERY_ENV = {"host": "PGHOST", "port": "PGPORT", "sslmode": "PGSSLMODE",
                    "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT",
                    "sslkey": "PGSSLKEY", "connect_timeout": "PGCONNECT_TIMEOUT",
                    "options": "PGOPTIONS", "application_name": "PGAPPNAME"}


def _libpq_env(url: URL) -> dict[str, str]:
    env = {**os.environ, "PGAPPNAME": "tandem-backup", "PGCONNECT_TIMEOUT": "15"}
    for key, variable in (("host", "PGHOST"), ("port", "PGPORT"), ("username", "PGUSER"),
                          ("password", "PGPASSWORD"), ("database", "PGDATABASE")):
        value = getattr(url, key)
        if value is not None and value != "":
            env[variable] = str(value)
    for key, variable in _LIBPQ_QUERY_ENV.items():
        value = url.query.get(key)
        if isinstance(value, str):
            env[variable] = value
    return env


def _run(argv: list[str], env: dict[str, str], what: str) -> None:
    result = subprocess.run(argv, env=env, capture_output=True, text=True,  # noqa: S603 - fixed argv
                            check=False)
    if result.returncode != 0:
        raise DependencyUnavailable(f"{what} failed: {result.stderr.strip()[-2000:]}")


def _pg_dump(url: URL, target: Path) -> tuple[dict[str, int | None], list[str]]:
    pg_dump = _client("pg_dump")
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                # pg_dump reads the snapshot this transaction exported, so the counts below
                # describe exactly the rows the dump holds.
                snapshot = connection.scalar(text("SELECT pg_export_snapshot()"))
                counts, revisions = _row_counts(connection), _revisions(connection)
                _run([pg_dump, "--format=custom", "--no-password", f"--snapshot={snapshot}",
                      f"--file={target}"], _libpq_env(url), "pg_dump")
    finally:
        engine.dispose()
    return counts, revisions


def _maintenance_url(url: URL) -> URL:
    return url.set(database="postgres")


def _pg_database_exists(url: URL) -> bool:
    engine = create_engine(_maintenance_url(url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return bool(connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                          {"n": url.database}))
    finally:
        engine.dispose()


def _pg_admin(url: URL, statement: str) -> None:
    engine = create_engine(_maintenance_url(url), poolclass=NullPool,
                           isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            name = connection.dialect.identifier_preparer.quote(str(url.database))
            connection.execute(text(statement.format(name=name)))
    finally:
        engine.dispose()


def _pg_clear_statements(url: URL) -> str:
    """DROP statements for everything in the target's schema (nothing for a new database).

    A restore replaces the database as it was; tables a later migration added would
    otherwise survive it and, holding foreign keys, stop the dump's tables being replaced.
    """
    engine = create_engine(url, poolclass=NullPool)
    queries = (
        "SELECT format('DROP VIEW IF EXISTS %I.%I CASCADE;', schemaname, viewname) "
        "FROM pg_views WHERE schemaname = current_schema()",
        "SELECT format('DROP MATERIALIZED VIEW IF EXISTS %I.%I CASCADE;', schemaname, "
        "matviewname) FROM pg_matviews WHERE schemaname = current_schema()",
        "SELECT format('DROP TABLE IF EXISTS %I.%I CASCADE;', schemaname, tablename) "
        "FROM pg_tables WHERE schemaname = current_schema()",
        "SELECT format('DROP SEQUENCE IF EXISTS %I.%I CASCADE;', schemaname, sequencename) "
        "FROM pg_sequences WHERE schemaname = current_schema()",
        "SELECT format('DROP TYPE IF EXISTS %I.%I CASCADE;', n.nspname, t.typname) "
        "FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
        "WHERE n.nspname = current_schema() AND t.typtype IN ('e', 'd')",
    )
    try:
        with engine.connect() as connection:
            return "\n".join(statement for query in queries
                             for statement in connection.scalars(text(query)))
    finally:
        engine.dispose()


def _pg_load(url: URL, dump: Path, scratch: Path) -> None:
    """Replace the database's schema with the dump's, in one transaction: all or nothing.

    pg_restore writes SQL; psql runs it after the DROP statements, all inside one BEGIN.
    COMMIT is sent only once pg_restore has finished successfully: if it fails (an archive
    from a newer pg_dump, say), psql reaches the end of its input inside the transaction and
    the server rolls it back, so the DROPs never take effect on their own.
    """
    pg_restore, psql = _client("pg_restore"), _client("psql")
    clear = _pg_clear_statements(url)
    env = {**_libpq_env(url), "PGOPTIONS": "-c client_min_messages=warning"}
    # stderr to files: a pipe nobody reads while the other process runs could fill up.
    with (scratch / "psql.err").open("w+") as psql_err, \
            (scratch / "pg_restore.err").open("w+") as restore_err:
        producer = subprocess.Popen(  # noqa: S603 - fixed argv
            [pg_restore, "--no-owner", "--no-privileges", "--file=-", str(dump)],
            stdout=subprocess.PIPE, stderr=restore_err, env=env)
        loader = subprocess.Popen(  # noqa: S603 - fixed argv
            [psql, "--no-psqlrc", "--quiet", "--no-password", "--set=ON_ERROR_STOP=1",
             "--file=-"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=psql_err,
            env=env)
        assert producer.stdout is not None and loader.stdin is not None
        try:
            loader.stdin.write(f"BEGIN;\n{clear}\n".encode())
            shutil.copyfileobj(producer.stdout, loader.stdin, CHUNK_BYTES)
            produced = producer.wait()
            if produced == 0:
                loader.stdin.write(b"COMMIT;\n")
        except BrokenPipeError:
            pass  # psql stopped at an error; its stderr says which
        finally:
            producer.stdout.close()
            with contextlib.suppress(BrokenPipeError):
                loader.stdin.close()
            if producer.poll() is None:
                producer.kill()
            produced = producer.wait()
            loaded = loader.wait()
        if loaded != 0 or produced != 0:
            psql_err.seek(0)
            restore_err.seek(0)
            detail = (psql_err.read().strip() or restore_err.read().strip())[-2000:]
            raise DependencyUnavailable(f"restoring the PostgreSQL dump failed (nothing was "
                                        f"changed): {detail or 'no error output'}")


def _has_data(database_url: str) -> dict[str, int]:
    """The counted tables that have rows: empty when a restore would lose nothing."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if not _sqlite_path(database_url).is_file():
            return {}
    elif not _pg_database_exists(url):
        return {}
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            counts = _row_counts(connection)
            if counts.get("audit_log"):
                # Entries of backups themselves (a `verify` run on the new machine before the
                # restore) are no data to protect.
                entry = audit.AuditEntry
                counts["audit_log"] = connection.scalar(
                    select(func.count()).select_from(entry)
                    .where(~entry.action.startswith("backup.")))
    finally:
        engine.dispose()
    return {name: count for name, count in counts.items() if count}


# --- verify ------------------------------------------------------------------------------

def verify(archive: Path) -> Report:
    """Unpack into a scratch directory, check every checksum, restore the database into a
    scratch database and compare its row counts and audit chain with the manifest."""
    report = Report(archive, "verify")
    with tempfile.TemporaryDirectory(prefix="tandem-verify-") as scratch:
        root, intact = _unpack(archive, Path(scratch), report)
        if report.manifest is not None and intact:
            _check_scratch_database(root, Path(scratch), report)
    _record_verification(report)
    return report


def _open_plain(raw: IO[bytes]) -> _Plain:
    head = raw.read(len(MAGIC))
    raw.seek(0)
    hashed = _HashingReader(raw)
    if is_encrypted(head):
        passphrase = get_settings().backup_key.get_secret_value()
        if not passphrase:
            raise ValidationFailed("the archive is encrypted: set TANDEM_BACKUP_KEY to the key "
                                   "it was made with", field="archive")
        try:
            return _Plain(DecryptingReader(hashed, passphrase), hashed)  # type: ignore[arg-type]
        except WrongKey as exc:
            raise ValidationFailed(str(exc), field="archive") from exc
    if head[:2] == b"\x1f\x8b":
        return _Plain(hashed, hashed)
    raise ValidationFailed("not a Tandem backup (neither a .tar.gz nor an encrypted archive)",
                           field="archive")


class _Plain:
    """The archive's plain bytes, and the hash of the file they are read from."""

    def __init__(self, source: _Readable, raw: _HashingReader) -> None:
        self._source = source
        self.raw = raw

    def read(self, size: int = -1) -> bytes:
        return self._source.read(size)


def _unpack(archive: Path, scratch: Path, report: Report) -> tuple[Path, bool]:
    """Extract and check the members; (root, whether the database member is intact)."""
    if not archive.is_file():
        raise NotFound(f"no archive at {archive}", field="archive")
    root = scratch / "archive"
    root.mkdir()
    with archive.open("rb") as raw:
        hashed: _HashingReader | None = None
        try:
            plain = _open_plain(raw)
            hashed = plain.raw
            # typeshed wants seek(); GzipFile only calls it to rewind, which this never does.
            with gzip.GzipFile(fileobj=plain, mode="rb") as compressed:  # type: ignore[call-overload]
                with tarfile.open(fileobj=compressed, mode="r|") as tar:
                    tar.extractall(root, filter="data")  # no paths outside root, no devices
                # The gzip CRC and the cipher's sealed last record are checked at the end.
                while compressed.read(CHUNK_BYTES):
                    pass
            while hashed.read(CHUNK_BYTES):  # what gzip did not need still counts in the hash
                pass
        except Damaged as exc:
            report.problems.append(str(exc))
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
            report.problems.append(f"the archive is damaged: {exc}")
        if hashed is not None:
            report.sha256 = hashed.hexdigest() if report.ok else None
    if report.problems:
        return root, False
    manifest_path = root / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        report.problems.append("the archive has no readable manifest.json")
        return root, False
    if manifest.get("format") != FORMAT or manifest.get("format_version", 0) > FORMAT_VERSION:
        report.problems.append(f"unknown archive format {manifest.get('format')!r} "
                               f"version {manifest.get('format_version')!r}")
        return root, False
    report.manifest = manifest
    bad = _check_files(root, manifest, report)
    return root, manifest["database"]["member"] not in bad


def _sha256_file(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while block := handle.read(CHUNK_BYTES):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def _check_files(root: Path, manifest: dict[str, Any], report: Report) -> set[str]:
    listed: dict[str, dict[str, Any]] = manifest.get("files", {})
    present = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    present.discard(MANIFEST)
    bad = set(listed) - present
    for name in sorted(bad):
        report.problems.append(f"{name}: listed in the manifest, missing from the archive")
    for name in sorted(present - set(listed)):
        report.problems.append(f"{name}: in the archive, not in the manifest")
    for name in sorted(set(listed) & present):
        digest, size = _sha256_file(root / name)
        if digest != listed[name]["sha256"] or size != listed[name]["size"]:
            report.problems.append(f"{name}: checksum does not match the manifest")
            bad.add(name)
    report.notes.append(f"{len(listed)} files; {len(listed) - len(bad)} match their checksums")
    return bad


def _check_scratch_database(root: Path, scratch: Path, report: Report) -> None:
    assert report.manifest is not None
    database = report.manifest["database"]
    member = root / database["member"]
    if database["backend"] == "sqlite":
        check = sqlite3.connect(member)
        try:
            integrity = check.execute("PRAGMA integrity_check").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            integrity = str(exc)
        finally:
            check.close()
        if integrity != "ok":
            report.problems.append(f"SQLite integrity check: {integrity}")
            return
        _compare_database(f"sqlite:///{member}", report, "a scratch SQLite copy")
        return
    configured = make_url(get_settings().database_url)
    if configured.get_backend_name() != "postgresql":
        raise DependencyUnavailable("verifying a PostgreSQL backup restores it into a scratch "
                                    "database: point TANDEM_DATABASE_URL at a PostgreSQL server")
    scratch_url = configured.set(database=f"tandem_verify_{uuid.uuid4().hex[:12]}")
    try:
        _pg_admin(scratch_url, "CREATE DATABASE {name}")
    except SQLAlchemyError as exc:
        raise DependencyUnavailable(f"cannot create a scratch database to verify into: "
                                    f"{exc.__class__.__name__}") from exc
    try:
        _pg_load(scratch_url, member, scratch)
        _compare_database(scratch_url, report, f"scratch database {scratch_url.database}")
    finally:
        _pg_admin(scratch_url, "DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _compare_database(url: str | URL, report: Report, where: str) -> None:
    assert report.manifest is not None
    engine = create_engine(url, poolclass=NullPool)
    try:
        with Session(engine) as session:
            counts = _row_counts(session.connection())
            broken = audit.verify_chain(session)
    finally:
        engine.dispose()
    report.row_counts = counts
    _compare_counts(counts, report.manifest["row_counts"], report)
    report.notes.append(f"database restored into {where}: {_counts(counts)}")
    if broken:
        report.problems.append(f"audit chain broken at entries {broken[:20]}")
    else:
        report.notes.append(f"audit chain intact ({counts.get('audit_log') or 0} entries)")


def _compare_counts(counts: dict[str, int | None], expected: dict[str, int | None],
                    report: Report) -> None:
    for name, want in expected.items():
        if counts.get(name) != want:
            report.problems.append(f"{name}: {counts.get(name)} rows, the manifest says {want}")


def _record_verification(report: Report) -> None:
    settings = get_settings()
    if settings.is_sqlite and not _sqlite_path(settings.database_url).is_file():
        report.notes.append("not recorded in the audit trail: no platform database here")
        return
    try:
        with session_scope() as session:
            audit.record(session, actor=None, action="backup.verified",
                         target=f"backup:{report.archive.name}"[:200],
                         after={"ok": report.ok, "sha256": report.sha256,
                                "problems": report.problems[:20]})
    except SQLAlchemyError as exc:
        # Verifying a copy before the platform's database exists (ahead of a restore) is
        # useful on its own; the check's result stands without the audit entry.
        report.notes.append("not recorded in the audit trail: the platform's database is "
                            f"not usable here ({exc.__class__.__name__})")


# --- restore -----------------------------------------------------------------------------

def restore(archive: Path, *, force: bool = False) -> Report:
    """Restore database, index, models and secrets into the configured database and data
    directory. Refuses a database that has data unless `force`."""
    settings = get_settings()
    if not archive.is_file():
        raise NotFound(f"no archive at {archive}", field="archive")
    existing = _has_data(settings.database_url)
    if existing and not force:
        raise LiveDatabaseNotEmpty(
            f"the configured database already has data ({_counts(existing)}); a restore "
            "would replace it. Stop the platform and pass --force to overwrite it",
            field="force")
    report = Report(archive, "restore")
    scratch = Path(tempfile.mkdtemp(prefix=".restore-", dir=settings.data_dir))
    try:
        root, _ = _unpack(archive, scratch, report)
        if not report.ok or report.manifest is None:
            raise ValidationFailed("the archive failed its checks; nothing was restored: "
                                   + "; ".join(report.problems[:5]), field="archive")
        manifest = report.manifest
        backend = manifest["database"]["backend"]
        configured = make_url(settings.database_url).get_backend_name()
        if backend != configured:
            raise ValidationFailed(f"the archive holds a {backend} database and "
                                   f"TANDEM_DATABASE_URL is {configured}; restore into the "
                                   "same kind of database", field="archive")
        reset_engine_cache()  # no pooled connection of ours is open while it is replaced
        _load_database(settings, root, manifest, scratch)
        _load_tracker(settings, root, report)
        _load_files(settings, root, manifest)
        mapping = _path_mapping(settings, manifest)
        _rewrite_pointer_files(settings, mapping)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    reset_engine_cache()
    with session_scope() as session:
        counts = _row_counts(session.connection())
        broken = audit.verify_chain(session)
        rewritten = _rewrite_model_paths(session, mapping)
        report.row_counts = counts
        _compare_counts(counts, manifest["row_counts"], report)
        report.notes.append(f"database restored: {_counts(counts)}")
        if broken:
            report.problems.append(f"audit chain broken at entries {broken[:20]}")
        else:
            report.notes.append(f"audit chain intact ({counts.get('audit_log') or 0} entries)")
        if mapping:
            report.notes.append(f"file paths moved to this data directory in {rewritten} "
                                "model versions and the pointer files")
        report.notes.append("next: `tandem db upgrade`, then start the platform")
        # Written into the restored database, so its trail says where its data came from.
        audit.record(session, actor=None, action="backup.restored",
                     target=f"backup:{archive.name}"[:200],
                     after={"sha256": report.sha256, "backup_created_at": manifest["created_at"],
                            "forced": force, "replaced": existing, "row_counts": counts,
                            "problems": report.problems[:20]})
    log.info("restored %s (%s)", archive, "ok" if report.ok else "with problems")
    return report


def _load_database(settings: Settings, root: Path, manifest: dict[str, Any],
                   scratch: Path) -> None:
    member = root / manifest["database"]["member"]
    if manifest["database"]["backend"] == "sqlite":
        # The backup API in reverse: the file is replaced page by page through SQLite's own
        # locking, with its WAL, instead of swapping the file under an open connection.
        _sqlite_copy(member, _sqlite_path(settings.database_url))
        return
    url = make_url(settings.database_url)
    if not _pg_database_exists(url):
        _pg_admin(url, "CREATE DATABASE {name}")
    _pg_load(url, member, scratch)


def _load_tracker(settings: Settings, root: Path, report: Report) -> None:
    source = root / TRACKER_MEMBER
    if not source.is_file():
        return
    tracker = make_url(settings.rasa_tracker_db_url)
    if tracker.get_backend_name() == "sqlite" and tracker.database:
        _sqlite_copy(source, Path(tracker.database))
    else:
        report.notes.append("Rasa's tracker store was a SQLite file and is not one here; "
                            "not restored (conversations restart their bot context)")


def _load_files(settings: Settings, root: Path, manifest: dict[str, Any]) -> None:
    registry = settings.data_dir / "registry"
    _replace_tree(root / "kb_index", settings.index_dir)
    if manifest["includes_models"]:
        _replace_tree(root / "models", settings.models_dir)
        _replace_tree(root / "registry", registry)
    elif (root / "registry" / "live.json").is_file():
        registry.mkdir(parents=True, exist_ok=True)
        os.replace(root / "registry" / "live.json", registry / "live.json")
    secrets = root / "secrets"
    if secrets.is_dir():
        target = settings.data_dir / "secrets"
        target.mkdir(parents=True, exist_ok=True, mode=0o700)
        for path in secrets.iterdir():
            path.chmod(0o600)
            os.replace(path, target / path.name)
    active = root / "rasa" / "active.json"
    if active.is_file():
        (settings.data_dir / "rasa").mkdir(parents=True, exist_ok=True, mode=0o700)
        os.replace(active, settings.data_dir / "rasa" / "active.json")


def _replace_tree(source: Path, target: Path) -> None:
    """Put `source` where `target` is, swapping whole directories (no mix of old and new)."""
    if not source.is_dir():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    incoming = target.with_name(f".{target.name}.restoring")
    outgoing = target.with_name(f".{target.name}.replaced")
    for leftover in (incoming, outgoing):
        shutil.rmtree(leftover, ignore_errors=True)
    shutil.move(source, incoming)  # a rename when on the same file system
    if target.exists():
        target.rename(outgoing)
    incoming.rename(target)
    shutil.rmtree(outgoing, ignore_errors=True)


def _path_mapping(settings: Settings, manifest: dict[str, Any]) -> list[tuple[str, str]]:
    """Where the backed-up directories are now, longest (most specific) source first."""
    source = manifest.get("source", {})
    pairs = [(source.get("models_dir"), str(settings.models_dir)),
             (source.get("index_dir"), str(settings.index_dir)),
             (source.get("data_dir"), str(settings.data_dir))]
    return sorted(((old, new) for old, new in pairs if old and old != new),
                  key=lambda pair: len(pair[0]), reverse=True)


def _remap(value: Any, mapping: list[tuple[str, str]]) -> Any:
    if isinstance(value, str):
        for old, new in mapping:
            if value == old or value.startswith(old + "/"):
                return new + value[len(old):]
        return value
    if isinstance(value, dict):
        return {key: _remap(item, mapping) for key, item in value.items()}
    if isinstance(value, list):
        return [_remap(item, mapping) for item in value]
    return value


def _rewrite_pointer_files(settings: Settings, mapping: list[tuple[str, str]]) -> None:
    # The pointers name model files by absolute path; restored elsewhere they must follow.
    if not mapping:
        return
    for path in (settings.data_dir / "registry" / "live.json",
                 settings.data_dir / "rasa" / "active.json"):
        if path.is_file():
            body = json.loads(path.read_text())
            moved = _remap(body, mapping)
            if moved != body:
                tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
                tmp.write_text(json.dumps(moved, indent=2))
                tmp.replace(path)


def _rewrite_model_paths(session: Session, mapping: list[tuple[str, str]]) -> int:
    if not mapping or not inspect(session.connection()).has_table(ModelVersion.__tablename__):
        return 0
    rows = session.execute(select(ModelVersion.version, ModelVersion.artifact_dir,
                                  ModelVersion.artifacts)).all()
    changed = 0
    for version, directory, artifacts in rows:
        moved_dir, moved_artifacts = _remap(directory, mapping), _remap(artifacts, mapping)
        if (moved_dir, moved_artifacts) != (directory, artifacts):
            session.execute(update(ModelVersion).where(ModelVersion.version == version)
                            .values(artifact_dir=moved_dir, artifacts=moved_artifacts))
            changed += 1
    return changed


# --- retention ---------------------------------------------------------------------------

def prune(directory: Path | None = None, retention_days: int | None = None, *,
          now: datetime | None = None) -> list[Path]:
    """Delete backups older than the retention; the newest one always stays.

    Only files named like a backup are considered; 0 days (or less) keeps everything.
    """
    directory = directory or default_backup_dir()
    days = get_settings().backup_retention_days if retention_days is None else retention_days
    if days <= 0 or not directory.is_dir():
        return []
    found = sorted((stamp, path) for path in directory.iterdir()
                   if (stamp := backup_time(path.name)) is not None and path.is_file())
    cutoff = (now or utcnow()) - timedelta(days=days)
    doomed = [path for stamp, path in found[:-1] if stamp < cutoff]
    for path in doomed:
        path.unlink(missing_ok=True)
    if doomed:
        with session_scope() as session:
            audit.record(session, actor=None, action="backup.pruned", target="backups",
                         after={"directory": str(directory), "retention_days": days,
                                "removed": [path.name for path in doomed]})
        log.info("backups older than %d days removed: %s", days,
                 ", ".join(path.name for path in doomed))
    return doomed


# --- small helpers -----------------------------------------------------------------------

def _platform_version() -> str:
    try:
        return metadata.version("tandem")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "unknown"


def _counts(counts: dict[str, Any]) -> str:
    return ", ".join(f"{name} {count if count is not None else '-'}"
                     for name, count in counts.items())


def _size(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size} bytes"
