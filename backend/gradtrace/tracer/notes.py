"""The notes a graph can carry: facts about the run that are not errors."""

from __future__ import annotations

from typing import Any

NOTES: dict[str, dict[str, str]] = {
    "no_autograd_graph": {
        "en": "No tensor here requires grad, so there is no autograd graph: the tensors are shown alone. "
        "Create a leaf with requires_grad=True to see one.",
        "ko": "requires_grad인 텐서가 없어 autograd 그래프가 없습니다. 텐서만 보여 줍니다. "
        "requires_grad=True로 leaf 텐서를 만들어 보세요.",
    },
    "non_scalar_output": {
        "en": "The output is not a scalar, so backward() needs a gradient argument: only forward values "
        "are shown. Reduce it (e.g. .sum()) or ask to back-propagate ones.",
        "ko": "출력이 스칼라가 아니라서 backward()에 gradient 인자가 필요합니다. forward 값만 보여 줍니다. "
        ".sum() 등으로 줄이거나 1로 역전파하도록 선택하세요.",
    },
    "ones_gradient": {
        "en": "The output is not a scalar: backward ran from a gradient of ones "
        "(as if .sum() had been called).",
        "ko": "출력이 스칼라가 아니어서 1로 채운 gradient로 backward를 실행했습니다(.sum()을 한 것과 같음).",
    },
    "graph_freed": {
        "en": "backward() already ran on this graph without retain_graph=True, so torch freed it: "
        "leaves show their .grad, the other gradients are unknown. Trace before calling backward().",
        "ko": "retain_graph=True 없이 backward()가 이미 실행되어 그래프가 해제되었습니다. leaf는 .grad를 "
        "보여 주고 나머지 gradient는 알 수 없습니다. backward() 전에 trace하세요.",
    },
    "compact": {
        "en": "This graph is large, so saved tensors, per-op gradient lists and chain-rule steps are left "
        "out; every tensor and edge still carries its value and gradient.",
        "ko": "그래프가 커서 saved 텐서, 연산별 gradient 목록, 연쇄 법칙 단계는 생략했습니다. "
        "각 텐서와 엣지의 값과 gradient는 그대로 있습니다.",
    },
    "other_passes": {
        "en": "backward() also ran on {count} other graph(s) (e.g. earlier loop iterations); only the "
        "output's graph is shown.",
        "ko": "backward()가 다른 그래프 {count}개에서도 실행되었습니다(예: 이전 반복). "
        "출력의 그래프만 보여 줍니다.",
    },
    "plots_not_drawn": {
        "en": "The program draws plots with matplotlib: its calls ran and were ignored "
        "(plots are not drawn here).",
        "ko": "프로그램이 matplotlib로 그림을 그립니다. 호출은 실행되었지만 무시되었습니다"
        "(여기서는 그림을 그리지 않습니다).",
    },
}


def note(code: str, **params: Any) -> dict[str, Any]:
    texts = NOTES[code]
    return {"code": code, "message": {lang: text.format(**params) for lang, text in texts.items()}}
