"""Three public PyTorch models and their training loops, ported by renaming alone.

Each model and loop is written once, in PyTorch's spelling, as a source string. It is run
twice: with ``torch, nn, F, optim`` bound to PyTorch, and bound to ``tc, tc.nn, tc, tc.optim``
(that binding *is* the port). Both runs start from the same weights (the tinygrad_conv
model's, copied through ``state_dict``) and see the same batches, so every step's loss,
and the trained model's outputs, must agree.
"""

from __future__ import annotations

import inspect
import sys

import numpy as np
import pytest

import tinygrad_conv as tc

torch = pytest.importorskip("torch")

# PyTorch's "Neural Networks" tutorial: LeNet-5 on 32x32 images, an MSE loss against a
# target reshaped with .view, plain SGD, and the tutorial's checks on the parameters.
LENET = '''
class Net(nn.Module):

    def __init__(self):
        super(Net, self).__init__()
        # 1 input image channel, 6 output channels, 5x5 square convolution kernel
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        # an affine operation: y = Wx + b
        self.fc1 = nn.Linear(16 * 5 * 5, 120)  # 5*5 from image dimension
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, input):
        c1 = F.relu(self.conv1(input))
        s2 = F.max_pool2d(c1, (2, 2))
        c3 = F.relu(self.conv2(s2))
        s4 = F.max_pool2d(c3, 2)
        s4 = torch.flatten(s4, 1)
        f5 = F.relu(self.fc1(s4))
        f6 = F.relu(self.fc2(f5))
        output = self.fc3(f6)
        return output


net = Net()
load_weights(net)
params = list(net.parameters())
assert len(params) == 10 and params[0].size() == (6, 1, 5, 5)

criterion = nn.MSELoss()
optimizer = optim.SGD(net.parameters(), lr=0.01)
losses = []
for images, targets in batches:
    input = torch.tensor(images)
    target = torch.tensor(targets)
    target = target.view(1, -1)  # make it the same shape as output
    optimizer.zero_grad()  # zero the gradient buffers
    output = net(input)
    loss = criterion(output, target)
    loss.backward()
    optimizer.step()  # Does the update
    losses.append(loss.item())
with torch.no_grad():
    outputs = net(torch.tensor(batches[0][0])).numpy()
'''

# PyTorch's 60-minute blitz, "Training a classifier": the CIFAR-10 Net, cross-entropy, SGD
# with momentum, the running loss, and the accuracy count of its test loop.
CIFAR = '''
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1) # flatten all dimensions except batch
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


net = Net()
load_weights(net)
criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(net.parameters(), lr=0.001, momentum=0.9)

losses = []
running_loss = 0.0
for i, data in enumerate(batches, 0):
    # get the inputs; data is a list of [inputs, labels]
    inputs, labels = torch.tensor(data[0]), torch.tensor(data[1])

    # zero the parameter gradients
    optimizer.zero_grad()

    # forward + backward + optimize
    outputs = net(inputs)
    loss = criterion(outputs, labels)
    loss.backward()
    optimizer.step()

    running_loss += loss.item()
    losses.append(loss.item())

correct = 0
total = 0
# since we're not training, we don't need to calculate the gradients for our outputs
with torch.no_grad():
    for data in batches:
        images, labels = torch.tensor(data[0]), torch.tensor(data[1])
        # calculate outputs by running images through the network
        outputs = net(images)
        # the class with the highest energy is what we choose as prediction
        _, predicted = torch.max(outputs.data, 1)
        total += labels.size(0)
        correct += (predicted == labels).sum().item()
outputs = outputs.numpy()
'''

# torchvision's ResNet BasicBlock (conv3x3-BN-ReLU-conv3x3-BN, identity or downsample
# shortcut, ReLU) in a tiny ResNet with a stride-2 stage; trained, then evaluated.
RESNET = '''
def conv3x3(in_planes, out_planes, stride=1):
    """3x3 convolution with padding"""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes, out_planes, stride=1):
    """1x1 convolution"""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x

        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)

        out = self.conv2(out)
        out = self.bn2(out)

        if self.downsample is not None:
            identity = self.downsample(x)

        out += identity
        out = self.relu(out)

        return out


class TinyResNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = conv3x3(3, 8)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()
        self.layer1 = nn.Sequential(BasicBlock(8, 8), BasicBlock(8, 8))
        downsample = nn.Sequential(conv1x1(8, 16, stride=2), nn.BatchNorm2d(16))
        self.layer2 = nn.Sequential(BasicBlock(8, 16, stride=2, downsample=downsample), BasicBlock(16, 16))
        self.fc = nn.Linear(16, num_classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer1(x)
        x = self.layer2(x)
        x = x.mean(dim=(2, 3))  # global average pooling
        x = self.fc(x)
        return x


model = TinyResNet()
load_weights(model)
criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)

losses = []
model.train()
for images, target in batches:
    images, target = torch.tensor(images), torch.tensor(target)
    output = model(images)
    loss = criterion(output, target)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    losses.append(loss.item())

model.eval()
with torch.no_grad():
    outputs = model(torch.tensor(batches[0][0])).numpy()
'''

# The same ResNet in torchvision's exact spelling: ReLU(inplace=True) and an AdaptiveAvgPool2d head.
RESNET_TORCHVISION = (
    RESNET.replace("nn.ReLU()", "nn.ReLU(inplace=True)")
    .replace("        self.fc = nn.Linear(",
             "        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))\n        self.fc = nn.Linear(")
    .replace("x = x.mean(dim=(2, 3))  # global average pooling", "x = self.avgpool(x)\n        x = torch.flatten(x, 1)")
)
assert RESNET_TORCHVISION.count("inplace=True") == 2 and "self.avgpool(x)" in RESNET_TORCHVISION


def _relu_takes_inplace() -> bool:
    try:
        tc.nn.ReLU(inplace=True)
    except TypeError:
        return False
    return True


TORCHVISION_SPELLING_MISSING = not hasattr(tc.nn, "AdaptiveAvgPool2d") or not _relu_takes_inplace()

MODELS = {
    "lenet": (LENET, "net", lambda rng, dtype: (rng.standard_normal((1, 1, 32, 32)).astype(dtype),
                                                rng.standard_normal(10).astype(dtype))),
    "cifar_net": (CIFAR, "net", lambda rng, dtype: (rng.standard_normal((4, 3, 32, 32)).astype(dtype),
                                                    rng.integers(0, 10, 4))),
    "tiny_resnet": (RESNET, "model", lambda rng, dtype: (rng.standard_normal((4, 3, 12, 12)).astype(dtype),
                                                         rng.integers(0, 10, 4))),
}
MODELS["resnet_torchvision"] = (RESNET_TORCHVISION, *MODELS["tiny_resnet"][1:])
MODEL_PARAMS = [
    pytest.param(name, marks=pytest.mark.xfail(TORCHVISION_SPELLING_MISSING, strict=True,
                                               reason="nn.AdaptiveAvgPool2d or nn.ReLU(inplace=) not there yet"))
    if name == "resnet_torchvision" else name
    for name in MODELS
]
STEPS = 5


def run_port(source: str, library: str, batches: list, weights: dict) -> dict:
    """Run ``source`` with PyTorch's names bound to ``library`` ("tc" or "torch"); return its namespace.

    The tc run records its model's initial weights in ``weights``; the torch run loads them.
    """
    if library == "tc":
        names = {"torch": tc, "nn": tc.nn, "F": tc, "optim": tc.optim}
    else:
        names = {"torch": torch, "nn": torch.nn, "F": torch.nn.functional, "optim": torch.optim}

    def load_weights(model):
        if library == "tc":
            weights.update(model.state_dict())
        else:
            model.load_state_dict({key: torch.from_numpy(np.array(value)) for key, value in weights.items()})

    namespace = {**names, "batches": batches, "load_weights": load_weights, "__name__": f"port_{library}"}
    exec(compile(source, f"<{library} port>", "exec"), namespace)  # noqa: S102 - running the port is the test
    return namespace


@pytest.fixture
def default_dtype(request):
    """Set both libraries' default dtype to ``request.param`` for the test, and restore both after it."""
    dtype = np.dtype(request.param)
    before_tc, before_torch = tc.get_default_dtype(), torch.get_default_dtype()
    tc.set_default_dtype(dtype)
    torch.set_default_dtype(getattr(torch, dtype.name))
    yield dtype
    tc.set_default_dtype(before_tc)
    torch.set_default_dtype(before_torch)


@pytest.mark.parametrize("default_dtype, rtol", [(np.float64, 1e-8), (np.float32, 1e-4)],
                         indirect=["default_dtype"], ids=["float64", "float32"])
@pytest.mark.parametrize("name", MODEL_PARAMS)
def test_port_trains_to_the_same_numbers(name, default_dtype, rtol):
    source, model_name, make_batch = MODELS[name]
    rng = np.random.default_rng(0)
    batches = [make_batch(rng, default_dtype) for _ in range(STEPS)]
    weights: dict = {}
    tc.manual_seed(0)
    ours = run_port(source, "tc", batches, weights)
    theirs = run_port(source, "torch", batches, weights)

    assert len(ours["losses"]) == STEPS
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=rtol)
    atol = rtol * 1e-2
    np.testing.assert_allclose(ours["outputs"], theirs["outputs"], rtol=rtol, atol=atol)
    assert ours["outputs"].dtype == default_dtype
    trained = ours[model_name].state_dict()
    assert list(trained) == list(theirs[model_name].state_dict())
    for key, value in theirs[model_name].state_dict().items():
        np.testing.assert_allclose(trained[key], value.numpy(), rtol=rtol, atol=atol, err_msg=key)
    if name == "cifar_net":
        assert (ours["correct"], ours["total"]) == (theirs["correct"], theirs["total"])


# --- details that ported training code relies on ------------------------------------------------
def test_sgd_takes_pytorchs_arguments_in_pytorchs_order():
    """optim.SGD(params, lr, momentum, dampening, weight_decay, nesterov): positional calls mean the same."""
    ours = list(inspect.signature(tc.optim.SGD).parameters.items())
    theirs = [(n, p) for n, p in inspect.signature(torch.optim.SGD).parameters.items() if p.kind != p.KEYWORD_ONLY]
    assert [n for n, _ in ours] == [n for n, _ in theirs]
    assert [p.default for _, p in ours[1:]] == [p.default for _, p in theirs[1:]]


@pytest.mark.parametrize("args", [(0.1, 0.9, 0.5, 1e-2), (0.05, 0.8, 0.0, 0.0, True), (0.1,)])
def test_sgd_steps_match_torch(args):
    start = np.random.default_rng(3).standard_normal((3, 4))
    ours = tc.nn.Parameter(start.copy())
    theirs = torch.nn.Parameter(torch.tensor(start))
    opt_ours, opt_theirs = tc.optim.SGD([ours], *args), torch.optim.SGD([theirs], *args)
    for step in range(4):
        for p, opt in ((ours, opt_ours), (theirs, opt_theirs)):
            opt.zero_grad()
            (p * p * (step + 1)).sum().backward()
            opt.step()
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="dampening"):
        tc.optim.SGD([ours], 0.1, 0.9, 0.5, nesterov=True)


def test_zero_grad_can_zero_in_place():
    """zero_grad() sets .grad to None; zero_grad(set_to_none=False) keeps the arrays, zeroed, as PyTorch."""
    net = tc.nn.Linear(3, 2)
    opt = tc.optim.SGD(net.parameters(), lr=0.1)
    for owner in (net, opt):
        net(tc.ones(4, 3)).sum().backward()
        grad = net.weight.grad
        owner.zero_grad(set_to_none=False)
        assert net.weight.grad is grad and not grad.any()
        owner.zero_grad()
        assert net.weight.grad is None and net.bias.grad is None
        owner.zero_grad(set_to_none=False)  # no grad yet: stays None
        assert net.weight.grad is None


def test_module_to_float_double_and_cpu():
    """model.to(device), model.to(dtype), .float(), .double() and .cpu() as torch.nn.Module's, in place."""
    model = tc.nn.Sequential(tc.nn.Conv2d(1, 2, 3), tc.nn.BatchNorm2d(2), tc.nn.Flatten(), tc.nn.LazyLinear(3))
    model(tc.zeros(1, 1, 5, 5))
    weight = model[0].weight
    opt = tc.optim.SGD(model.parameters(), lr=0.1)
    assert model.to("cpu") is model and model.cpu() is model and weight.dtype == np.float64
    assert model.float() is model
    assert model[0].weight is weight and opt.params[0] is weight
    assert {p.dtype for p in model.parameters()} == {np.dtype(np.float32)}
    assert model[1].running_var.dtype == np.float32 and model[1].num_batches_tracked.dtype == np.int64
    assert model(tc.zeros(1, 1, 5, 5, dtype=tc.float32)).dtype == np.float32
    model.to(torch.float64)
    assert {p.dtype for p in model.parameters()} == {np.dtype(np.float64)}
    model.to(tc.zeros(1, dtype=tc.float32)).double()
    assert model[1].running_mean.dtype == np.float64
    with pytest.raises(ValueError, match="cpu"):
        model.to("cuda")
    with pytest.raises(TypeError, match="floating"):
        model.to(np.int64)


def test_docs_page_port_matches_torch(tmp_path, monkeypatch):
    """docs/pytorch.md with its PyTorch blocks too (which the site build skips: it has no PyTorch)."""
    from test_docs import DOCS, fenced_blocks

    page = DOCS / "pytorch.md"
    blocks = fenced_blocks(page)
    assert any(skipped for _, _, skipped, _ in blocks), "the PyTorch blocks are marked <!-- skip -->"
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    namespace: dict = {"__name__": "docs_pytorch_with_torch"}
    before, saved = tc.get_default_dtype(), []
    try:
        for line, attrs, _, code in blocks:
            if attrs.get("title", "").endswith(".py"):  # a file the page saves, to import later
                (tmp_path / attrs["title"]).write_text(code, encoding="utf-8")
                saved.append(attrs["title"][:-3])
                continue
            exec(compile(code, f"{page}:{line}", "exec"), namespace)  # noqa: S102 - running the docs is the point
    finally:
        tc.set_default_dtype(before)
        for module in saved:
            sys.modules.pop(module, None)
    assert len(namespace["torch_losses"]) == len(namespace["losses"]) == 5
