"""The deployment files: the Dockerfile's HEALTHCHECK works against a real `papers-bot run`, the
image runs as a non-root user with the database on a volume, and compose.yaml wires the volume
and the env file. (No container is built here: there is no Docker daemon in the test run.)"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shlex
import signal
from collections.abc import AsyncIterator, Callable
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from tests.slack_harness import free_port
from tests.test_cli import EXE, offline_env
from tests.upstream_server import UpstreamServer

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile as (INSTRUCTION, arguments), continuation lines joined, comments out."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    found = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, rest = line.strip().partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def final_stage() -> list[tuple[str, str]]:
    """The instructions of the image that ships (after the last FROM)."""
    steps = instructions()
    last = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last:]


def healthcheck_command() -> list[str]:
    """The HEALTHCHECK's CMD, in exec form."""
    (rest,) = [rest for word, rest in final_stage() if word == "HEALTHCHECK"]
    assert "--interval=" in rest and "--timeout=" in rest
    return list(json.loads(rest.split(" CMD ", 1)[1]))


async def run_check(tmp_path: Path, port: int) -> tuple[int, str]:
    """Run the image's HEALTHCHECK command here (this checkout's papers-bot for the image's):
    its exit code and everything it printed."""
    command = healthcheck_command()
    assert command[0] == "papers-bot"
    env = offline_env(tmp_path, HEALTH_PORT=str(port))
    proc = await asyncio.create_subprocess_exec(
        EXE, *command[1:], env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def wait_for_health(port: int, ready: Callable[[int, dict[str, Any]], bool]) -> None:
    """Until /healthz answers and `ready(status code, body)` holds (at most 30 s)."""
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            await asyncio.sleep(0.1)
            with contextlib.suppress(aiohttp.ClientConnectionError):
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if ready(response.status, await response.json()):
                        return
    raise AssertionError("/healthz never answered as expected")


@contextlib.asynccontextmanager
async def service(tmp_path: Path, port: int, **env: str) -> AsyncIterator[None]:
    """A real `papers-bot run` serving /healthz on `port`, stopped with SIGTERM."""
    full = offline_env(tmp_path, HEALTH_HOST="127.0.0.1", HEALTH_PORT=str(port), **env)
    proc = await asyncio.create_subprocess_exec(
        EXE, "run", env=full, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        yield
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0


async def test_the_healthcheck_passes_against_a_running_service_and_fails_without(
    tmp_path: Path,
) -> None:
    port = free_port()
    async with (
        UpstreamServer(today=date.today()) as upstream,  # a fetch that works: healthy
        service(tmp_path, port, HF_API_URL=upstream.hf_api_url),
    ):
        await wait_for_health(port, lambda code, body: code == 200 and bool(body["sources"]))
        code, out = await run_check(tmp_path, port)
        assert code == 0 and out.startswith("ok: papers-bot"), out
    code, out = await run_check(tmp_path, port)  # nothing answers now: unhealthy, in one line
    assert code == 1 and "is papers-bot run up?" in out
    assert "Traceback" not in out and len(out.strip().splitlines()) == 1


async def test_the_healthcheck_says_why_a_degraded_service_is_unhealthy(tmp_path: Path) -> None:
    port = free_port()
    async with service(tmp_path, port):  # Hugging Face unreachable: the first fetch fails
        await wait_for_health(port, lambda code, body: code == 503 and bool(body["sources"]))
        code, out = await run_check(tmp_path, port)
    assert code == 1 and "degraded: the last hf fetch failed" in out, out
    assert "Traceback" not in out and len(out.strip().splitlines()) <= 2  # one line, maybe wrapped


def test_the_image_runs_unprivileged_with_the_database_on_a_volume() -> None:
    steps = final_stage()
    words = [word for word, _ in steps]
    (user,) = [rest for word, rest in steps if word == "USER"]
    assert user not in ("root", "0") and "useradd" in DOCKERFILE
    assert words.index("USER") > max(i for i, w in enumerate(words) if w in ("RUN", "COPY"))
    (volume,) = [rest for word, rest in steps if word == "VOLUME"]
    env = " ".join(rest for word, rest in steps if word == "ENV")
    assert json.loads(volume) == ["/data"] and "PAPERS_BOT_DB=/data/papers-bot.db" in env
    assert ("ENTRYPOINT", '["papers-bot"]') in steps and ("CMD", '["run"]') in steps
    assert ("STOPSIGNAL", "SIGTERM") in steps


def test_the_build_context_holds_what_the_build_copies() -> None:
    ignore = (ROOT / ".dockerignore").read_text().split()
    assert ignore[ignore.index("*") :][0] == "*"  # everything out, then only what is named
    kept = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    copied = [
        part
        for word, rest in instructions()
        if word == "COPY" and not rest.startswith("--from")
        for part in shlex.split(rest)[:-1]
    ]
    for source in copied:
        assert source in kept and (ROOT / source).exists(), source
    assert {".env", ".venv", "tests"}.isdisjoint(kept)  # no secrets, no dev tree


def test_compose_names_the_volume_and_the_env_file() -> None:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    service = compose["services"]["papers-bot"]
    assert service["build"] == "." and service["env_file"] == ".env"
    assert "papers-bot-data:/data" in service["volumes"]
    assert "papers-bot-data" in compose["volumes"]
    assert service["environment"]["PAPERS_BOT_DB"].startswith("/data/")
    assert service["restart"] == "unless-stopped"


def test_the_systemd_unit_stays() -> None:
    unit = (ROOT / "deploy" / "papers-bot.service").read_text()
    assert "ExecStart=" in unit and " run" in unit
