"""Messages of the static check (English and Korean), registered at import."""

from __future__ import annotations

from gradtrace.core import messages

_SHARED_SERVER_EN = "Programs run on a shared classroom server, so only plain statements are interpreted."
_SHARED_SERVER_KO = "프로그램은 공용 실습 서버에서 실행되므로 단순한 문장만 해석합니다."

MESSAGES: dict[str, messages.Entry] = {
    "syntax_error": {
        "en": "This is not valid Python: {reason}.",
        "ko": "올바른 파이썬 문법이 아닙니다: {reason}.",
        "hint_en": "Check brackets, quotes, colons and indentation on this line.",
        "hint_ko": "이 줄의 괄호, 따옴표, 콜론, 들여쓰기를 확인해 보세요.",
    },
    "source_too_long": {
        "en": "The program is too long ({size} characters; the limit is {limit}).",
        "ko": "프로그램이 너무 깁니다 ({size}자, 한도 {limit}자).",
        "hint_en": "Keep only the part of the lesson you want to see as a graph.",
        "hint_ko": "그래프로 보고 싶은 부분만 남겨 보세요.",
    },
    "too_many_lines": {
        "en": "The program has too many lines ({size}; the limit is {limit}).",
        "ko": "프로그램의 줄 수가 너무 많습니다 ({size}줄, 한도 {limit}줄).",
        "hint_en": "Keep only the part of the lesson you want to see as a graph.",
        "hint_ko": "그래프로 보고 싶은 부분만 남겨 보세요.",
    },
    "too_deep": {
        "en": "Expressions or blocks are nested too deeply (the limit is {limit} levels).",
        "ko": "식이나 블록이 너무 깊게 중첩되어 있습니다 (한도 {limit}단계).",
        "hint_en": "Split the expression into several assignments.",
        "hint_ko": "식을 여러 개의 대입문으로 나누어 보세요.",
    },
    "too_many_nodes": {
        "en": "The program is too large to check ({limit} syntax elements at most).",
        "ko": "프로그램이 너무 커서 검사할 수 없습니다 (구문 요소 최대 {limit}개).",
        "hint_en": "Keep only the part of the lesson you want to see as a graph.",
        "hint_ko": "그래프로 보고 싶은 부분만 남겨 보세요.",
    },
    "int_too_large": {
        "en": "This integer would be too large (more than {limit} bits).",
        "ko": "정수가 너무 커집니다 ({limit}비트 초과).",
        "hint_en": "Use smaller numbers, or a float tensor.",
        "hint_ko": "더 작은 수나 실수 텐서를 사용해 보세요.",
    },
    "sequence_too_long": {
        "en": "This string or list would be too long ({size} items; the limit is {limit}).",
        "ko": "문자열이나 리스트가 너무 길어집니다 ({size}개, 한도 {limit}개).",
        "hint_en": "Use a tensor for large data: torch.zeros(n) instead of [0] * n.",
        "hint_ko": "큰 데이터는 텐서로 만드세요: [0] * n 대신 torch.zeros(n).",
    },
    "syntax_not_allowed": {
        "en": "`{what}` is not supported here.",
        "ko": "`{what}` 문법은 여기서 지원하지 않습니다.",
        "hint_en": _SHARED_SERVER_EN
        + " Use assignments, if, for over range/lists, with torch.no_grad(), print.",
        "hint_ko": _SHARED_SERVER_KO
        + " 대입, if, range/리스트에 대한 for, with torch.no_grad(), print를 쓰세요.",
    },
    "def_not_allowed": {
        "en": "Defining functions (`def`) is not supported here.",
        "ko": "함수 정의(`def`)는 여기서 지원하지 않습니다.",
        "hint_en": "Write the function body inline: y = x**2 + 3*x + 1. "
        + "User functions could run unbounded code on the shared server.",
        "hint_ko": "함수 본문을 직접 적어 주세요: y = x**2 + 3*x + 1. "
        + "사용자 함수는 공용 서버에서 제한 없이 실행될 수 있어 막혀 있습니다.",
    },
    "class_not_allowed": {
        "en": "Defining classes (such as `class MyModel(nn.Module)`) is not supported here.",
        "ko": "클래스 정의(`class MyModel(nn.Module)` 등)는 여기서 지원하지 않습니다.",
        "hint_en": "Build the model with nn.Sequential(nn.Linear(...), nn.ReLU(), ...) instead.",
        "hint_ko": "대신 nn.Sequential(nn.Linear(...), nn.ReLU(), ...)로 모델을 만들어 보세요.",
    },
    "lambda_not_allowed": {
        "en": "`lambda` is not supported here.",
        "ko": "`lambda`는 여기서 지원하지 않습니다.",
        "hint_en": "Write the expression directly where you need it.",
        "hint_ko": "필요한 곳에 식을 직접 적어 주세요.",
    },
    "while_not_allowed": {
        "en": "`while` loops are not supported here.",
        "ko": "`while` 반복문은 여기서 지원하지 않습니다.",
        "hint_en": "Use a bounded loop: for i in range(100):",
        "hint_ko": "횟수가 정해진 반복문을 쓰세요: for i in range(100):",
    },
    "try_not_allowed": {
        "en": "`try`/`except` is not supported here.",
        "ko": "`try`/`except`는 여기서 지원하지 않습니다.",
        "hint_en": "Errors are shown with their line; there is no need to catch them.",
        "hint_ko": "오류는 줄 번호와 함께 표시되므로 잡을 필요가 없습니다.",
    },
    "global_not_allowed": {
        "en": "`global` and `nonlocal` are not supported here.",
        "ko": "`global`, `nonlocal`은 여기서 지원하지 않습니다.",
        "hint_en": "The program has a single namespace: assign the variable directly.",
        "hint_ko": "프로그램에는 이름 공간이 하나뿐입니다. 변수에 바로 대입하세요.",
    },
    "generator_not_allowed": {
        "en": "Generators (`yield`, `(... for ...)`) are not supported here.",
        "ko": "제너레이터(`yield`, `(... for ...)`)는 여기서 지원하지 않습니다.",
        "hint_en": "Use a list comprehension: [x * 2 for x in values].",
        "hint_ko": "리스트 컴프리헨션을 쓰세요: [x * 2 for x in values].",
    },
    "async_not_allowed": {
        "en": "`async`/`await` is not supported here.",
        "ko": "`async`/`await`는 여기서 지원하지 않습니다.",
        "hint_en": "Programs run step by step; write the statements without async/await.",
        "hint_ko": "프로그램은 한 단계씩 실행됩니다. async/await 없이 작성하세요.",
    },
    "import_not_allowed": {
        "en": "Importing `{module}` is not allowed.",
        "ko": "`{module}`은(는) import할 수 없습니다.",
        "hint_en": "torch, torch.nn as nn, torch.nn.functional as F, torch.optim as optim, "
        + "numpy as np and math are already available.",
        "hint_ko": "torch, torch.nn as nn, torch.nn.functional as F, torch.optim as optim, "
        + "numpy as np, math는 이미 준비되어 있습니다.",
    },
    "name_not_allowed": {
        "en": "`{name}` is not available here.",
        "ko": "`{name}`은(는) 여기서 사용할 수 없습니다.",
        "hint_en": "Available: torch, nn, F, optim, np, math, random, device and the builtins "
        + "a PyTorch program uses (print, range, len, list, dict, map, sorted, isinstance, super…); "
        + "nothing that opens files, runs other code or reaches the server.",
        "hint_ko": "torch, nn, F, optim, np, math, random, device와 PyTorch 프로그램이 쓰는 내장 함수"
        + "(print, range, len, list, dict, map, sorted, isinstance, super…)를 쓸 수 있습니다. "
        + "파일을 열거나 다른 코드를 실행하거나 서버에 접근하는 것은 쓸 수 없습니다.",
    },
    "private_name": {
        "en": "`{name}` is an internal name, which is not allowed here.",
        "ko": "`{name}`은(는) 내부 이름이라 여기서 쓸 수 없습니다.",
        "hint_en": "Internal attributes are closed so that programs cannot escape the sandbox.",
        "hint_ko": "프로그램이 샌드박스를 벗어나지 못하도록 내부 속성은 막혀 있습니다.",
    },
    "attribute_not_allowed": {
        "en": "`{attr}` is not available on {owner}.",
        "ko": "{owner}에서는 `{attr}`을(를) 쓸 수 없습니다.",
        "hint_en": "Only the tensor, module and optimizer features of the PyTorch basics course "
        + "are available.",
        "hint_ko": "PyTorch 기초 과정의 텐서, 모듈, 옵티마이저 기능만 쓸 수 있습니다.",
    },
    "file_access_not_allowed": {
        "en": "`{name}` reads or writes files or processes, which is not allowed here.",
        "ko": "`{name}`은(는) 파일이나 프로세스에 접근하므로 여기서 쓸 수 없습니다.",
        "hint_en": "Programs run on a shared server: keep data in tensors and print it.",
        "hint_ko": "프로그램은 공용 서버에서 실행됩니다: 데이터는 텐서에 두고 print로 확인하세요.",
    },
    "global_state_not_allowed": {
        "en": "`{name}` changes global PyTorch settings, which is not allowed here.",
        "ko": "`{name}`은(는) PyTorch 전역 설정을 바꾸므로 여기서 쓸 수 없습니다.",
        "hint_en": "Pass dtype=... or device=... to each call instead; torch.manual_seed(n) is allowed.",
        "hint_ko": "대신 각 호출에 dtype=... 이나 device=... 를 넘기세요. "
        + "torch.manual_seed(n)은 쓸 수 있습니다.",
    },
    "compile_not_allowed": {
        "en": "`torch.compile` is not supported here.",
        "ko": "`torch.compile`은 여기서 지원하지 않습니다.",
        "hint_en": "Compiling generates and runs native code, which a shared server cannot allow; "
        + "the model runs the same without it.",
        "hint_ko": "컴파일은 네이티브 코드를 만들어 실행하므로 공용 서버에서 허용할 수 없습니다. "
        + "컴파일 없이도 모델은 똑같이 동작합니다.",
    },
    "func_not_allowed": {
        "en": "`torch.func` (vmap, grad, jacrev) is not supported here.",
        "ko": "`torch.func`(vmap, grad, jacrev)는 여기서 지원하지 않습니다.",
        "hint_en": "Function transforms need user-defined functions, which cannot run here; "
        + "use .backward() and read .grad instead.",
        "hint_ko": "함수 변환에는 사용자 정의 함수가 필요해 여기서 실행할 수 없습니다. "
        + ".backward()를 호출하고 .grad를 읽어 보세요.",
    },
    "format_not_allowed": {
        "en": "This format specification (`{spec}`) is not allowed.",
        "ko": "이 형식 지정(`{spec}`)은 쓸 수 없습니다.",
        "hint_en": "Use simple f-string specs such as {{x:.4f}}, {{n:>8}} or {{n:,d}}.",
        "hint_ko": "{{x:.4f}}, {{n:>8}}, {{n:,d}} 같은 간단한 f-string 형식을 쓰세요.",
    },
}

MESSAGES.update(
    {
        "dunder_not_allowed": {
            "en": "A class here cannot define `{name}`.",
            "ko": "여기서는 클래스에 `{name}`을(를) 정의할 수 없습니다.",
            "hint_en": "Python would call it behind the program's back. A class may define __init__, "
            + "__repr__/__str__, __call__, __len__, __getitem__, __iter__ and the operators "
            + "(__add__, __mul__, __eq__…).",
            "hint_ko": "파이썬이 프로그램 모르게 호출하는 메서드입니다. 클래스에는 __init__, "
            + "__repr__/__str__, __call__, __len__, __getitem__, __iter__와 연산자"
            + "(__add__, __mul__, __eq__…)를 정의할 수 있습니다.",
        },
        "decorator_not_allowed": {
            "en": "The decorator `@{what}` is not supported here.",
            "ko": "데코레이터 `@{what}`은(는) 여기서 지원하지 않습니다.",
            "hint_en": "Available decorators: @staticmethod, @classmethod, @property, @torch.no_grad().",
            "hint_ko": "쓸 수 있는 데코레이터: @staticmethod, @classmethod, @property, @torch.no_grad().",
        },
        "annotation_not_allowed": {
            "en": "A type annotation may only name types (found `{what}`).",
            "ko": "타입 표기에는 타입 이름만 쓸 수 있습니다 (`{what}` 발견).",
            "hint_en": "Write `x: torch.Tensor` or `-> float`; annotations are not run here.",
            "hint_ko": "`x: torch.Tensor`나 `-> float`처럼 쓰세요. 타입 표기는 실행되지 않습니다.",
        },
        "class_keyword_not_allowed": {
            "en": "`class …({name}=…)` is not supported here.",
            "ko": "`class …({name}=…)`는 여기서 지원하지 않습니다.",
            "hint_en": "Metaclasses and class keywords would run code when the class is made; "
            + "subclass nn.Module, torch.autograd.Function, Dataset, Exception or nothing.",
            "hint_ko": "메타클래스와 클래스 키워드는 클래스를 만들 때 코드를 실행합니다. "
            + "nn.Module, torch.autograd.Function, Dataset, Exception을 상속하거나 아무것도 상속하지 마세요.",
        },
        "class_body_not_allowed": {
            "en": "A class body here holds methods and attributes only (found {what}).",
            "ko": "여기서 클래스 본문에는 메서드와 속성만 둘 수 있습니다 ({what} 발견).",
            "hint_en": "Move other statements into __init__ or a method.",
            "hint_ko": "다른 문장은 __init__이나 메서드 안으로 옮기세요.",
        },
    }
)
messages.register(MESSAGES)
messages.register(
    {
        "assign_not_allowed": {
            "en": "Assigning to `.{attr}` is not allowed; only `tensor.requires_grad = ...` is.",
            "ko": "`.{attr}`에는 대입할 수 없습니다. `tensor.requires_grad = ...`만 가능합니다.",
            "hint_en": "Programs may change their own variables, not objects provided by the sandbox.",
            "hint_ko": "프로그램은 자신의 변수만 바꿀 수 있고, 샌드박스가 제공하는 객체는 바꿀 수 없습니다.",
        },
    }
)
