"""Per-node rules: names, attributes, imports, assignment targets, f-string specs.

``check_node`` looks at one node at a time (``ast.walk`` visits every field of
every node, so nothing hides in an unusual position) and returns the error to
raise, or ``None``.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from gradtrace.core.errors import GradtraceError
from gradtrace.sandbox.rules import (
    ALLOWED_NODES,
    COMPILE_ATTRS,
    FILE_ATTRS,
    FORBIDDEN_BUILTINS,
    FORMAT_SPEC,
    FUNC_ATTRS,
    FUNC_MODULES,
    IMPORTABLE,
    syntax_name,
)

Rule = Callable[[ast.AST, frozenset[str]], GradtraceError | None]


def stored_names(tree: ast.AST) -> frozenset[str]:
    """Every name the program itself binds (a variable called ``input`` is fine)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.alias):
            names.add(node.asname or node.name.split(".")[0])
    return frozenset(names)


def check_node(node: ast.AST, bound: frozenset[str]) -> GradtraceError | None:
    rule = _RULES.get(type(node))
    return rule(node, bound) if rule is not None else None


def _not_allowed(code: str, **params: object) -> GradtraceError:
    return GradtraceError("not_allowed", code, dict(params))


def _name(node: ast.AST, bound: frozenset[str]) -> GradtraceError | None:
    assert isinstance(node, ast.Name)
    if node.id.startswith("_"):
        return _not_allowed("private_name", name=node.id)
    if isinstance(node.ctx, ast.Load) and node.id in FORBIDDEN_BUILTINS and node.id not in bound:
        if node.id == "open":
            return _not_allowed("file_access_not_allowed", name=node.id)
        return _not_allowed("name_not_allowed", name=node.id)
    return None


def attribute_refusal(attr: str) -> GradtraceError | None:
    """A better message for attribute names that are refused on every object."""
    if attr.startswith("_"):
        return _not_allowed("private_name", name=attr)
    if attr in COMPILE_ATTRS:
        return _not_allowed("compile_not_allowed")
    if attr in FUNC_ATTRS:
        return _not_allowed("func_not_allowed")
    if attr in FILE_ATTRS:
        return _not_allowed("file_access_not_allowed", name=attr)
    if attr.startswith("set_") or attr in {"use_deterministic_algorithms", "seed"}:
        return _not_allowed("global_state_not_allowed", name=attr)
    return None


def _attribute(node: ast.AST, bound: frozenset[str]) -> GradtraceError | None:
    assert isinstance(node, ast.Attribute)
    refusal = attribute_refusal(node.attr)
    if refusal is not None:
        return refusal
    if isinstance(node.ctx, ast.Store) and node.attr != "requires_grad":
        return _not_allowed("assign_not_allowed", attr=node.attr)
    return None


def _import(node: ast.AST, bound: frozenset[str]) -> GradtraceError | None:
    assert isinstance(node, ast.Import)
    for alias in node.names:
        error = _module_refusal(alias.name)
        if error is not None:
            return error
    return None


def _import_from(node: ast.AST, bound: frozenset[str]) -> GradtraceError | None:
    assert isinstance(node, ast.ImportFrom)
    module = node.module or ""
    if node.level:
        return _not_allowed("import_not_allowed", module="." * node.level + module)
    error = _module_refusal(module)
    if error is not None:
        return error
    for alias in node.names:
        if alias.name == "*" or alias.name.startswith("_"):
            return _not_allowed("import_not_allowed", module=f"{module}.{alias.name}")
        full = f"{module}.{alias.name}"
        if full in FUNC_MODULES or alias.name in FUNC_ATTRS:
            return _not_allowed("func_not_allowed")
    return None


def _module_refusal(module: str) -> GradtraceError | None:
    if module in IMPORTABLE:
        return None
    if module in FUNC_MODULES or module.startswith("torch.func."):
        return _not_allowed("func_not_allowed")
    return _not_allowed("import_not_allowed", module=module)


def _constant(node: ast.AST, bound: frozenset[str]) -> GradtraceError | None:
    assert isinstance(node, ast.Constant)
    if node.value is None or node.value is Ellipsis or type(node.value) in (bool, int, float, str):
        return None
    return _not_allowed("syntax_not_allowed", what=type(node.value).__name__)


def _operator(node: ast.AST, bound: frozenset[str]) -> GradtraceError | None:
    op = getattr(node, "op", None)
    if op is not None and type(op) not in ALLOWED_NODES:
        return _not_allowed("syntax_not_allowed", what=syntax_name(op))
    return None


def _assign(node: ast.AST, bound: frozenset[str]) -> GradtraceError | None:
    assert isinstance(node, ast.Assign)
    for target in node.targets:
        error = _target(target, allow_attribute=True)
        if error is not None:
            return error
    return None


def _ann_assign(node: ast.AST, bound: frozenset[str]) -> GradtraceError | None:
    assert isinstance(node, ast.AnnAssign)
    if node.value is None or not isinstance(node.target, ast.Name):
        return _not_allowed("syntax_not_allowed", what="annotation without a value")
    return None


def _aug_assign(node: ast.AST, bound: frozenset[str]) -> GradtraceError | None:
    assert isinstance(node, ast.AugAssign)
    if not isinstance(node.target, ast.Name | ast.Subscript):
        return _not_allowed("syntax_not_allowed", what="augmented assignment to an attribute")
    return _operator(node, bound)


def _for(node: ast.AST, bound: frozenset[str]) -> GradtraceError | None:
    assert isinstance(node, ast.For)
    if node.orelse:
        return _not_allowed("syntax_not_allowed", what="for ... else")
    return _target(node.target, allow_attribute=False)


def _comprehension(node: ast.AST, bound: frozenset[str]) -> GradtraceError | None:
    assert isinstance(node, ast.comprehension)
    if node.is_async:
        return _not_allowed("async_not_allowed")
    return _target(node.target, allow_attribute=False)


def _with(node: ast.AST, bound: frozenset[str]) -> GradtraceError | None:
    assert isinstance(node, ast.With)
    if any(item.optional_vars is not None for item in node.items):
        return _not_allowed("syntax_not_allowed", what="with ... as")
    return None


def _target(target: ast.expr, *, allow_attribute: bool) -> GradtraceError | None:
    """Assignment targets: names, tuples/lists of names, subscripts, `t.requires_grad`."""
    if isinstance(target, ast.Name | ast.Subscript):
        return None
    if isinstance(target, ast.Attribute) and allow_attribute:
        return None  # the attribute rule allows only `requires_grad`
    if isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            error = _target(element, allow_attribute=allow_attribute)
            if error is not None:
                return error
        return None
    return _not_allowed("syntax_not_allowed", what=f"assignment to {syntax_name(target)}")


def _starred(node: ast.AST, bound: frozenset[str]) -> GradtraceError | None:
    assert isinstance(node, ast.Starred)
    if not isinstance(node.ctx, ast.Load):
        return _not_allowed("syntax_not_allowed", what="starred assignment")
    return None


def _keyword(node: ast.AST, bound: frozenset[str]) -> GradtraceError | None:
    assert isinstance(node, ast.keyword)
    if node.arg is None:
        return _not_allowed("syntax_not_allowed", what="**keyword arguments")
    if node.arg.startswith("_"):
        return _not_allowed("private_name", name=node.arg)
    return None


def _formatted(node: ast.AST, bound: frozenset[str]) -> GradtraceError | None:
    assert isinstance(node, ast.FormattedValue)
    spec = node.format_spec
    if spec is None:
        return None
    parts = spec.values if isinstance(spec, ast.JoinedStr) else [spec]
    if not all(isinstance(p, ast.Constant) and isinstance(p.value, str) for p in parts):
        return _not_allowed("format_not_allowed", spec="{...}")
    text = "".join(str(p.value) for p in parts if isinstance(p, ast.Constant))
    if not FORMAT_SPEC.fullmatch(text):
        return _not_allowed("format_not_allowed", spec=text)
    return None


_RULES: dict[type[ast.AST], Rule] = {
    ast.Name: _name,
    ast.Attribute: _attribute,
    ast.Import: _import,
    ast.ImportFrom: _import_from,
    ast.Constant: _constant,
    ast.BinOp: _operator,
    ast.Assign: _assign,
    ast.AnnAssign: _ann_assign,
    ast.AugAssign: _aug_assign,
    ast.For: _for,
    ast.comprehension: _comprehension,
    ast.With: _with,
    ast.Starred: _starred,
    ast.keyword: _keyword,
    ast.FormattedValue: _formatted,
}
