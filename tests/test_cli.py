"""The papers-bot command line, end to end in a subprocess, as a user runs it."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from datetime import date
from pathlib import Path

import pytest

from tests.upstream_server import UpstreamServer

EXE = str(Path(sys.executable).with_name("papers-bot"))


def offline_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """An environment with no tokens and every remote pointed at a closed local port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    env.update(
        PAPERS_BOT_DB=str(tmp_path / "cli.db"),
        HF_API_URL=f"{dead}/api",
        HTTP_RETRIES="0",
        COLUMNS="100",
        NO_COLOR="1",
    )
    env.update(extra)
    return env


async def run(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None, stdin: str = ""
) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        EXE,
        *args,
        cwd=tmp_path,
        env=env or offline_env(tmp_path),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), timeout=60)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_digest_offline_loads_the_sample_and_prints_a_digest(tmp_path: Path) -> None:
    code, out, err = await run(tmp_path, "digest")
    assert code == 0, err
    assert "Loaded the bundled sample: 421 real papers" in err
    assert "Hugging Face unreachable" in err
    assert "Digesting from the 421 stored papers." in err and err.lower().count("digesting") == 1
    assert "📰 Trending papers" in out and out.count("huggingface.co/papers") == 0
    assert "upvotes" in out
    again_code, again, _ = await run(tmp_path, "digest", "--offline")
    assert again_code == 0 and "already posted" in again


async def test_digest_fetches_live_papers_from_the_source(tmp_path: Path) -> None:
    async with UpstreamServer(today=date(2025, 8, 5)) as upstream:
        env = offline_env(tmp_path, HF_API_URL=upstream.hf_api_url)
        code, _, err = await run(tmp_path, "fetch", "--date", "2025-08-05", env=env)
        assert code == 0, err
        assert "hf: 13 papers" in err
        assert any(path.startswith("/api/daily_papers") for path in upstream.paths())


async def test_dry_run_for_a_past_date_records_nothing(tmp_path: Path) -> None:
    code, out, _ = await run(tmp_path, "digest", "--offline", "--dry-run", "--date", "2025-08-05")
    assert code == 0 and "Tue 05 Aug 2025" in out
    code, out, _ = await run(tmp_path, "status", "--json")
    assert code == 0 and json.loads(out)["channels"] == []


async def test_search_takes_exclusions_anywhere_beside_its_options(tmp_path: Path) -> None:
    code, out, err = await run(tmp_path, "search", "diffusion", "-survey", "-n", "2", "--json")
    assert code == 0, err
    kept = json.loads(out)
    assert len(kept) == 2 and not any("survey" in hit["title"].lower() for hit in kept)
    code, out, err = await run(tmp_path, "search", "-n", "1", "-", "--", "--json")
    assert code == 0 and "matching “- --json”" in out, err
    code, out, _ = await run(tmp_path, "search", "-h")
    assert code == 0 and "Usage: papers-bot search" in out


async def test_search_json_and_hostile_queries(tmp_path: Path) -> None:
    code, out, err = await run(tmp_path, "search", "meta-rl", "--json")
    assert code == 0, err
    hits = json.loads(out)
    assert hits and {"id", "title", "url", "score"} <= set(hits[0])
    assert hits[0]["id"] == "2508.01287"
    for hostile in ['"', "C++", "NOT", "-", "🔖", "x" * 5000]:
        code, out, err = await run(tmp_path, "search", hostile, "--json")
        assert code == 0, (hostile, err)
        assert isinstance(json.loads(out), list)


async def test_search_by_id_or_link_shows_that_paper(tmp_path: Path) -> None:
    code, out, err = await run(
        tmp_path, "search", "https://huggingface.co/papers/2508.01287", "--json"
    )
    assert code == 0, err
    assert [hit["id"] for hit in json.loads(out)] == ["2508.01287"]
    async with UpstreamServer() as upstream:  # an unseen one is fetched from arXiv
        env = offline_env(tmp_path, ARXIV_API_URL=upstream.arxiv_api_url)
        code, out, err = await run(tmp_path, "search", "arXiv:1605.08386v1", env=env)
        assert code == 0, err
        assert "Heat-bath random walks" in out
        code, out, err = await run(tmp_path, "search", "2401.99999", env=env)
        assert code != 0 and "arXiv has no paper 2401.99999" in err


async def test_chat_reads_commands_from_stdin(tmp_path: Path) -> None:
    script = "/papers meta-rl\n/papers save 2508.01287\n/papers saved\n/papers export\n"
    code, out, err = await run(tmp_path, "chat", stdin=script)
    assert code == 0, err
    assert "Exploitation Is All You Need" in out
    assert "Saved: Exploitation Is All You Need" in out
    assert "Your saved papers (1)" in out
    assert "@misc{" in out and "eprint = {2508.01287}" in out


async def test_chat_answers_a_mistyped_command_instead_of_searching_it(tmp_path: Path) -> None:
    code, out, err = await run(tmp_path, "chat", stdin="/paper help\n/Papers saved\n")
    assert code == 0, err
    said = " ".join(out.split())
    assert "There is no /paper here: every command starts with /papers, e.g. /papers help." in said
    assert "matching" not in said and "Your saved papers" in said


async def test_chat_commands_on_arxiv_one_after_another_print_no_warning(tmp_path: Path) -> None:
    # Each command runs on a new event loop; arXiv's one limiter spans them, without a warning.
    script = "/papers arxiv diffusion\n/papers save 2501.99999\n"
    code, out, err = await run(tmp_path, "chat", stdin=script)
    assert code == 0, err
    assert out.count("arXiv could not be reached") == 2
    assert "Warning" not in out + err and "Traceback" not in out + err


async def test_ingest_files_and_bad_input_exit_non_zero_with_one_line(tmp_path: Path) -> None:
    atom = Path(__file__).parent / "fixtures" / "arxiv" / "api_id_1605.08386.atom.xml"
    code, out, err = await run(tmp_path, "ingest", str(atom))
    assert code == 0, err
    assert "1 new papers" in out
    junk = tmp_path / "junk.txt"
    junk.write_text("hello")
    code, _, err = await run(tmp_path, "ingest", str(junk))
    assert code == 1 and "junk.txt" in err and "Traceback" not in err
    code, _, err = await run(tmp_path, "digest", "--date", "2025-13-45")
    assert code == 1 and "YYYY-MM-DD" in err and "Traceback" not in err
    code, _, err = await run(tmp_path, "fetch", "--source", "nope")
    assert code == 1 and "hf or arxiv" in err


async def test_bad_settings_name_the_variable(tmp_path: Path) -> None:
    env = offline_env(tmp_path, DIGEST_TIMEZONE="Mars/Olympus")
    code, _, err = await run(tmp_path, "digest", env=env)
    assert code == 1 and "DIGEST_TIMEZONE" in err and "Traceback" not in err


async def test_unreachable_fetch_fails_with_one_line(tmp_path: Path) -> None:
    code, _, err = await run(tmp_path, "fetch")
    assert code == 1
    assert "Hugging Face unreachable" in err and "Traceback" not in err
    assert "nothing was fetched" in err and "digest" not in err.lower()  # no digest runs here


async def test_status_reports_a_failed_fetch_without_a_digest(tmp_path: Path) -> None:
    await run(tmp_path, "fetch")
    for args in (["status"], ["status", "--json"]):
        code, out, err = await run(tmp_path, *args)
        assert code == 1 and "Hugging Face unreachable" in out, err
        assert "digesting" not in out.lower()


@pytest.mark.parametrize(
    "command",
    ["ingest", "fetch", "search", "digest", "chat", "run", "status", "health", "discord-invite"],
)
async def test_every_command_has_help(tmp_path: Path, command: str) -> None:
    code, out, _ = await run(tmp_path, command, "--help")
    assert code == 0 and "Usage: papers-bot " + command in out


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("SLACK_BOT_TOKEN", "xoxp-123-456", "SLACK_BOT_TOKEN must start with xoxb-"),
        ("SLACK_BOT_TOKEN", "xoxb-1-2", "SLACK_SIGNING_SECRET is not set"),
        ("DISCORD_TOKEN", "garbage", "DISCORD_TOKEN does not look like a Discord bot token"),
    ],
)
async def test_run_with_a_bad_token_stops_with_a_line_naming_the_variable(
    tmp_path: Path, variable: str, value: str, says: str
) -> None:
    env = offline_env(tmp_path, **{variable: value}, HEALTH_PORT="off")
    code, _, err = await run(tmp_path, "run", env=env)
    assert code == 1
    assert says in " ".join(err.split())  # rich wraps long lines
    assert "Traceback" not in err and "Unclosed" not in err
