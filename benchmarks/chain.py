"""A realistic paper archive: a word-chain model over real 2024-2026 abstracts and titles.

The model is an order-2 Markov chain over whitespace tokens (punctuation stays on its word, so
"(LLMs)," and "state-of-the-art" are tokens as written), trained sentence by sentence with
sentence boundaries, on the real Hugging Face daily papers of the dev corpus
(`benchmarks/hf_daily_2024-05_2026-07_dev.tar.xz`, 6,039 papers, unpacked to `benchmarks/out/`
on first use) plus the bundled sample. Titles have their own chain.

Topic coherence: the real papers are split into topic groups (each paper goes to the
mid-frequency word it repeats most, weighted by rarity: "video", "agent", "diffusion", ...), and
each generated paper draws every sentence and its title from one group's chains. Without that
every sentence would be drawn from the whole corpus and a term would spread over far more papers
than it really does ("LLM" in most papers instead of about a third).

Authors are real names, upvotes are drawn from the real ones, abstract lengths follow the real
abstract of the group, and dates run from START to END in paper order, whatever the size.
PLANTED_TITLES are 30 frequent title n-grams of the real corpus, planted as exact titles at
positions spread over the archive's age (oldest to newest) for the exact-title check.
"""

from __future__ import annotations

import math
import random
import re
import statistics
import tarfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from benchmarks.realdata import data_files, real_papers
from benchmarks.synthetic import SyntheticPaper
from bot.models import Paper

HERE = Path(__file__).parent
DEV_CORPUS = HERE / "hf_daily_2024-05_2026-07_dev.tar.xz"
DEV_DIR = HERE / "out" / "hf_daily_dev"
START, END = date(2016, 1, 1), date(2026, 8, 31)
# Frequent title n-grams of the dev corpus (titles holding them, of 6,039), as exact titles.
PLANTED_TITLES = (
    "Large Language Models",  # 324
    "Reinforcement Learning",  # 193
    "Video Generation",  # 166
    "Language Models",  # 522
    "Diffusion Models",  # 115
    "Vision-Language Models",  # 78
    "Video Diffusion",  # 77
    "Image Generation",  # 73
    "World Models",  # 56
    "LLM Agents",  # 55
    "Foundation Models",  # 48
    "Multimodal Large Language Models",  # 38
    "Reasoning Models",  # 44
    "Gaussian Splatting",  # 43
    "Policy Optimization",  # 43
    "Preference Optimization",  # 42
    "Image Editing",  # 42
    "LLM Reasoning",  # 41
    "Diffusion Transformers",  # 38
    "Video Understanding",  # 34
    "Flow Matching",  # 29
    "Mathematical Reasoning",  # 29
    "Visual Reasoning",  # 28
    "Text-to-Image Generation",  # 30
    "Mixture of Experts",
    "Vision Transformers",
    "Retrieval-Augmented Generation",
    "Chain-of-Thought Reasoning",
    "Speculative Decoding",
    "Knowledge Distillation",
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])")
_WORD = re.compile(r"[a-z][a-z0-9]+")
GROUP_ANCHORS = 400  # candidate topic words
MIN_GROUP = 20  # papers; smaller groups are folded into the paper's next-best big group
KEEP_SENTENCE = 0.5  # share of a source abstract's sentences kept as they are
MAX_SENTENCE = 80  # tokens, against loops in the chain
MAX_TITLE = 24


def dev_files() -> list[Path]:
    """The dev corpus' JSON files, unpacked from the bundled .tar.xz on first use."""
    if not DEV_DIR.is_dir():
        DEV_DIR.parent.mkdir(exist_ok=True)
        with tarfile.open(DEV_CORPUS) as tar:
            members = [m for m in tar.getmembers() if m.isfile() and m.name.endswith(".json")]
            for m in members:
                m.name = Path(m.name).name
            tar.extractall(DEV_DIR, members=members, filter="data")
    return sorted(DEV_DIR.glob("*.json"))


def training_papers() -> list[Paper]:
    """The dev corpus plus the bundled sample (or PAPERS_BOT_DATA), merged by id."""
    papers = real_papers([*dev_files(), *data_files()])
    return sorted((p for p in papers if p.title and p.abstract), key=lambda p: p.id)


def topic_groups(papers: list[Paper]) -> list[list[Paper]]:
    """Papers grouped by the mid-frequency word each repeats most (tf x idf)."""
    words = [Counter(_WORD.findall((p.title + " " + p.abstract).lower())) for p in papers]
    df = Counter(w for c in words for w in c)
    n = len(papers)
    band = [w for w, d in df.most_common() if 0.005 * n <= d <= 0.15 * n]
    anchors = {w: math.log(n / df[w]) for w in band[:GROUP_ANCHORS]}

    def ranked(c: Counter[str]) -> list[str]:
        found = [(c[w] * idf, w) for w, idf in anchors.items() if w in c]
        return [w for _, w in sorted(found, reverse=True)] or ["-"]

    choices = [ranked(c) for c in words]
    size = Counter(r[0] for r in choices)
    big = {w for w, k in size.items() if k >= MIN_GROUP}
    groups: dict[str, list[Paper]] = defaultdict(list)
    for paper, ranks in zip(papers, choices, strict=True):
        key = next((w for w in ranks if w in big), "-")
        groups[key].append(paper)
    return [groups[k] for k in sorted(groups)]


class _Chain:
    """Order-2 word chain: state (a, b) -> successors, repeated as often as seen.

    Most states have one successor, so the chain is stored as runs: after each choice at a
    branching state, the text up to the next branching state (or the end) is one string.
    """

    def __init__(self, vocab: dict[str, int]) -> None:
        self.vocab = vocab
        self._next: dict[int, list[int]] = defaultdict(list)
        # branching state -> ((text, words, next state), ...) repeated as often as seen
        self.runs: dict[int, tuple[tuple[str, int, int], ...]] = {}

    def add(self, tokens: list[str]) -> int:
        """Learn one sentence (or title); returns its state after the first two words."""
        ids = [self.vocab.setdefault(t, len(self.vocab)) for t in tokens]
        a = b = 0
        for t in [*ids, 0]:
            self._next[_key(a, b)].append(t)
            a, b = b, t
        return _key(ids[0], ids[1]) if len(ids) > 1 else 0

    def freeze(self, words: list[str], entries: set[int]) -> None:
        """Compile the runs from branching states and `entries`; `words` maps ids to tokens."""
        nxt = self._next
        memo: dict[int, tuple[str, int, int]] = {}

        def run(a: int, b: int) -> tuple[str, int, int]:
            # the words after state (a, b) while every state has a single successor
            key = _key(a, b)
            if key in memo:
                return memo[key]
            out: list[str] = []
            while len(out) < MAX_SENTENCE and b != 0 and len(set(nxt[_key(a, b)])) == 1:
                a, b = b, nxt[_key(a, b)][0]
                if b:
                    out.append(words[b])
            memo[key] = found = (" ".join(out), len(out), _key(a, b) if b else -1)
            return found

        for key, successors in nxt.items():
            a, b = divmod(key, _BASE)
            if len(set(successors)) > 1 or key == 0:
                runs = []
                for t in successors:
                    text, n, end = run(b, t) if t else ("", 0, -1)
                    runs.append(((words[t] + " " + text).strip(), n + (t > 0), end))
                self.runs[key] = tuple(runs)
            elif key in entries:
                self.runs[key] = (run(a, b),)
        nxt.clear()

    def walk(self, rng: random.Random, limit: int, state: int = 0) -> tuple[str, int]:
        """A sentence from `state` on (0: from the start): its text and number of words."""
        out: list[str] = []
        n = 0
        runs, choice = self.runs, rng.choice
        while n < limit:
            text, k, state = choice(runs[state])
            if text:
                out.append(text)
                n += k
            if state not in runs:  # the end, or a run cut at MAX_SENTENCE
                break
        return " ".join(out), n


_BASE = 1 << 24


def _key(a: int, b: int) -> int:
    return a * _BASE + b


# A real abstract: per sentence, its text, its first two words and the state after them.
Source = list[tuple[str, str, int]]


class ChainArchive:
    """Generates `total` papers deterministically: paper(number) for number in [0, total)."""

    def __init__(self, total: int, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.total = max(1, total)
        papers = training_papers()
        self.vocab: dict[str, int] = {"": 0}
        learned = []
        for group in topic_groups(papers):
            titles, abstracts = _Chain(self.vocab), _Chain(self.vocab)
            sources: list[Source] = []
            for p in group:
                titles.add(p.title.split())
                source = []
                for sentence in _SENTENCE.split(p.abstract):
                    tokens = sentence.split()
                    key = abstracts.add(tokens)
                    if key:
                        source.append((sentence, " ".join(tokens[:2]), key))
                if source:
                    sources.append(source)
            learned.append((titles, abstracts, sources))
        self.words = [""] * len(self.vocab)
        for word, i in self.vocab.items():
            self.words[i] = word
        self.groups: list[tuple[_Chain, _Chain, list[Source]]] = []
        for titles, abstracts, sources in learned:
            titles.freeze(self.words, set())
            abstracts.freeze(self.words, {k for source in sources for _, _, k in source})
            self.groups.append((titles, abstracts, sources))
        self.weights = [len(s) for _, _, s in self.groups]
        self.names = sorted({a for p in papers for a in p.authors})
        self.author_counts = [min(len(p.authors), 12) or 1 for p in papers]
        self.upvotes = [p.upvotes for p in papers]
        self.planted = planted_positions(self.total)

    def paper(self, number: int) -> SyntheticPaper:
        """The number-th paper: later numbers are newer, like ingest order.

        Its sentences start as a real abstract's sentences do (the first two words) and then
        follow the topic group's chain, which branches to other papers' text at shared pairs.
        """
        rng = self.rng
        titles, abstracts, sources = rng.choices(self.groups, weights=self.weights)[0]
        title = self.planted.get(number) or titles.walk(rng, MAX_TITLE)[0]
        parts = []
        for sentence, start, key in rng.choice(sources):
            if rng.random() < KEEP_SENTENCE:
                parts.append(sentence)
            else:
                parts.append(start)
                parts.append(abstracts.walk(rng, MAX_SENTENCE, key)[0])
        authors = rng.sample(self.names, rng.choice(self.author_counts))
        authors_json = "[" + ", ".join('"' + a.replace('"', "'") + '"' for a in authors) + "]"
        day = START + timedelta(days=(END - START).days * number // self.total)
        return SyntheticPaper(
            id=f"syn.{number:08d}",
            title=title,
            abstract=" ".join(p for p in parts if p),
            authors=authors_json,
            published=day.isoformat(),
            upvotes=rng.choice(self.upvotes),
        )

    def papers(self, count: int, first: int = 0) -> Iterator[SyntheticPaper]:
        """`count` papers numbered from `first`."""
        for number in range(first, first + count):
            yield self.paper(number)


def planted_positions(total: int) -> dict[int, str]:
    """Paper number -> planted exact title, spread evenly from oldest to newest."""
    k = len(PLANTED_TITLES)
    return {(2 * i + 1) * total // (2 * k): t for i, t in enumerate(PLANTED_TITLES)}


REALISM_TERMS = {
    "LLM(s)": r"\bLLMs?\b",
    "large language model(s)": r"(?i)\blarge language models?\b",
    "diffusion": r"(?i)\bdiffusion\b",
    "reinforcement learning": r"(?i)\breinforcement learning\b",
    "video": r"(?i)\bvideos?\b",
    "agent(s)": r"(?i)\bagents?\b",
    "transformer(s)": r"(?i)\btransformers?\b",
    "VLM(s)": r"\bVLMs?\b",
    "CoT": r"\bCoT\b",
    "RAG": r"\bRAG\b",
    "MoE": r"\bMoE\b",
    "GUI": r"\bGUI\b",
}


def realism(count: int = 20_000) -> None:
    """Print the share of generated vs real papers holding each REALISM_TERMS term."""
    started = time.perf_counter()
    archive = ChainArchive(10**6)
    trained = time.perf_counter()
    archive.rng.seed(0)
    made = list(archive.papers(count))
    done = time.perf_counter()
    real = training_papers()
    print(
        f"model {trained - started:.1f}s; {count:,} papers in {done - trained:.1f}s on one core"
        f" ({count / (done - trained):,.0f}/s); {len(archive.groups)} topic groups;"
        f" {len(real):,} real papers"
    )
    print(f"  {'term':<26} real    generated  (titles: real  generated)")

    def share(pattern: str, papers: list[Any], both: bool = True) -> float:
        found = re.compile(pattern).search
        hits = sum(bool(found(p.title + (" " + p.abstract if both else ""))) for p in papers)
        return hits / len(papers)

    for name, pattern in REALISM_TERMS.items():
        r, g = share(pattern, real), share(pattern, made)
        rt, gt = share(pattern, real, False), share(pattern, made, False)
        print(f"  {name:<26} {r:5.3f}   {g:5.3f}              {rt:5.3f}  {gt:5.3f}")
    titles = {p.title for p in real}
    reused = sum(p.title in titles for p in made) / count
    words = statistics.median(len(p.abstract.split()) for p in made)
    real_words = statistics.median(len(p.abstract.split()) for p in real)
    print(
        f"  median abstract words: real {real_words:.0f}, generated {words:.0f};"
        f" generated titles that are real titles: {reused:.0%}"
    )


if __name__ == "__main__":
    realism()
