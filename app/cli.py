"""`tandem`: the operators' command line."""

from __future__ import annotations

import getpass
import json
import logging
import sys

import click

from core.settings import get_settings


@click.group()
def main() -> None:
    """Tandem operations."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for name in ("app", "core", "bot", "knowledge_base", "handoff", "conversations"):
        logging.getLogger(name).setLevel(logging.INFO)


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations."""
    from app import db as database

    database.upgrade()
    click.echo("database is at the latest schema")


@main.command("seed-demo")
@click.option("--no-index", is_flag=True, help="Do not build the search index now")
def seed_demo(no_index: bool) -> None:
    """Load demo users and knowledge-base articles (idempotent)."""
    from app.demo import seed
    from core.database import session_scope
    from knowledge_base.indexing import index_is_current, rebuild_index

    with session_scope() as session:
        result = seed(session)
    click.echo(f"demo data: {json.dumps(result)}")
    if not no_index:
        with session_scope() as session:
            if index_is_current(session):
                click.echo("knowledge-base index is current")
            else:
                manifest = rebuild_index(session)
                click.echo(f"knowledge-base index built: {manifest.count} chunks")


@main.group()
def bot() -> None:
    """The Rasa bot."""


@bot.command("train")
@click.option("--force", is_flag=True, help="Train even if the data is unchanged")
def bot_train(force: bool) -> None:
    """Train the model from bot/rasa (skipped when a model for this data exists)."""
    from bot.training import train

    path, trained = train(force=force)
    click.echo(f"{'trained' if trained else 'up to date'}: {path}")


@bot.command("run")
def bot_run() -> None:
    """Start the Rasa server for the current model (used by the Procfile)."""
    import os

    from bot.rasa_server import command

    argv = command()
    os.execv(argv[0], argv)  # noqa: S606 - replace this process with Rasa


@main.group()
def kb() -> None:
    """The knowledge base."""


@kb.command("reindex")
def kb_reindex() -> None:
    """Rebuild the search index from all published articles."""
    from core.database import session_scope
    from knowledge_base.indexing import rebuild_index

    with session_scope() as session:
        manifest = rebuild_index(session)
    click.echo(f"indexed {manifest.count} chunks ({manifest.model})")


@main.group()
def user() -> None:
    """Staff accounts."""


@user.command("create")
@click.option("--email", required=True)
@click.option("--name", "display_name", required=True)
@click.option("--role", required=True, help="admin, supervisor, agent, knowledge_editor, ...")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input")
def user_create(email: str, display_name: str, role: str, password_stdin: bool) -> None:
    """Create a staff user (the password is prompted for, never passed as an argument)."""
    from core import audit
    from core.auth.service import create_user
    from core.database import session_scope
    from core.errors import TandemError

    password = sys.stdin.readline().rstrip("\n") if password_stdin else getpass.getpass()
    try:
        with session_scope() as session:
            created = create_user(session, email=email, display_name=display_name,
                                  password=password, role=role)
            audit.record(session, actor=None, action="user.created",
                         target=f"user:{created.id}", after={"email": created.email,
                                                             "role": created.role})
            user_id = created.id
    except TandemError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"created user {user_id} ({email}, {role})")


@main.group()
def audit() -> None:
    """The audit trail."""


@audit.command("verify")
def audit_verify() -> None:
    """Check the hash chain; exits 1 if any entry was altered."""
    from core.audit import verify_chain
    from core.database import session_scope

    with session_scope() as session:
        broken = verify_chain(session)
    if broken:
        raise click.ClickException(f"audit chain broken at entries {broken}")
    click.echo("audit chain intact")


@main.command("settings")
def show_settings() -> None:
    """Print the effective settings (secrets masked)."""
    click.echo(get_settings().model_dump_json(indent=2))


if __name__ == "__main__":
    main()
