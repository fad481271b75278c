"""The scale-out compose file names only real settings and gives Discord's shards to the replicas
exactly once (there is no Docker here to run it; these checks keep it honest)."""

from __future__ import annotations

import re
from pathlib import Path

from adapters.discord.credentials import shards
from adapters.discord.settings import DiscordSettings
from tests.test_docs import EVERY_SETTING

COMPOSE = (Path(__file__).parents[1] / "deploy" / "compose.scale.yaml").read_text()


def replica_environments() -> dict[str, dict[str, str]]:
    """Each replica's `environment:` block as name -> value."""
    found: dict[str, dict[str, str]] = {}
    for name, block in re.findall(r"^  (replica-\d+):\n((?:    .*\n|\n)+)", COMPOSE, re.MULTILINE):
        env = block.split("environment:\n", 1)[1]
        found[name] = dict(re.findall(r"^      ([A-Z_]+): \"?([^\"\n]*)\"?$", env, re.MULTILINE))
    return found


def test_two_replicas_on_one_postgresql_with_only_real_settings() -> None:
    replicas = replica_environments()
    assert len(replicas) == 2
    known = {name.upper() for name in EVERY_SETTING}
    for env in replicas.values():
        assert set(env) <= known, set(env) - known
        assert env["DATABASE_URL"].startswith("postgresql://papers:papers@db:5432/")
    assert "image: pgvector/pgvector:pg" in COMPOSE  # PostgreSQL with pgvector


def test_the_replicas_run_every_discord_shard_once() -> None:
    owned: list[int] = []
    counts = set()
    for env in replica_environments().values():
        settings = DiscordSettings(
            _env_file=None,  # type: ignore[call-arg]
            discord_shard_count=env["DISCORD_SHARD_COUNT"],
            discord_shard_ids=env["DISCORD_SHARD_IDS"],
        )
        plan = shards(settings)
        assert plan is not None
        counts.add(plan[0])
        owned += plan[1]
    (count,) = counts
    assert sorted(owned) == list(range(count))
