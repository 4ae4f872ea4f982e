"""The static allow-lists: syntax, names, imports, format specs.

Everything is an allow-list (unknown or future syntax is refused); the few
deny-lists below exist only to give a better message and hint than the
generic refusal, never as the security boundary.
"""

from __future__ import annotations

import ast
import builtins
import re

# Syntax that the interpreter implements. Anything else is refused.
ALLOWED_NODES: frozenset[type[ast.AST]] = frozenset(
    {
        ast.Module, ast.Expr, ast.Assign, ast.AnnAssign, ast.AugAssign, ast.If, ast.For,
        ast.With, ast.withitem, ast.Import, ast.ImportFrom, ast.alias, ast.Pass, ast.Break,
        ast.Continue, ast.Name, ast.Load, ast.Store, ast.Constant, ast.List, ast.Tuple,
        ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.Call, ast.keyword, ast.Starred,
        ast.Attribute, ast.Subscript, ast.Slice, ast.ListComp, ast.comprehension, ast.IfExp,
        ast.JoinedStr, ast.FormattedValue,
        # functions, classes and the statements around them (run/interpreter.py implements each)
        ast.FunctionDef, ast.Lambda, ast.arguments, ast.arg, ast.Return, ast.ClassDef, ast.While,
        ast.Try, ast.ExceptHandler, ast.Raise, ast.Assert, ast.Delete, ast.Del, ast.Global,
        ast.Nonlocal, ast.Dict, ast.Set, ast.DictComp, ast.SetComp, ast.GeneratorExp, ast.Yield,
        ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.MatMult,
        ast.BitAnd, ast.BitOr, ast.BitXor,
        ast.UAdd, ast.USub, ast.Not, ast.Invert, ast.And, ast.Or,
        ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Is, ast.IsNot, ast.In, ast.NotIn,
    }
)  # fmt: skip

# Refused syntax with a dedicated message (code, what).
SPECIFIC_REFUSALS: dict[type[ast.AST], str] = {
    ast.AsyncFunctionDef: "async_not_allowed",
    ast.YieldFrom: "generator_not_allowed",
    ast.Await: "async_not_allowed",
    ast.AsyncFor: "async_not_allowed",
    ast.AsyncWith: "async_not_allowed",
}
if hasattr(ast, "TryStar"):  # Python 3.11+
    SPECIFIC_REFUSALS[ast.TryStar] = "try_not_allowed"

# What the user sees instead of the node's class name.
SYNTAX_NAMES: dict[str, str] = {
    "Delete": "del", "Raise": "raise", "Assert": "assert", "Return": "return",
    "NamedExpr": ":=", "Dict": "{...} (dict)", "Set": "{...} (set)", "DictComp": "dict comprehension",
    "SetComp": "set comprehension", "Match": "match", "LShift": "<<", "RShift": ">>",
}  # fmt: skip

ALLOWED_BUILTINS: frozenset[str] = frozenset(
    {"range", "len", "abs", "min", "max", "sum", "round", "float", "int", "bool", "list", "tuple",
     "print", "enumerate", "zip", "map", "filter", "sorted", "reversed", "any", "all", "isinstance",
     "issubclass", "dict", "set", "frozenset", "str", "repr", "hasattr", "getattr", "callable", "iter",
     "next", "divmod", "pow", "hash", "id", "type", "super", "object", "staticmethod", "classmethod",
     "property", "format", "chr", "ord", "slice", "Exception", "ValueError", "TypeError",
     "RuntimeError", "KeyError", "IndexError", "ZeroDivisionError", "AssertionError",
     "NotImplementedError", "StopIteration", "ArithmeticError", "LookupError", "AttributeError",
     "NameError", "OverflowError", "NotImplemented"}
)  # fmt: skip
# `__name__` (the program runs as "__main__") and the dunders a class body may define:
# the ones the interpreter dispatches itself. Every other dunder is refused wherever it appears.
READABLE_DUNDERS: frozenset[str] = frozenset({"__name__", "__init__"})
CLASS_DUNDERS: frozenset[str] = frozenset(
    {"__init__", "__repr__", "__str__", "__call__", "__len__", "__getitem__", "__setitem__",
     "__contains__", "__iter__", "__bool__", "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__",
     "__neg__", "__pos__", "__abs__", "__float__", "__int__", "__doc__",
     *(f"__{r}{op}__" for op in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul")
       for r in ("", "r", "i"))}
)  # fmt: skip
# Decorators a program may write: `@staticmethod`, `@classmethod`, `@property`, `@torch.no_grad()`.
DECORATOR_NAMES: frozenset[str] = frozenset({"staticmethod", "classmethod", "property"})
PRESET_NAMES: frozenset[str] = frozenset({"torch", "nn", "F", "optim", "np", "math", "device"})
CONSTANT_NAMES: frozenset[str] = frozenset({"True", "False", "None"})

# Python builtins that are never available (unless the program binds the name itself).
FORBIDDEN_BUILTINS: frozenset[str] = (
    frozenset(dir(builtins)) - ALLOWED_BUILTINS - CONSTANT_NAMES - {"__name__"}
)

# Attribute names refused on any object, with a better message than "not available".
FILE_ATTRS: frozenset[str] = frozenset(
    {"save", "load", "from_file", "tofile", "tobytes", "fromfile", "hub", "ops", "jit",
     "classes", "distributed", "backends", "storage", "untyped_storage", "library", "multiprocessing",
     "open", "system", "popen", "dump", "dumps", "loadtxt", "savetxt", "memmap", "ctypes",
     "register_backward_hook", "apply_", "map_", "map2_",
     "share_memory_", "pin_memory", "format_map"}
)  # fmt: skip
COMPILE_ATTRS: frozenset[str] = frozenset({"compile"})
FUNC_ATTRS: frozenset[str] = frozenset({"func", "vmap", "functional_call", "jacrev", "jacfwd", "hessian"})

# `import X as Y` / `from X import Y`: module path -> name of the curated facade.
IMPORTABLE: dict[str, str] = {
    "torch": "torch",
    "torch.nn": "nn",
    "torch.nn.functional": "F",
    "torch.optim": "optim",
    "torch.optim.lr_scheduler": "lr_scheduler",
    "torch.nn.init": "init",
    "torch.linalg": "linalg",
    "torch.special": "special",
    "numpy": "np",
    "math": "math",
    "random": "random",
    "collections": "collections",
    "itertools": "itertools",
    "torch.autograd": "autograd",
    "torch.autograd.functional": "autograd_functional",
    "torch.utils": "utils",
    "torch.utils.checkpoint": "checkpoint",
    "torch.utils.data": "data",
    "matplotlib": "matplotlib",
    "matplotlib.pyplot": "plt",
    "typing": "typing",
}
FUNC_MODULES: frozenset[str] = frozenset({"torch.func", "functorch"})

# f-string format specs: fill/align, sign, width (3 digits), grouping, precision (2 digits), type.
FORMAT_SPEC = re.compile(r"[<>^=]?[+\- ]?0?\d{0,3}[,_]?(\.\d{1,2})?[bdeEfFgGn%xXos]?")


def is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def syntax_name(node: ast.AST) -> str:
    name = type(node).__name__
    return SYNTAX_NAMES.get(name, name)
