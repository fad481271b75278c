"""What an operator meets starting papers-bot: every mistake is one line and exit 1, a network
outage at start-up is retried, a normal start logs no warning. All through the real
`papers-bot` in a subprocess."""

from __future__ import annotations

import asyncio
import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest

from bot import __version__
from tests.discord_fake import FakeDiscord
from tests.discord_harness import TOKEN as DISCORD_TOKEN
from tests.discord_payloads import GUILD_ID
from tests.slack_fake import TOKEN, SlackFake
from tests.slack_harness import SECRET, free_port
from tests.test_cli import EXE, offline_env, run
from tests.upstream_server import UpstreamServer

pytestmark = pytest.mark.slow  # real processes and real timers: make test-quick skips them


def the_error(err: str) -> str:
    """The one line a failed command printed, beside any log lines; fails on a traceback."""
    assert "Traceback" not in err and "Unclosed" not in err, err
    said = [line for line in err.splitlines() if line.strip() and not line[:4].isdigit()]
    assert len(said) == 1, err
    assert said[0].startswith("error: "), err
    return said[0]


def slack_env(tmp_path: Path, api_url: str, **extra: str) -> dict[str, str]:
    """`papers-bot run` on Slack's HTTP mode against `api_url`, /healthz off, fetches offline."""
    values = {
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": api_url,
        "SLACK_HTTP_HOST": "127.0.0.1",
        "SLACK_HTTP_PORT": str(free_port()),
        "HEALTH_PORT": "off",
    }
    return offline_env(tmp_path, **(values | extra))


@contextmanager
def taken_port() -> Iterator[int]:
    """A local port some other program already listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


async def test_version_prints_the_version(tmp_path: Path) -> None:
    code, out, err = await run(tmp_path, "--version")
    assert (code, out.strip()) == (0, f"papers-bot {__version__}"), err


async def test_a_file_that_is_not_a_database_is_one_line(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(bytes(range(256)) * 20)
    env = offline_env(tmp_path, PAPERS_BOT_DB=str(garbage), HEALTH_PORT="off")
    for command in ("status", "run", "search"):
        args = [command, "meta-rl"] if command == "search" else [command]
        code, _, err = await run(tmp_path, *args, env=env)
        line = the_error(err)
        assert code == 1 and str(garbage) in line and "not a database" in line, command
        assert "PAPERS_BOT_DB" in line


async def test_a_folder_as_the_database_is_one_line(tmp_path: Path) -> None:
    code, _, err = await run(tmp_path, "--db", str(tmp_path), "run")
    assert code == 1 and f"cannot open the database {tmp_path}" in the_error(err)


async def test_status_of_a_database_that_does_not_exist_says_so(tmp_path: Path) -> None:
    code, _, err = await run(tmp_path, "--db", str(tmp_path / "no" / "such" / "x.db"), "status")
    assert code == 1 and "there is no database at" in the_error(err)
    assert not (tmp_path / "no").exists()  # and nothing was created there


async def test_a_bad_log_level_names_the_setting_and_the_choices(tmp_path: Path) -> None:
    code, _, err = await run(tmp_path, "run", env=offline_env(tmp_path, LOG_LEVEL="LOUD"))
    line = the_error(err)
    assert code == 1 and "LOG_LEVEL" in line and "'LOUD'" in line
    assert "DEBUG, INFO, WARNING, ERROR" in line


async def test_digest_time_takes_what_the_chat_setting_takes(tmp_path: Path) -> None:
    env = offline_env(tmp_path, DIGEST_TIME="9:30")
    code, out, err = await run(tmp_path, "chat", env=env, stdin="/papers subscribe\n")
    assert code == 0, err
    assert "09:30" in out
    code, _, err = await run(tmp_path, "status", env=offline_env(tmp_path, DIGEST_TIME="25:00"))
    assert code == 1 and "DIGEST_TIME" in the_error(err) and "HH:MM" in err


async def test_the_health_port_in_use_is_one_line(tmp_path: Path) -> None:
    with taken_port() as port:
        env = offline_env(tmp_path, HEALTH_HOST="127.0.0.1", HEALTH_PORT=str(port))
        code, _, err = await run(tmp_path, "run", env=env)
    line = the_error(err)
    assert code == 1 and "HEALTH_PORT" in line and str(port) in line and "off" in line


async def test_the_slack_http_port_in_use_is_one_line(tmp_path: Path) -> None:
    async with SlackFake() as fake:
        with taken_port() as port:
            env = slack_env(tmp_path, fake.api_url, SLACK_HTTP_PORT=str(port))
            code, _, err = await run(tmp_path, "run", env=env)
    line = the_error(err)
    assert code == 1 and "SLACK_HTTP_PORT" in line and str(port) in line


async def test_slack_unreachable_is_retried_then_one_line(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}/api/"
    env = slack_env(tmp_path, dead, CONNECT_RETRY_MINUTES="0.15")  # Web API retries first
    code, _, err = await run(tmp_path, "run", env=env)
    assert code == 1
    assert "Slack is unreachable at SLACK_API_URL" in err and "retrying in 1 s" in err
    line = the_error("\n".join(x for x in err.splitlines() if "WARNING" not in x))
    assert "SLACK_API_URL" in line and "CONNECT_RETRY_MINUTES" in line


async def test_discord_unreachable_is_retried_then_one_line(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    env = offline_env(
        tmp_path,
        DISCORD_TOKEN=DISCORD_TOKEN,
        DISCORD_API_URL=dead,
        DISCORD_GATEWAY_URL=dead.replace("http", "ws"),
        HEALTH_PORT="off",
        CONNECT_RETRY_MINUTES="0.05",
    )
    code, _, err = await run(tmp_path, "run", env=env)
    assert code == 1 and "Discord is unreachable at DISCORD_API_URL" in err
    assert "retrying in 1 s" in err
    line = the_error("\n".join(x for x in err.splitlines() if "WARNING" not in x))
    assert "DISCORD_API_URL" in line


async def test_the_service_waits_out_a_network_outage_at_start_up(tmp_path: Path) -> None:
    port = free_port()
    env = slack_env(tmp_path, f"http://127.0.0.1:{port}/api/", LOG_LEVEL="INFO")
    proc = await asyncio.create_subprocess_exec(
        EXE, "run", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    assert proc.stderr is not None
    seen: list[str] = []

    async def until(text: str) -> None:
        assert proc.stderr is not None
        while not any(text in line for line in seen):
            line = (await proc.stderr.readline()).decode()
            assert line, "".join(seen)
            seen.append(line)

    await asyncio.wait_for(until("retrying in"), 30)  # the "router" is down
    async with SlackFake(port=port):  # and back
        await asyncio.wait_for(until("papers-bot running: slack"), 60)
        proc.send_signal(signal.SIGTERM)
        _, rest = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, "".join(seen) + rest.decode()


async def test_sigterm_while_retrying_stops_at_once(tmp_path: Path) -> None:
    env = slack_env(tmp_path, f"http://127.0.0.1:{free_port()}/api/", LOG_LEVEL="INFO")
    proc = await asyncio.create_subprocess_exec(
        EXE, "run", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    assert proc.stderr is not None
    seen = b""
    while b"retrying in" not in seen:
        line = await asyncio.wait_for(proc.stderr.readline(), 30)
        assert line, seen.decode()  # the process ended without retrying
        seen += line
    proc.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(proc.communicate(), 15)
    assert proc.returncode == 0, err.decode()
    assert "Traceback" not in err.decode()


async def test_a_normal_start_logs_no_warning(tmp_path: Path) -> None:
    discord = FakeDiscord()
    await discord.start()
    try:
        async with SlackFake() as slack, UpstreamServer(today=date.today()) as upstream:
            env = slack_env(
                tmp_path,
                slack.api_url,
                LOG_LEVEL="INFO",
                HF_API_URL=upstream.hf_api_url,
                DISCORD_TOKEN=DISCORD_TOKEN,
                DISCORD_API_URL=discord.api_url,
                DISCORD_GATEWAY_URL=discord.gateway_url,
                DISCORD_GUILD_IDS=GUILD_ID,
            )
            proc = await asyncio.create_subprocess_exec(
                EXE, "run", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
            )
            assert proc.stderr is not None
            logs: list[str] = []
            while not any("fetched hf" in line for line in logs):
                line = (await asyncio.wait_for(proc.stderr.readline(), 30)).decode()
                assert line, "".join(logs)
                logs.append(line)
            proc.send_signal(signal.SIGTERM)
            _, rest = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        await discord.close()
    text = "".join(logs) + rest.decode()
    assert proc.returncode == 0, text
    assert "papers-bot running: slack, discord" in text
    assert " WARNING " not in text and " ERROR " not in text and "Traceback" not in text, text
