"""Abbreviations and their spelled-out forms: a curated table plus pairs defined in abstracts."""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.search.grammar import tokens

# Short form -> long forms. Only what the field uses daily; the corpus teaches the rest.
CURATED: dict[str, tuple[str, ...]] = {
    "RL": ("reinforcement learning",),
    "meta-RL": ("meta-reinforcement learning",),
    "MARL": ("multi-agent reinforcement learning",),
    "IRL": ("inverse reinforcement learning",),
    "RLHF": ("reinforcement learning from human feedback",),
    "RLAIF": ("reinforcement learning from AI feedback",),
    "RLVR": ("reinforcement learning with verifiable rewards",),
    "LLM": ("large language model",),
    "MLLM": ("multimodal large language model",),
    "SLM": ("small language model",),
    "LM": ("language model",),
    "VLM": ("vision-language model",),
    "LVLM": ("large vision-language model",),
    "VLA": ("vision-language-action",),
    "ViT": ("vision transformer",),
    "DiT": ("diffusion transformer",),
    "MoE": ("mixture of experts", "mixture-of-experts"),
    "RAG": ("retrieval-augmented generation",),
    "ICL": ("in-context learning",),
    "TTS": ("text-to-speech", "test-time scaling"),
    "ASR": ("automatic speech recognition", "speech recognition"),
    "OOD": ("out-of-distribution",),
    "NeRF": ("neural radiance field",),
    "3DGS": ("3D gaussian splatting",),
    "GAN": ("generative adversarial network",),
    "VAE": ("variational autoencoder",),
    "GNN": ("graph neural network",),
    "CNN": ("convolutional neural network",),
    "RNN": ("recurrent neural network",),
    "LSTM": ("long short-term memory",),
    "KD": ("knowledge distillation",),
    "CoT": ("chain-of-thought", "chain of thought"),
    "SFT": ("supervised fine-tuning",),
    "PEFT": ("parameter-efficient fine-tuning",),
    "LoRA": ("low-rank adaptation",),
    "DPO": ("direct preference optimization",),
    "PPO": ("proximal policy optimization",),
    "GRPO": ("group relative policy optimization",),
    "PRM": ("process reward model",),
    "MCTS": ("monte carlo tree search",),
    "NLP": ("natural language processing",),
    "NMT": ("neural machine translation",),
    "QA": ("question answering",),
    "VQA": ("visual question answering",),
    "OCR": ("optical character recognition",),
    "NER": ("named entity recognition",),
    "KG": ("knowledge graph",),
    "SSL": ("self-supervised learning",),
    "MLM": ("masked language model",),
    "T2I": ("text-to-image",),
    "T2V": ("text-to-video",),
    "I2V": ("image-to-video",),
    "SOTA": ("state of the art", "state-of-the-art"),
}

MAX_LONG_TOKENS = 8

# "(SHORT)" where SHORT starts with a letter; the long form is looked for in the words before it.
_PARENTHESIS = re.compile(r"\(\s*([A-Za-z][A-Za-z0-9-]{1,11})\s*[),;]")
_LOOKBEHIND_CHARS = 160
_NUMBER = re.compile(r"\d+")


def short_key(text: str) -> str:
    """The lookup key of a short form: its tokens joined ("meta-RL", "metaRL" -> "metarl")."""
    # "LLMs" and "LLM" are one abbreviation, but the S of "TTS" or "MCTS" is part of it.
    return "".join(tokens(short_key_text(text)))


def stem(token: str) -> str:
    """A light plural stem, enough to match "models" with "model" in long forms."""
    if len(token) > 3 and token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


def long_key(words: Iterable[str]) -> str:
    """The lookup key of a long form: stemmed tokens joined by spaces."""
    return " ".join(stem(t) for t in words)


def curated_pairs() -> list[tuple[str, str, str]]:
    """The curated table as (short key, long key, spelling of the short form) triples."""
    return [
        (short_key(short), long_key(tokens(long)), spelling(short))
        for short, longs in CURATED.items()
        for long in longs
    ]


def spelling(short: str) -> str:
    """How a short form is tokenised in text, as spaced tokens ("meta-RL" -> "meta rl")."""
    return " ".join(tokens(short_key_text(short)))


def short_key_text(text: str) -> str:
    """A short form without a plural s ("LLMs" -> "LLM")."""
    text = text.strip()
    if len(text) > 2 and text.endswith("s") and text[-2].isupper():
        return text[:-1]
    return text


def definitions(text: str) -> list[tuple[str, str, str]]:
    """(short key, long key, spelling) a text defines: "meta-reinforcement learning (meta-RL)"."""
    found: list[tuple[str, str, str]] = []
    for match in _PARENTHESIS.finditer(text):
        short = match[1]
        if short.islower() or not any(c.isalpha() for c in short):
            continue
        before = text[max(0, match.start() - _LOOKBEHIND_CHARS) : match.start()]
        long = _long_form(short_key_text(short), " ".join(before.split()[-MAX_LONG_TOKENS:]))
        if long is None:
            continue
        long_tokens = tokens(long)
        if not 2 <= len(long_tokens) <= MAX_LONG_TOKENS or not numbers_agree(short, long):
            continue
        found.append((short_key(short), long_key(long_tokens), spelling(short)))
    return found


def numbers_agree(short: str, long: str) -> bool:
    """Whether a long form's numbers can stand for the short form's: each number in the short
    form ends one of the long form's ("OMat24": Open Materials 2024), unless the long form has
    none ("T2I": text-to-image). The letters of "GPT-4" are in "a gain of up to 46", but 4 is
    not 46."""
    numbers = _NUMBER.findall(long)
    return not numbers or all(any(n.endswith(d) for n in numbers) for d in _NUMBER.findall(short))


def spelled_out(short: str, long: str) -> bool:
    """Whether a long form spells its short form the way _long_form asks, which pairs learned
    before it asked for every part's first letter are checked with ("arc agi" is not
    "artificial general intelligence"). The long form is a long key, whose words lost their
    plural s (stem), so a short form's last s may be missing from it ("ConvNets")."""
    return any(_spelling_start(s, long) is not None for s in {short, short.removesuffix("s")} if s)


def _long_form(short: str, before: str) -> str | None:
    """Schwartz & Hearst: the shortest tail of `before` whose letters spell `short` in order,
    each part of `short` ("meta-RL": meta, RL) starting a word, not only its first letter: the
    letters of "ARC-AGI" are in "artificial general intelligence", but its second A is not the
    start of a word."""
    words = before.split()
    candidate = " ".join(words[-min(len(words), len(short) + 5, 2 * len(short) + 1) :])
    i = _spelling_start(short, candidate)
    if i is None:
        return None
    start = candidate.rfind(" ", 0, i + 1) + 1
    long = candidate[start:]
    if short_key(long) == short_key(short):
        return None  # "(RL)" right after "RL" defines nothing
    return long


def _spelling_start(short: str, text: str) -> int | None:
    """Where in `text` the letters of `short` start, matched from the end; None if they are not
    all there, each part's first letter at the start of a word."""
    s, i = len(short) - 1, len(text) - 1
    while s >= 0:
        char = short[s].lower()
        if not char.isalnum():
            s -= 1
            continue
        opens = s == 0 or not short[s - 1].isalnum()
        while i >= 0 and (text[i].lower() != char or (opens and i > 0 and text[i - 1].isalnum())):
            i -= 1
        if i < 0:
            return None
        i -= 1
        s -= 1
    return i
