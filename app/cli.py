"""`flask --app wsgi ...` commands: seed-demo, rotate-signing-key, create-admin, create-token, worker, cron,
sweep, daily, serve."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from app.extensions import db


@click.command("seed-demo")
@with_appcontext
def seed_demo() -> None:
    """Create the demo organisation once (idempotent)."""
    from app import demo
    from app.services.credentials import keyring

    created = demo.seed()
    db.session.commit()
    click.echo("Demo data created." if created else "Demo data already present.")
    # Start-up hook (make run): the organisation's credential signing key exists before anything is signed.
    keyring.ensure_key()
    db.session.commit()


@click.command("rotate-signing-key")
@with_appcontext
def rotate_signing_key() -> None:
    """Retire the credential signing key (it stays published) and start signing with a new one."""
    from app.services.credentials import keyring

    key = keyring.rotate("cli")
    db.session.commit()
    click.echo(f"New signing key {key.multikey}; the previous one stays published in the DID document.")


@click.command("create-admin")
@click.argument("email")
@click.option("--name", default=None, help="Display name (default: the part before @).")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@with_appcontext
def create_admin(email: str, name: str | None, password: str) -> None:
    """Create an admin account (or promote and re-password an existing one)."""
    from app.services.accounts import users
    from app.services.errors import ValidationError

    try:
        user = users.find_by_email(email)
        if user is None:
            user = users.create_user(email, name or email.split("@")[0], "admin", actor="cli",
                                     password=password)
        else:
            users.update_user(user, actor="cli", role="admin", active=True)
            users.set_password(user, password, actor="cli")
    except ValidationError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"Admin {user.email} is ready.")


@click.command("create-token")
@click.argument("email")
@click.option("--name", required=True, help="What the token is for.")
@with_appcontext
def create_token(email: str, name: str) -> None:
    """Print a new API token for EMAIL (shown once)."""
    from app.services.accounts import tokens, users
    from app.services.errors import ValidationError

    user = users.find_by_email(email)
    if user is None or not user.active:
        raise click.ClickException(f"No active user {email}.")
    try:
        _, secret = tokens.create_token(user, name, actor="cli")
    except ValidationError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(secret)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--scheduler/--no-scheduler", default=True, help="Also run RQ's scheduler (delayed jobs).")
@click.option("--queues", "names", default=None, metavar="NAMES",
              help="Comma-separated queues, in priority order (default: all of them). "
                   "`flask serve` runs `high,default,low` and `render,render-bulk` in separate workers.")
def worker(burst: bool, scheduler: bool, names: str | None) -> None:
    """Run an RQ worker on Laurel's queues, with the app context for every job."""
    from app.queue import QUEUES, get_queue
    from app.tasks.worker import AppWorker

    chosen = [n.strip() for n in names.split(",") if n.strip()] if names else list(QUEUES)
    unknown = sorted(set(chosen) - set(QUEUES))
    if unknown or not chosen:
        raise click.BadParameter(f"choose among {', '.join(QUEUES)}; not {', '.join(unknown) or 'nothing'}",
                                 param_hint="--queues")
    app = current_app._get_current_object()
    with app.app_context():
        queues = [get_queue(name) for name in chosen]
        rq_worker = AppWorker(queues, connection=queues[0].connection, app=app)
    rq_worker.work(burst=burst, with_scheduler=scheduler)


@click.command("cron")
@with_appcontext
def cron() -> None:
    """Run the periodic schedule (enqueues sweeps; workers run them)."""
    from app.tasks.schedule import build_scheduler

    build_scheduler().start()


@click.command("sweep")
@with_appcontext
def sweep() -> None:
    """Run the recovery sweep once, now, in this process."""
    from app.tasks.sweep import recover_stuck_work

    click.echo(recover_stuck_work())


@click.command("daily")
@click.option("--now", default=None, help="ISO 8601 moment to run as (time travel for demos and checks).")
@with_appcontext
def daily(now: str | None) -> None:
    """Reminders, expiries and (on its day) the weekly digest, once each; then recovery."""
    from app.tasks.daily import run_daily

    click.echo(run_daily(now))


@click.command("serve")
@click.option("--workers", default=1, show_default=True, help="RQ worker processes.")
def serve(workers: int) -> None:
    """Web server + worker(s) + cron together (what `make run` starts). Ctrl-C stops all."""
    from app import runner

    runner.run(current_app._get_current_object(), workers=workers)


@click.command("redis-url")
@with_appcontext
def redis_url() -> None:
    """Print the Redis URL in use (starting the embedded Redis if needed)."""
    from app.queue import redis_url as url

    click.echo(url())


def init_app(app) -> None:
    for command in (seed_demo, rotate_signing_key, create_admin, create_token, worker, cron, sweep, daily,
                    serve, redis_url):
        app.cli.add_command(command)
