"""Logs: one line per event worth knowing; tokens and signing secrets never written."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.crash_rounds import EXE, digest_state, service_env
from bot.ingest import ingest_files
from bot.logs import REDACTED, RedactSecrets
from bot.models import Channel, Subscription
from bot.sources import sample_files
from bot.storage import open_storage
from tests.slack_fake import TEAM, TOKEN, SlackFake

SECRET = "crash-test-signing-secret"


def test_secrets_are_redacted_from_messages_arguments_and_tracebacks() -> None:
    record = logging.LogRecord(
        "x", logging.ERROR, __file__, 1, "token %s in %s", (TOKEN, "args"), None
    )
    try:
        raise RuntimeError(f"bad auth header Bearer {TOKEN}")
    except RuntimeError:
        record.exc_info = sys.exc_info()
    RedactSecrets([TOKEN, None, ""]).filter(record)
    assert record.getMessage() == f"token {REDACTED} in args"
    assert record.exc_text is not None
    assert TOKEN not in record.exc_text and REDACTED in record.exc_text


async def test_the_service_at_debug_level_never_logs_a_token(tmp_path: Path) -> None:
    db = tmp_path / "logs.db"
    channel = Channel("slack", TEAM, "CLOGS")
    now = datetime.now(UTC)
    with open_storage(db) as store:
        ingest_files(store, sample_files()[-2:], now)
        store.activity.save_subscription(
            Subscription(
                channel,
                count=3,
                weekdays=tuple(range(7)),
                roundup_weekday=None,
                post_time=(now - timedelta(minutes=1)).strftime("%H:%M"),
            ),
            now,
        )
    async with SlackFake(clock=time.time) as fake:
        env = service_env(db, fake) | {"LOG_LEVEL": "DEBUG"}
        proc = await asyncio.create_subprocess_exec(
            EXE, "run", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        for _ in range(600):
            if digest_state(db, channel)[0] == "done":
                break
            await asyncio.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    logs = out.decode() + err.decode()
    assert proc.returncode == 0, logs[-2000:]
    assert "posted 3 papers to slack:T0TEAM/CLOGS" in logs
    assert "shutting down" in logs
    assert TOKEN not in logs and SECRET not in logs
    assert "xoxb-" not in logs
