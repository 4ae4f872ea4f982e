"""Messages of the run stage: limits, refusals at run time and torch-error explanations."""

from __future__ import annotations

from gradtrace.core import messages

_TORCH_SAYS_EN = "PyTorch says: {detail}"
_TORCH_SAYS_KO = "PyTorch 메시지: {detail}"

LIMITS: dict[str, messages.Entry] = {
    "too_many_steps": {
        "en": "The program takes too many steps (limit {limit}).",
        "ko": "프로그램의 실행 단계가 너무 많습니다 (한도 {limit}).",
        "hint_en": "Use fewer loop iterations or smaller loops.",
        "hint_ko": "반복 횟수를 줄여 보세요.",
    },
    "too_many_iterations": {
        "en": "Loops run too many iterations in total (limit {limit}).",
        "ko": "반복문의 전체 반복 횟수가 너무 많습니다 (한도 {limit}).",
        "hint_en": "Use range with a smaller number; a lesson needs only a few steps to show the idea.",
        "hint_ko": "range에 더 작은 수를 쓰세요. 개념을 보이는 데는 몇 번의 반복이면 충분합니다.",
    },
    "too_slow": {
        "en": "The program ran longer than {limit} seconds.",
        "ko": "프로그램 실행 시간이 {limit}초를 넘었습니다.",
        "hint_en": "Use smaller tensors or fewer iterations.",
        "hint_ko": "더 작은 텐서나 더 적은 반복을 사용해 보세요.",
    },
    "tensor_too_large": {
        "en": "This tensor would have {size} elements; the limit is {limit}.",
        "ko": "이 텐서는 원소가 {size}개가 됩니다. 한도는 {limit}개입니다.",
        "hint_en": "Use smaller shapes: the graph is the same for a 3x4 tensor as for a 3000x4000 one.",
        "hint_ko": "더 작은 모양을 쓰세요. 3x4 텐서든 3000x4000 텐서든 그래프는 같습니다.",
    },
    "memory_budget": {
        "en": "The program creates too much tensor data in total ({size} elements; the limit is {limit}).",
        "ko": "프로그램이 만드는 텐서 데이터가 전체적으로 너무 많습니다 ({size}개, 한도 {limit}개).",
        "hint_en": "Use smaller tensors or fewer iterations.",
        "hint_ko": "더 작은 텐서나 더 적은 반복을 사용해 보세요.",
    },
    "graph_too_big": {
        "en": "The autograd graph grows too big to draw ({size} ops; the limit is {limit}).",
        "ko": "자동미분 그래프가 너무 커서 그릴 수 없습니다 (연산 {size}개, 한도 {limit}개).",
        "hint_en": "Every op on a tensor that requires grad becomes a node that keeps its value: use "
        + "smaller tensors, fewer loop iterations, or run steps that need no gradient under "
        + "torch.no_grad().",
        "hint_ko": "requires_grad 텐서의 연산마다 값을 지닌 노드가 생깁니다. 더 작은 텐서나 더 적은 "
        + "반복을 쓰거나, 기울기가 필요 없는 계산은 torch.no_grad() 안에서 하세요.",
    },
    "graph_values_too_big": {
        "en": "The autograd graph keeps too much tensor data to draw "
        + "({size} elements; the limit is {limit}).",
        "ko": "자동미분 그래프가 지닌 텐서 데이터가 너무 많아 그릴 수 없습니다 "
        + "(원소 {size}개, 한도 {limit}개).",
        "hint_en": "Every op on a tensor that requires grad becomes a node that keeps its value: use "
        + "smaller tensors, fewer loop iterations, or run steps that need no gradient under "
        + "torch.no_grad().",
        "hint_ko": "requires_grad 텐서의 연산마다 값을 지닌 노드가 생깁니다. 더 작은 텐서나 더 적은 "
        + "반복을 쓰거나, 기울기가 필요 없는 계산은 torch.no_grad() 안에서 하세요.",
    },
    "too_much_work": {
        "en": "The program computes too much (about {size} operations; the limit is {limit}).",
        "ko": "계산량이 너무 많습니다 (약 {size}회 연산, 한도 {limit}회).",
        "hint_en": "Matrix products and convolutions cost a lot; use smaller shapes.",
        "hint_ko": "행렬 곱과 합성곱은 계산량이 큽니다. 더 작은 모양을 쓰세요.",
    },
    "print_too_long": {
        "en": "The program prints too much ({limit} characters at most).",
        "ko": "출력이 너무 많습니다 (최대 {limit}자).",
        "hint_en": "Print inside a loop only every few iterations: if i % 100 == 0: print(...)",
        "hint_ko": "반복문에서는 가끔만 출력하세요: if i % 100 == 0: print(...)",
    },
    "out_of_memory": {
        "en": "The program ran out of memory.",
        "ko": "프로그램 실행 중 메모리가 부족합니다.",
        "hint_en": "Use smaller tensors.",
        "hint_ko": "더 작은 텐서를 사용해 보세요.",
    },
}

REFUSALS: dict[str, messages.Entry] = {
    "call_not_allowed": {
        "en": "Calling {what} is not allowed here.",
        "ko": "{what}은(는) 여기서 호출할 수 없습니다.",
        "hint_en": "Only the curated functions of torch, nn, F, optim, np, math and the safe builtins "
        + "can be called.",
        "hint_ko": "torch, nn, F, optim, np, math의 지정된 함수와 안전한 내장 함수만 호출할 수 있습니다.",
    },
    "kwarg_not_allowed": {
        "en": "The keyword argument `{name}=` is not allowed in {func}.",
        "ko": "{func}에는 `{name}=` 키워드 인자를 쓸 수 없습니다.",
        "hint_en": "Remove this keyword argument; the common arguments of the course "
        + "(dtype, device, requires_grad, dim...) are accepted.",
        "hint_ko": "이 키워드 인자를 빼 보세요. "
        + "과정에서 쓰는 인자(dtype, device, requires_grad, dim 등)는 쓸 수 있습니다.",
    },
    "value_not_allowed": {
        "en": "{what} cannot be passed to {func}.",
        "ko": "{func}에 {what}을(를) 넘길 수 없습니다.",
        "hint_en": "Functions cannot be passed as values (no callbacks or hooks on a shared server).",
        "hint_ko": "함수는 값으로 넘길 수 없습니다 (공용 서버에서는 콜백이나 훅을 쓸 수 없습니다).",
    },
    "with_not_allowed": {
        "en": "`with` works only with torch.no_grad(), torch.enable_grad() or torch.inference_mode().",
        "ko": "`with`는 torch.no_grad(), torch.enable_grad(), torch.inference_mode()와만 쓸 수 있습니다.",
        "hint_en": "Use `with torch.no_grad():` to update parameters without recording a graph.",
        "hint_ko": "그래프를 기록하지 않고 파라미터를 갱신하려면 `with torch.no_grad():`를 쓰세요.",
    },
    "name_undefined": {
        "en": "`{name}` is not defined.",
        "ko": "`{name}`이(가) 정의되지 않았습니다.",
        "hint_en": "Assign it before using it (check the spelling).",
        "hint_ko": "사용하기 전에 먼저 대입하세요 (철자도 확인해 보세요).",
    },
    "not_iterable": {
        "en": "A for loop cannot go over {what}.",
        "ko": "for 반복문은 {what}을(를) 순회할 수 없습니다.",
        "hint_en": "Loop over range(n), a list, a tuple or a tensor.",
        "hint_ko": "range(n), 리스트, 튜플, 텐서를 순회하세요.",
    },
    "unpack_mismatch": {
        "en": "Cannot unpack {size} values into {expected} names.",
        "ko": "값 {size}개를 이름 {expected}개에 나눠 담을 수 없습니다.",
        "hint_en": "Use as many names on the left as there are values on the right.",
        "hint_ko": "왼쪽 이름의 개수를 오른쪽 값의 개수와 맞추세요.",
    },
    "output_not_found": {
        "en": "The program has no variable `{name}`.",
        "ko": "프로그램에 `{name}` 변수가 없습니다.",
        "hint_en": "Name a variable the program assigns, such as loss or y.",
        "hint_ko": "loss나 y처럼 프로그램이 대입하는 변수 이름을 지정하세요.",
    },
    "output_not_tensor": {
        "en": "`{name}` is not a tensor, so it cannot be the graph's output.",
        "ko": "`{name}`은(는) 텐서가 아니므로 그래프의 출력이 될 수 없습니다.",
        "hint_en": "Name a tensor variable, such as the loss.",
        "hint_ko": "loss처럼 텐서인 변수를 지정하세요.",
    },
    "device_invalid": {
        "en": "`{device}` is not a device here; use 'cpu' or 'cuda'.",
        "ko": "`{device}`은(는) 여기서 쓸 수 있는 장치가 아닙니다. 'cpu'나 'cuda'를 쓰세요.",
        "hint_en": "Write torch.device('cuda' if torch.cuda.is_available() else 'cpu').",
        "hint_ko": "torch.device('cuda' if torch.cuda.is_available() else 'cpu')처럼 쓰세요.",
    },
    "device_unavailable": {
        "en": "The device `{device}` is not available on this server.",
        "ko": "이 서버에는 `{device}` 장치가 없습니다.",
        "hint_en": "Write device = torch.device('cuda' if torch.cuda.is_available() else 'cpu') "
        + "and use .to(device).",
        "hint_ko": "device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')로 정하고 "
        + ".to(device)를 쓰세요.",
    },
    "break_outside_loop": {
        "en": "`{what}` is only allowed inside a for loop.",
        "ko": "`{what}`는 for 반복문 안에서만 쓸 수 있습니다.",
        "hint_en": "Put it inside a for loop.",
        "hint_ko": "for 반복문 안에 넣으세요.",
    },
}

EXPLANATIONS: dict[str, messages.Entry] = {
    "mixed_devices": {
        "en": "The tensors of this operation are on different devices (CPU and GPU).",
        "ko": "이 연산의 텐서들이 서로 다른 장치(CPU와 GPU)에 있습니다.",
        "hint_en": "Tensors on different devices cannot be combined: move them with .to(device) first.",
        "hint_ko": "서로 다른 장치의 텐서끼리는 연산할 수 없습니다. 먼저 .to(device)로 같은 장치로 옮기세요.",
    },
    "inplace_leaf": {
        "en": "An in-place operation (such as `+=` or `add_`) changes a leaf tensor that requires grad.",
        "ko": "in-place 연산(`+=`, `add_` 등)이 requires_grad=True인 리프 텐서를 바꾸려 합니다.",
        "hint_en": "Autograd needs the original value: write x = x + 1, or update parameters inside "
        + "`with torch.no_grad():`.",
        "hint_ko": "autograd는 원래 값이 필요합니다. x = x + 1로 쓰거나, 파라미터 갱신은 "
        + "`with torch.no_grad():` 안에서 하세요.",
    },
    "inplace_modified": {
        "en": "A tensor needed for the gradient was changed in place after it was used.",
        "ko": "기울기 계산에 필요한 텐서가 사용된 뒤 in-place로 바뀌었습니다.",
        "hint_en": "Use out-of-place operations (y = y * 2 instead of y *= 2).",
        "hint_ko": "in-place가 아닌 연산을 쓰세요 (y *= 2 대신 y = y * 2).",
    },
    "backward_twice": {
        "en": "backward() ran through the same graph a second time, but its saved values were freed.",
        "ko": "같은 그래프로 backward()를 두 번 실행했는데, 첫 번째 실행 후 저장된 값이 해제되었습니다.",
        "hint_en": "Call backward(retain_graph=True) the first time, or recompute the forward pass.",
        "hint_ko": "첫 번째 호출에서 backward(retain_graph=True)를 쓰거나 순전파를 다시 계산하세요.",
    },
    "grad_non_scalar": {
        "en": "backward() without arguments works only on a scalar (one-element) output.",
        "ko": "인자 없는 backward()는 스칼라(원소 하나) 출력에서만 쓸 수 있습니다.",
        "hint_en": "Reduce it first (y.sum().backward() or y.mean().backward()), "
        + "or pass gradient=torch.ones_like(y).",
        "hint_ko": "먼저 줄이세요 (y.sum().backward(), y.mean().backward()). "
        + "또는 gradient=torch.ones_like(y)를 넘기세요.",
    },
    "no_grad_fn": {
        "en": "This tensor is not part of a graph: nothing it came from requires grad.",
        "ko": "이 텐서는 그래프에 연결되어 있지 않습니다: requires_grad=True인 입력이 없습니다.",
        "hint_en": "Create the inputs with requires_grad=True, "
        + "and do not compute the output under torch.no_grad().",
        "hint_ko": "입력을 requires_grad=True로 만들고, 출력을 torch.no_grad() 안에서 계산하지 마세요.",
    },
    "matmul_shape": {
        "en": "These shapes cannot be matrix-multiplied ({detail}).",
        "ko": "이 모양끼리는 행렬 곱을 할 수 없습니다 ({detail}).",
        "hint_en": "For A @ B the last dimension of A must equal the first dimension of B "
        + "(use .T or .reshape).",
        "hint_ko": "A @ B는 A의 마지막 차원과 B의 첫 차원이 같아야 합니다 (.T나 .reshape을 써 보세요).",
    },
    "int_requires_grad": {
        "en": "Only floating-point tensors can require grad; this one holds integers.",
        "ko": "실수형 텐서만 requires_grad=True가 될 수 있는데, 이 텐서는 정수형입니다.",
        "hint_en": "Write the numbers as floats (2.0) or pass dtype=torch.float32.",
        "hint_ko": "숫자를 실수(2.0)로 쓰거나 dtype=torch.float32를 넘기세요.",
    },
    "numpy_requires_grad": {
        "en": ".numpy() cannot be called on a tensor that requires grad.",
        "ko": "requires_grad=True인 텐서에서는 .numpy()를 호출할 수 없습니다.",
        "hint_en": "Detach it first: x.detach().numpy().",
        "hint_ko": "먼저 떼어 내세요: x.detach().numpy().",
    },
    "shape_mismatch": {
        "en": "The shapes of these tensors do not match and cannot be broadcast together.",
        "ko": "두 텐서의 모양이 맞지 않아 브로드캐스팅할 수 없습니다.",
        "hint_en": "Broadcasting matches dimensions from the right: each pair must be equal or 1.",
        "hint_ko": "브로드캐스팅은 오른쪽 차원부터 맞춥니다. 각 차원은 같거나 1이어야 합니다.",
    },
    "view_shape": {
        "en": "The new shape does not have the same number of elements as the tensor.",
        "ko": "새 모양의 원소 개수가 텐서의 원소 개수와 다릅니다.",
        "hint_en": "The product of the new dimensions must equal x.numel(); -1 lets PyTorch compute one.",
        "hint_ko": "새 차원들의 곱은 x.numel()과 같아야 합니다. -1을 쓰면 한 차원을 자동으로 계산합니다.",
    },
    "dtype_mismatch": {
        "en": "The tensors of this operation have different data types.",
        "ko": "이 연산의 텐서들의 데이터 타입이 서로 다릅니다.",
        "hint_en": "Convert one of them, e.g. x.float() or dtype=torch.float32.",
        "hint_ko": "한쪽을 변환하세요. 예: x.float() 또는 dtype=torch.float32.",
    },
    "nonleaf_requires_grad": {
        "en": "requires_grad can only be changed on leaf tensors (ones you created directly).",
        "ko": "requires_grad는 직접 만든 리프 텐서에서만 바꿀 수 있습니다.",
        "hint_en": "Use y = y.detach() to get a leaf, then set requires_grad on it.",
        "hint_ko": "y = y.detach()로 리프 텐서를 만든 뒤 requires_grad를 설정하세요.",
    },
    "torch_error": {
        "en": _TORCH_SAYS_EN,
        "ko": _TORCH_SAYS_KO,
        "hint_en": "Read PyTorch's message above: it names the operation and the shapes or types involved.",
        "hint_ko": "위의 PyTorch 메시지를 읽어 보세요. 어떤 연산과 모양/타입이 문제인지 알려 줍니다.",
    },
    "op_not_bounded": {
        "en": "`{name}` cannot be sized before it runs with these arguments, so it is not run here.",
        "ko": "`{name}`은(는) 이 인자로는 실행 전에 크기를 알 수 없어 여기서 실행하지 않습니다.",
        "hint_en": "Its output's size depends on the data in a way the sandbox cannot bound; "
        "try another way to write the same step.",
        "hint_ko": "출력 크기가 데이터에 따라 달라져 샌드박스가 제한할 수 없습니다. "
        "같은 계산을 다른 방법으로 써 보세요.",
    },
    "too_many_outputs": {
        "en": "This call would return {size} tensors (the limit is {limit}).",
        "ko": "이 호출은 텐서 {size}개를 돌려줍니다 (한도 {limit}개).",
        "hint_en": "Split into fewer, larger pieces, or index the rows you need.",
        "hint_ko": "더 적고 큰 조각으로 나누거나 필요한 행만 인덱싱하세요.",
    },
    "program_code_after_run": {
        "en": "`{name}` is the program's own code, and the program has finished.",
        "ko": "`{name}`은(는) 프로그램의 코드인데 프로그램이 이미 끝났습니다.",
        "hint_en": "Call it while the program runs (e.g. call backward() in the program).",
        "hint_ko": "프로그램이 실행되는 동안 호출하세요 (예: 프로그램 안에서 backward()를 호출).",
    },
    "recursion_too_deep": {
        "en": "`{name}` calls itself (or other functions) too deeply ({limit} calls inside one another).",
        "ko": "`{name}`이(가) 너무 깊게 재귀 호출됩니다 (서로 안에서 {limit}번 호출).",
        "hint_en": "Check the stopping condition of the recursion, or use a loop.",
        "hint_ko": "재귀의 종료 조건을 확인하거나 반복문을 쓰세요.",
    },
    "base_not_allowed": {
        "en": "A class here cannot inherit from `{what}`.",
        "ko": "여기서는 클래스가 `{what}`을(를) 상속할 수 없습니다.",
        "hint_en": "Subclass nn.Module, torch.autograd.Function, Dataset, Exception, "
        "your own classes or nothing.",
        "hint_ko": "nn.Module, torch.autograd.Function, Dataset, Exception, 직접 만든 클래스를 "
        "상속하거나 아무것도 상속하지 마세요.",
    },
    "member_not_allowed": {
        "en": "A subclass of {base} cannot redefine `{name}`.",
        "ko": "{base}의 하위 클래스는 `{name}`을(를) 다시 정의할 수 없습니다.",
        "hint_en": "Choose another name: {base} uses this one itself (a module defines forward, "
        "a Function forward and backward as @staticmethod).",
        "hint_ko": "다른 이름을 쓰세요. {base}가 직접 쓰는 이름입니다 (모듈은 forward, "
        "Function은 @staticmethod로 forward와 backward를 정의합니다).",
    },
    "python_error": {
        "en": "{kind}: {detail}",
        "ko": "{kind}: {detail}",
        "hint_en": "Check the values on this line: their types, lengths and indices.",
        "hint_ko": "이 줄의 값들의 타입, 길이, 인덱스를 확인해 보세요.",
    },
}

messages.register(LIMITS)
messages.register(REFUSALS)
messages.register(EXPLANATIONS)
messages.register(
    {
        "index_not_allowed": {
            "en": "A value of type `{what}` cannot be indexed or assigned into here.",
            "ko": "`{what}` 타입의 값은 여기서 인덱싱하거나 항목을 대입할 수 없습니다.",
            "hint_en": "Index tensors, arrays, lists, tuples and strings; "
            + "item assignment works on tensors, arrays and lists.",
            "hint_ko": "텐서, 배열, 리스트, 튜플, 문자열은 인덱싱할 수 있고, "
            + "항목 대입은 텐서, 배열, 리스트에만 됩니다.",
        },
    }
)
