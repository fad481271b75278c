"""The 40 hand-labelled queries over the bundled sample (bot/sample): a regression guard.

Labels are graded by hand from the papers in ../shared/data/hf: 2 = about exactly this,
1 = clearly relevant. Unlabelled papers count as 0. These queries were written beside the search
code, so they measure what it was tuned on; the dev-corpus set (benchmarks/relevance/) does not.
"""

from __future__ import annotations


def grades(spec: str) -> dict[str, int]:
    """Grades written as "2508.01287:2 2410.18252:1", as {paper id: grade}."""
    return {pid: int(g) for pid, g in (item.split(":") for item in spec.split())}


_COT = grades("2508.01191:2 2508.03159:2 2608.18027:1 2508.08401:1")
_DIFFUSION_LMS = grades(
    "2508.00819:2 2508.02193:2 2508.09138:2 2508.09192:2 2508.19982:2 2508.14896:2"
)
_DISTILLATION = grades("2507.23436:2 2608.14144:1 2608.13040:1 2608.14277:1")
_GNN = grades("2608.16097:2")
_HALLUCINATION = grades(
    "2410.16251:2 2410.18860:2 2507.21584:2 2507.22720:2 2508.16697:2 2608.10835:2 2608.18115:2"
)
_MOE = grades("2508.18672:2 2608.16157:2 2608.17402:2")
_NERF = grades("2507.23374:2 2508.02831:2 2508.04326:2 2507.23268:1")
_RAG = grades("2508.03644:2 2508.07493:2 2508.16577:2 2608.06947:2 2508.10419:2 2508.15746:2")
_T2I = grades(
    "2508.01151:2 2507.23313:2 2508.05399:2 2508.17472:2 2508.18032:2 2508.20751:2 2608.16887:2"
)
_TTS_SPEECH = grades("2508.04195:2 2508.19205:2 2508.16790:1")
_VLA = grades("2507.23682:2 2507.17520:2 2508.20072:2 2508.21046:2 2508.16292:2 2608.19891:1")

LABELS: dict[str, dict[str, int]] = {
    "meta-rl": grades("2508.01287:2"),
    "meta reinforcement learning": grades("2508.01287:2"),
    "RLHF": grades("2410.18252:2"),
    "GUI agents": grades(
        "2507.22025:2 2608.15930:2 2508.15144:2 2508.10833:1 2508.05731:1 2507.23779:1"
        " 2508.05615:1 2508.04026:1"
    ),
    "theorem proving": grades("2507.23726:2 2410.16429:2"),
    "video segmentation": grades("2508.19242:2 2508.05630:2 2410.18538:1"),
    "MoE": _MOE,
    "mixture of experts": _MOE,
    "NeRF": _NERF,
    "neural radiance fields": _NERF,
    "gaussian splatting": grades("2507.23374:2 2608.17988:2 2508.14041:2 2508.00823:1"),
    "chain-of-thought": _COT,
    "CoT reasoning": _COT,
    "hallucination": _HALLUCINATION,
    "hallucination detection": grades("2608.10835:2 2608.18115:2 2410.16251:1"),
    "virtual try-on": grades("2508.02807:2 2508.04825:2 2508.13632:2"),
    "diffusion language models": _DIFFUSION_LMS,
    "diffusion LLMs": _DIFFUSION_LMS,
    "text-to-image": _T2I,
    "text to image reinforcement learning": grades("2508.20751:2 2508.18032:2"),
    "on-policy distillation": grades("2608.14144:2 2608.13040:2 2608.14277:2"),
    "agent harness": grades(
        "2608.16798:2 2608.17597:2 2608.18565:2 2608.16590:2 2608.19880:2 2608.17528:2 2608.16393:2"
    ),
    "computer use agents": grades("2508.04700:2 2508.03923:2 2508.09123:2 2508.20096:2"),
    "VLA": _VLA,
    "vision-language-action models": _VLA,
    "text-to-speech": _TTS_SPEECH,
    "speech recognition": grades("2608.19936:2"),
    "ASR": grades("2608.19936:2"),
    "mesh generation": grades("2508.09062:2 2508.19188:2 2508.01242:1 2508.14879:1"),
    "image editing": grades("2508.08134:2 2508.18159:2 2608.14546:2 2608.18063:2 2410.18775:1"),
    "deep research agents": grades("2508.06600:2 2508.15804:2 2508.05748:2"),
    "RAG": _RAG,
    "retrieval-augmented generation": _RAG,
    "GNN": _GNN,
    "graph neural networks": _GNN,
    "knowledge distillation": _DISTILLATION,
    "KD": _DISTILLATION,
    "Seed-Prover": grades("2507.23726:2"),
    "Reinforcement Learning in Vision: A Survey": grades("2508.08189:2"),
    "memory agents": grades("2608.15008:2 2608.20202:1 2508.01415:1 2508.09736:1"),
}
