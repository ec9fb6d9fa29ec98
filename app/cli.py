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


@db.command("current")
def db_current() -> None:
    """The revisions the database is at (note them before an upgrade)."""
    from app import db as database

    click.echo(" ".join(database.current()) or "no migrations applied")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Undo migrations down to REVISION ("0720@-1" undoes only head 0720). Back up first."""
    from sqlalchemy import inspect

    from app import db as database
    from core import audit
    from core.database import session_scope

    before = database.current()
    database.downgrade(revision)
    after = database.current()
    with session_scope() as session:
        if inspect(session.connection()).has_table(audit.AuditEntry.__tablename__):
            audit.record(session, actor=None, action="db.downgraded", target="schema",
                         before={"revisions": before}, after={"revisions": after})
    click.echo(f"database is at {' '.join(after) or 'base (empty schema)'}")


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


@main.command("seed-traffic")
@click.option("--conversations", default=1500, show_default=True, type=click.IntRange(0))
@click.option("--days", default=28, show_default=True, type=click.IntRange(1, 366))
@click.option("--seed", "random_seed", default=0, show_default=True, type=int)
@click.option("--if-empty", is_flag=True, help="Only when the database has no traffic yet")
def seed_traffic(conversations: int, days: int, random_seed: int, if_empty: bool) -> None:
    """Generate realistic support history (bot, hand-offs, SLAs, ratings) for reports."""
    from core.database import session_scope
    from reporting import seed

    if if_empty:
        with session_scope() as session:
            if seed.has_traffic(session):
                click.echo("traffic exists; nothing seeded")
                return
    result = seed.seed_traffic(conversations, days, random_seed,
                               progress=lambda r: click.echo(f"  {r.conversations} "
                                                             "conversations", err=True))
    click.echo(f"seeded: {json.dumps(result.as_dict())}")


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
    """Serve the live Rasa model; switch to a new live model with no downtime."""
    from bot.model_switch import Runner

    Runner().run_forever()


@main.command("serve")
@click.argument("process", type=click.Choice(["api", "rasa", "worker", "mail"]))
def serve(process: str) -> None:
    """Run one of the platform's processes in the foreground (supervisord, systemd)."""
    import os

    from core.event_bus import ConfigurationError
    from operations.processes import command

    try:
        argv = command(process, get_settings())
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from exc
    os.execv(argv[0], argv)  # noqa: S606 - argv is built from settings, no shell


@main.command("run")
def run() -> None:
    """Start every process under supervision (restarted when one dies); Ctrl-C stops all."""
    from core.event_bus import ConfigurationError, check_process_count
    from operations.supervision import supervise

    settings = get_settings()
    try:
        check_process_count(settings)
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from exc
    supervise(settings)


@main.group()
def nlu() -> None:
    """Intent classification and the calibrated hand-off thresholds."""


@nlu.command("calibrate")
@click.option("--data", "data_path", type=click.Path(exists=True, dir_okay=False),
              default=None, help="Training data (CSV text,label or Rasa NLU YAML); "
              "default: the bot's bot/rasa/data/nlu.yml")
@click.option("--max-wrong-answer-rate", default=0.10, show_default=True, type=float)
@click.option("--oos-share", default=0.2, show_default=True, type=float,
              help="Assumed share of messages the bot was not built for")
@click.option("--folds", default=10, show_default=True, type=int)
@click.option("--out", "out_path", type=click.Path(dir_okay=False), default=None,
              help="Thresholds file to write; default: the encoder's (bot/handoff_thresholds"
              ".yml for all-MiniLM-L6-v2, bot/handoff_thresholds.<encoder>.yml for another)")
@click.option("--encoder", type=click.Choice(["all-MiniLM-L6-v2", "multilingual-e5-small"]),
              default=None, help="Sentence encoder; default: the English one "
              "(TANDEM_EMBEDDING_MODEL)")
def nlu_calibrate(data_path: str | None, max_wrong_answer_rate: float, oos_share: float,
                  folds: int, out_path: str | None, encoder: str | None) -> None:
    """Calibrate thresholds by cross-validation on training data; write the bot's config."""
    from pathlib import Path

    from bot.actions.intents import NLU_DATA, thresholds_file_for, training_rows
    from nlu.calibration import calibrate, write_thresholds
    from nlu.classifier import clean_texts
    from nlu.encoders import get_encoder
    from nlu.evaluation import load_dataset

    path = Path(data_path) if data_path else NLU_DATA
    name = encoder or get_settings().embedding_model
    try:
        texts, labels = training_rows(load_dataset(path), get_encoder(name).name)
        embeddings = get_encoder(name).encode(clean_texts(texts))
        result = calibrate(texts, labels, max_wrong_answer_rate, oos_share, folds,
                           embeddings=embeddings)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    written = write_thresholds(result, Path(out_path) if out_path else thresholds_file_for(name),
                               source=str(path))
    click.echo(json.dumps(result.as_dict(), indent=2))
    click.echo(f"thresholds written to {written}")


@nlu.command("evaluate")
@click.option("--train", "train_path", required=True,
              type=click.Path(exists=True, dir_okay=False))
@click.option("--test", "test_path", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--oos-label", default=None, help="Label of out-of-scope rows (must be handed off)")
@click.option("--json", "json_path", required=True, type=click.Path(dir_okay=False))
@click.option("--plot", "plot_path", default=None, type=click.Path(dir_okay=False))
@click.option("--max-wrong-answer-rate", default=0.10, show_default=True, type=float)
@click.option("--encoder", type=click.Choice(["all-MiniLM-L6-v2", "multilingual-e5-small"]),
              default=None, help="Sentence encoder; default: the English one (use "
              "multilingual-e5-small for Chinese or other non-English data)")
def nlu_evaluate(train_path: str, test_path: str, oos_label: str | None, json_path: str,
                 plot_path: str | None, max_wrong_answer_rate: float,
                 encoder: str | None) -> None:
    """Train and calibrate the bot's pipeline on TRAIN only; report on TEST."""
    from pathlib import Path

    from nlu.evaluation import evaluate, load_dataset, plot_risk_coverage

    try:
        result = evaluate(load_dataset(Path(train_path)), load_dataset(Path(test_path)),
                          oos_label=oos_label, max_wrong_answer_rate=max_wrong_answer_rate,
                          encoder=encoder)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    Path(json_path).parent.mkdir(parents=True, exist_ok=True)
    Path(json_path).write_text(json.dumps(result, indent=2, ensure_ascii=False))
    if plot_path:
        plot_risk_coverage(result["risk_coverage"], Path(plot_path), title=Path(test_path).name)
    summary = {k: v for k, v in result.items() if k not in {"predictions", "risk_coverage"}}
    click.echo(json.dumps(summary, indent=2))


@main.group()
def model() -> None:
    """The model registry: versions, training, evaluation, promotion, rollback."""


@model.command("list")
def model_list() -> None:
    """Every version, newest first."""
    from core.database import session_scope
    from training import registry

    with session_scope() as session:
        for row in registry.list_versions(session):
            scores = (row.metrics or {}).get("comparison", {}).get("candidate", {})
            automation = scores.get("correct_automation_at_target")
            click.echo(f"v{row.version:<4} {row.status:<10} {row.name[:24]:<24} "
                       f"snapshot={row.snapshot_id or '-':<5} "
                       f"correct_automation@target={automation if automation is not None else '-'}"
                       f"{'  forced' if row.forced else ''}")


@model.command("train")
@click.option("--snapshot", "snapshot_id", required=True, type=int)
@click.option("--skip-rasa", is_flag=True, help="Platform classifier only; keep the Rasa model")
@click.option("--name", default="")
@click.option("--queue", "queued", is_flag=True, help="Let the worker train it (default: here)")
def model_train(snapshot_id: int, skip_rasa: bool, name: str, queued: bool) -> None:
    """Train a candidate from a dataset snapshot, then compare it with live."""
    from core.database import session_scope
    from core.errors import TandemError
    from training import jobs, registry

    try:
        with session_scope() as session:
            row = registry.start_training(session, snapshot_id=snapshot_id, actor=None,
                                          skip_rasa=skip_rasa, name=name, enqueue=queued)
            version = row.version
    except TandemError as exc:
        raise click.ClickException(exc.message) from exc
    if queued:
        click.echo(f"v{version} queued; follow it with `tandem model list`")
        return
    status = jobs.run_training(version)
    with session_scope() as session:
        row = registry.get(session, version)
        click.echo(row.log)
        click.echo(json.dumps((row.metrics or {}).get("comparison", {}).get("deltas", {})))
    click.echo(f"v{version}: {status}")
    if status != "candidate":
        sys.exit(1)


@model.command("evaluate")
@click.argument("version", type=int)
def model_evaluate(version: int) -> None:
    """Compare VERSION with live on its frozen held-out set; prints the guard's verdict."""
    from core.database import session_scope
    from core.errors import TandemError
    from training import jobs, registry

    try:
        with session_scope() as session:
            row = registry.get(session, version)
            if row.status not in registry.TRAINED or row.version == registry.live(
                    session).version:
                raise click.ClickException(f"v{version} is {row.status}; only a trained "
                                           "version that is not live is compared with live")
        result = jobs.evaluate_outside_transaction(version)
        comparison, verdict = result["comparison"], result["guard"]
        with session_scope() as session:
            plot = (registry.get(session, version).artifacts or {}).get("risk_coverage_png")
    except TandemError as exc:
        raise click.ClickException(exc.message) from exc
    summary = {k: comparison[k] for k in ("against_version", "held_out", "candidate", "live",
                                          "deltas")}
    click.echo(json.dumps({**summary, "guard": verdict, "plot": plot}, indent=2))


@model.command("promote")
@click.argument("version", type=int)
@click.option("--force-reason", default=None, help="Promote although the guard refuses")
def model_promote(version: int, force_reason: str | None) -> None:
    """Make candidate VERSION live (guarded); the Rasa runner switches with no downtime."""
    from core.database import session_scope
    from core.errors import TandemError
    from training import registry

    try:
        with session_scope() as session:
            result = registry.promote(session, version_id=version, actor=None,
                                      force_reason=force_reason)
            previous = result.previous.version if result.previous else None
            forced = result.forced
    except TandemError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"v{version} is live (was v{previous}){' - forced' if forced else ''}")


@model.command("rollback")
@click.argument("version", type=int)
@click.option("--reason", default=None)
def model_rollback(version: int, reason: str | None) -> None:
    """Make the earlier VERSION live again."""
    from core.database import session_scope
    from core.errors import TandemError
    from training import registry

    try:
        with session_scope() as session:
            result = registry.rollback(session, to_version_id=version, actor=None,
                                       reason=reason)
            previous = result.previous.version if result.previous else None
    except TandemError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"v{version} is live again (was v{previous})")


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


@kb.command("train-classifier")
@click.option("--force", is_flag=True, help="Retrain even if the stored one fits the index")
def kb_train_classifier(force: bool) -> None:
    """Train the question classifier for the current index (the worker does after publishes)."""
    from knowledge_base import question_classifier

    click.echo(json.dumps(question_classifier.train_current(force=force).as_dict(), indent=2))


@kb.command("check")
@click.option("--repair", is_flag=True, help="Update the index where it drifted")
def kb_check(repair: bool) -> None:
    """Compare the index with the published articles; exits 1 on drift (unless repaired)."""
    from core.database import session_scope
    from knowledge_base import indexing

    with session_scope() as session:
        drift = indexing.reconcile(session) if repair else indexing.check(session)
    click.echo(json.dumps({"index_present": drift.index_present, "missing": drift.missing,
                           "stale": drift.stale, "changed": drift.changed}))
    if not drift.clean and not repair:
        raise click.ClickException("index and database disagree; run `tandem kb check --repair`")
    click.echo("repaired" if repair and not drift.clean else "index matches the database")


@kb.command("evaluate")
@click.option("--articles", "articles_path", required=True, type=click.Path(exists=True,
              dir_okay=False), help="JSONL: id, title, body, alternative_questions")
@click.option("--queries", "queries_path", required=True, type=click.Path(exists=True,
              dir_okay=False), help="CSV: text, article_id")
@click.option("--tune", "tune_path", type=click.Path(exists=True, dir_okay=False),
              help="CSV of development queries to choose fusion weights on (not the test set)")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write the report here")
def kb_evaluate(articles_path: str, queries_path: str, tune_path: str | None,
                json_path: str | None) -> None:
    """Score retrieval on a throw-away index: Recall@1/@3, MRR@10, latency."""
    from pathlib import Path

    from core.errors import TandemError
    from knowledge_base.evaluation import evaluate, report_dict

    try:
        report = report_dict(evaluate(Path(articles_path), Path(queries_path),
                                      Path(tune_path) if tune_path else None))
    except TandemError as exc:
        raise click.ClickException(exc.message) from exc
    text = json.dumps(report, indent=2)
    if json_path:
        Path(json_path).write_text(text + "\n")
    click.echo(text)


@kb.command("import")
@click.argument("source", type=click.Path(exists=True))
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "markdown"]),
              help="Default: from the file extension; a directory is Markdown")
@click.option("--status", default="draft", show_default=True,
              type=click.Choice(["draft", "in_review", "published", "archived"]),
              help="Status for records that do not name one")
def kb_import(source: str, fmt: str | None, status: str) -> None:
    """Import articles; the whole file is rejected if any record is bad."""
    from pathlib import Path

    from core import audit
    from core.database import session_scope
    from core.errors import TandemError
    from knowledge_base import transfer

    path = Path(source)
    fmt = fmt or ("markdown" if path.is_dir() else path.suffix.lstrip(".").lower())
    try:
        if fmt == "markdown":
            files = {p.name: p.read_text(encoding="utf-8") for p in sorted(path.glob("*.md"))}
            records = transfer.parse_markdown_files(files, status)
        else:
            records = transfer.parse(fmt, path.read_text(encoding="utf-8-sig"), status)
        with session_scope() as session:
            result = transfer.import_records(session, records, None)
            audit.record(session, actor=None, action="kb.imported", target=f"file:{path.name}",
                         after={"created": result.created, "updated": result.updated})
    except TandemError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"imported: {result.created} created, {result.updated} updated, "
               f"{result.unchanged} unchanged")


@kb.command("export")
@click.argument("target", type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "markdown"]),
              default="jsonl", show_default=True, help="markdown writes a folder")
@click.option("--status", type=click.Choice(["draft", "in_review", "published", "archived"]))
def kb_export(target: str, fmt: str, status: str | None) -> None:
    """Export articles (all, or one status)."""
    from pathlib import Path

    from core.database import session_scope
    from knowledge_base import service, transfer

    with session_scope() as session:
        found = sorted(service.list_articles(session, status=status, limit=10**9),
                       key=lambda a: a.id)
        if fmt == "markdown":
            folder = Path(target)
            folder.mkdir(parents=True, exist_ok=True)
            for name, text in transfer.export_markdown(found).items():
                (folder / name).write_text(text, encoding="utf-8")
        else:
            text = transfer.export_jsonl(found) if fmt == "jsonl" else transfer.export_csv(found)
            Path(target).write_text(text, encoding="utf-8")
    click.echo(f"exported {len(found)} articles to {target}")


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


@main.group()
def backup() -> None:
    """Backups of the database, index, models and secrets (docs/operations.md)."""


@backup.command("create")
@click.option("--output-dir", type=click.Path(file_okay=False), default=None,
              help="Default: TANDEM_BACKUP_DIR, else the data directory's backups/")
@click.option("--no-models", is_flag=True, help="Leave the trained models out")
def backup_create(output_dir: str | None, no_models: bool) -> None:
    """Write one consistent archive of the running platform (encrypted if TANDEM_BACKUP_KEY)."""
    from pathlib import Path

    from core.errors import TandemError
    from operations import backup as backups

    try:
        created = backups.create(Path(output_dir) if output_dir else None,
                                 include_models=not no_models)
    except TandemError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo("\n".join(created.lines()))


@backup.command("verify")
@click.argument("archive", type=click.Path(dir_okay=False))
def backup_verify(archive: str) -> None:
    """Check checksums, restore into a scratch database, compare counts; exits 1 on a problem."""
    from pathlib import Path

    from core.errors import TandemError
    from operations import backup as backups

    try:
        report = backups.verify(Path(archive))
    except TandemError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo("\n".join(report.lines()))
    if not report.ok:
        sys.exit(1)


@backup.command("restore")
@click.argument("archive", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Overwrite a database that already has data")
def backup_restore(archive: str, force: bool) -> None:
    """Restore ARCHIVE into the configured database and data directory (platform stopped)."""
    from pathlib import Path

    from core.errors import TandemError
    from operations import backup as backups

    try:
        report = backups.restore(Path(archive), force=force)
    except backups.LiveDatabaseNotEmpty as exc:
        click.echo(f"Error: {exc.message}", err=True)
        sys.exit(2)
    except TandemError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo("\n".join(report.lines()))
    if not report.ok:
        sys.exit(1)


@main.command("settings")
def show_settings() -> None:
    """Print the effective settings (secrets masked)."""
    click.echo(get_settings().model_dump_json(indent=2))


if __name__ == "__main__":
    main()
