"""The command line: `python -m bot run|demo|console|backup|check [--config PATH]`."""
from __future__ import annotations

import argparse
import asyncio
import importlib.util
import logging
import os
import sqlite3
import sys
from pathlib import Path

from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError

from bot.config import Config, ConfigError, load_config


class RedactToken(logging.Filter):
    """The token is a password: whatever a library logs (request URLs contain it, InvalidToken's message quotes it,
    a traceback may carry either), it never reaches the log."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        if self.token:
            message = record.getMessage()
            if self.token in message:
                record.msg, record.args = message.replace(self.token, "[BOT_TOKEN]"), None
            if record.exc_info and record.exc_info[0] is not None:
                # The formatter prints exc_text when it is set: format the traceback here, without the token.
                text = record.exc_text or logging.Formatter().formatException(record.exc_info)
                record.exc_text = text.replace(self.token, "[BOT_TOKEN]")
        return True


class BriefTelegramErrors(logging.Filter):
    """PTB logs a refused token or a dropped connection with a full traceback of its own internals; one line
    (what failed and why) tells an operator as much."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, TelegramError) and record.name.startswith("telegram"):
            record.msg, record.args = f"{record.getMessage()} ({type(error).__name__}: {error})", None
            record.exc_info, record.exc_text = None, None
        return True


class QuietBootstrap(logging.Filter):
    """PTB logs an ERROR of its own when a start-up step fails ("Network Retry Loop (Bootstrap …): … Aborting");
    `run` then says what failed in one line of its own, so PTB's is a second, vaguer telling of the same thing."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == "telegram.ext" and record.levelno >= logging.ERROR
                    and record.getMessage().startswith("Network Retry Loop (Bootstrap"))


def setup_logging(config: Config) -> None:
    logging.basicConfig(level=config.logging.level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # aiosqlite logs every operation at DEBUG from its own thread, even after close: noise that can land mid-line.
    logging.getLogger("aiosqlite").setLevel(logging.INFO)
    filters: list[logging.Filter] = [QuietBootstrap(), BriefTelegramErrors()]
    if config.token is not None:
        filters.append(RedactToken(config.token.get_secret_value()))  # last: it sees the final message
    for handler in logging.getLogger().handlers:
        for log_filter in filters:
            handler.addFilter(log_filter)


def cmd_run(config: Config, args: argparse.Namespace) -> int:
    from bot.app import ALLOWED_UPDATES, build_application, tune_runtime
    from bot.processor import StartupError
    from bot.receiving import TelegramAnswered

    if args.api_url:
        config = config.model_copy(update={"telegram": config.telegram.model_copy(update={"api_url": args.api_url})})
    if config.token is None:
        print("BOT_TOKEN is not set: export BOT_TOKEN=123456:ABC… (from @BotFather) and run again.", file=sys.stderr)
        return 2
    tg = config.telegram
    if tg.mode == "webhook":
        if not tg.webhook.public_url:
            print(f"{args.config}: telegram.webhook.public_url: required in webhook mode", file=sys.stderr)
            return 2
        if importlib.util.find_spec("tornado") is None:
            print("telegram.mode webhook needs tornado: pip install -e '.[webhooks]' (or use mode: polling)", file=sys.stderr)
            return 2
    setup_logging(config)
    token = config.token.get_secret_value()
    # The database first: a wrong path or a database from a newer Sticky is named before Telegram is asked anything.
    problem = asyncio.run(check_database(config))
    if problem:
        print(problem, file=sys.stderr)
        return 2
    try:
        app = build_application(config)
        tune_runtime()
        if tg.mode == "webhook":
            app.run_webhook(
                listen=tg.webhook.listen, port=tg.webhook.port, url_path=tg.webhook.url_path,
                webhook_url=f"{tg.webhook.public_url.rstrip('/')}/{tg.webhook.url_path}",
                secret_token=os.environ.get("WEBHOOK_SECRET") or None,
                allowed_updates=ALLOWED_UPDATES, drop_pending_updates=tg.drop_pending_updates,
            )
        else:
            app.run_polling(allowed_updates=ALLOWED_UPDATES, timeout=tg.poll_timeout, drop_pending_updates=tg.drop_pending_updates)
    except InvalidToken:
        print("Telegram rejected BOT_TOKEN: copy the token again from @BotFather (/mybots → API Token).", file=sys.stderr)
        return 2
    except StartupError as exc:
        print(redact(str(exc), token), file=sys.stderr)
        return 1
    except TelegramAnswered as exc:  # reached, and it answered with a server error: not "cannot reach"
        print(f"{redact(exc.message, token)} (at start-up; try again later, or check telegram.api_url)", file=sys.stderr)
        return 1
    except BadRequest as exc:  # PTB makes BadRequest a NetworkError, but Telegram did answer: it refused
        print(f"Telegram refused to start the bot: {redact(exc.message, token)}", file=sys.stderr)
        return 1
    except NetworkError as exc:  # also TimedOut
        where = tg.api_url or "api.telegram.org"
        print(f"cannot reach Telegram at {where}: {redact(str(exc), token)} (check the network and telegram.api_url)", file=sys.stderr)
        return 1
    except TelegramError as exc:
        print(f"Telegram refused to start the bot: {redact(exc.message, token)}", file=sys.stderr)
        return 1
    except (OSError, sqlite3.Error) as exc:  # e.g. the webhook port is taken, the disk went away
        print(f"start-up failed: {redact(str(exc), token)}", file=sys.stderr)
        return 2
    return 0


def redact(text: str, token: str) -> str:
    return text.replace(token, "[BOT_TOKEN]") if token else text


async def check_database(config: Config) -> str | None:
    """Open (create, migrate) and close the database; one line naming the file when that is impossible."""
    from storage.db import Database

    db = Database(config.database.path, config.database.busy_timeout_ms)
    try:
        await db.open()
    except (OSError, sqlite3.Error, RuntimeError) as exc:  # RuntimeError: a database from a newer Sticky
        return f"database.path {config.database.path}: {exc}"
    finally:
        await db.close()
    return None


def cmd_demo(config: Config, args: argparse.Namespace) -> int:
    from bot.console import log_to_file
    from bot.demo import run_demo

    log_path = log_to_file("demo")  # library warnings (a private message Telegram refuses…) stay out of the story
    code = asyncio.run(run_demo(config, keep=args.keep))
    print(f"· library messages were written to {log_path}")
    return code


def cmd_console(config: Config, args: argparse.Namespace) -> int:
    from bot.console import run_console

    return asyncio.run(run_console(config, sys.stdin, sys.stdout))


def cmd_backup(config: Config, args: argparse.Namespace) -> int:
    from storage.backup import backup, same_file

    if same_file(config.database.path, args.path):  # SQLite would copy the file onto itself: at best nothing, at worst a hang
        suggestion = Path(config.database.path).with_name(Path(config.database.path).stem + "-backup.db")
        print(f"backup: {args.path} is the live database itself (or a file SQLite keeps beside it); give another path,"
              f" e.g. {suggestion}", file=sys.stderr)
        return 1
    try:
        pages = backup(config.database.path, args.path)
    except (OSError, sqlite3.Error) as exc:  # sqlite3.Error: e.g. the file is not a database
        print(f"backup failed: {exc}", file=sys.stderr)
        return 1
    print(f"backed up {config.database.path} to {args.path} ({pages} pages)")
    return 0


def cmd_check(config: Config, args: argparse.Namespace) -> int:
    from bot.checks import run_checks

    try:
        problems, steps = asyncio.run(run_checks(config, repair=args.repair))
    except (RuntimeError, sqlite3.DatabaseError) as exc:  # a database from a newer Sticky, or not a database at all
        print(f"{config.database.path}: {exc}", file=sys.stderr)
        return 1
    for line in problems + steps:
        print(line)
    if not problems:
        print(f"{config.database.path}: all checks passed")
    repaired = args.repair and problems and all(line.startswith("Repaired:") for line in steps)
    return 0 if not problems or repaired else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Sticky, a Telegram bot that runs community groups.")
    parser.add_argument("--config", default="config.yaml", help="config file (default ./config.yaml)")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the bot (BOT_TOKEN from the environment)")
    run.add_argument("--api-url", help="Bot API server, e.g. the simulator's http://127.0.0.1:PORT")
    demo = sub.add_parser("demo", help="play a scripted group life against the simulated Telegram")
    demo.add_argument("--keep", metavar="DIR", help="leave the demo's database in DIR/demo.db (python -m bot check can read it)")
    sub.add_parser("console", help="an interactive simulated group: type 'name: text'")
    backup = sub.add_parser("backup", help="online backup of the database")
    backup.add_argument("path")
    check = sub.add_parser("check", help="verify the database (integrity, ledger = balances)")
    check.add_argument("--repair", action="store_true", help="rebuild cached balances from the ledger")
    # Options may come before or after the sub-command.
    for p in sub.choices.values():
        p.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        for line in exc.lines:
            print(line, file=sys.stderr)
        return 2
    handler = {"run": cmd_run, "demo": cmd_demo, "console": cmd_console, "backup": cmd_backup, "check": cmd_check}[args.command]
    return handler(config, args)


if __name__ == "__main__":
    sys.exit(main())
