"""Fuzzing: whatever text arrives, ``check``/``execute`` either succeed or raise ``GradtraceError``.

Three sources of programs: arbitrary text, text built from Python-ish tokens (the
names, attributes and operators a hostile student would try), and random syntax
trees over many ``ast`` node types, inside and outside the allow-list, unparsed
with ``ast.unparse``. Runs use tighter limits so that each example stays fast.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from typing import Any

import pytest
from address_space import address_space_limit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradtrace.core import DEFAULT_LIMITS, GradtraceError

FUZZ_LIMITS = DEFAULT_LIMITS.with_overrides(steps=20_000, loop_iterations=5_000, wall_seconds=2.0)
FUZZ = settings(
    max_examples=200,
    deadline=2000,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
PAGE = os.sysconf("SC_PAGE_SIZE")
SAFETY_NET = 3 * 2**30


@pytest.fixture(scope="module", autouse=True)
def address_space_net() -> Iterator[None]:
    """A gap in the limits must fail an example, not exhaust the shared machine."""
    with address_space_limit(SAFETY_NET):
        yield


@pytest.fixture(scope="module", autouse=True)
def warm_up() -> None:
    """Lazy imports inside torch and the interpreter are not part of any example's time."""
    run_source(PRELUDE + "loss = (y * y).sum()\nloss.backward()\nprint(f'{loss.item():.2f}')")


def run_source(source: str) -> None:
    """The property: success, or a well-formed ``GradtraceError``; nothing else escapes."""
    from gradtrace.run import execute
    from gradtrace.sandbox import check

    try:
        program = check(source, FUZZ_LIMITS)
        result = execute(program, device="cpu", seed=0, limits=FUZZ_LIMITS)
    except GradtraceError as error:
        assert error.type in {"syntax", "not_allowed", "limit", "runtime"}
        for lang in ("en", "ko"):
            report = error.to_dict(lang)
            assert isinstance(report["message"], str) and report["message"].strip()
        if error.span is not None:
            assert error.span.line >= 1 and error.span.col >= 1
        return
    assert isinstance(result.variables, dict)
    assert isinstance(result.printed, str)
    assert len(result.printed) <= FUZZ_LIMITS.print_chars


# ------------------------------------------------------------------ text

NAMES = [
    "torch", "nn", "F", "optim", "np", "math", "device", "x", "y", "print", "range", "len", "abs",
    "sum", "list", "int", "float", "eval", "exec", "open", "type", "getattr", "__import__",
    "__builtins__", "globals", "vars", "dir", "input", "breakpoint", "True", "False", "None",
]  # fmt: skip
ATTRS = [
    "ones", "zeros", "tensor", "randn", "arange", "linspace", "grad", "backward", "sum", "mean",
    "shape", "T", "view", "reshape", "expand", "repeat", "requires_grad", "requires_grad_",
    "grad_fn", "next_functions", "register_hook", "__class__", "__dict__", "__globals__",
    "__subclasses__", "os", "sys", "save", "load", "compile", "jit", "numpy", "tofile", "item",
    "tolist", "Linear", "Sequential", "SGD", "relu", "mse_loss", "format", "storage", "data",
]  # fmt: skip
TOKENS = [
    *NAMES, *(f".{a}" for a in ATTRS), "0", "1", "2", "-1", "2.5", "1e308", "10**9", "2**64",
    "'a'", '"{0.__class__}"', "f'{x}'", "f'{x:>5}'", "(", ")", "[", "]", ",", ":", "=", "==", "+",
    "-", "*", "/", "//", "%", "**", "@", "<", "not", "and", "or", "if", "else", "for", "in", "with",
    "lambda", "def", "class", "while", "import", "from", "as", "yield", "del", "\n", "\n    ", " ", ";",
    "#", "\\", "'''", "\t",
]  # fmt: skip


@FUZZ
@given(st.text(max_size=400))
def test_arbitrary_text(source: str) -> None:
    run_source(source)


@FUZZ
@given(st.lists(st.sampled_from(TOKENS), max_size=60).map(" ".join))
def test_token_soup(source: str) -> None:
    run_source(source)


@FUZZ
@given(st.lists(st.sampled_from(TOKENS), max_size=60).map("".join))
def test_token_soup_unspaced(source: str) -> None:
    run_source(source)


# ------------------------------------------------------------------ programs that mostly parse


def _call(func: str, args: list[str]) -> str:
    return f"{func}({', '.join(args)})"


SMALL_INTS = st.integers(min_value=-3, max_value=6).map(str)
SIZES = st.sampled_from(["1", "2", "3", "10", "100", "10**3", "10**5", "10**9", "-1", "0"])
ATOMS = st.one_of(
    st.sampled_from(["x", "y", "z", "1", "2.0", "-1", "True", "None", "'s'", "device", "[1, 2]"]),
    st.builds(
        _call,
        st.sampled_from(["torch.ones", "torch.zeros", "torch.randn", "torch.arange", "torch.tensor"]),
        st.lists(SIZES, min_size=1, max_size=3),
    ),
)


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(
            lambda a, op, b: f"({a} {op} {b})",
            children,
            st.sampled_from(["+", "-", "*", "/", "@", "**", "%", "<", "=="]),
            children,
        ),
        st.builds(lambda a, attr: f"{a}.{attr}", children, st.sampled_from(ATTRS)),
        st.builds(lambda a, args: f"{a}({', '.join(args)})", children, st.lists(children, max_size=3)),
        st.builds(lambda a, i: f"{a}[{i}]", children, SMALL_INTS),
        st.builds(lambda a: f"f'{{{a}}}'", children),
        st.builds(lambda a, n: f"[{a} for i in range({n})]", children, SIZES),
    )


EXPRS = st.recursive(ATOMS, _extend, max_leaves=12)
STATEMENTS = st.one_of(
    st.builds(lambda name, e: f"{name} = {e}", st.sampled_from(["x", "y", "z"]), EXPRS),
    st.builds(lambda e: f"print({e})", EXPRS),
    st.builds(lambda e: f"{e}.backward()", EXPRS),
    st.builds(lambda n, e: f"for i in range({n}):\n    x = {e}", SIZES, EXPRS),
    st.builds(lambda e: f"with torch.no_grad():\n    y = {e}", EXPRS),
    st.builds(lambda e: f"if {e}:\n    z = 1\nelse:\n    z = 2", EXPRS),
)
PRELUDE = "x = torch.ones(3, requires_grad=True)\ny = x * 2\nz = 1.5\n"


@FUZZ
@given(st.lists(STATEMENTS, min_size=1, max_size=6).map("\n".join))
def test_generated_programs(source: str) -> None:
    run_source(PRELUDE + source)


# ------------------------------------------------------------------ random syntax trees

IDENTIFIERS = st.sampled_from([*NAMES, "a", "b", "_private", "__class__"])
ATTR_NAMES = st.sampled_from(ATTRS)
CONSTANTS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.binary(max_size=4),
    st.sampled_from([True, False, None, ...]),
    st.complex_numbers(max_magnitude=10, allow_nan=False),
)
BINOPS = st.sampled_from(
    [
        ast.Add,
        ast.Sub,
        ast.Mult,
        ast.Div,
        ast.FloorDiv,
        ast.Mod,
        ast.Pow,
        ast.MatMult,
        ast.LShift,
        ast.RShift,
        ast.BitOr,
        ast.BitXor,
        ast.BitAnd,
    ]
)
UNARYOPS = st.sampled_from([ast.UAdd, ast.USub, ast.Not, ast.Invert])
CMPOPS = st.sampled_from(
    [ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Is, ast.IsNot, ast.In, ast.NotIn]
)


def _name(ident: str) -> ast.expr:
    return ast.Name(id=ident, ctx=ast.Load())


def _comp(target: str, iterable: ast.expr) -> list[ast.comprehension]:
    return [ast.comprehension(target=ast.Name(id=target, ctx=ast.Store()), iter=iterable, ifs=[], is_async=0)]


def _expr_nodes(e: st.SearchStrategy[ast.expr]) -> st.SearchStrategy[ast.expr]:
    lists = st.lists(e, max_size=3)
    return st.one_of(
        st.builds(lambda v, a: ast.Attribute(value=v, attr=a, ctx=ast.Load()), e, ATTR_NAMES),
        st.builds(lambda f, args: ast.Call(func=f, args=args, keywords=[]), e, lists),
        st.builds(
            lambda f, k, v: ast.Call(func=f, args=[], keywords=[ast.keyword(arg=k, value=v)]),
            e,
            st.sampled_from(["requires_grad", "dtype", "device", "_x", None]),
            e,
        ),
        st.builds(lambda a, op, b: ast.BinOp(left=a, op=op(), right=b), e, BINOPS, e),
        st.builds(lambda op, a: ast.UnaryOp(op=op(), operand=a), UNARYOPS, e),
        st.builds(lambda a, op, b: ast.Compare(left=a, ops=[op()], comparators=[b]), e, CMPOPS, e),
        st.builds(
            lambda op, vs: ast.BoolOp(op=op(), values=vs),
            st.sampled_from([ast.And, ast.Or]),
            st.lists(e, min_size=2, max_size=3),
        ),
        st.builds(lambda v, i: ast.Subscript(value=v, slice=i, ctx=ast.Load()), e, e),
        st.builds(
            lambda v, lo, hi: ast.Subscript(value=v, slice=ast.Slice(lower=lo, upper=hi), ctx=ast.Load()),
            e,
            e,
            e,
        ),
        st.builds(lambda xs: ast.List(elts=xs, ctx=ast.Load()), lists),
        st.builds(lambda xs: ast.Tuple(elts=xs, ctx=ast.Load()), lists),
        st.builds(
            lambda pairs: ast.Dict(keys=[k for k, _ in pairs], values=[v for _, v in pairs]),
            st.lists(st.tuples(e, e), max_size=3),
        ),
        st.builds(lambda xs: ast.Set(elts=xs), st.lists(e, min_size=1, max_size=3)),
        st.builds(lambda a, it: ast.ListComp(elt=a, generators=_comp("i", it)), e, e),
        st.builds(lambda a, it: ast.SetComp(elt=a, generators=_comp("i", it)), e, e),
        st.builds(lambda a, it: ast.GeneratorExp(elt=a, generators=_comp("i", it)), e, e),
        st.builds(lambda k, it: ast.DictComp(key=k, value=k, generators=_comp("i", it)), e, e),
        st.builds(lambda t, a, b: ast.IfExp(test=t, body=a, orelse=b), e, e, e),
        st.builds(
            lambda a: ast.Lambda(
                args=ast.arguments(
                    posonlyargs=[], args=[ast.arg(arg="q")], kwonlyargs=[], kw_defaults=[], defaults=[]
                ),
                body=a,
            ),
            e,
        ),
        st.builds(lambda a: ast.NamedExpr(target=ast.Name(id="w", ctx=ast.Store()), value=a), e),
        st.builds(lambda a: ast.Starred(value=a, ctx=ast.Load()), e),
        st.builds(lambda a: ast.Await(value=a), e),
        st.builds(lambda a: ast.Yield(value=a), e),
        st.builds(
            lambda a, spec: ast.JoinedStr(
                values=[
                    ast.Constant(value="v="),
                    ast.FormattedValue(value=a, conversion=-1, format_spec=spec),
                ]
            ),
            e,
            st.one_of(
                st.none(),
                st.sampled_from([">5", ".2f", "x>1000000", "{}", "__class__"]).map(
                    lambda s: ast.JoinedStr(values=[ast.Constant(value=s)])
                ),
                e.map(
                    lambda inner: ast.JoinedStr(
                        values=[ast.FormattedValue(value=inner, conversion=-1, format_spec=None)]
                    )
                ),
            ),
        ),
    )


EXPR_TREES = st.recursive(
    st.one_of(IDENTIFIERS.map(_name), CONSTANTS.map(lambda v: ast.Constant(value=v))),
    _expr_nodes,
    max_leaves=10,
)


def _store(ident: str) -> ast.expr:
    return ast.Name(id=ident, ctx=ast.Store())


def _stmt_nodes(body: st.SearchStrategy[list[ast.stmt]]) -> st.SearchStrategy[ast.stmt]:
    e = EXPR_TREES
    plain_args = ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[])
    return st.one_of(
        st.builds(lambda v: ast.Expr(value=v), e),
        st.builds(lambda t, v: ast.Assign(targets=[_store(t)], value=v, lineno=1), IDENTIFIERS, e),
        st.builds(
            lambda v, a, x: ast.Assign(
                targets=[ast.Attribute(value=v, attr=a, ctx=ast.Store())], value=x, lineno=1
            ),
            e,
            ATTR_NAMES,
            e,
        ),
        st.builds(lambda t, op, v: ast.AugAssign(target=_store(t), op=op(), value=v), IDENTIFIERS, BINOPS, e),
        st.builds(
            lambda t, v: ast.AnnAssign(target=_store(t), annotation=_name("int"), value=v, simple=1),
            IDENTIFIERS,
            e,
        ),
        st.builds(lambda t, b, o: ast.If(test=t, body=b, orelse=o), e, body, st.one_of(st.just([]), body)),
        st.builds(lambda it, b: ast.For(target=_store("i"), iter=it, body=b, orelse=[], lineno=1), e, body),
        st.builds(lambda t, b: ast.While(test=t, body=b, orelse=[]), e, body),
        st.builds(
            lambda c, b: ast.With(items=[ast.withitem(context_expr=c, optional_vars=None)], body=b), e, body
        ),
        st.builds(
            lambda b: ast.Try(
                body=b,
                handlers=[ast.ExceptHandler(type=None, name=None, body=[ast.Pass()])],
                orelse=[],
                finalbody=[],
            ),
            body,
        ),
        st.builds(
            lambda n, b: ast.FunctionDef(
                name=n, args=plain_args, body=b, decorator_list=[], returns=None, lineno=1
            ),
            IDENTIFIERS,
            body,
        ),
        st.builds(
            lambda n, b: ast.ClassDef(name=n, bases=[], keywords=[], body=b, decorator_list=[]),
            IDENTIFIERS,
            body,
        ),
        st.builds(lambda n: ast.Delete(targets=[_store(n)]), IDENTIFIERS),
        st.builds(lambda v: ast.Raise(exc=v, cause=None), e),
        st.builds(lambda v: ast.Assert(test=v, msg=None), e),
        st.builds(lambda v: ast.Return(value=v), e),
        st.builds(lambda n: ast.Global(names=[n]), IDENTIFIERS),
        st.builds(
            lambda m, a: ast.Import(names=[ast.alias(name=m, asname=a)]),
            st.sampled_from(["torch", "os", "numpy", "torch.nn", "torch.func", "sys", "math", "torch.utils"]),
            st.sampled_from([None, "np", "nn", "F", "os"]),
        ),
        st.builds(
            lambda m, n: ast.ImportFrom(module=m, names=[ast.alias(name=n, asname=None)], level=0),
            st.sampled_from(["torch", "os", "numpy", "torch.func"]),
            st.sampled_from(["nn", "save", "load", "system", "vmap", "*", "_C"]),
        ),
        st.sampled_from([ast.Pass(), ast.Break(), ast.Continue()]),
    )


STMT_TREES = st.recursive(
    st.builds(lambda v: ast.Expr(value=v), EXPR_TREES),
    lambda children: _stmt_nodes(st.lists(children, min_size=1, max_size=3)),
    max_leaves=6,
)


def _unparse(statements: list[ast.stmt]) -> str | None:
    module = ast.fix_missing_locations(ast.Module(body=statements, type_ignores=[]))
    try:
        return ast.unparse(module)
    except Exception:  # a tree ast.unparse cannot print is no program
        return None


@FUZZ
@given(st.lists(STMT_TREES, min_size=1, max_size=4))
def test_random_syntax_trees(statements: list[ast.stmt]) -> None:
    source = _unparse(statements)
    if source is not None:
        run_source(source)


@FUZZ
@given(EXPR_TREES)
def test_random_expressions_on_tensors(expression: ast.expr) -> None:
    source = _unparse([ast.Assign(targets=[_store("r")], value=expression, lineno=1)])
    if source is not None:
        run_source(PRELUDE + source)


def test_unparse_covers_refused_syntax() -> None:
    """The tree strategy really produces syntax outside the allow-list."""
    seen: set[str] = set()

    @settings(max_examples=60, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(STMT_TREES, min_size=1, max_size=4))
    def collect(statements: list[Any]) -> None:
        source = _unparse(statements)
        if source is not None:
            seen.update(
                type(node).__name__ for node in ast.walk(ast.Module(body=statements, type_ignores=[]))
            )

    collect()
    assert {"Lambda", "While", "FunctionDef", "Dict"} & seen
    assert {"Attribute", "Call", "BinOp"} <= seen
