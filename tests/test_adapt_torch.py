"""tlhelpers.adapt.torch: gradient reversal, Deep CORAL, AdaBN, DANN and pseudo-labels in PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

import tlhelpers.adapt.torch as at  # noqa: E402
from tlhelpers import adapt  # noqa: E402
from tests.test_adapt import shifted_blobs  # noqa: E402

# The same numbers as tests/test_adapt_keras.py: both frameworks must give the same answers.
X = np.array([[1.0, -2.0, 3.0], [0.5, 0.0, -1.0]], dtype=np.float32)
UPSTREAM = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]], dtype=np.float32)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models: one thread is several times faster than two fighting over a busy machine."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.mark.parametrize("lambda_", [1.0, 0.7, 0.0])
def test_gradient_reversal_is_identity_forward_and_minus_lambda_backward(lambda_):
    x = torch.tensor(X, requires_grad=True)
    y = at.GradientReversal(lambda_)(x)
    assert torch.equal(y, x)
    y.backward(torch.tensor(UPSTREAM))
    assert torch.equal(x.grad, torch.tensor(-np.float32(lambda_) * UPSTREAM))
    x2 = torch.tensor(X, requires_grad=True)
    (at.grad_reverse(x2, lambda_) * torch.tensor(UPSTREAM)).sum().backward()
    assert torch.equal(x2.grad, x.grad)


def test_gradient_reversal_lambda_can_change_between_steps():
    layer = at.GradientReversal(1.0)
    x = torch.ones(3, requires_grad=True)
    layer(x).sum().backward()
    layer.lambda_ = 0.25
    layer(x).sum().backward()  # gradients add up: -1 then -0.25
    assert torch.equal(x.grad, torch.full((3,), -1.25))


def test_coral_loss_matches_the_numpy_closed_form():
    rng = np.random.default_rng(0)
    s, t = rng.normal(size=(20, 6)), 2.0 * rng.normal(size=(30, 6)) + 1.0
    loss = at.coral_loss(torch.tensor(s), torch.tensor(t))
    assert float(loss) == pytest.approx(adapt.coral_loss(s, t), rel=1e-10)
    same = torch.tensor(s)
    assert float(at.coral_loss(same, same)) == 0.0
    source = torch.tensor(s, requires_grad=True)
    at.coral_loss(source, torch.tensor(t)).backward()
    assert torch.isfinite(source.grad).all() and source.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="same d"):
        at.coral_loss(torch.tensor(s), torch.tensor(t[:, :3]))


def _net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Dropout(0.5),
                         nn.Linear(4 * 6 * 6, 5), nn.BatchNorm1d(5))


def _with_source_statistics(net: nn.Sequential) -> nn.Sequential:
    net.train()
    with torch.no_grad():
        for _ in range(3):
            net(torch.randn(16, 3, 8, 8))
    for p in net[1].parameters():  # a frozen BatchNorm, as in a frozen backbone
        p.requires_grad_(False)
    return net.eval()


def test_adabn_sets_bn_statistics_to_the_target_batch_and_nothing_else():
    net = _with_source_statistics(_net())
    params = {k: v.clone() for k, v in net.named_parameters()}
    target = 3.0 * torch.randn(16, 3, 8, 8) + 2.0
    assert not torch.allclose(net[1].running_mean, net[0](target).mean((0, 2, 3)), atol=0.1)
    at.adabn(net, target, batch_size=16)

    with torch.no_grad():
        h = net[0](target)
        z = net[5](torch.relu(F.batch_norm(h, None, None, net[1].weight, net[1].bias, training=True,
                                           eps=net[1].eps)).flatten(1))  # dropout off
    torch.testing.assert_close(net[1].running_mean, h.mean((0, 2, 3)), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(net[1].running_var, h.var((0, 2, 3), unbiased=True), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(net[6].running_mean, z.mean(0), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(net[6].running_var, z.var(0, unbiased=True), rtol=1e-5, atol=1e-6)
    for name, value in net.named_parameters():
        assert torch.equal(value, params[name]), f"adabn changed parameter {name}"
    assert not any(m.training for m in net.modules())  # eval mode put back
    assert net[1].momentum == 0.1 and net[6].momentum == 0.1
    assert not net[1].weight.requires_grad and net[5].weight.requires_grad


def test_adabn_averages_over_equal_batches_and_restores_train_mode():
    net = _with_source_statistics(_net()).train()
    target = torch.randn(32, 3, 8, 8) - 1.0
    at.adabn(net, [(target[:16], None), (target[16:], None)])  # an iterable of (x, y) batches
    with torch.no_grad():
        overall = net[0](target).mean((0, 2, 3))
    torch.testing.assert_close(net[1].running_mean, overall, rtol=1e-5, atol=1e-6)
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError, match="no BatchNorm"):
        at.adabn(nn.Linear(3, 2), torch.randn(4, 3))


def test_dann_lambda_schedule():
    assert at.dann_lambda(0.0) == 0.0
    assert at.dann_lambda(1.0) == pytest.approx(1.0, abs=1e-4)
    values = [at.dann_lambda(p) for p in np.linspace(0, 1, 11)]
    assert values == sorted(values)


def _dann(seed: int) -> at.DANN:
    torch.manual_seed(seed)
    features = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU())
    return at.DANN(features, nn.Linear(32, 2), at.domain_classifier(32, hidden=32))


def _target_accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    return float((at.predict_proba(model, x).argmax(1) == y).mean())


def test_dann_step_reverses_only_the_features_gradient():
    xs, ys, xt, _ = shifted_blobs(0, n=32)
    xs, ys, xt = torch.tensor(xs, dtype=torch.float32), torch.tensor(ys), torch.tensor(xt, dtype=torch.float32)
    grads = {}
    for lam in (1.0, -1.0):  # -1: the domain classifier's gradient reaches the features un-reversed
        model = _dann(0)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
        out = at.dann_step(model, optimizer, xs, ys, xt, lambda_=lam)
        assert set(out) == {"class_loss", "domain_loss", "domain_accuracy", "lambda"} and out["lambda"] == lam
        grads[lam] = {k: p.grad.clone() for k, p in model.named_parameters()}
    class_only = _dann(0)
    F.cross_entropy(class_only(xs), ys).backward()
    for name, p in class_only.named_parameters():
        if name.startswith("features"):  # class part + (-lambda) domain part
            torch.testing.assert_close(grads[1.0][name] + grads[-1.0][name], 2 * p.grad, rtol=1e-4, atol=1e-6)
            assert not torch.allclose(grads[1.0][name], grads[-1.0][name])
        elif name.startswith("domain"):
            torch.testing.assert_close(grads[1.0][name], grads[-1.0][name])


def test_dann_and_deep_coral_beat_source_only_on_a_shifted_2d_problem():
    for seed in (0, 1):
        xs, ys, xt, yt = shifted_blobs(seed)
        source_only = _dann(seed)
        at.train_dann(source_only, xs, ys, xt, steps=300, lambda_max=0.0, seed=seed)  # lambda 0: no adaptation
        dann = _dann(seed)
        history = at.train_dann(dann, xs, ys, xt, steps=300, lambda_max=1.0, seed=seed)
        assert history["lambda"][0] == 0.0 and history["lambda"][-1] > 0.99
        coral = _dann(seed)
        at.train_deep_coral(coral, xs, ys, xt, steps=300, weight=1.0, seed=seed)
        before = _target_accuracy(source_only, xt, yt)
        after = {"DANN": _target_accuracy(dann, xt, yt), "Deep CORAL": _target_accuracy(coral, xt, yt)}
        for method, accuracy in after.items():
            assert accuracy > before + 0.03, f"seed {seed}: {method} {accuracy:.3f} vs source-only {before:.3f}"


def test_training_is_reproducible():
    xs, ys, xt, _ = shifted_blobs(0, n=64)
    runs = []
    for _ in range(2):
        model = _dann(0)
        at.train_dann(model, xs, ys, xt, steps=20, seed=3)
        runs.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert torch.equal(runs[0], runs[1])
    with pytest.raises(TypeError, match="DANN"):
        at.train_dann(nn.Linear(2, 2), xs, ys, xt)


def test_pseudo_label_uses_the_model_softmax():
    model = nn.Linear(2, 3)
    x = np.random.default_rng(0).normal(size=(40, 2)).astype(np.float32) * 3
    with torch.no_grad():
        probs = torch.softmax(model(torch.tensor(x)), 1).numpy()
    chosen = at.pseudo_label(model, x, threshold=0.6, per_class_max=5)
    expected = adapt.select_pseudo_labels(probs, 0.6, per_class_max=5)
    assert chosen.indices.tolist() == expected.indices.tolist()
    assert chosen.labels.tolist() == expected.labels.tolist()
