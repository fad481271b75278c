"""A SQLite file papers-bot cannot use is named with what to do about it, from what the file
system says: a folder, a missing folder, a file or folder this user may not write."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.app import CannotOpenDatabase, open_app
from bot.config import load_settings

not_as_root = pytest.mark.skipif(os.geteuid() == 0, reason="root may write anything")


def refusal(path: Path) -> str:
    with pytest.raises(CannotOpenDatabase) as error:
        open_app(load_settings(papers_bot_db=path, _env_file=None))
    return " ".join(str(error.value).split())


def test_a_folder_names_a_file_to_use_in_it(tmp_path: Path) -> None:
    said = refusal(tmp_path)
    assert f"{tmp_path} is a folder: name a file in it, e.g. --db {tmp_path}/papers-bot.db" in said


def test_a_folder_that_cannot_exist_is_named(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    said = refusal(tmp_path / "notes.txt" / "papers.db")
    assert f"the folder {tmp_path / 'notes.txt'} does not exist" in said
    assert "Point PAPERS_BOT_DB" not in said


@not_as_root
def test_a_read_only_database_asks_for_write_access_not_another_database(tmp_path: Path) -> None:
    path = tmp_path / "papers.db"
    open_app(load_settings(papers_bot_db=path, _env_file=None)).close()
    path.chmod(0o444)
    said = refusal(path)
    assert f"papers-bot writes to {path}: give this user read and write access to it" in said


@not_as_root
def test_a_read_only_folder_asks_for_write_access_to_it(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o555)
    said = refusal(folder / "papers.db")
    assert f"papers-bot writes in {folder}" in said and "write access to that folder" in said
