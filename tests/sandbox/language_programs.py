"""Programs written the way PyTorch code is written: functions, classes, modules, loops.

Each case is ``(name, source, code)``: ``source`` says where the program (or the
pattern it follows) comes from. The tests run each in the sandbox and under plain
CPython with real torch, and require the same output and the same tensors and
gradients.
"""

from __future__ import annotations

NOTES_MODEL = """
import torch
import torch.nn as nn

class MyModel(nn.Module):
    def __init__(self):
        super(MyModel, self).__init__()
        self.layer1 = nn.Linear(2, 4)
        self.layer2 = nn.Linear(4, 1)

    def forward(self, x):
        x = torch.relu(self.layer1(x))
        return self.layer2(x)

torch.manual_seed(0)
model = MyModel()
x = torch.randn(8, 2)
target = torch.randn(8, 1)
loss = nn.MSELoss()(model(x), target)
loss.backward()
for name, p in model.named_parameters():
    print(name, tuple(p.grad.shape))
"""

DEF_DERIVATIVE = """
import torch

def f(x):
    return x ** 3 + 2 * x ** 2 - 5 * x + 3

def df(x):
    return 3 * x ** 2 + 4 * x - 5

x = torch.tensor(2.0, requires_grad=True)
y = f(x)
y.backward()
print(x.grad.item(), df(2.0))
"""

MICROGRAD = """
class Value:
    def __init__(self, data, _children=(), _op=''):
        self.data = data
        self.grad = 0
        self._backward = lambda: None
        self._prev = list(_children)
        self._op = _op

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), '+')
        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), '*')
        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, other):
        assert isinstance(other, (int, float)), "only supporting int/float powers for now"
        out = Value(self.data**other, (self,), f'**{other}')
        def _backward():
            self.grad += (other * self.data**(other-1)) * out.grad
        out._backward = _backward
        return out

    def relu(self):
        out = Value(0 if self.data < 0 else self.data, (self,), 'ReLU')
        def _backward():
            self.grad += (out.data > 0) * out.grad
        out._backward = _backward
        return out

    def backward(self):
        topo = []
        visited = set()
        def build_topo(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build_topo(child)
                topo.append(v)
        build_topo(self)
        self.grad = 1
        for v in reversed(topo):
            v._backward()

    def __neg__(self): return self * -1
    def __radd__(self, other): return self + other
    def __sub__(self, other): return self + (-other)
    def __rsub__(self, other): return other + (-self)
    def __rmul__(self, other): return self * other
    def __truediv__(self, other): return self * other**-1
    def __rtruediv__(self, other): return other * self**-1

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"

a = Value(-4.0)
b = Value(2.0)
c = a + b
d = a * b + b**3
c += c + 1
c += 1 + c + (-a)
d += d * 2 + (b + a).relu()
d += 3 * d + (b - a).relu()
e = c - d
f = e**2
g = f / 2.0
g += 10.0 / f
g.backward()
print(f'{g.data:.4f}')
print(f'{a.grad:.4f}')
print(f'{b.grad:.4f}')
print(sum([Value(1.0), Value(2.0)]))
"""

CUSTOM_FUNCTION = """
import torch

class MyReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return input.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[input < 0] = 0
        return grad_input

torch.manual_seed(0)
x = torch.randn(6, requires_grad=True)
w = torch.randn(6, requires_grad=True)
relu = MyReLU.apply
y = (relu(x * w) * 3).sum()
y.backward()
print(x.grad, w.grad)
"""

LEGENDRE = """
import math
import torch

class LegendrePolynomial3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)

torch.manual_seed(0)
x = torch.linspace(-math.pi, math.pi, 50)
y = torch.sin(x)
a = torch.full((), 0.0, requires_grad=True)
b = torch.full((), -1.0, requires_grad=True)
c = torch.full((), 0.0, requires_grad=True)
d = torch.full((), 0.3, requires_grad=True)
learning_rate = 5e-6
for t in range(20):
    P3 = LegendrePolynomial3.apply
    y_pred = a + b * P3(c + d * x)
    loss = (y_pred - y).pow(2).sum()
    if t % 10 == 9:
        print(t, round(loss.item(), 3))
    loss.backward()
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad
        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None
print(f'Result: y = {a.item():.4f} + {b.item():.4f} * P3({c.item():.4f} + {d.item():.4f} x)')
"""

DATASET = """
import torch
from torch.utils.data import Dataset, DataLoader

class SquaresDataset(Dataset):
    def __init__(self, n):
        self.x = torch.arange(n, dtype=torch.float32).unsqueeze(1) / n
        self.y = self.x ** 2

    def __len__(self):
        return len(self.x)

    def __getitem__(self, idx):
        return self.x[idx], self.y[idx]

torch.manual_seed(0)
ds = SquaresDataset(12)
loader = DataLoader(ds, batch_size=4, shuffle=True)
model = torch.nn.Linear(1, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(2):
    for xb, yb in loader:
        opt.zero_grad()
        loss = ((model(xb) - yb) ** 2).mean()
        loss.backward()
        opt.step()
    print("epoch {}: loss {:.4f}".format(epoch, loss.item()))
print(len(ds), len(loader))
"""

DYNAMIC_NET = """
import random
import torch

class DynamicNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Parameter(torch.randn(()))
        self.b = torch.nn.Parameter(torch.randn(()))
        self.e = torch.nn.Parameter(torch.randn(()))

    def forward(self, x):
        y = self.a + self.b * x
        for exp in range(4, random.randint(4, 6)):
            y = y + self.e * x ** exp
        return y

    def string(self):
        return f'y = {self.a.item():.3f} + {self.b.item():.3f} x + {self.e.item():.3f} x^4 ?'

torch.manual_seed(0)
x = torch.linspace(-1, 1, 20)
y = torch.sin(x)
model = DynamicNet()
criterion = torch.nn.MSELoss(reduction='sum')
optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
for t in range(5):
    y_pred = model(x)
    loss = criterion(y_pred, y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
print(model.string())
"""

LANGUAGE = """
from collections import OrderedDict, defaultdict

def stats(*values, scale=1, **extra):
    total = sum(v * scale for v in values)
    return total, len(extra)

def counter():
    count = 0
    def step():
        nonlocal count
        count += 1
        return count
    return step

def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

def squares(n):
    for i in range(n):
        yield i * i

class Stack:
    size = 0
    def __init__(self):
        self.items = []
    def push(self, item):
        self.items.append(item)
        Stack.size += 1
    def __len__(self):
        return len(self.items)
    def __getitem__(self, i):
        return self.items[i]
    @property
    def top(self):
        return self.items[-1]
    @staticmethod
    def kind():
        return "stack"

class EmptyError(ValueError):
    pass

tick = counter()
tick()
s = Stack()
for v in [3, 1, 2]:
    s.push(v)
try:
    raise EmptyError("nothing here")
except ValueError as err:
    caught = str(err)
finally:
    done = True
groups = defaultdict(list)
for word in ["apple", "avocado", "banana"]:
    groups[word[0]].append(word)
od = OrderedDict([("b", 1), ("a", 2)])
first, *rest = sorted(s, key=lambda v: -v)
_, second = divmod(17, 5)
i = 0
while True:
    i += 1
    if i >= 5:
        break
print(stats(1, 2, 3, scale=2, tag="x"), tick(), fib(10), list(squares(4)), len(s), s.top, Stack.kind())
print(caught, done, dict(groups), list(od.items()), first, rest, second, i)
print(list(map(str, filter(lambda n: n % 2, range(7)))), any(x > 2 for x in s), all([]))
print("%s has %d items (%.1f%%)" % ("s", len(s), 50.0), "{0}-{1}".format("a", "b"), ",".join(["x", "y"]))
print(isinstance(s, Stack), isinstance(3, int), type(s).__name__, type(1.5) == float, Stack.size)
print({k: v for k, v in zip("ab", range(2))}, {x % 3 for x in range(10)}, "abc".upper().center(9, "*"))
assert fib(5) == 5, "fib is wrong"
del i
if __name__ == "__main__":
    print("main")
"""

AUTOGRAD_TOOLS = """
import torch
from torch.autograd import gradcheck
from torch.autograd.functional import vjp, jvp, hvp, vhp, hessian
from torch import linalg as LA

def cube_sum(x):
    return (x ** 3).sum()

def square(x):
    return x ** 2

x = torch.tensor([1.0, 2.0, -0.5], dtype=torch.double, requires_grad=True)
v = torch.ones(3, dtype=torch.double)
out, vjp_x = vjp(square, x, v)
_, jvp_x = jvp(square, x, v)
_, hvp_x = hvp(cube_sum, x, v)
_, vhp_x = vhp(cube_sum, x, v)
h = hessian(cube_sum, x)
print(gradcheck(square, (x,), eps=1e-6, atol=1e-4))
A = torch.tensor([[2.0, 1.0], [1.0, 3.0]], requires_grad=True)
loss = torch.linalg.det(A) + LA.matrix_norm(A) + torch.linalg.svdvals(A).sum() + torch.special.expit(A).sum()
loss.backward()
device = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"
print(vjp_x, jvp_x, hvp_x, vhp_x, h, loss.item(), device)
"""

ITERTOOLS_AND_PRINTOPTIONS = """
import itertools
from itertools import product, chain
import torch

params = dict(lr=[0.01, 0.001], batch_size=[10, 100], shuffle=[True, False])
runs = [dict(zip(params.keys(), v)) for v in product(*params.values())]
print(len(runs), runs[0], runs[-1])
print(list(itertools.permutations([1, 2, 3], 2)), list(itertools.combinations("abcd", 3)))
print(list(itertools.combinations_with_replacement("ab", 2)), list(itertools.repeat(7, 3)))
print(list(chain([1], (2, 3), "xy")), list(itertools.islice(range(20), 2, 12, 3)))
print(list(itertools.accumulate([1, 2, 3, 4])))
print(list(itertools.accumulate([1, 2, 3], lambda a, b: a * b, initial=10)))
print([(k, list(g)) for k, g in itertools.groupby("aabbbcaa")])
print([(k, len(list(g))) for k, g in itertools.groupby([1, 3, 2, 4], key=lambda n: n % 2)])
print(list(itertools.takewhile(lambda x: x < 3, [1, 2, 5, 1])))
print(list(itertools.dropwhile(lambda x: x < 3, [1, 2, 5, 1])))
print(list(itertools.filterfalse(lambda x: x % 2, range(7))))
print(list(itertools.compress("abcdef", [1, 0, 1, 0, 1, 1])))
print(list(itertools.zip_longest("ab", "xyz", fillvalue="-")), list(itertools.pairwise([1, 2, 3])))
print(list(itertools.starmap(pow, [(2, 3), (3, 2)])))
w = torch.nn.Linear(2, 2)
v = torch.nn.Linear(2, 1)
print(sum(p.numel() for p in chain(w.parameters(), v.parameters())))
torch.set_printoptions(precision=2, sci_mode=False)
x = torch.tensor([1.23456, 2.5, 1e-5])
print(x)
torch.set_printoptions(profile="default")
print(x)
"""

CHECKPOINT = """
import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

torch.manual_seed(0)
block = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
x = torch.ones(2, 3, requires_grad=True)

def run_block(t):
    return block(t) * 2

y = checkpoint(run_block, x, use_reentrant=False)
z = torch.utils.checkpoint.checkpoint(block, x, use_reentrant=True)
loss = y.sum() + z.sum()
loss.backward()
print(x.grad, block[0].weight.grad)
"""

BACKWARD_HOOKS = """
import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
seen = []

def show_grads(module, grad_input, grad_output):
    seen.append((type(module).__name__, tuple(grad_output[0].shape)))

def halve(module, grad_output):
    return (grad_output[0] * 0.5,)

def accumulated(p):
    seen.append(tuple(p.grad.shape))

h1 = model[0].register_full_backward_hook(show_grads)
h2 = model[2].register_full_backward_pre_hook(halve)
h3 = model[0].weight.register_post_accumulate_grad_hook(accumulated)
x = torch.ones(4, 3)
loss = model(x).sum()
loss.backward()
h1.remove()
h2.remove()
h3.remove()
print(seen, model[0].weight.grad)
"""

NAMEDTUPLE = """
from collections import namedtuple
import torch

Point = namedtuple("Point", ["x", "y"])
Run = namedtuple("Run", "lr batch_size", defaults=[10])
p = Point(1, y=2)
r = Run(0.1)
a, b = p
print(p, p.x, p[1], len(p), p == (1, 2), a + b, isinstance(p, Point), isinstance(p, tuple))
print(p._asdict(), p._replace(x=5), Point._fields, Point._make([3, 4]), r, r.batch_size)
runs = [Run(lr, bs) for lr in [0.1, 0.01] for bs in [8, 16]]
print(sorted(runs, key=lambda run: run.batch_size)[0])
pair = Point(torch.ones(2, requires_grad=True), 3.0)
loss = (pair.x * pair.y).sum()
loss.backward()
w = pair.x
print(w.grad)
"""

CASES: list[tuple[str, str, str]] = [
    (
        "notes_my_model",
        "course notes (shared/seeds): class MyModel(nn.Module) with super(MyModel, self)",
        NOTES_MODEL,
    ),
    (
        "notes_def_derivative",
        "course notes: def f(x) / df(x), the derivative checked by autograd",
        DEF_DERIVATIVE,
    ),
    ("micrograd_value", "karpathy/micrograd micrograd/engine.py Value and its README example", MICROGRAD),
    (
        "tutorial_custom_relu",
        "pytorch.org beginner/examples_autograd/two_layer_net_custom_function (MyReLU)",
        CUSTOM_FUNCTION,
    ),
    ("tutorial_legendre", "pytorch.org beginner/pytorch_with_examples: LegendrePolynomial3", LEGENDRE),
    (
        "dataset_subclass",
        "pytorch.org basics/data_tutorial: custom Dataset with __len__/__getitem__",
        DATASET,
    ),
    (
        "tutorial_dynamic_net",
        "pytorch.org beginner/examples_nn/dynamic_net (random.randint per forward)",
        DYNAMIC_NET,
    ),
    (
        "python_language",
        "the Python a tutorial uses: *args/**kwargs, closures, generators, classes",
        LANGUAGE,
    ),
    (
        "autograd_tools",
        "pytorch.org docs: autograd.gradcheck, autograd.functional (vjp/jvp/hvp/vhp/hessian), torch.linalg, "
        "torch.special, the quickstart's torch.accelerator device pick",
        AUTOGRAD_TOOLS,
    ),
    (
        "itertools_and_printoptions",
        "deeplizard RunBuilder (itertools.product over hyper-parameters), itertools docs recipes, "
        "torch.set_printoptions as tutorials use it",
        ITERTOOLS_AND_PRINTOPTIONS,
    ),
    (
        "activation_checkpoint",
        "pytorch.org docs torch.utils.checkpoint: checkpoint(function, *args, use_reentrant=...) both ways",
        CHECKPOINT,
    ),
    (
        "module_backward_hooks",
        "pytorch.org docs nn.Module.register_full_backward_hook / _pre_hook (gradient rescaling), "
        "Tensor.register_post_accumulate_grad_hook",
        BACKWARD_HOOKS,
    ),
    (
        "namedtuple",
        "docs.python.org collections.namedtuple examples; deeplizard RunBuilder's Run namedtuple",
        NAMEDTUPLE,
    ),
]
