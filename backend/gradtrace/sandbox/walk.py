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
    CLASS_DUNDERS,
    COMPILE_ATTRS,
    DECORATOR_NAMES,
    FILE_ATTRS,
    FORBIDDEN_BUILTINS,
    FORMAT_SPEC,
    FUNC_ATTRS,
    FUNC_MODULES,
    IMPORTABLE,
    READABLE_DUNDERS,
    is_dunder,
    syntax_name,
)

Rule = Callable[[ast.AST, frozenset[str]], GradtraceError | None]


def stored_names(tree: ast.AST) -> frozenset[str]:
    """Every name the program itself binds (a variable called ``input`` is fine)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            names.add(node.id)
        elif isinstance(node, ast.alias):
            names.add(node.asname or node.name.split(".")[0])
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            names.update(node.names)
    return frozenset(names)


def check_node(node: ast.AST, bound: frozenset[str]) -> GradtraceError | None:
    rule = _RULES.get(type(node))
    return rule(node, bound) if rule is not None else None


def _not_allowed(code: str, **params: object) -> GradtraceError:
    return GradtraceError("not_allowed", code, dict(params))


def _name(node: ast.AST, bound: frozenset[str]) -> GradtraceError | None:
    assert isinstance(node, ast.Name)
    if is_dunder(node.id) and (node.id != "__name__" or not isinstance(node.ctx, ast.Load)):
        return _not_allowed("private_name", name=node.id)
    if isinstance(node.ctx, ast.Load) and node.id in FORBIDDEN_BUILTINS and node.id not in bound:
        if node.id == "open":
            return _not_allowed("file_access_not_allowed", name=node.id)
        return _not_allowed("name_not_allowed", name=node.id)
    return None


RUN_SCOPED_SETTERS = frozenset({"set_grad_enabled", "set_printoptions"})  # restored when the run ends


def attribute_refusal(attr: str) -> GradtraceError | None:
    """A better message for attribute names that are refused on every object.

    ``_name`` passes here: the run's policy allows it on the program's own objects only.
    """
    if attr.startswith("__") and attr not in READABLE_DUNDERS:
        return _not_allowed("private_name", name=attr)
    if attr in COMPILE_ATTRS:
        return _not_allowed("compile_not_allowed")
    if attr in FILE_ATTRS:
        return _not_allowed("file_access_not_allowed", name=attr)
    if (attr.startswith("set_") and attr not in RUN_SCOPED_SETTERS) or attr == "use_deterministic_algorithms":
        return _not_allowed("global_state_not_allowed", name=attr)
    return None


def _attribute(node: ast.AST, bound: frozenset[str]) -> GradtraceError | None:
    assert isinstance(node, ast.Attribute)
    refusal = attribute_refusal(node.attr)
    if refusal is not None:
        return refusal
    if not isinstance(node.ctx, ast.Load) and node.attr in READABLE_DUNDERS:
        return _not_allowed("assign_not_allowed", attr=node.attr)
    return None  # which objects take which attributes is the run's policy


def _alias_refusal(node: ast.Import | ast.ImportFrom) -> GradtraceError | None:
    """``import torch as __builtins__``: an import binds a name like any assignment."""
    for alias in node.names:
        if alias.asname is not None and alias.asname.startswith("__"):
            return _not_allowed("private_name", name=alias.asname)
    return None


def _import(node: ast.AST, bound: frozenset[str]) -> GradtraceError | None:
    assert isinstance(node, ast.Import)
    refusal = _alias_refusal(node)
    if refusal is not None:
        return refusal
    for alias in node.names:
        error = _module_refusal(alias.name)
        if error is not None:
            return error
    return None


def _import_from(node: ast.AST, bound: frozenset[str]) -> GradtraceError | None:
    assert isinstance(node, ast.ImportFrom)
    refusal = _alias_refusal(node)
    if refusal is not None:
        return refusal
    module = node.module or ""
    if module == "__future__" and not node.level:
        return None  # `from __future__ import print_function`: Python 2 habits, nothing to do
    if node.level:
        return _not_allowed("import_not_allowed", module="." * node.level + module)
    error = _module_refusal(module)
    if error is not None:
        return error
    for alias in node.names:
        if alias.name == "*" or alias.name.startswith("_"):
            return _not_allowed("import_not_allowed", module=f"{module}.{alias.name}")
        full = f"{module}.{alias.name}"
        if full in FUNC_MODULES or (alias.name in FUNC_ATTRS and module != "torch.autograd.functional"):
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
    if node.value is None:
        return _not_allowed("syntax_not_allowed", what="annotation without a value")
    return _target(node.target, allow_attribute=True)


def _aug_assign(node: ast.AST, bound: frozenset[str]) -> GradtraceError | None:
    assert isinstance(node, ast.AugAssign)
    return _operator(node, bound)


def _for(node: ast.AST, bound: frozenset[str]) -> GradtraceError | None:
    assert isinstance(node, ast.For)
    return _target(node.target, allow_attribute=False)


def _comprehension(node: ast.AST, bound: frozenset[str]) -> GradtraceError | None:
    assert isinstance(node, ast.comprehension)
    if node.is_async:
        return _not_allowed("async_not_allowed")
    return _target(node.target, allow_attribute=False)


def _with(node: ast.AST, bound: frozenset[str]) -> GradtraceError | None:
    assert isinstance(node, ast.With)
    for item in node.items:
        if item.optional_vars is not None:
            error = _target(item.optional_vars, allow_attribute=False)
            if error is not None:
                return error
    return None


def _function(node: ast.AST, bound: frozenset[str]) -> GradtraceError | None:
    """``def``: decorators from a short list; annotations name types, they never call."""
    assert isinstance(node, ast.FunctionDef)
    if is_dunder(node.name) and node.name not in CLASS_DUNDERS:
        return _not_allowed("dunder_not_allowed", name=node.name)
    for decorator in node.decorator_list:
        if not is_decorator(decorator):
            return _not_allowed("decorator_not_allowed", what=ast.unparse(decorator)[:60])
    if node.type_params if hasattr(node, "type_params") else False:
        return _not_allowed("syntax_not_allowed", what="type parameters")
    return _annotations(node)


def is_decorator(node: ast.expr) -> bool:
    """``@staticmethod``, ``@classmethod``, ``@property``, ``@torch.no_grad()``."""
    if isinstance(node, ast.Name):
        return node.id in DECORATOR_NAMES
    return (
        isinstance(node, ast.Call)
        and not node.args
        and not node.keywords
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "no_grad"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "torch"
    )


def _annotations(node: ast.FunctionDef) -> GradtraceError | None:
    args = node.args
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    hints = [a.annotation for a in every if a is not None and a.annotation is not None]
    for hint in [*hints, node.returns]:
        error = annotation_refusal(hint)
        if error is not None:
            return error
    return None


def annotation_refusal(hint: ast.expr | None) -> GradtraceError | None:
    """An annotation is never evaluated, but it is code all the same: it may name types, not call."""
    if hint is None:
        return None
    for inner in ast.walk(hint):
        if not isinstance(inner, ast.Name | ast.Attribute | ast.Subscript | ast.Tuple | ast.List
                          | ast.Constant | ast.BinOp | ast.BitOr | ast.Load | ast.Slice):  # fmt: skip
            return _not_allowed("annotation_not_allowed", what=syntax_name(inner))
    return None


def _class(node: ast.AST, bound: frozenset[str]) -> GradtraceError | None:
    """``class``: no metaclass or keywords, no decorators, a body of methods and plain attributes."""
    assert isinstance(node, ast.ClassDef)
    if node.keywords:
        return _not_allowed("class_keyword_not_allowed", name=node.keywords[0].arg or "**")
    if node.decorator_list:
        return _not_allowed("decorator_not_allowed", what=ast.unparse(node.decorator_list[0])[:60])
    if is_dunder(node.name):
        return _not_allowed("dunder_not_allowed", name=node.name)
    for stmt in node.body:
        error = _class_statement(stmt)
        if error is not None:
            return error
    return None


def _class_statement(stmt: ast.stmt) -> GradtraceError | None:
    if isinstance(stmt, ast.FunctionDef | ast.Pass):
        return None
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
        return None  # the docstring
    targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] if isinstance(
        stmt, ast.AnnAssign) else None  # fmt: skip
    if targets is None:
        return _not_allowed("class_body_not_allowed", what=syntax_name(stmt))
    for target in targets:
        if not isinstance(target, ast.Name):
            return _not_allowed("class_body_not_allowed", what=f"assignment to {syntax_name(target)}")
        if is_dunder(target.id) and target.id not in CLASS_DUNDERS:
            return _not_allowed("dunder_not_allowed", name=target.id)
    return None


def _scope_names(node: ast.AST, bound: frozenset[str]) -> GradtraceError | None:
    assert isinstance(node, ast.Global | ast.Nonlocal)
    for name in node.names:
        if is_dunder(name):
            return _not_allowed("private_name", name=name)
    return None


def _arg(node: ast.AST, bound: frozenset[str]) -> GradtraceError | None:
    assert isinstance(node, ast.arg)
    if is_dunder(node.arg):
        return _not_allowed("private_name", name=node.arg)
    return None


def _handler(node: ast.AST, bound: frozenset[str]) -> GradtraceError | None:
    assert isinstance(node, ast.ExceptHandler)
    if node.name and is_dunder(node.name):
        return _not_allowed("private_name", name=node.name)
    return None


def _delete(node: ast.AST, bound: frozenset[str]) -> GradtraceError | None:
    assert isinstance(node, ast.Delete)
    for target in node.targets:
        error = _target(target, allow_attribute=True)
        if error is not None:
            return error
    return None


def _target(target: ast.expr, *, allow_attribute: bool) -> GradtraceError | None:
    """Assignment targets: names, tuples/lists of names, subscripts, `t.requires_grad`."""
    if isinstance(target, ast.Name | ast.Subscript):
        return None
    if isinstance(target, ast.Starred):
        return _target(target.value, allow_attribute=allow_attribute)
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
    return None


def _keyword(node: ast.AST, bound: frozenset[str]) -> GradtraceError | None:
    assert isinstance(node, ast.keyword)
    if node.arg is None:
        return None  # f(**options): the run checks each key like a written keyword
    if is_dunder(node.arg):
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
    ast.FunctionDef: _function,
    ast.ClassDef: _class,
    ast.Global: _scope_names,
    ast.Nonlocal: _scope_names,
    ast.arg: _arg,
    ast.ExceptHandler: _handler,
    ast.Delete: _delete,
}
