"""Search over real papers: the grammar, hostile input, abbreviations, ranking, match_ids."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from sqlite_utils import Database

from benchmarks.realdata import real_papers
from bot.ingest import ingest_files
from bot.models import Paper
from bot.replies import SearchReply
from bot.search import HELP_LINES, FtsSearch, engine, fts, parse, ranking, spelling, stems
from bot.search import postgres as pg_search
from bot.search.abbreviations import definitions
from bot.search.expansion import near_group
from bot.search.grammar import tokens
from bot.sources import sample_files
from bot.storage import Storage, open_storage
from bot.store import SqliteStore, paper_to_row
from bot.store.postgres import schema as pg_schema
from tests.conftest import STORAGE_BACKENDS, storage_target
from tests.postgres_server import PostgresServer

NOW = datetime(2026, 8, 22, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module", params=STORAGE_BACKENDS)
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Storage]:
    """One storage of each implementation with the bundled real sample ingested as the CLI
    does it; read-only tests of search behaviour."""
    target = storage_target(request.param, request, tmp_path_factory.mktemp("search"))
    with open_storage(target) as s:
        ingest_files(s, sample_files(), NOW)
        yield s


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Storage]:
    """The sample in a SQLite storage, for the tests that look into its FTS5 index
    (`store.search.db`)."""
    with open_storage(tmp_path_factory.mktemp("search") / "papers.db") as s:
        ingest_files(s, sample_files(), NOW)
        yield s


def ids(reply: SearchReply) -> list[str]:
    return [h.paper.id for h in reply.hits]


def found(store: Storage, text: str) -> set[str]:
    """Every stored paper the query matches (search itself shows only the best few)."""
    every = [p.id for p in store.papers.recent(datetime.min.replace(tzinfo=UTC), date.min)]
    return store.search.match_ids(text, every)


HOSTILE = [
    "",
    "   ",
    "\x00",
    "meta\x00rl",
    '"',
    '"unbalanced phrase',
    'a"b"c"',
    "meta-rl",
    "C++",
    "NOT",
    "AND OR NOT NEAR",
    "NEAR(a b, 3)",
    "learning.",
    "(",
    ")",
    "*",
    "^start",
    "title:diffusion",
    "{title abstract}: diffusion",
    "author:",
    'author:""',
    "since:",
    "since:someday",
    "since:2025-13",
    "year:20x5",
    "year:2025-01",
    "-",
    "--x",
    "-diffusion",
    "🙂🚀",
    "diffusion 🙂",
    "\u202edrawkcab",
    "\udc80 lone surrogate",
    "'; DROP TABLE papers; --",
    "a" * 10_000,
    "diffusion " * 1_000,
    "the of and",
    "!!! ??? ... ---",
    "llm" + "-llm" * 500,
    "meta-rl " * 60,
    "autor" * 100,
]


@pytest.mark.parametrize("text", HOSTILE, ids=lambda t: repr(t[:20]))
def test_hostile_input_gets_a_reply(store: Storage, text: str) -> None:
    reply = store.search.search(text, now=NOW)
    assert isinstance(reply, SearchReply)
    assert "failed" not in reply.note
    assert isinstance(store.search.match_ids(text, ["2508.01780", "nope"]), set)


@pytest.mark.parametrize(
    "text", ["", "the of and", "!!! ???", "🙂", '"', "NOT", "-diffusion", "-", "author:"]
)
def test_nothing_to_search_says_what_to_type(store: Storage, text: str) -> None:
    reply = store.search.search(text, now=NOW)
    assert reply.hits == ()
    assert "Type some words" in reply.note
    assert not reply.searched and not reply.offers_more  # no "search arXiv for it" either


@pytest.mark.parametrize(
    ("text", "told"),
    [
        ("author:", 'author: needs a name (try author:Levine or author:"Sergey Levine").'),
        ('diffusion by:""', "by: needs a name"),
        ("diffusion since:", "since: needs a date (try since:2025-01)."),
        ("year: ", "year: needs a year (try year:2025)."),
    ],
)
def test_a_field_with_nothing_after_it_says_what_it_needs(text: str, told: str) -> None:
    query = parse(text)
    assert told in " ".join(query.problems)
    assert query.authors == () and query.since is None and query.until is None
    assert all("author" not in w and "since" not in w for w in query.words)


def test_bad_date_is_reported_and_words_still_searched(store: Storage) -> None:
    reply = store.search.search("diffusion since:someday", now=NOW)
    assert reply.hits
    assert "since:someday is not a date" in reply.note


@pytest.mark.parametrize(
    "forms",
    [
        ["meta-rl", "meta RL", "metaRL", "Meta-RL", "meta-reinforcement learning"],
        ["RLHF", "reinforcement learning from human feedback"],
        ["LLM", "LLMs", "llms", "large language models", "large language model"],
        ["VLM", "vision-language model", "vision language models"],
        ["MoE", "mixture of experts", "mixture-of-experts"],
        ["CoT", "chain-of-thought", "chain of thought"],
        ["RAG", "retrieval-augmented generation"],
        ["GRPO", "group relative policy optimization"],
    ],
    ids=lambda forms: forms[0],
)
def test_abbreviation_and_expansion_find_the_same_papers(store: Storage, forms: list[str]) -> None:
    results = [found(store, f) for f in forms]
    assert results[0], forms[0]
    abbreviation, spelled = results[0], results[1:]
    for form, result in zip(forms[1:], spelled, strict=True):
        assert result == spelled[0], form
        # an abbreviation may have more than one meaning ("VLM": vision- or video-language
        # model), so it finds at least what each spelling finds
        assert result <= abbreviation, form
    assert len(abbreviation - spelled[0]) <= 0.1 * len(abbreviation)


def test_one_meaning_abbreviations_are_exactly_equivalent(store: Storage) -> None:
    for forms in (
        ["meta-rl", "meta RL", "metaRL", "Meta-RL", "meta-reinforcement learning"],
        ["RLHF", "reinforcement learning from human feedback"],
        ["MoE", "mixture of experts", "mixture-of-experts"],
        ["GNN", "graph neural networks"],
    ):
        results = [found(store, f) for f in forms]
        assert all(r == results[0] for r in results), forms


def test_words_typed_with_a_slash_between_are_searched_as_words(store: Storage) -> None:
    slashed = store.search.search("RLHF/DPO", now=NOW)
    assert found(store, "RLHF/DPO") == found(store, "RLHF DPO")
    assert "reinforcement learning from human feedback" in slashed.note
    assert "direct preference optimization" in slashed.note


def test_meta_rl_finds_the_paper_that_spells_it_out(store: Storage) -> None:
    for text in ("meta-rl", "meta RL", "metaRL", '"meta-reinforcement learning"'):
        assert ids(store.search.search(text, now=NOW))[:1] == ["2508.01287"], text


def test_pairs_learned_from_abstracts(sqlite_store: Storage) -> None:
    # Neither is in the curated table: abstracts define "graphical user interface (GUI)" and
    # "Model Context Protocol (MCP)".
    rows = sqlite_store.search.db.execute("SELECT short, long FROM search_abbreviations").fetchall()
    assert ("gui", "graphical user interface") in rows
    assert found(sqlite_store, "MCP") == found(sqlite_store, "model context protocol")
    # Typed, "GUI" is also a surname (Wei Gui); the short form of the typed long form is not.
    spelled = found(sqlite_store, "graphical user interface")
    named = found(sqlite_store, "GUI") - spelled
    assert spelled and named == found(sqlite_store, "author:gui") - spelled
    assert not any("gui" in text for text in _texts(sqlite_store, named))


def test_learned_pairs_expand_only_a_short_form_typed_like_one(storage: Storage) -> None:
    # Defined twice, so well attested; yet "villa" in lower case is the word, not the acronym.
    definition = "We propose visual language latent action (ViLLA) for robots."
    with nullcontext(storage) as s:
        s.papers.upsert(
            [
                _paper("1", "ViLLA for robots", definition),
                _paper("2", "Another ViLLA", definition),
                _paper("3", "Spelled out", "A visual language latent action model."),
                _paper("4", "A villa by the sea", "The villa has a garden."),
            ],
            NOW,
        )
        # matching is case-blind, so the acronym also finds the word; spelled out only from it
        assert found(s, "ViLLA") == {"1", "2", "3", "4"}
        assert found(s, "VILLA") == {"1", "2", "3", "4"}
        assert found(s, "villa") == {"1", "2", "4"}  # the word only, no spelled-out form
        assert "Also matching" not in s.search.search("villa", now=NOW).note
        # a typed long form still finds its short form (and so, case-blind, the word too)
        assert found(s, "visual language latent action") == {"1", "2", "3", "4"}


def test_a_learned_long_form_holds_the_short_forms_numbers(storage: Storage) -> None:
    # The letters of GPT-4 are in "a gain of up to 46", but 4 is not 46; OMat24's 24 ends 2024.
    gain = "Scores rise, a gain of up to 46 (GPT-4) points, on every task."
    materials = "We release Open Materials 2024 (OMat24), a dataset of crystals."
    with nullcontext(storage) as s:
        s.papers.upsert(
            [
                _paper("1", "Scaling judges", gain),
                _paper("2", "Judging at scale", gain),
                _paper("3", "Crystals", materials),
                _paper("4", "More crystals", materials),
                _paper("5", "A dataset", "Open Materials 2024 holds many crystals."),
            ],
            NOW,
        )
        assert "gain" not in s.search.search("GPT-4", now=NOW).note
        assert found(s, "gain of up to 46") == {"1", "2"}
        assert "OMat24 = open material 2024" in s.search.search("OMat24", now=NOW).note
        assert found(s, "OMat24") == {"3", "4", "5"}


def test_a_pair_learned_before_the_numbers_were_checked_is_not_used(tmp_path: Path) -> None:
    with open_storage(tmp_path / "papers.db") as s:
        s.papers.upsert([_paper("1", "Judges", "A gain of up to 46 points.")], NOW)
        s.search.db["search_abbreviations"].insert(
            {"short": "gpt4", "long": "gain of up to 46", "spelling": "gpt 4", "papers": 3}
        )
        assert found(s, "GPT-4") == set()
        assert "gain" not in s.search.search("GPT-4", now=NOW).note


def test_each_part_of_a_short_form_starts_a_word_of_its_long_form(tmp_path: Path) -> None:
    # The letters of ARC-AGI are in "artificial general intelligence", but its second A is not
    # the start of a word there; meta-RL's parts start "meta-reinforcement learning".
    assert definitions("Towards artificial general intelligence (ARC-AGI) soon.") == []
    assert definitions("Meta-reinforcement learning (meta-RL) adapts.") == [
        ("metarl", "meta reinforcement learning", "meta rl")
    ]
    assert definitions("Convolutional neural networks (ConvNets) see.") == [
        ("convnets", "convolutional neural network", "convnets")
    ]
    with open_storage(tmp_path / "papers.db") as s:  # a pair learned before the rule
        s.papers.upsert(
            [
                _paper("arc", "Solving ARC-AGI puzzles"),
                _paper("agi", "Timelines", "When will artificial general intelligence arrive?"),
                _paper("cnn", "Vision", "A convolutional neural network."),
            ],
            NOW,
        )
        s.search.db["search_abbreviations"].insert_all(
            [
                {
                    "short": "arcagi",
                    "long": "artificial general intelligence",
                    "spelling": "arc agi",
                },
                {
                    "short": "convnets",
                    "long": "convolutional neural network",
                    "spelling": "convnets",
                },
            ],
            defaults={"papers": 3},
        )
        assert found(s, "ARC-AGI") == {"arc"}
        assert found(s, "ConvNets") == {"cnn"}  # the plural s went with the long form's stem


def test_a_short_form_the_user_did_not_type_is_not_taken_for_a_surname(storage: Storage) -> None:
    definition = "Machine unlearning (MU) removes what a model learned from some of its data."
    grasp = Paper("4", "Grasping", "A robot grasps.", ("Yao Mu",), published=date(2025, 1, 1))
    with nullcontext(storage) as s:
        s.papers.upsert(
            [
                _paper("1", "Forgetting on request", definition),
                _paper("2", "Certified forgetting", definition),
                _paper("3", "MU-Bench", "A benchmark of forgetting in vision models."),
                grasp,
            ],
            NOW,
        )
        reply = s.search.search("machine unlearning", now=NOW)
        assert "machine unlearning = mu" in reply.note.lower()
        assert ids(reply) == ["3", "2", "1"]  # the short form in a title still lifts it
        assert "4" in found(s, "Mu")  # typed, it is also a name
        assert "4" in found(s, "author:Mu")


def test_a_short_form_that_is_a_stop_word_is_not_searched_for_its_long_form(
    storage: Storage,
) -> None:
    # Papers define "instruction tuning (IT)"; "it" is in nearly every other abstract.
    definition = "Instruction tuning (IT) teaches a model to follow requests."
    with nullcontext(storage) as s:
        s.papers.upsert(
            [
                _paper("1", "Tuning on requests", definition),
                _paper("2", "Tuning for chat", definition),
                _paper("3", "Robot grasping", "It grasps what it sees."),
            ],
            NOW,
        )
        assert found(s, "instruction tuning") == {"1", "2"}
        assert "= it" not in s.search.search("instruction tuning", now=NOW).note.lower()


@pytest.mark.parametrize("text", ["meta-rl", "metarl", "rlhf", "llms", "moe", "cot"])
def test_curated_pairs_expand_lower_case_input(store: Storage, text: str) -> None:
    reply = store.search.search(text, now=NOW)
    assert "Also matching" in reply.note, text
    assert found(store, text) == found(store, text.upper() if text != "llms" else "LLMs")


def test_a_spelled_out_form_is_matched_without_reading_its_stop_words(tmp_path: Path) -> None:
    # "of" is in nearly every abstract: the NEAR group looks for the other words, in a window
    # one word wider for each stop word left out.
    assert near_group(("mixture", "of", "expert")) == 'NEAR("mixture" "expert", 3)'
    assert near_group(("out", "of", "distribution")) == 'NEAR("out" "distribution", 3)'
    assert near_group(("in", "context")) == 'NEAR("in" "context", 2)'  # one word would be left
    with open_storage(tmp_path / "s.db") as s:
        s.papers.upsert(
            [
                _paper("1", "Sparse Mixture-of-Experts routing"),
                _paper("2", "Routing", "We train a mixture of 64 experts."),
                _paper("3", "Data mixtures", "A mixture of web text, then rated by human experts."),
            ],
            NOW,
        )
        reply = s.search.search("MoE", now=NOW)
        assert "MoE = mixture of expert" in reply.note
        assert ids(reply) == ["1", "2"]


def test_a_description_keeps_its_spelled_out_words_but_expands_a_typed_abbreviation(
    store: Storage,
) -> None:
    short = store.search.search("reinforcement learning from human feedback", now=NOW)
    assert "rlhf" in short.note.lower()  # a short query still adds the short form
    described = "reinforcement learning from human feedback for aligning chat assistants"
    assert "Also matching" not in store.search.search(described, now=NOW).note
    typed = store.search.search("RLHF for aligning chat assistants with user preferences", now=NOW)
    assert "RLHF = reinforcement learning from human feedback" in typed.note


def test_text_to_speech_does_not_pull_in_test_time_scaling(store: Storage) -> None:
    tts = found(store, "TTS")
    spoken = found(store, "text-to-speech")
    assert spoken < tts  # TTS means both; the spelled-out form only one of them
    assert "2508.04195" in spoken  # NVSpeech: "text-to-speech (TTS)"


def test_stemming(store: Storage) -> None:
    hits = store.search.search("segmenting", now=NOW).hits
    assert hits
    assert all("segment" in (h.paper.title + h.paper.abstract).lower() for h in hits)


def test_exact_title_ranks_first(store: Storage) -> None:
    title = "Reinforcement Learning in Vision: A Survey"
    assert store.search.search(title, now=NOW).hits[0].paper.title == title
    # the name before the colon counts as the title
    first = store.search.search("Seed-Prover", now=NOW).hits[0].paper
    assert first.title.startswith("Seed-Prover:")


def test_author_filter(store: Storage) -> None:
    assert ids(store.search.search('author:"Luoxin Chen"', now=NOW)) == ["2507.23726"]
    hits = store.search.search("author:chen reasoning", limit=50, now=NOW).hits
    assert hits
    assert all(any("chen" in a.lower() for a in h.paper.authors) for h in hits)


def test_title_filter_matches_the_title_alone(store: Storage) -> None:
    every = found(store, "reasoning")
    titled = found(store, "title:reasoning")
    assert titled and titled < every
    papers = store.papers.get_many(sorted(every))
    assert titled == {pid for pid, p in papers.items() if "reason" in p.title.lower()}
    with_llm = store.papers.get_many(sorted(found(store, "LLM")))
    in_title = {pid for pid, p in with_llm.items() if {"llm", "llms"} & set(tokens(p.title))}
    assert found(store, "title:LLM") == in_title and len(in_title) >= 3  # "LLMs" too
    hits = store.search.search('ti:"reinforcement learning" survey', now=NOW).hits
    assert hits[0].paper.title == "Reinforcement Learning in Vision: A Survey"
    assert all("reinforcement learning" in h.paper.title.lower() for h in hits)
    # arXiv's au: is author:, and a title: with nothing after it says what it needs
    assert ids(store.search.search('au:"Luoxin Chen"', now=NOW)) == ["2507.23726"]
    reply = store.search.search("intitle:", now=NOW)
    assert not reply.hits and "intitle: needs words" in reply.note


def test_since_and_year(store: Storage) -> None:
    since = store.search.search("diffusion since:2026-08", limit=50, now=NOW).hits
    assert since
    assert all(h.paper.published and h.paper.published >= date(2026, 8, 1) for h in since)
    year = store.search.search("language year:2024", limit=50, now=NOW).hits
    assert year
    assert all(h.paper.published and h.paper.published.year == 2024 for h in year)


@pytest.mark.parametrize(
    ("text", "since", "until", "note"),
    [
        ("diffusion this week", date(2026, 8, 17), None, "Papers of 2026-08-17 or later"),
        ("what's new in diffusion this month?", date(2026, 8, 1), None, "(“this month”)"),
        ("diffusion papers from the past 2 weeks", date(2026, 8, 8), None, "(“from the past"),
        ("any diffusion papers today", date(2026, 8, 22), date(2026, 8, 22), "of 2026-08-22 ("),
        ("diffusion in 2025", date(2025, 1, 1), date(2025, 12, 31), "2025-01-01 to 2025-12-31"),
        ("diffusion since:yesterday", date(2026, 8, 21), None, ""),
        ("diffusion in march 2026", date(2026, 3, 1), date(2026, 3, 31), "2026-03-01 to 2026-"),
        ("diffusion papers since july", date(2026, 7, 1), None, "(“since july”)"),
        ("diffusion in may", date(2026, 5, 1), date(2026, 5, 31), "(“in may”)"),
        ("sept 2025 diffusion", date(2025, 9, 1), date(2025, 9, 30), "(“sept 2025”)"),
    ],
)
def test_a_time_written_in_words_filters_the_dates(
    store: Storage, text: str, since: date, until: date | None, note: str
) -> None:
    query = parse(text, NOW.date())
    assert (query.words, query.since, query.until) == (("diffusion",), since, until)
    reply = store.search.search(text, limit=100, now=NOW)
    assert note in reply.note
    dated = [store.papers.get(i) for i in found(store, "diffusion")]
    within = {
        p.id for p in dated if p and p.published and since <= p.published <= (until or NOW.date())
    }
    assert set(ids(reply)) == within


AUGUST = (date(2026, 8, 1), date(2026, 8, 31))
NEWEST_WEEK = (date(2026, 8, 13), None)  # the sample's newest paper is of 20 August


@pytest.mark.parametrize(
    ("text", "dates", "code", "span"),
    [
        ("top papers from this month", (AUGUST[0], None), False, " of 2026-08-01 or later"),
        ("what was trending last week?", (date(2026, 8, 15), None), False, " of 2026-08-15 or"),
        ("papers from august 2026", AUGUST, False, " of 2026-08-01 to 2026-08-31"),
        ("/papers trending", NEWEST_WEEK, False, " of 2026-08-13 or later"),
        ("anything new?", NEWEST_WEEK, False, " of 2026-08-13 or later"),
        ("has:code", (None, None), True, " with code"),
        ("since:2026-08-15 has:code", (date(2026, 8, 15), None), True, " with code of 2026-08-15"),
    ],
)
def test_a_filter_without_words_lists_the_most_upvoted_papers_it_keeps(
    store: Storage, text: str, dates: tuple[date | None, date | None], code: bool, span: str
) -> None:
    every = store.papers.recent(datetime.min.replace(tzinfo=UTC), date.min)
    since, until = dates[0] or date.min, dates[1] or date.max
    kept = [p for p in every if since <= (p.day or date.min) <= until and (p.code_url or not code)]
    assert len(kept) > 10
    reply = store.search.search(text, now=NOW)
    assert reply.heading.startswith(f"The most upvoted papers{span}")
    assert reply.note == engine.BROWSE_NOTE
    most = sorted(p.upvotes for p in kept)[-10:]
    assert [h.paper.upvotes for h in reply.hits] == most[::-1]
    assert {h.paper.id for h in reply.hits} <= {p.id for p in kept}


def test_trending_is_the_week_up_to_the_newest_paper_seen(storage: Storage) -> None:
    with nullcontext(storage) as s:
        march = [
            replace(_paper(f"m{day}", "Rovers"), published=date(2025, 3, day)) for day in (1, 9)
        ]
        s.papers.upsert(march, NOW)
        for text in ("trending", "what's new?"):
            reply = s.search.search(text, now=NOW)
            assert (ids(reply), reply.heading) == (
                ["m9"],
                "The most upvoted papers of 2025-03-02 or later",
            )
        assert (
            s.search.search("papers from last week", now=NOW).note
            == "I have seen no papers of 2026-08-15 or later."
        )


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("papers", ("papers",)),
        ("top -survey", ("top",)),
        ("new papers on diffusion", ("diffusion",)),
        ("trending diffusion models", ("diffusion", "models")),
    ],
)
def test_words_beside_new_or_popular_are_searched(text: str, words: tuple[str, ...]) -> None:
    query = parse(text, NOW.date())
    assert (query.words, query.browses) == (words, False)


def test_a_filter_nothing_passes_says_so(store: Storage) -> None:
    reply = store.search.search("papers from 2019", now=NOW)
    assert (reply.hits, reply.searched) == ((), False)
    assert reply.note == "I have seen no papers of 2019-01-01 to 2019-12-31."
    excluded = store.search.search("year:2026 -diffusion", now=NOW)  # no words to list by
    assert (excluded.hits, excluded.note) == ((), engine.EMPTY_NOTE)


def test_more_results_asked_for_than_are_reranked_are_all_given(store: Storage) -> None:
    every = found(store, "diffusion")
    assert len(every) > engine.RERANK
    assert set(ids(store.search.search("diffusion", limit=100, now=NOW))) == every


def test_words_that_only_look_like_a_time_are_searched() -> None:
    words = ("the last mile", "a day in the life", "reasoning in 2030", "past tense")
    months = ("models may fail", "scaling in MAR", "the long march", "data aug", "in dec")
    for text in (*words, *months):
        query = parse(text, NOW.date())
        assert (query.since, query.until, query.when) == (None, None, ""), text


def test_exclusion(store: Storage) -> None:
    with_it = found(store, "video")
    without = found(store, "video -diffusion")
    assert without and without < with_it
    for pid in without:
        paper = store.papers.get(pid)
        assert paper is not None
        text = " ".join((paper.title, paper.abstract, *paper.keywords)).lower()
        assert "diffusion" not in text


def test_phrase(store: Storage) -> None:
    hits = store.search.search('"speech recognition"', limit=50, now=NOW).hits
    assert hits
    for h in hits:
        text = (h.paper.title + " " + h.paper.abstract).lower().replace("-", " ")
        assert "speech recognition" in text


def test_every_hit_says_why_it_matched(store: Storage) -> None:
    for text in ("diffusion", "meta-rl", "author:chen", "GUI agents"):
        for hit in store.search.search(text, now=NOW).hits:
            assert any(is_match for _, is_match in hit.snippet), (text, hit.paper.id)


@pytest.mark.parametrize(("walk", "common"), [(0, 10), (0, 10**6), (10**6, 10**6)])
@pytest.mark.parametrize("text", ["diffusion", "meta-rl", "author:chen", "GUI agents", "mesh"])
def test_snippets_are_the_archive_index_s_own(
    sqlite_store: Storage, monkeypatch: pytest.MonkeyPatch, text: str, walk: int, common: int
) -> None:
    # Hits snippeted in a table of their own, one by one or in one walk: as the index gives it.
    monkeypatch.setattr(engine, "SNIPPET_WALK_MATCHES", walk)
    monkeypatch.setattr(engine, "COMMON_PAPERS", common)
    db = sqlite_store.search.db
    expression = engine._expression(db, parse(text), sqlite_store.search.speller)
    match = expression.match(any_term=True) or expression.match()
    columns = ", ".join(
        f"snippet(papers_fts, {c}, '{ranking.MARK_OPEN}', '{ranking.MARK_CLOSE}', '…', 24)"
        for c in engine.SNIPPET_COLUMNS
    )
    sql = f"SELECT {columns} FROM papers_fts WHERE papers_fts MATCH ? AND rowid = ?"
    hits = sqlite_store.search.search(text, now=NOW).hits
    assert hits
    for hit in hits:
        texts = tuple(v or "" for v in db.execute(sql, [match, hit.rowid]).fetchone())
        assert hit.snippet == engine._why(texts), (text, hit.paper.id)
        assert hit.snippet


def test_exact_title_first_when_the_title_tier_outgrows_the_rerank(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Titles with the words twice outscore the exact title in bm25; with more of them than
    # RERANK, only the separate look for titles starting with the words finds it.
    monkeypatch.setattr(engine, "RERANK", 2)
    words = "sparse graph transformers"
    with nullcontext(storage) as s:
        s.papers.upsert(
            [_paper("exact", "Sparse Graph Transformers", "A model of " + "other words " * 50)]
            + [
                _paper(f"p{i}", f"Sparse graph transformers, sparse graph transformers {i}", words)
                for i in range(5)
            ]
            + [_paper(f"other{i}", "Unrelated", "Nothing shared.") for i in range(50)],
            NOW,
        )
        hits = s.search.search(words, now=NOW).hits
        assert [h.paper.id for h in hits][:1] == ["exact"]
        monkeypatch.setattr(engine, "RERANK", 30)  # the tier fits: no separate look needed
        assert [h.paper.id for h in s.search.search(words, now=NOW).hits][:1] == ["exact"]


def title_tier(store: Storage, words: str) -> set[str]:
    """Ids of papers with every word in the title, as FTS5 (porter) sees it."""
    match = "title : (" + " AND ".join(f'"{w}"' for w in words.split()) + ")"
    rows = store.search.db.execute(
        "SELECT p.id FROM papers_fts f JOIN papers p ON p.rowid = f.rowid WHERE papers_fts MATCH ?",
        [match],
    )
    return {r[0] for r in rows}


def test_an_exact_title_ranks_first_however_old(storage: Storage) -> None:
    with nullcontext(storage) as s:
        others = (
            _paper(f"p{i}", f"Reasoning agents for task {i}", "reasoning agents " * 20)
            for i in range(3000)
        )
        s.papers.upsert([_paper("old", "Reasoning Agents", "a short abstract"), *others], NOW)
        for typed in ("reasoning agents", "Reasoning Agents", "REASONING-AGENTS"):
            assert ids(s.search.search(typed, now=NOW))[0] == "old", typed


def test_a_paper_with_the_words_in_its_title_ranks_above_one_that_only_mentions_them(
    sqlite_store: Storage,
) -> None:
    hits = sqlite_store.search.search("reasoning agents", limit=30, now=NOW).hits
    titled = title_tier(sqlite_store, "reasoning agents")
    first_titled = min(i for i, h in enumerate(hits) if h.paper.id in titled)
    assert first_titled == 0


def test_match_ids(store: Storage) -> None:
    among = ["2508.01287", "2507.23726", "2508.01780", "unknown-id"]
    assert store.search.match_ids("meta-rl", among) == {"2508.01287"}
    assert store.search.match_ids("MCP", among) == {"2508.01780"}
    assert store.search.match_ids("theorem proving -survey", among) == {"2507.23726"}
    assert store.search.match_ids("", among) == set()
    assert store.search.match_ids("meta-rl", []) == set()


def test_help_lines_document_the_grammar() -> None:
    syntax = " ".join(s for s, _ in HELP_LINES)
    for part in ('"exact phrase"', "-word", "author:", "title:", "since:", "year:"):
        assert part in syntax
    assert all(meaning for _, meaning in HELP_LINES)


def test_operators_typed_in_capitals(store: Storage) -> None:
    assert found(store, "video NOT diffusion") == found(store, "video -diffusion")
    assert found(store, "video AND diffusion") == found(store, "video diffusion")
    either = found(store, "LLM OR VLM")
    assert either == found(store, "LLM") | found(store, "VLM")
    assert "operations research" not in store.search.search("LLM OR VLM", now=NOW).note
    assert parse("attention is not all you need").excluded == ()  # only NOT in capitals


def test_a_possessive_is_the_name_it_ends(storage: Storage) -> None:
    assert parse("GPT-4's reasoning?").words == ("GPT-4", "reasoning")
    assert parse("Alzheimer’s disease").words == ("Alzheimer", "disease")
    assert parse("O'Brien").words == ("O'Brien",)
    papers = [
        Paper("g", "Reasoning of GPT-4 on math", "GPT-4 solves problems.", ("Ada Li",)),
        Paper("r", "Reasoning of small models", "They solve problems.", ("Ada Li",)),
    ]
    with nullcontext(storage) as s:
        s.papers.upsert(papers, NOW)
        assert found(s, "GPT-4's reasoning") == found(s, "gpt-4 reasoning") == {"g"}


def test_parse_keeps_the_grammar_apart() -> None:
    q = parse('diffusion "exact phrase" -survey -"old stuff" author:"Ada L" since:2025-02 x')
    assert q.words == ("diffusion", "x")
    assert parse("mixture of experts").words == ("mixture", "of", "experts")
    assert q.phrases == (("exact", "phrase"),)
    assert q.excluded == (("survey",), ("old", "stuff"))
    assert q.authors == (("ada", "l"),)
    assert q.since == date(2025, 2, 1)
    assert parse("year:2024").until == date(2024, 12, 31)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("papers about video generation", ("video", "generation")),
        ("anything on mamba?", ("mamba",)),
        ("what's the latest on world models?", ("world", "models")),
        ("I'm looking for papers about meta-rl", ("meta-rl",)),
        ("hey bot, what are the key papers on reward hacking?", ("reward", "hacking")),
        ("could you recommend a few NeRF papers?", ("NeRF",)),
        ("dig up some machine translation work for me", ("machine", "translation")),
        ("any VLA work you can point me to", ("VLA",)),
        ("scaling laws reading list please", ("scaling", "laws")),
        ("tool-use, got papers?", ("tool-use",)),
        ("long video memory, what should I read", ("long", "video", "memory")),
        ("/papers gaussian splatting", ("gaussian", "splatting")),
        ("recent GRPO papers", ("GRPO",)),
        ("best RAG papers", ("RAG",)),  # the best of a topic, as "top" is, not its word
        ("top diffusion papers?", ("diffusion",)),
        ("best-of-n papers", ("best-of-n",)),
        ("key scalable oversight papers?", ("scalable", "oversight")),
        ("more on imitation learning", ("imitation", "learning")),  # a follow-up
        ("whats good on monocular depth estimation rn", ("monocular", "depth", "estimation")),
        ("what's good on top-k sampling these days", ("top-k", "sampling")),
        ("lookin for work on must-link constraints", ("must-link", "constraints")),
        ("(LLMs), RAG!", ("LLMs", "RAG")),
        ("follow-up work on DeepSeek-R1", ("DeepSeek-R1",)),
        ("followups of DPO?", ("DPO",)),
        ("agents w/ tools", ("agents", "with", "tools")),  # "w/": with, a stop word
        ("latest diffusion models", ("diffusion", "models")),
        ("good intro to diffusion models", ("diffusion", "models")),
        ("want to learn about RL", ("RL",)),
        ("any-to-any generation", ("any-to-any", "generation")),
        ("CoT papers to read", ("CoT",)),
        ("CoT: what to read first?", ("CoT",)),
        ("what's hot in world models", ("world", "models")),
        ("i'd like to read about LoRA", ("LoRA",)),
        ("explain DPO to me", ("DPO",)),
        ("RLHF for beginners", ("RLHF",)),
        ("decoding W/O draft models", ("decoding", "without", "draft", "models")),
        ("RLHF/DPO papers?", ("RLHF", "DPO")),  # words with a slash between: each a word
        ("(text/image/video) generation", ("text", "image", "video", "generation")),
        ("Qwen2.5/Llama3", ("Qwen2.5", "Llama3")),
        ("I/O aware attention", ("I/O", "aware", "attention")),  # a side of one letter
        ("making LLMs faster", ("LLMs", "faster")),  # what it wants done: no topic
        ("getting robots to fold laundry", ("robots", "to", "fold", "laundry")),
        ("using RL", ("using", "RL")),  # nothing but RL would remain
        ("working memory for agents", ("working", "memory", "for", "agents")),
        ("arxiv.org/abs/2401.01234 code", ("arxiv.org/abs/2401.01234", "code")),  # a link
        ("papers by Sergey Levine", ("Sergey", "Levine")),  # "by" after a request: whose
        ("any work by yang li?", ("yang", "li")),
        # a person asked for: the request around the name goes, "from" and "et al." too
        ("anything new from Sara Hooker?", ("Sara", "Hooker")),
        ("get me the recent stuff from heng zhang", ("heng", "zhang")),
        ("show me everything Sara Hooker has put out recently", ("Sara", "Hooker")),
        ("find Yann LeCun's newest papers please", ("Yann", "LeCun")),
        ("Heng Zhang et al.", ("Heng", "Zhang")),
        ("Heng Zhang new stuff?", ("Heng", "Zhang")),
        ("thanks in advance, could you find the papers of heng zhang?", ("heng", "zhang")),
        ("trying to catch up on Sara Hooker's work, what's recent?", ("Sara", "Hooker")),
        # a longer message: the clause that asks for papers on the topic, up to where a clause
        # about the asker begins; other clauses about the asker go
        (
            "working on a survey. anything on world models that i should include?",
            ("world", "models"),
        ),
        ("im new to this, would love a reading list on RLHF", ("RLHF",)),
        ("is there a tutorial style paper on diffusion models?", ("diffusion", "models")),
        (
            "whats the state of the art in point cloud segmentation?",
            ("point", "cloud", "segmentation"),
        ),
        ("our team is prototyping something around KV caches and we need code", ("KV", "caches")),
        ("papers on meta-rl that someone new can follow? no math heavy ones pls", ("meta-rl",)),
        ("any newer papers on world models worth reading?", ("world", "models")),
        ("yo any RLHF surveys?", ("RLHF", "surveys")),
        ("ok and what about mamba?", ("mamba",)),
        ("we want to cover world models, could you suggest a few?", ("world", "models")),
        ("tbh i dont get the hype around mamba, can u find a couple", ("mamba",)),
        ("my lead wants me up to speed on RLHF asap", ("RLHF",)),
        ("anything on RLHF worth discussing?", ("RLHF",)),
        ("what is known about grokking", ("what", "is", "known", "about", "grokking")),
        ("papers on models that reason", ("models", "that", "reason")),
        ("papers on forgetting after fine-tuning", ("forgetting", "after", "fine-tuning")),
        ("diffusion models, any papers on guidance?", ("diffusion", "models", "guidance")),
        (
            "neural architecture search on mobile devices",
            ("neural", "architecture", "search", "on", "mobile", "devices"),
        ),
        ("learning from human feedback", ("learning", "from", "human", "feedback")),
        ("sorry in a rush, any RLHF papers", ("RLHF",)),  # "sorry" asks nothing of "in a rush"
        ("thanks for any papers on mamba", ("mamba",)),
        ("mamba stuff pls, preferably newer ones", ("mamba",)),  # a wish beside the request
        ("world models pls, dont care about the rest", ("world", "models")),
        ("find point cloud papers", ("point", "cloud")),  # after a command, a topic's words
        ("show me point cloud papers", ("point", "cloud")),  # words that also open a topic
        ("anyone have people counting papers?", ("people", "counting")),
        ("need some few shot papers", ("few", "shot")),
        ("got any good point cloud work?", ("point", "cloud")),
        ("what papers has Sara Hooker put out lately", ("Sara", "Hooker")),
        ("get few shot learning papers", ("few", "shot", "learning")),
        ("pull up some point cloud papers", ("point", "cloud")),
        ("pull request generation papers", ("pull", "request", "generation")),  # no command
        ("learning by doing", ("learning", "by", "doing")),
        # a topic that holds such words is left whole
        ("in context learning", ("in", "context", "learning")),
        ("research agents", ("research", "agents")),
        ("deep research papers", ("deep", "research")),
        ("lip reading papers", ("lip", "reading")),
        ("point cloud papers", ("point", "cloud")),
        ("few shot learning papers", ("few", "shot", "learning")),
        ("search agents", ("search", "agents")),
        ("papers with code", ("papers", "with", "code")),
        ("position papers on AI safety", ("position", "papers", "on", "AI", "safety")),
        ("what is grpo", ("what", "is", "grpo")),
        ("you only look once", ("you", "only", "look", "once")),
        ("best of n sampling", ("best", "of", "n", "sampling")),
        # nothing topical would remain: the words as typed
        ("papers", ("papers",)),
        ("interesting stuff", ("interesting", "stuff")),
    ],
)
def test_the_request_around_a_topic_is_not_searched(text: str, words: tuple[str, ...]) -> None:
    assert parse(text).words == words


@pytest.mark.parametrize(
    "text",
    [
        "anything new from Ada Lovelace?",
        "show me everything ada lovelace has put out recently",
        "Ada Lovelace et al.",
        "find Ada Lovelace's newest papers please",
    ],
)
def test_a_person_asked_for_in_chat_finds_their_papers(storage: Storage, text: str) -> None:
    hers = [
        Paper(f"a{i}", f"Engines {i}", "Notes on an engine.", ("Ada Lovelace", "Charles Babbage"))
        for i in range(3)
    ]
    # Papers holding the request's words: searched as words, they would come first
    chatty = Paper("c", "Anything new? Everything recent", "Put out recently, found by Ada Li.")
    with nullcontext(storage) as s:
        s.papers.upsert([*hers, chatty], NOW)
        assert set(ids(s.search.search(text, now=NOW))[:3]) == {"a0", "a1", "a2"}


@pytest.mark.parametrize(
    "text",
    [
        "working on a survey. anything on lunar rovers that i should include?",
        "hi! im new here and would love a reading list on lunar rovers, basics to advanced stuff",
        "our team is prototyping something around lunar rovers and we need the latest code",
    ],
)
def test_a_topic_asked_for_in_a_long_message_finds_its_papers(storage: Storage, text: str) -> None:
    rovers = [
        Paper(f"r{i}", f"Lunar rovers {i}", "Driving on regolith.", ("Ada Li",)) for i in range(3)
    ]
    # A paper holding the message's other words: searched as words, it would come first
    chatty = Paper(
        "c",
        "A survey to include: reading list for new team members",
        "We are prototyping a survey of basics and advanced stuff, with the latest code; should"
        " newcomers read it? Working on lunar dust.",
    )
    with nullcontext(storage) as s:
        s.papers.upsert([*rovers, chatty], NOW)
        assert set(ids(s.search.search(text, now=NOW))[:3]) == {"r0", "r1", "r2"}


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("world models papers with code", ("world", "models")),
        ("any papers on diffusion that come with open source code?", ("diffusion",)),
        ("mamba w/ code pls", ("mamba",)),
        ("RLHF papers with code available, thanks", ("RLHF",)),
        ("need papers on world models w code, dont care about the rest", ("world", "models")),
        ("has:code mamba", ("mamba",)),
        ("HAS:CODE mamba", ("mamba",)),
        ("papers with code on diffusion", ("diffusion",)),  # the topic after the wish
        ("any papers with open source code about world models?", ("world", "models")),
    ],
)
def test_a_wish_for_code_filters_instead_of_searching(text: str, words: tuple[str, ...]) -> None:
    q = parse(text)
    assert (q.words, q.with_code, q.problems) == (words, True, ())


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("reasoning with code", ("reasoning", "with", "code")),  # a topic
        ("RL with code execution feedback", ("RL", "with", "code", "execution", "feedback")),
        ("code generation papers", ("code", "generation")),
        ("LLMs that write code", ("LLMs", "that", "write", "code")),
        ("papers with code", ("papers", "with", "code")),  # nothing else: the words
        ("reasoning with code on GPUs", ("reasoning", "with", "code", "on", "GPUs")),
    ],
)
def test_code_as_a_topic_is_searched(text: str, words: tuple[str, ...]) -> None:
    q = parse(text)
    assert (q.words, q.with_code) == (words, False)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("has:stars mamba", "has:stars is not a filter (try has:code)."),
        ("-has:code mamba", "-has:code is not a filter (try has:code)."),
        ("mamba has:", "has: needs what the papers have (try has:code)."),
    ],
)
def test_a_filter_that_is_not_one_is_told(text: str, problem: str) -> None:
    q = parse(text)
    assert (q.words, q.with_code, q.problems) == (("mamba",), False, (problem,))


def _rovers(code: str) -> list[Paper]:
    """Papers on lunar rovers: one with its repository known, one linking GitHub in its abstract,
    one without code; and a paper with code on another topic."""
    return [
        Paper("repo", "Lunar rovers on regolith", "Driving.", github_repo="https://github.com/a/b"),
        Paper("linked", "Lunar rovers at night", f"Driving in the dark. Code: {code}."),
        Paper("none", "Lunar rovers in craters", "Driving down slopes."),
        Paper("other", "Martian drones", "Flying.", github_repo="https://github.com/c/d"),
    ]


@pytest.mark.parametrize(
    "text",
    ["lunar rovers papers with code", "any papers on lunar rovers w/ code?", "has:code rovers"],
)
def test_papers_with_code_are_found_alone(storage: Storage, text: str) -> None:
    with nullcontext(storage) as s:
        s.papers.upsert(_rovers("HTTPS://GitHub.com/e/f"), NOW)
        reply = s.search.search(text, now=NOW)
        assert set(ids(reply)) == {"repo", "linked"}
        assert engine.CODE_NOTE in reply.note
        assert s.search.match_ids("has:code lunar rovers", ["repo", "linked", "none"]) == {
            "repo",
            "linked",
        }


def test_with_no_papers_with_code_the_others_are_said_to_have_none(storage: Storage) -> None:
    with nullcontext(storage) as s:
        s.papers.upsert(_rovers("on request"), NOW)
        reply = s.search.search("has:code craters", now=NOW)
        assert ids(reply) == ["none"]
        assert engine.NO_CODE_NOTE in reply.note and engine.CODE_NOTE not in reply.note


def test_a_paper_has_the_code_its_abstract_links() -> None:
    linked = Paper("1", "T", "Code is available at https://github.com/org/repo.")
    bare = Paper("2", "T", "See github.com/org/tool for code.")
    assert linked.code_url == "https://github.com/org/repo"
    assert ("Code", "https://github.com/org/repo") in linked.links
    assert bare.code_url == "https://github.com/org/tool"
    assert Paper("3", "T", "No code.").code_url is None
    assert (
        Paper("4", "T", "https://github.com/x/y", github_repo="https://r").code_url == "https://r"
    )


def test_a_request_beside_a_phrase_leaves_the_phrase() -> None:
    q = parse('show me papers on "chain of thought" since:2025')
    assert (q.words, q.phrases) == ((), (("chain", "of", "thought"),))


@pytest.mark.parametrize(
    "text",
    [
        "papers about virtual try-on",
        "hi, can you find me some papers on virtual try-on? thanks",
        "recent virtual try-on papers",
        "virtual try-on, anything?",
    ],
)
def test_a_chat_question_finds_what_its_topic_finds(store: Storage, text: str) -> None:
    topic = ids(store.search.search("virtual try-on", now=NOW))
    assert topic
    assert ids(store.search.search(text, now=NOW)) == topic


def test_a_title_that_reads_like_a_request_still_ranks_first(storage: Storage) -> None:
    title = "Are We There Yet? Evaluating Web Agents"
    storage.papers.upsert(
        [_paper("exact", title, "Web agents fail often.")]
        + [_paper(f"p{i}", f"Evaluating web agents {i}", "Web agents.") for i in range(5)],
        NOW,
    )
    reply = storage.search.search(title, now=NOW)
    assert reply.hits[0].paper.id == "exact"
    assert parse(title).words == ("Evaluating", "Web", "Agents")  # the topic, for the rest


def _texts(store: Storage, pids: set[str]) -> list[str]:
    """The titles and abstracts of these papers, in lower case."""
    papers = store.papers.recent(datetime.min.replace(tzinfo=UTC), date.min)
    return [f"{p.title} {p.abstract}".lower() for p in papers if p.id in pids]


def _paper(pid: str, title: str, abstract: str = "") -> Paper:
    return Paper(id=pid, title=title, abstract=abstract, published=date(2025, 1, 1))


def test_compounds_match_spaced_and_joined_forms(storage: Storage) -> None:
    with nullcontext(storage) as s:
        s.papers.upsert(
            [
                _paper("1", "Few-shot learners"),
                _paper("2", "Few shot learners"),
                _paper("3", "Fewshot learners"),
                _paper("4", "Many-shot learners"),
            ],
            NOW,
        )
        assert found(s, "few-shot") == {"1", "2", "3"}
        assert found(s, "few-shot learner") == {"1", "2", "3"}


def test_a_compound_typed_joined_or_apart_matches_the_way_papers_write_it(
    storage: Storage,
) -> None:
    with nullcontext(storage) as s:
        hyphenated = [_paper(f"h{i}", f"Multi-view diffusion for scene {i}") for i in range(10)]
        joined = [_paper(f"j{i}", f"Multiview stereo in the wild, part {i}") for i in range(5)]
        sql = [_paper(f"s{i}", f"Text-to-SQL with schema linking, part {i}") for i in range(5)]
        others = [
            _paper("t2s", "Text2SQL is not solved"),
            _paper("v", "A view of multi-task learning"),  # both words, not side by side
        ]
        s.papers.upsert(hyphenated + joined + sql + others, NOW)
        every_view = {p.id for p in hyphenated + joined}
        assert found(s, "multiview") == every_view  # mostly written apart: both spellings
        assert found(s, "multi view") == every_view  # written joined by 5 papers: both
        assert found(s, "text2sql") == {p.id for p in sql} | {"t2s"}  # "2" read as "to"
        reply = s.search.search("multiview stereo", now=NOW)
        assert {h.paper.id for h in reply.hits[:5]} == {p.id for p in joined}
        assert "Showing results" not in reply.note  # another spelling, not a correction
        assert found(s, "sqltext") == set()  # no paper writes "sql text"


def test_a_request_word_that_opens_a_compound_stays_with_the_topic(storage: Storage) -> None:
    with nullcontext(storage) as s:
        keyframes = [
            _paper(f"k{i}", f"Keyframe selection for long video, part {i}") for i in range(5)
        ]
        frames = [
            _paper(f"f{i}", f"Frame interpolation with diffusion, part {i}") for i in range(5)
        ]
        kv = [_paper(f"v{i}", f"Key-value cache eviction, part {i}") for i in range(5)]
        values = [_paper(f"c{i}", f"Value cache for agents, part {i}") for i in range(5)]
        insights = [_paper(f"i{i}", f"Insight {i}", "Our key insight is simple.") for i in range(6)]
        dpo = [_paper(f"d{i}", f"DPO without a reference model, part {i}") for i in range(5)]
        s.papers.upsert([*keyframes, *frames, *kv, *values, *insights, *dpo], NOW)
        # "key" asks for the best papers, but papers write "key frame" as one word
        assert parse("send me key frame papers").words == ("frame",)
        reply = s.search.search("send me key frame papers", now=NOW)
        assert set(ids(reply)[:5]) == {p.id for p in keyframes}
        # ... and "key value" hyphenated
        reply = s.search.search("need some key value cache papers", now=NOW)
        assert set(ids(reply)[:5]) == {p.id for p in kv}
        # papers write "key insight" apart, and none "key DPO": "key" stays with the request
        for text, topic in [
            ("show me key insight papers", "insight"),
            ("drop me the key DPO papers", "DPO"),
        ]:
            assert ids(s.search.search(text, now=NOW)) == ids(s.search.search(topic, now=NOW))


def test_a_term_typed_twice_is_searched_once(storage: Storage) -> None:
    with nullcontext(storage) as s:
        meta_rl = [_paper(f"m{i}", f"Meta-RL for robots, part {i}") for i in range(2)]
        meta = [_paper(f"l{i}", f"Meta learning of priors, part {i}") for i in range(3)]
        s.papers.upsert([*meta_rl, *meta], NOW)
        once = s.search.search("meta-rl", now=NOW)
        assert set(ids(once)[:2]) == {"m0", "m1"} and len(once.hits) == 5  # partial ones follow
        for text in ("meta-rl meta-RL", "meta-rl " * 60):
            reply = s.search.search(text, now=NOW)
            assert ids(reply) == ids(once), text
            assert reply.note == once.note, text  # the expansion named once


def test_postgresql_snippets_past_their_time_leave_the_hits_without_them(
    postgres_server: PostgresServer,
) -> None:
    with open_storage(postgres_server.new_database()) as s:
        s.papers.upsert([_paper(f"p{i}", f"Diffusion model {i}") for i in range(3)], NOW)
        search = s.search
        seqs = [hit.rowid for hit in search.search("diffusion", now=NOW).hits]
        query = "plainto_tsquery('papers', %s)"
        assert len(search._snippets((query, ["diffusion"]), seqs, 5.0)) == 3  # type: ignore[attr-defined]
        slow = f"(SELECT {query} FROM pg_sleep(5))"
        started = time.perf_counter()
        assert search._snippets((slow, ["diffusion"]), seqs, 0.05) == {}  # type: ignore[attr-defined]
        assert time.perf_counter() - started < 2  # cancelled, not slept through


def test_a_name_typed_with_its_number_matches_it_written_apart(storage: Storage) -> None:
    with nullcontext(storage) as s:
        gpt = [_paper(f"g{i}", f"Evaluating GPT-4 on task {i}") for i in range(6)]
        pi = [
            _paper("p1", "A flow policy for robots", "We compare with π_0 and π_{0.5}."),
            _paper("p2", "Generalist manipulation", "Our π_0-like model learns from play."),
            _paper("p3", "A benchmark of π", "π is estimated by sampling."),
        ]
        o = [_paper(f"o{i}", f"Chain of thought in O 3 steps, part {i}") for i in range(6)]
        s.papers.upsert([*gpt, _paper("j", "GPT4 as a judge"), *pi, *o], NOW)
        assert found(s, "gpt4") == {p.id for p in gpt} | {"j"}  # "GPT-4" and "GPT4"
        assert found(s, "π0") == {"p1", "p2"}  # no paper writes "π0" joined
        reply = s.search.search("π0", now=NOW)
        assert set(ids(reply)[:2]) == {"p1", "p2"} and not reply.note  # partial matches next
        assert found(s, "o3") == set()  # one Latin letter and a number: a name of its own


def test_a_named_model_typed_with_style_or_like_finds_papers_naming_it(storage: Storage) -> None:
    with nullcontext(storage) as s:
        s.papers.upsert(
            [
                _paper("o1", "Scaling test-time reasoning", "OpenAI's o1 thinks for longer."),
                _paper("like", "Thoughts of o1-like models", "Long chains of thought."),
                _paper("style", "An o1-style reasoner", "Long chains of thought."),
                _paper("o", "O 1 reasoning step", "Other reasoning."),
                _paper("c", "Content-style disentanglement", "Images."),
                _paper("content", "Content moderation", "With style guides, apart."),
            ],
            NOW,
        )
        assert found(s, "o1-style") == {"o1", "like", "style"}
        assert found(s, "O1-like") == {"o1", "like", "style"}
        assert ids(s.search.search("o1-style", now=NOW))[0] == "style"  # as typed, first
        assert found(s, "content-style") == {"c"}  # a plain word keeps its compound


def test_a_version_typed_after_a_name_matches_beside_it(storage: Storage) -> None:
    sd = "Stable Diffusion (SD) makes images."
    with nullcontext(storage) as s:
        s.papers.upsert(
            [
                _paper("q25", "Qwen2.5-VL technical report"),
                _paper("q25b", "Tuning Qwen 2.5 for math"),
                _paper("q3", "Qwen3 for math", "Qwen 2 has 5 sizes."),  # 2 and 5, not 2.5
                _paper("sd1", "Scaling SD3.5", sd),
                _paper("sd2", "Editing with Stable Diffusion 3.5", sd),
                _paper("sd3", "Stable Diffusion 1.5 at 3 scales", sd),
                _paper("y", "Agents", "Agents in the 2025 season."),
                _paper("y2", "More agents", "Agents since 2025."),
            ],
            NOW,
        )
        assert found(s, "qwen 2.5") == {"q25", "q25b"}
        assert found(s, "Qwen 2.5-VL") == {"q25"}
        assert found(s, "stable diffusion 3.5") == {"sd1", "sd2"}
        assert "sd3.5" in s.search.search("stable diffusion 3.5", now=NOW).note
        assert found(s, "agents 2025") == {"y", "y2"}  # a year, not a version


def test_postgresql_databases_of_an_older_schema_find_versions_and_hyphenated_numbers(
    postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = postgres_server.new_database()
    papers = [
        _paper("g", "Is GPT-4 a good judge?"),
        _paper("q", "Qwen2.5-VL technical report"),
        _paper("l", "Scaling Llama-3 to long context"),
    ]
    words = "SELECT word FROM search_words WHERE word IN ('4', '-4', 'qwen2.5-vl')"
    newest = pg_schema.MIGRATIONS
    monkeypatch.setattr(pg_schema, "MIGRATIONS", newest[:10])  # as it was before version 11
    with open_storage(url) as old:
        old.papers.upsert(papers, NOW)
        assert {r["word"] for r in old.search.db.rows(words)} == {"-4", "qwen2.5-vl"}
    monkeypatch.setattr(pg_schema, "MIGRATIONS", newest)
    with open_storage(url) as s:
        assert {r["word"] for r in s.search.db.rows(words)} == {"4"}  # counted again
        for typed, pid in [("GPT-4", "g"), ("Qwen2.5-VL", "q"), ("llama 3", "l"), ("gpt4", "g")]:
            assert ids(s.search.search(typed, now=NOW))[:1] == [pid], typed


@contextmanager
def _plans(store: Storage) -> Iterator[list[str]]:
    """The plans PostgreSQL runs the store's statements with, meanwhile (auto_explain)."""
    conn = store.search.db.conn  # type: ignore[attr-defined]
    plans: list[str] = []

    def explained(notice: psycopg.errors.Diagnostic) -> None:
        plans.append(notice.message_primary or "")

    conn.execute("LOAD 'auto_explain'")
    conn.execute("SET auto_explain.log_min_duration = 0")
    conn.execute("SET auto_explain.log_level = notice")
    conn.add_notice_handler(explained)
    try:
        yield plans
    finally:
        conn.remove_notice_handler(explained)
        conn.execute("SET auto_explain.log_min_duration = -1")


def test_postgresql_reads_a_words_newest_matches_from_the_newest_papers(
    postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A word in 3% of the papers: its newest candidates are the matches among the newest
    papers (the word's GIN bitmap ANDed with the BRIN index on seq), not every match. A word
    rarer lately than its count says: a window as much wider as the first fell short. One
    common long ago but barely lately: every match is read, also for one its count would walk
    newest first (6%) but in 2% of the newest papers, which are counted first. One in 10% of
    them is walked."""
    monkeypatch.setattr(engine, "CANDIDATES", 20)  # 21 candidates: as 2,001 in a million papers
    monkeypatch.setattr(pg_search, "PROBE", 200)

    def abstract(i: int) -> str:
        words = ["tokamak"] * (i % 30 == 0) + ["plasma"] * ((i % 20 == 0 and i < 2000) or i > 3994)
        words += ["fusion"] * (i % (20 if i < 3000 else 50) == 0)
        words += ["stellarator"] * (i % (10 if i < 2000 else 50) == 0)
        words += ["divertor"] * (i % 10 == 5)
        return " ".join([*words, "filler"])

    with open_storage(postgres_server.new_database()) as s:
        s.papers.upsert((_paper(f"p{i}", f"Paper {i}", abstract(i)) for i in range(4000)), NOW)
        with _plans(s) as plans:
            reply = s.search.search("tokamak", limit=20, now=NOW)
        assert set(ids(reply)) == {f"p{i}" for i in range(3990, 3400, -30)}
        assert "More than 20 papers match" in reply.note
        assert sum("papers_seq_range" in plan for plan in plans) == 1

        with _plans(s) as plans:
            reply = s.search.search("plasma", limit=20, now=NOW)
        old = {f"p{i}" for i in range(1980, 1680, -20)}
        assert set(ids(reply)) == {f"p{i}" for i in range(3995, 4000)} | old
        assert "More than 20 papers match" in reply.note  # all of them, not the newest 5
        newest = [plan for plan in plans if "ORDER BY p.seq DESC LIMIT" in plan]
        assert ["papers_seq_range" in plan for plan in newest] == [True, False]  # then all

        with _plans(s) as plans:
            reply = s.search.search("fusion", limit=20, now=NOW)
        assert set(ids(reply)) == {f"p{i}" for i in range(3950, 2950, -50)}
        newest = [plan for plan in plans if "ORDER BY p.seq DESC LIMIT" in plan]
        assert ["papers_seq_range" in plan for plan in newest] == [True, True]

        for word, newest_20, walked in [
            ("stellarator", range(3950, 2999, -50), False),
            ("divertor", range(3995, 3800, -10), True),
        ]:
            with _plans(s) as plans:
                reply = s.search.search(word, limit=20, now=NOW)
            assert set(ids(reply)) == {f"p{i}" for i in newest_20}, word
            assert sum("FILTER (WHERE" in plan for plan in plans) == 1, word  # counted once
            newest = [plan for plan in plans if "ORDER BY p.seq DESC LIMIT" in plan]
            assert ["Index Scan Backward" in plan for plan in newest] == [walked], word


def test_postgresql_databases_of_an_older_schema_find_names_without_their_accents(
    postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = postgres_server.new_database()
    paper = Paper("g", "Leakage of code data", "A naïve split.", ("Matthias Gallé",))
    newest = pg_schema.MIGRATIONS
    monkeypatch.setattr(pg_schema, "MIGRATIONS", newest[:11])  # as it was before version 12
    with open_storage(url) as old:
        old.papers.upsert([paper], NOW)
    monkeypatch.setattr(pg_schema, "MIGRATIONS", newest)
    with open_storage(url) as s:
        assert s.search.db.one("SELECT papers FROM search_words WHERE word = 'gall'")  # counted
        for typed in ("matthias galle", 'author:"Matthias Galle"', "naive"):
            assert ids(s.search.search(typed, now=NOW)) == ["g"], typed


def test_british_and_american_spellings_find_each_other(storage: Storage) -> None:
    with nullcontext(storage) as s:
        american = [
            _paper(f"a{i}", f"Length generalization of transformers, part {i}") for i in range(4)
        ]
        british = [
            _paper("b1", "Length generalisation through recurrence"),
            _paper("b2", "Tokenisation-free language models", "A tokeniser is not needed."),
        ]
        generation = [
            _paper(f"g{i}", f"Text generation at length {i}", "Generated text, generative models.")
            for i in range(12)
        ]
        others = [
            _paper("t1", "Tokenization matters for arithmetic"),
            _paper("t2", "Tokenization in code models"),
            _paper("e1", "Domain expertise in agents"),
            _paper("e2", "Expertise and skill in LLM agents"),
            _paper("x1", "Mixture of experts at scale"),
            _paper("x2", "Routing experts"),
        ]
        s.papers.upsert([*american, *british, *generation, *others], NOW)
        spelt_both_ways = {p.id for p in american} | {"b1"}
        for typed in ("length generalisation", "length generalization"):
            reply = s.search.search(typed, now=NOW)
            assert set(ids(reply)[:5]) == spelt_both_ways, typed  # before the papers on length
            assert not reply.note  # another spelling, not a correction
        # A word only one paper spells so is not taken for a typo ("tokenication").
        assert found(s, "tokenisation") == {"b2", "t1", "t2"}
        assert found(s, "tokenization") == {"b2", "t1", "t2"}
        # "expertise" has no American spelling: "expertize" would stem to "expert".
        assert found(s, "expertise") == {"e1", "e2"}


def test_a_word_whose_stem_other_words_share_matches_the_papers_that_write_it(
    storage: Storage,
) -> None:
    with nullcontext(storage) as s:
        tokens = [
            _paper(f"t{i}", f"Token pruning for long text, part {i}", "Drop tokens, merge tokens.")
            for i in range(12)
        ]
        tokenizers = [
            _paper("z1", "A byte-level tokenizer for text"),
            _paper("z2", "Learning to tokenize text", "Tokenization is learned end to end."),
        ]
        s.papers.upsert(tokens + tokenizers, NOW)
        # Both stemmers make "tokenizer" "token": only the papers that write it hold it...
        assert found(s, "tokenizer") == {"z1", "z2"}
        reply = s.search.search("text tokenizer", now=NOW)
        assert set(ids(reply)[:2]) == {"z1", "z2"}
        # ...and the papers on tokens still follow, as papers missing a word do.
        assert len(reply.hits) == 10
        assert found(s, "tokens") == {p.id for p in tokens + tokenizers}  # the stem as typed


def test_a_paper_missing_a_term_is_not_lifted_by_an_expansions_words(storage: Storage) -> None:
    with nullcontext(storage) as s:
        vlms = [
            _paper(
                f"v{i}",
                f"Vision-language models for charts, volume {i}",
                "A vision-language model that reads charts as visual tokens.",
            )
            for i in range(3)
        ]
        pruning = _paper("p1", "Cheaper inference", "We prune visual tokens of a detector.")
        both = _paper("b1", "Token pruning for a VLM", "We prune the visual tokens of a VLM.")
        others = [_paper(f"o{i}", f"Robot arms, part {i}", "Grasping.") for i in range(20)]
        s.papers.upsert([*vlms, pruning, both, *others], NOW)
        # Three of the four words are in every paper on vision-language models; the pruning
        # paper misses only the abbreviation, and the words typed rank it next.
        hits = ids(s.search.search("visual token pruning VLM", now=NOW))
        assert hits[:2] == ["b1", "p1"]
        # Papers holding only an expansion's forms follow those holding a typed word.
        assert set(ids(s.search.search("VLM xylophone", now=NOW))) >= {v.id for v in vlms}


def test_a_words_family_is_the_word_less_its_ending() -> None:
    assert stems.family("tokenizers") == "tokeniz"
    assert stems.family("generalization") == "generaliz"
    assert stems.family("running") == "run"
    assert stems.family("model") == "model"


def test_deadline_returns_in_time_with_newest_matches(storage: Storage) -> None:
    with nullcontext(storage) as s:
        filler = " ".join(f"w{i % 97} model learning data" for i in range(40))
        s.papers.upsert(
            (_paper(f"p{i}", f"A deep learning model {i}", filler) for i in range(20_000)),
            NOW,
        )
        started = datetime.now(UTC)
        reply = s.search.search("deep learning model data", deadline=0.002, now=NOW)
        elapsed = (datetime.now(UTC) - started).total_seconds()
        assert elapsed < 0.5  # generous: the bound is a couple of milliseconds plus snippets
        assert "newest" in reply.note
        assert ids(reply)[0] == "p19999"


def test_a_listing_of_dates_ranks_from_the_index_of_days(sqlite_store: Storage) -> None:
    db = sqlite_store.search.db  # type: ignore[attr-defined]
    run: list[str] = []
    db.conn.set_trace_callback(run.append)
    try:
        sqlite_store.search.search("top papers from last week", now=NOW)
    finally:
        db.conn.set_trace_callback(None)
    (ranked,) = [sql for sql in run if "ORDER BY p.upvotes" in sql]
    plan = " ".join(row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {ranked}"))
    assert "USING INDEX papers_day_upvotes" in plan


@pytest.mark.parametrize(
    ("text", "index"),
    [("has:code", "papers_code_upvotes"), ("year:2019 has:code", "papers_code_day")],
)
def test_a_listing_of_papers_with_code_ranks_from_their_own_index(
    sqlite_store: Storage, text: str, index: str
) -> None:
    db = sqlite_store.search.db  # type: ignore[attr-defined]
    run: list[str] = []
    db.conn.set_trace_callback(run.append)
    try:
        sqlite_store.search.search(text, now=NOW)
    finally:
        db.conn.set_trace_callback(None)
    (ranked,) = [sql for sql in run if "ORDER BY p.upvotes" in sql]
    plan = " ".join(row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {ranked}"))
    assert f"USING INDEX {index}" in plan


def test_a_slow_listing_gives_the_newest_papers_it_keeps(storage: Storage) -> None:
    with nullcontext(storage) as s:
        filler = " ".join(f"w{i % 97} model learning data" for i in range(40))
        abstract = f"{filler} Code: https://github.com/a/b"  # the filter reads all the text
        day = date(2010, 1, 1)
        s.papers.upsert(
            (
                replace(_paper(f"p{i}", f"Model {i}", abstract), published=day + timedelta(i))
                for i in range(5000)
            ),
            NOW,
        )
        reply = s.search.search("has:code", deadline=0.001, now=NOW)
        assert reply.heading == "The newest papers with code"
        assert reply.note == engine.BROWSE_NEWEST_NOTE
        assert ids(reply)[:2] == ["p4999", "p4998"]


def test_common_words_rank_a_bounded_candidate_set(
    store: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "CANDIDATES", 20)
    reply = store.search.search("reasoning agent", now=NOW)
    assert "More than 20 papers match" in reply.note
    assert len(reply.hits) == 10
    monkeypatch.setattr(engine, "CANDIDATES", 0)  # only the exact-title lookup can supply it
    title = "Reinforcement Learning in Vision: A Survey"
    reply = store.search.search(title, now=NOW)
    assert reply.hits[0].paper.title == title


def test_a_misspelt_word_is_corrected_from_the_index(store: Storage) -> None:
    reply = store.search.search("reinforcemnet lerning", now=NOW)
    assert "Showing results for “reinforcement learning”" in reply.note
    assert ids(reply) == ids(store.search.search("reinforcement learning", now=NOW))
    assert store.search.search("reinforcement learning", now=NOW).note.count("Showing") == 0


def test_a_word_longer_than_any_slip_is_not_looked_up_for_one() -> None:
    looked_up: list[list[str]] = []

    def counted(words: list[str]) -> dict[str, tuple[str, int]]:
        looked_up.append(words)
        return {}

    def corrected(word: str) -> dict[str, str]:
        looked_up.clear()
        return spelling.corrections([word], counted, lambda _: False, set(), lambda _: "")

    assert corrected("diffusion" * 50) == {} and looked_up == []  # 24,000 variants untried
    longest = "d" * spelling.MAX_LENGTH
    assert corrected(longest) == {}
    assert looked_up[0] == [longest] and len(looked_up) > 1  # the word, then its variants


def test_a_misspelt_title_word_is_corrected_unless_quoted(store: Storage) -> None:
    reply = store.search.search("title:reinforcemnet", now=NOW)
    assert "Showing results for “title:reinforcement”" in reply.note
    assert ids(reply) == ids(store.search.search("title:reinforcement", now=NOW)) != []
    reply = store.search.search("lerning title:reinforcemnet", now=NOW)
    assert "Showing results for “learning title:reinforcement”" in reply.note
    assert "Showing results" not in store.search.search('title:"reinforcemnet"', now=NOW).note


def test_a_word_no_paper_holds_is_corrected_to_a_less_common_word(store: Storage) -> None:
    # "quantization" is in 7 of the 421 papers, "quantizaton" in none: as typed it finds
    # nothing, so a variant in a handful of papers is what to show.
    reply = store.search.search("quantizaton", now=NOW)
    assert "Showing results for “quantization”" in reply.note
    assert ids(reply) == ids(store.search.search("quantization", now=NOW)) != []


def test_a_rare_author_name_is_not_corrected_into_a_word(store: Storage) -> None:
    # "Leng" is in two papers, "long" in hundreds: one edit apart, but "Leng" is a name.
    for text in ("Sicong Leng", "leng video"):
        reply = store.search.search(text, now=NOW)
        assert "Showing results" not in reply.note
        assert any("Sicong Leng" in hit.paper.authors for hit in reply.hits[:3])
    assert "Showing results for “long video”" in store.search.search("lonq video").note


def test_everyday_words_and_variants_stemming_to_stop_words_are_no_corrections(
    store: Storage,
) -> None:
    # In 421 papers "things" and "kings" are rare, and one added letter makes "theings" and
    # "aings", which stem to "the" and "a": in every paper, but no word anyone meant.
    reply = store.search.search("how to stop language models making things up", now=NOW)
    assert "Showing results" not in reply.note and reply.hits
    for typed in ("kings", "tings"):
        assert "Showing results" not in store.search.search(typed, now=NOW).note
    reply = store.search.search("visoin transfomer", now=NOW)
    assert "Showing results for “vision transformer”" in reply.note


def test_the_words_of_a_chat_request_are_no_typos(storage: Storage) -> None:
    # "newest" is in no paper here, and "newes" stems as "new" does, in every paper.
    with nullcontext(storage) as s:
        s.papers.upsert([_paper(f"n{i}", f"A new robot policy {i}") for i in range(8)], NOW)
        for text in ("newest robot policy", "papers on robot policy, newest first"):
            reply = s.search.search(text, now=NOW)
            assert "Showing results" not in reply.note and len(reply.hits) == 8


def test_a_correction_is_written_as_papers_write_it_and_a_quoted_word_is_searched_as_typed(
    store: Storage,
) -> None:
    # The index holds stems: "attentic" stems as "attention" does and "datae" as "data" does,
    # each one edit from what was typed; the papers write "attention" and "dataset".
    for typed, meant in (
        ("sparse attentin", "sparse attention"),
        ("synthetic dataet", "synthetic dataset"),
    ):
        reply = store.search.search(typed, now=NOW)
        assert f"Showing results for “{meant}”;" in reply.note
        assert ids(reply) == ids(store.search.search(meant, now=NOW))
    reply = store.search.search("reinforcemnet lerning", now=NOW)
    assert "put “reinforcemnet”, “lerning” in quotes to search them as typed" in reply.note
    reply = store.search.search('"reinforcemnet" lerning', now=NOW)  # quoted: as typed
    assert 'Showing results for “learning "reinforcemnet"”;' in reply.note
    assert "put “lerning” in quotes to search it as typed" in reply.note
    assert not reply.hits  # no paper has "reinforcemnet"


def test_a_word_is_split_in_two_only_where_papers_write_the_two_side_by_side(
    store: Storage,
) -> None:
    # "robot" and "benchmark" are each in 20 papers or more, but no paper writes "robot
    # benchmark": "robotbenchmark" is a name the store has not seen, not two words run together.
    reply = store.search.search("longcontext", now=NOW)
    assert "Showing results for “long context”;" in reply.note and reply.hits
    reply = store.search.search("robotbenchmark", now=NOW)
    assert "Showing results" not in reply.note and not reply.hits


def test_swapped_letters_are_corrected_as_the_index_stems_words(store: Storage) -> None:
    # "modles" is one swap from "models"; both stores compare stems ("model"), so the far
    # commoner word wins over the nearer-looking "modules".
    for typed, meant in (("world modles", "world models"), ("difusion modles", "diffusion models")):
        reply = store.search.search(typed, now=NOW)
        assert f"Showing results for “{meant}”" in reply.note
        assert ids(reply) == ids(store.search.search(meant, now=NOW))


def test_rebuilding_the_search_tables_changes_no_answer(store: Storage) -> None:
    queries = ["world modles", "meta-rl robots xylophone", "LLM agents", "author:Levine"]
    before = [(ids(r), r.note) for r in (store.search.search(q, now=NOW) for q in queries)]
    store.search.rebuild()
    assert [(ids(r), r.note) for r in (store.search.search(q, now=NOW) for q in queries)] == before


def test_with_no_paper_matching_every_word_the_rarest_word_leads(store: Storage) -> None:
    # Most papers say "models", a few "splatting": those few are what the query is about.
    hits = store.search.search("splatting models xylophone", now=NOW).hits
    assert hits
    assert all("splatting" in (h.paper.title + h.paper.abstract).lower() for h in hits[:3])


def test_a_name_typed_as_written_ranks_that_authors_papers_first(store: Storage) -> None:
    # "Lei" and "Zhang" are both in many author lists; four papers list "Lei Zhang" himself,
    # and come first however the name is asked for.
    theirs = set(ids(store.search.search('author:"Lei Zhang"', now=NOW)))
    assert len(theirs) == 4
    for text in ("Lei Zhang", "zhang lei", "papers by Lei Zhang", "anything by lei zhang?"):
        assert set(ids(store.search.search(text, now=NOW))[:4]) == theirs, text


def test_a_name_on_a_long_author_list_is_found_among_many_with_its_words_apart(
    storage: Storage,
) -> None:
    # Forty papers by a Li and a Yang, whose short author lists bm25 favours, and two reports
    # of sixty authors, one of them Yang Li: the name is what was asked for.
    apart = [
        Paper(f"p{i}", f"Robot study {i}", "Robots.", ("Wei Li", "Bo Yang"), date(2025, 1, 1))
        for i in range(40)
    ]
    crowd = tuple(f"Member{chr(97 + i // 26)}{chr(97 + i % 26)} Team" for i in range(60))
    reports = [
        Paper(f"r{i}", f"Technical report {i}", "Models.", (*crowd, "Yang Li"), date(2025, 1, 1))
        for i in range(2)
    ]
    with nullcontext(storage) as s:
        s.papers.upsert(apart + reports, NOW)
        assert len(found(s, "yang li")) == 42
        for text in ("yang li", "Li Yang", "papers by Yang Li"):
            assert set(ids(s.search.search(text, now=NOW))[:2]) == {"r0", "r1"}, text
        # the name's words in two authors' names are no name: no paper of theirs is lifted
        assert ids(s.search.search("wei yang", now=NOW))[:1] != ["r0"]


def test_a_name_holding_a_stop_word_is_still_the_name_in_a_chat_request(storage: Storage) -> None:
    # "An" and "You" are stop words a request takes off its topic ("an yang papers"), and names
    # too: the papers by An Yang and by Yang You, on long author lists, are what was asked for.
    many = [
        Paper(f"p{i}", f"Robot study {i}", "Robots.", ("Wei Yang", "Bo Li"), date(2025, 1, 1))
        for i in range(40)
    ]
    crowd = tuple(f"Member{chr(97 + i // 26)}{chr(97 + i % 26)} Team" for i in range(60))
    by = {"a": "An Yang", "y": "Yang You"}
    reports = [
        Paper(f"{k}{i}", f"Technical report {k}{i}", "Models.", (*crowd, name), date(2025, 1, 1))
        for k, name in by.items()
        for i in range(2)
    ]
    with nullcontext(storage) as s:
        s.papers.upsert(many + reports, NOW)
        for text in ("an yang papers", "An Yang's papers", "papers by An Yang", "an yang"):
            assert set(ids(s.search.search(text, now=NOW))[:2]) == {"a0", "a1"}, text
        for text in ("yang you papers", "Yang You papers", "any work by yang you?"):
            assert set(ids(s.search.search(text, now=NOW))[:2]) == {"y0", "y1"}, text
        # a connector is no part of a name: "papers by yang" asks for any Yang
        assert all(i.startswith("p") for i in ids(s.search.search("papers by yang", now=NOW)))


def test_names_and_words_are_found_with_or_without_their_accents(storage: Storage) -> None:
    papers = [
        Paper("g", "Leakage of code data", "A naïve split leaks.", ("Matthias Gallé", "Ana Ruiz")),
        Paper("b", "Vision data", "A careful split.", ("Matthias Bauer",), date(2025, 1, 1)),
        Paper("n", "Naive Bayes again", "Still useful.", ("Ana Ruiz",), date(2025, 1, 1)),
    ]
    with nullcontext(storage) as s:
        s.papers.upsert(papers, NOW)
        for text in ("matthias galle", "Matthias Gallé", 'author:"matthias galle"', "author:Gallé"):
            reply = s.search.search(text, now=NOW)
            assert ids(reply)[:1] == ["g"], text
            assert "Showing results" not in reply.note  # "galle" is a name, not a typo
        assert found(s, "naive") == found(s, "naïve") == {"g", "n"}


def test_two_authors_words_side_by_side_are_not_a_name(sqlite_store: Storage) -> None:
    expression = engine._expression(
        sqlite_store.search.db,  # type: ignore[attr-defined]
        parse("lei zhang"),
        sqlite_store.search.speller,  # type: ignore[attr-defined]
    )
    # "..., Wei Lei", "Zhang San" are two authors; authors come as JSON text or a list.
    assert not engine.named(expression, [{"rowid": 1, "authors": '["Wei Lei", "Zhang San"]'}])
    # each found maps to whether the name is the whole query
    rows = [{"rowid": 2, "authors": ["Lei Zhang"]}, {"rowid": 3, "authors": ["Lei Zhang Wu"]}]
    assert engine.named(expression, rows) == {2: True, 3: True}
    longer = replace(expression, typed=("lei", "zhang", "robots"))
    assert engine.named(longer, rows) == {2: False, 3: False}


def test_a_word_the_papers_found_hold_in_author_names_more_than_in_their_text_is_a_name() -> None:
    hooker = Paper("1", "Multilingual instruction tuning", "Many languages.", ("Sara Hooker",))
    gui = Paper("2", "GUI agents", "Agents that click through a GUI.", ("Wei Gui", "Ana Li"))
    other = Paper("3", "Desktop agents", "A GUI benchmark.", ("Bo Chen",))
    assert engine.names_an_author(["sara", "hooker", "multilingual"], [hooker, other])
    assert engine.names_an_author(["hooker"], [hooker])
    assert not engine.names_an_author(["gui", "agents"], [gui, other])  # a word some are named
    assert not engine.names_an_author(["multilingual"], [hooker])
    assert not engine.names_an_author(["hooker"], [])


def test_an_authors_other_papers_follow_those_with_the_words(store: Storage) -> None:
    search = store.search
    theirs = set(ids(search.search('author:"Lei Zhang"', now=NOW)))
    assert len(theirs) == 4
    # A word none of their papers has still shows their papers, not nothing.
    assert set(ids(search.search('author:"Lei Zhang" xylophone', now=NOW))) == theirs
    hits = search.search('author:"Lei Zhang" restoration', now=NOW).hits
    assert "Restoration" in hits[0].paper.title
    assert {hit.paper.id for hit in hits} == theirs  # the author stays required


def test_few_full_matches_are_followed_by_partial_ones(store: Storage) -> None:
    full = ids(store.search.search("meta-rl robots", limit=50, now=NOW))
    every = store.search.search("meta-rl robots xylophone", limit=50, now=NOW)
    assert every.hits, "a query with some matching concepts never comes back empty"
    assert set(full[:3]) <= set(ids(every))


def test_a_quoted_phrase_stays_required_when_a_query_is_relaxed(store: Storage) -> None:
    for hit in store.search.search('"speech recognition" xylophone', limit=50, now=NOW).hits:
        text = (hit.paper.title + " " + hit.paper.abstract).lower().replace("-", " ")
        assert "speech recognition" in text


def test_rebuild_learns_the_same_pairs_as_incremental_writes(
    sqlite_store: Storage, tmp_path: Path
) -> None:
    learned = set(
        sqlite_store.search.db.execute("SELECT short, long, papers FROM search_abbreviations")
    )
    with open_storage(tmp_path / "copy.search.db") as copy:
        copy.papers.upsert(real_papers(), NOW)
        copy.search.db.execute("DELETE FROM search_abbreviations")
        copy.search.rebuild()
        rebuilt = set(
            copy.search.db.execute("SELECT short, long, papers FROM search_abbreviations")
        )
    assert rebuilt == learned
    assert ("metarl", "meta reinforcement learning", 1) in rebuilt


def test_the_vocabulary_counts_each_term_as_the_index_does(
    sqlite_store: Storage, tmp_path: Path
) -> None:
    # Counted as papers are written; the typo corrections read it instead of the index.
    db = sqlite_store.search.db
    learned = dict(db.execute("SELECT term, papers FROM search_vocabulary").fetchall())
    db.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.terms USING fts5vocab(main, papers_fts, row)"
    )
    assert learned == dict(db.execute("SELECT term, doc FROM temp.terms").fetchall())
    diffusion = "SELECT count(*) FROM papers_fts WHERE papers_fts MATCH 'diffusion'"
    assert learned["diffus"] == db.execute(diffusion).fetchone()[0] > 10
    with open_storage(tmp_path / "copy.search.db") as copy:
        copy.papers.upsert(real_papers()[:50], NOW)
        copy.papers.upsert(real_papers()[30:], NOW)  # new and known papers in one write
        incremental = set(copy.search.db.execute("SELECT term, papers FROM search_vocabulary"))
        copy.search.rebuild()
        rebuilt = set(copy.search.db.execute("SELECT term, papers FROM search_vocabulary"))
    assert incremental == rebuilt
    assert len(rebuilt) > 1000


def test_the_index_is_one_segment_after_a_rebuild_and_stays_in_few_as_papers_arrive(
    tmp_path: Path,
) -> None:
    # Every term look-up reads every FTS5 segment, and every write adds one.
    papers = real_papers()
    with SqliteStore(tmp_path / "plain.db") as plain, open_storage(tmp_path / "s.db") as store:
        db = store.search.db  # type: ignore[attr-defined]
        for start in range(0, len(papers), 5):
            plain.papers.upsert(papers[start : start + 5], NOW)  # FTS5's own merging only
            store.papers.upsert(papers[start : start + 5], NOW)
        assert fts.segments(plain.db) >= 12
        assert 1 <= fts.segments(db) <= 4
        usermerge = "SELECT v FROM papers_fts_config WHERE k = 'usermerge'"
        assert db.execute(usermerge).fetchone() == (fts.MERGE_LEVEL,)
        queries = ["LLM agents", "diffusion", '"reinforcement learning"', "world modles"]
        before = [store.search.search(q, now=NOW) for q in queries]
        store.search.rebuild()
        assert fts.segments(db) == 1
        assert [store.search.search(q, now=NOW) for q in queries] == before


def test_the_index_of_titles_finds_what_the_title_column_of_the_full_index_finds(
    tmp_path: Path,
) -> None:
    # Filled when an older database is first searched, then kept by triggers as titles change.
    papers = real_papers()
    terms = ['"diffusion"', '"model"', '("llm" OR NEAR("large" "language" "model", 2))']

    def agree(db: Database) -> None:
        every = [r[0] for r in db.execute("SELECT rowid FROM papers")]
        for term in terms:
            titled = fts.which_titles_match(db, term, every)
            assert titled == fts.which_match(db, f"title : ({term})", every)
            assert len(titled) > 3

    with SqliteStore(tmp_path / "older.db") as store:
        store.papers.upsert(papers[:300], NOW)  # no search wired: no index of titles yet
        FtsSearch(store)
        agree(store.db)
        store.papers.upsert(papers[300:], NOW)
        renamed = replace(papers[0], title="Diffusion Models Renamed")
        store.papers.upsert([renamed], NOW)
        agree(store.db)
        seq = store.db.execute("SELECT seq FROM papers WHERE id = ?", [renamed.id]).fetchone()[0]
        assert seq in fts.which_titles_match(store.db, '"renamed"', [seq])


def test_a_database_from_before_the_abbreviation_table_gets_it_filled(tmp_path: Path) -> None:
    # Schema v1 had no learned abbreviations; the search side creates and fills the table.
    with SqliteStore(tmp_path / "v1.db") as old:
        old.papers.upsert(real_papers(), NOW)  # no search index wired: nothing learned
        assert "search_abbreviations" not in old.db.table_names()
        old.db.execute("PRAGMA user_version = 1")
    with open_storage(tmp_path / "v1.db") as upgraded:
        assert upgraded.search.match_ids("meta-rl", ["2508.01287"]) == {"2508.01287"}
        pairs = upgraded.search.db.execute("SELECT count(*) FROM search_abbreviations").fetchone()
        assert pairs[0] > 100


def test_paper_day_in_sql_is_paper_day(tmp_path: Path) -> None:
    seen = datetime(2025, 3, 4, 23, 30, tzinfo=UTC)
    papers = [
        Paper("a", "A", published=date(2024, 1, 2), added=date(2025, 1, 1), first_seen=seen),
        Paper("b", "B", added=date(2025, 1, 1), first_seen=seen),
        Paper("c", "C", first_seen=seen),
        Paper("d", "D"),
    ]
    assert fts.PAPER_DAY == "coalesce(p.published, p.added, substr(p.first_seen, 1, 10))"
    with SqliteStore(tmp_path / "d.db") as store:
        store.db.table("papers").insert_all(paper_to_row(p) for p in papers)
        in_sql = dict(store.db.execute(f"SELECT p.id, {fts.PAPER_DAY} FROM papers p").fetchall())
    in_python = {p.id: p.day.isoformat() if p.day else None for p in papers}
    assert (
        in_sql == in_python == {"a": "2024-01-02", "b": "2025-01-01", "c": "2025-03-04", "d": None}
    )
    assert [ranking.paper_day(paper_to_row(p)) for p in papers] == [p.day for p in papers]


def test_common_terms_are_scored_without_bm25(
    sqlite_store: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    # bm25 first counts every paper with each term, in one call no deadline stops: with a
    # term in more than COMMON_PAPERS papers the newest matches are scored by their terms.
    monkeypatch.setattr(engine, "COMMON_PAPERS", 10)
    reply = sqlite_store.search.search("reasoning agents", limit=10, now=NOW)
    assert len(reply.hits) == 10
    titled = title_tier(sqlite_store, "reasoning agents")
    in_title = [h.paper.id in titled for h in reply.hits]
    assert in_title == sorted(in_title, reverse=True) and in_title[0]
    for hit in reply.hits:
        text = " ".join((hit.paper.title, hit.paper.abstract, *hit.paper.keywords)).lower()
        assert "reason" in text and "agent" in text
    title = "Reinforcement Learning in Vision: A Survey"
    assert ids(sqlite_store.search.search(title, now=NOW))[0] == store_id(sqlite_store, title)


@pytest.mark.parametrize("text", ["reasoning agents", "language model reasoning benchmark"])
def test_papers_with_every_term_are_scored_as_the_walk_of_each_term_scores_them(
    sqlite_store: Storage, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    # For papers holding every term only the titles are walked; the sums must be the very
    # floats the walk of each term's matches gives, or tied papers would part by rounding.
    monkeypatch.setattr(engine, "COMMON_PAPERS", 10)
    search = sqlite_store.search
    assert isinstance(search, FtsSearch)
    expression = engine._expression(search.db, parse(text), search.speller)
    scorer = engine._Scorer(search.db, search.counts, expression, fts.PaperFilter(), 5.0)
    match = expression.match()
    rowids, _ = fts.newest_rowids(search.db, match, 500, fts.PaperFilter(), 5.0)
    assert scorer.common and len(rowids) > 20
    shortcut = dict(scorer._by_terms(rowids, 5.0, every_term=True))
    titled = dict(scorer.titled)
    walked = dict(scorer._by_terms(rowids, 5.0, every_term=False))
    assert shortcut == walked
    assert titled == scorer.titled and any(titled.values()) and not all(titled.values())
    assert len(set(shortcut.values())) > 1


@pytest.mark.parametrize("text", ["reasoning agents", "meta-rl robots xylophone", "diffusion"])
def test_title_lifts_from_the_term_scoring_are_those_a_walk_finds(
    sqlite_store: Storage, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    # Scored by their terms, papers' titles are known already; the lift needs no other walk.
    monkeypatch.setattr(engine, "COMMON_PAPERS", 10)

    def scored() -> list[tuple[str, float]]:
        hits = sqlite_store.search.search(text, limit=30, now=NOW, deadline=30).hits
        return [(h.paper.id, h.score) for h in hits]

    known = scored()
    walk = engine._lifts
    monkeypatch.setattr(engine, "_lifts", lambda db, e, rowids, _: walk(db, e, rowids, {}))
    assert known == scored()
    assert len(known) >= 10


def store_id(store: Storage, title: str) -> str:
    """The id of the paper with this title."""
    row = store.search.db.execute("SELECT id FROM papers WHERE title = ?", [title]).fetchone()
    return str(row[0])
