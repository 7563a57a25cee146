"""02 feature extraction (PyTorch): each plausible wrong answer fails its visible test AND loses exactly its
points in the grader's probes; right-but-different answers pass both (issues #16 and #17).

The notebook's set-up cells, the emoji loading cell and every exercise and test cell run in this process in the
``smoke`` profile (no sandbox: what is tested here is what the visible tests and the probes *say* about an answer;
the sandboxed round trip is tests/test_grading_roundtrip.py). The probes and their judges are the real ones from
the probe file, and they judge a wrong answer against the probe values of the solution, as the grader does.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import nbformat
import pytest

from probe_tables import run_probe
from tlhelpers import checks
from tlhelpers.grading.probes import judge, load_probes

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "solutions" / "02_feature_extraction" / "feature_extraction_pytorch.ipynb"
HIDDEN = "### BEGIN HIDDEN TESTS"

WRONG = {   # name -> (answer cell grade_id, source): each must fail its visible test and lose its points
    "freezes only the blocks": ("fe_torch_freeze", """
        def freeze_and_count(model):
            for p in model.blocks.parameters():
                p.requires_grad_(False)
            trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
            frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
            return {"trainable": int(trainable), "frozen": int(frozen)}
        """),
    "counts tensors, not parameters": ("fe_torch_freeze", """
        def freeze_and_count(model):
            for p in model.parameters():
                p.requires_grad_(False)
            params = list(model.parameters())
            return {"trainable": 0, "frozen": len(params)}
        """),
    "classifier: base left trainable": ("fe_torch_head", """
        def build_classifier(base, num_classes):
            return nn.Sequential(base, nn.Linear(base.num_features, num_classes))
        """),
    "classifier: softmax after the logits": ("fe_torch_head", """
        def build_classifier(base, num_classes):
            tt.freeze(base)
            return nn.Sequential(base, nn.Linear(base.num_features, num_classes), nn.Softmax(dim=1))
        """),
    "head parameters: biases forgotten": ("fe_torch_head_params", """
        def head_params(widths):
            return int(sum(a * b for a, b in zip(widths[:-1], widths[1:])))
        """),
    "transfer model: no ImageNet weights": ("fe_torch_transfer_model", """
        def build_transfer_model(num_classes, dropout=0.2):
            base = tt.freeze(tt.efficientnet_lite0(weights=None, include_top=False, pooling="avg"))
            return nn.Sequential(base, nn.Dropout(dropout), nn.Linear(base.num_features, num_classes))
        """),
    "transfer model: base not frozen": ("fe_torch_transfer_model", """
        def build_transfer_model(num_classes, dropout=0.2):
            base = tt.efficientnet_lite0(weights="imagenet", include_top=False, pooling="avg")
            return nn.Sequential(base, nn.Dropout(dropout), nn.Linear(base.num_features, num_classes))
        """),
    "transfer model: no dropout": ("fe_torch_transfer_model", """
        def build_transfer_model(num_classes, dropout=0.2):
            base = tt.freeze(tt.efficientnet_lite0(weights="imagenet", include_top=False, pooling="avg"))
            return nn.Sequential(base, nn.Linear(base.num_features, num_classes))
        """),
    "train_head: no optimizer step": ("fe_torch_train_head", """
        def train_head(model, train, val, epochs=5, lr=3e-3, batch_size=32):
            (x_train, y_train), (x_val, y_val) = train, val
            optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
            history = {"loss": [], "val_accuracy": []}
            for _ in range(epochs):
                model.train()
                losses = []
                for start in range(0, len(x_train), batch_size):
                    x = tt.preprocess_input(x_train[start:start + batch_size])
                    y = torch.as_tensor(y_train[start:start + batch_size], dtype=torch.long)
                    optimizer.zero_grad()
                    loss = nn.functional.cross_entropy(model(x), y)
                    loss.backward()
                    losses.append(loss.item())
                model.eval()
                with torch.no_grad():
                    pred = model(tt.preprocess_input(x_val)).argmax(1).numpy()
                history["loss"].append(float(np.mean(losses)))
                history["val_accuracy"].append(float(np.mean(pred == y_val)))
            return history
        """),
    "train_head: validation in train mode": ("fe_torch_train_head", """
        def train_head(model, train, val, epochs=5, lr=3e-3, batch_size=32):
            (x_train, y_train), (x_val, y_val) = train, val
            optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
            history = {"loss": [], "val_accuracy": []}
            model.train()
            for _ in range(epochs):
                order = np.random.permutation(len(x_train))
                total = 0.0
                for start in range(0, len(order), batch_size):
                    batch = order[start:start + batch_size]
                    optimizer.zero_grad()
                    loss = nn.functional.cross_entropy(model(tt.preprocess_input(x_train[batch])),
                                                       torch.as_tensor(y_train[batch], dtype=torch.long))
                    loss.backward()
                    optimizer.step()
                    total += loss.item() * len(batch)
                with torch.no_grad():
                    pred = model(tt.preprocess_input(x_val)).argmax(1).numpy()
                history["loss"].append(total / len(order))
                history["val_accuracy"].append(float(np.mean(pred == y_val)))
            return history
        """),
    "cut: off by one block": ("fe_torch_cut", """
        def cut_at_block(model, k):
            return nn.Sequential(model.stem, model.blocks[:k - 1], Pool())
        """),
}

RIGHT = {   # name -> (answer cell grade_id, source): differently written, correct: full points
    "freeze with the library": ("fe_torch_freeze", """
        def freeze_and_count(model):
            tt.freeze(model)
            counts = tt.count_params(model)
            return {"trainable": counts["trainable"], "frozen": counts["frozen"]}
        """),
    "head parameters by building the head": ("fe_torch_head_params", """
        def head_params(widths):
            layers = [nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:])]
            return sum(p.numel() for layer in layers for p in layer.parameters())
        """),
    "transfer model as a class, pooling by hand": ("fe_torch_transfer_model", """
        class TransferModel(nn.Module):
            def __init__(self, num_classes, dropout):
                super().__init__()
                self.features = tt.efficientnet_lite0(weights="imagenet", include_top=False, pooling=None)
                for p in self.features.parameters():
                    p.requires_grad = False
                self.pool = nn.AdaptiveAvgPool2d(1)
                self.drop = nn.Dropout(p=dropout)
                self.fc = nn.Linear(1280, num_classes)

            def forward(self, x):
                return self.fc(self.drop(self.pool(self.features(x)).flatten(1)))


        def build_transfer_model(num_classes, dropout=0.2):
            return TransferModel(num_classes, dropout)
        """),
    "train_head with tt.fit": ("fe_torch_train_head", """
        def train_head(model, train, val, epochs=5, lr=3e-3, batch_size=32):
            history = tt.fit(model, train, val, epochs=epochs, lr=lr, batch_size=batch_size,
                             transform=tt.preprocess_input, progress=False, device="cpu")
            return {"loss": history["loss"], "val_accuracy": history["val_accuracy"]}
        """),
    "cut as a module of its own": ("fe_torch_cut", """
        class Cut(nn.Module):
            def __init__(self, model, k):
                super().__init__()
                self.stem, self.blocks = model.stem, nn.ModuleList(model.blocks[i] for i in range(k))

            def forward(self, x):
                x = self.stem(x)
                for block in self.blocks:
                    x = block(x)
                return torch.mean(x, dim=[2, 3])


        def cut_at_block(model, k):
            return Cut(model, k)
        """),
}


def _grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _code(source: str) -> str:
    return "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("%"))


@pytest.fixture(scope="module")
def notebook():
    """The solution's namespace after its set-up, data and exercise cells (smoke); cells and probes by grade id."""
    import matplotlib

    matplotlib.use("Agg")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    namespace: dict = {}
    answers, tests = {}, {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        if "parameters" in cell.metadata.get("tags", []):
            source = "profile = 'smoke'\nseed = 0\nmetrics_path = None"
        elif meta.get("solution"):
            answers[meta["grade_id"]] = cell.source
            source = cell.source
        elif meta.get("grade"):
            tests[meta["grade_id"]] = cell.source
            source = cell.source
        elif "run = settings.setup" in cell.source or "emo = emoji.load_emoji" in cell.source:
            source = cell.source
        else:
            continue
        exec(compile(_code(source), f"<{_grade_id(cell) or 'cell'}>", "exec"), namespace)
    probes = load_probes(NOTEBOOK.with_name(NOTEBOOK.stem + ".probes.py"))
    points = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"] for c in nb.cells
              if c.metadata.get("nbgrader", {}).get("grade")}
    return {"ns": namespace, "answers": answers, "tests": tests, "probes": probes, "points": points, "keys": {}}


def _probe_values(ns: dict, probes) -> dict:
    """Each probe run as the grader's own probe cell, each in its own copy of ``ns`` (the namespace is shared)."""
    return {p.name: run_probe(dict(ns), p) for p in probes}


def _outcome(notebook, grade_id: str, source: str) -> tuple[str | None, list[str]]:
    """(the visible test's error or None, the probes' complaints) for an answer to `grade_id`."""
    test_id = f"{grade_id}_tests"
    probes = [p for p in notebook["probes"] if p.test_grade_id == test_id]
    if test_id not in notebook["keys"]:
        notebook["keys"][test_id] = _probe_values(notebook["ns"], probes)
        assert all(v["ok"] for v in notebook["keys"][test_id].values()), notebook["keys"][test_id]
    ns = dict(notebook["ns"])
    exec(compile(textwrap.dedent(source), f"<answer {grade_id}>", "exec"), ns)
    visible = notebook["tests"][test_id].split(HIDDEN)[0]
    try:
        exec(compile(visible, f"<visible {test_id}>", "exec"), ns)
        visible_error = None
    except (checks.AnswerError, AssertionError, Exception) as error:  # noqa: BLE001
        visible_error = f"{type(error).__name__}: {error}"
    got = _probe_values(ns, probes)
    complaints = [m for p in probes if (m := judge(p, got[p.name], notebook["keys"][test_id][p.name]["value"],
                                                   reveal=True))]
    return visible_error, complaints


def test_solution_passes_every_visible_test_and_probe(notebook):
    for grade_id, source in notebook["answers"].items():
        visible_error, complaints = _outcome(notebook, grade_id, source)
        assert visible_error is None and not complaints, (grade_id, visible_error, complaints)


@pytest.mark.parametrize("name", sorted(WRONG))
def test_wrong_answer_fails_visibly_and_loses_its_points(notebook, name):
    grade_id, source = WRONG[name]
    visible_error, complaints = _outcome(notebook, grade_id, source)
    assert visible_error is not None, f"{name}: the visible test passes a wrong answer"
    assert complaints, f"{name}: the probes give full points to a wrong answer"
    # The other exercises are untouched by this answer: their points stay (each probe reads only its function).


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_right_but_different_answer_gets_full_points(notebook, name):
    grade_id, source = RIGHT[name]
    visible_error, complaints = _outcome(notebook, grade_id, source)
    assert visible_error is None, f"{name}: the visible test rejects a correct answer: {visible_error}"
    assert not complaints, f"{name}: the probes reject a correct answer: {complaints}"


def test_untrained_head_fails_the_accuracy_judge(notebook):
    """A train_head that returns a plausible history but never trains loses the points on accuracy alone."""
    source = """
        def train_head(model, train, val, epochs=5, lr=3e-3, batch_size=32):
            x_val, y_val = val
            model.eval()
            with torch.no_grad():
                acc = float(np.mean(model(tt.preprocess_input(x_val)).argmax(1).numpy() == y_val))
            return {"loss": [2.0 - 0.1 * e for e in range(epochs)], "val_accuracy": [acc] * epochs}
        """
    _, complaints = _outcome(notebook, "fe_torch_train_head", source)
    assert any("too low for a trained head" in c for c in complaints), complaints
