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
    "output_backward": {
        "en": "The program never back-propagated its output {name}: gradtrace ran backward from it "
        "after the program ended, so its gradients can be shown (nothing the program printed changed). "
        "The program's own {count} backward pass(es) come before it.",
        "ko": "프로그램이 출력 {name}에서 역전파하지 않았습니다. gradient를 보여 주려고 프로그램이 끝난 뒤 "
        "gradtrace가 {name}에서 backward를 실행했습니다(프로그램이 출력한 내용은 그대로입니다). "
        "프로그램의 backward {count}번은 그보다 앞에 있습니다.",
    },
    "passes_sampled": {
        "en": "The program ran {count} backward passes: {shown} of them (the first, the last and a sample "
        "between) are shown in detail; the loss plot has all of them.",
        "ko": "프로그램이 backward를 {count}번 실행했습니다. 그중 {shown}번(처음, 마지막, 그 사이의 표본)을 "
        "자세히 보여 주고, 손실 그래프에는 모두 나타냅니다.",
    },
    "plots_not_drawn": {
        "en": "The program draws plots with matplotlib: its calls ran and were ignored "
        "(plots are not drawn here).",
        "ko": "프로그램이 matplotlib로 그림을 그립니다. 호출은 실행되었지만 무시되었습니다"
        "(여기서는 그림을 그리지 않습니다).",
    },
    "hidden_parameters": {
        "en": "{count} parameter(s) received gradients from a part of the graph that torch builds only "
        "during backward (a reentrant checkpoint, torch.utils.checkpoint(use_reentrant=True)), so they "
        "are not drawn: {names}. Their .grad is right; use_reentrant=False shows them.",
        "ko": "매개변수 {count}개는 torch가 backward 중에만 만드는 그래프 부분(재진입 체크포인트, "
        "torch.utils.checkpoint(use_reentrant=True))에서 gradient를 받아 그려지지 않습니다: {names}. "
        ".grad는 정확합니다. use_reentrant=False로 하면 보입니다.",
    },
}


def note(code: str, **params: Any) -> dict[str, Any]:
    texts = NOTES[code]
    return {"code": code, "message": {lang: text.format(**params) for lang, text in texts.items()}}
