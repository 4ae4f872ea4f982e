"""Python's own words in Korean: the common ``SyntaxError`` messages a student meets.

A syntax error's ``reason`` is Python's English text; a Korean student gets it in Korean
when it is one of these. Patterns match the whole message (CPython 3.11-3.13 wording);
anything else stays as Python wrote it.
"""

from __future__ import annotations

import re

_KO: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p), ko)
    for p, ko in (
        (r"invalid syntax", "잘못된 문법"),
        (r"invalid syntax\. Perhaps you forgot a comma\?", "잘못된 문법. 쉼표(,)를 빠뜨리지 않았나요?"),
        (r"invalid syntax\. Maybe you meant '==' or ':=' instead of '='\?",
         "잘못된 문법. '=' 대신 '==' 또는 ':='를 쓰려던 것 아닌가요?"),
        (r"'(.)' was never closed", "'\\1'이(가) 닫히지 않았습니다"),
        (r"unmatched '(.)'", "짝이 맞지 않는 '\\1'"),
        (r"closing parenthesis '(.)' does not match opening parenthesis '(.)'( on line \d+)?",
         "닫는 괄호 '\\1'이(가) 여는 괄호 '\\2'와(과) 짝이 맞지 않습니다"),
        (r"expected ':'", "':'이(가) 필요합니다"),
        (r"expected '(.+)'", "'\\1'이(가) 필요합니다"),
        (r"expected an indented block", "들여쓴 블록이 필요합니다"),
        (r"expected an indented block after '(\w+)' statement on line (\d+)",
         "\\2번째 줄의 '\\1' 문 다음에는 들여쓴 블록이 필요합니다"),
        (r"expected an indented block after (function|class) definition on line (\d+)",
         "\\2번째 줄의 정의 다음에는 들여쓴 블록이 필요합니다"),
        (r"unexpected indent", "예상하지 못한 들여쓰기"),
        (r"unindent does not match any outer indentation level",
         "내어쓰기가 바깥 들여쓰기 수준과 맞지 않습니다"),
        (r"inconsistent use of tabs and spaces in indentation", "들여쓰기에 탭과 공백이 섞여 있습니다"),
        (r"unterminated string literal \(detected at line (\d+)\)",
         "문자열이 끝나지 않았습니다 (\\1번째 줄에서 발견)"),
        (r"unterminated triple-quoted string literal \(detected at line (\d+)\)",
         "삼중 따옴표 문자열이 끝나지 않았습니다 (\\1번째 줄에서 발견)"),
        (r"invalid decimal literal", "잘못된 십진수 표기"),
        (r"invalid character '(.)' \((U\+[0-9A-F]+)\)", "잘못된 문자 '\\1' (\\2)"),
        (r"invalid non-printable character (U\+[0-9A-F]+)", "보이지 않는 잘못된 문자 (\\1)"),
        (r"cannot assign to (.+?) here\. Maybe you meant '==' instead of '='\?",
         "여기서는 \\1에 대입할 수 없습니다. '=' 대신 '=='를 쓰려던 것 아닌가요?"),
        (r"cannot assign to (.+?)( here)?", "\\1에 대입할 수 없습니다"),
        (r"leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal integers",
         "십진 정수는 0으로 시작할 수 없습니다. 8진수라면 앞에 0o를 붙이세요"),
        (r"'return' outside function", "함수 밖의 'return'"),
        (r"'break' outside loop", "반복문 밖의 'break'"),
        (r"'continue' not properly in loop", "반복문 밖의 'continue'"),
        (r"unexpected EOF while parsing", "프로그램이 중간에 끝났습니다"),
        (r"positional argument follows keyword argument", "키워드 인자 뒤에 위치 인자가 왔습니다"),
        (r"Missing parentheses in call to 'print'\. Did you mean print\(\.\.\.\)\?",
         "print 호출에 괄호가 없습니다. print(...)를 쓰려던 것 아닌가요?"),
    )
]


def python_text(text: str, lang: str) -> str:
    """Python's message in the language, when it is a common one; else unchanged."""
    if lang != "ko":
        return text
    for pattern, korean in _KO:  # a specific wording before the general one it would also match
        match = pattern.fullmatch(text)
        if match:
            return _terms(match.expand(korean))
    return text


# What Python says it cannot assign to, in Korean.
_TERM_KO = {
    "literal": "리터럴", "function call": "함수 호출", "expression": "식", "keyword": "키워드",
    "attribute": "속성", "subscript": "첨자", "comparison": "비교식", "conditional expression": "조건식",
}


def _terms(text: str) -> str:
    for english, korean in _TERM_KO.items():
        text = text.replace(f"{english}에 대입", f"{korean}에 대입")
    return text
