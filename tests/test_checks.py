import numpy as np
import pytest

from tlhelpers import checks


def test_unanswered():
    with pytest.raises(checks.AnswerError, match="no answer yet"):
        checks.check_answered(None, "x")
    with pytest.raises(AssertionError):  # nbgrader sees a failed test
        checks.check_answered(..., "x")


def test_check_close_messages():
    checks.check_close(0.1 + 0.2, 0.3, "s")
    with pytest.raises(checks.AnswerError, match=r"got 0.5, expected 0.3. Hint: add"):
        checks.check_close(0.5, 0.3, "s", hint="add")
    with pytest.raises(checks.AnswerError, match="largest difference at flat index 2"):
        checks.check_close([1, 2, 9], [1, 2, 3], "v")
    with pytest.raises(checks.AnswerError, match="shape"):
        checks.check_close([1, 2], [1, 2, 3], "v")
    with pytest.raises(checks.AnswerError, match="NaN"):
        checks.check_close(float("nan"), 1.0, "v")
    with pytest.raises(checks.AnswerError, match="number"):
        checks.check_close("abc", 1.0, "v")


def test_check_equal_type_and_value():
    checks.check_equal({"a": 1}, {"a": 1}, "d")
    checks.check_equal(np.int64(3), 3, "n")
    with pytest.raises(checks.AnswerError, match="should be a dict"):
        checks.check_equal([1], {"a": 1}, "d")
    with pytest.raises(checks.AnswerError, match="not right"):
        checks.check_equal("a", "b", "s")


def test_check_shape_type_in():
    checks.check_shape(np.zeros((3, 4)), (3, None), "a")
    with pytest.raises(checks.AnswerError, match=r"expected \(3, 'any', 1\)"):
        checks.check_shape(np.zeros((3, 4)), (3, None, 1), "a")
    checks.check_type(3, (int, float), "n")
    with pytest.raises(checks.AnswerError, match="should be a int or float"):
        checks.check_type("3", (int, float), "n")
    with pytest.raises(checks.AnswerError, match="must be one of"):
        checks.check_in("x", ["a", "b"], "c")


def test_answer_error_renders_without_traceback():
    lines = checks.AnswerError("`x` is 3, which is not right.")._render_traceback_()
    assert "AnswerError" in lines[0] and "`x` is 3, which is not right." in lines[0]
    assert not any("checks.py" in line or "Traceback" in line for line in lines)


@pytest.mark.slow
def test_jupyter_shows_the_message_not_a_traceback_through_checks(tmp_path):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("from tlhelpers import checks\nchecks.check_equal(2, 3, 'answer')")]
    NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True).execute()
    [error] = [o for o in nb.cells[0].outputs if o.output_type == "error"]
    assert error.ename == "AnswerError" and "`answer` is 2" in error.evalue   # nbgrader still sees the failure
    shown = "\n".join(error.traceback)
    assert "`answer` is 2, which is not right." in shown
    assert "checks.py" not in shown and "Traceback" not in shown


class _FakeWeight:
    def __init__(self, path, shape):
        self.path, self.name, self.shape = path, path.split("/")[-1], shape


class _FakeKerasModel:
    trainable_weights = [_FakeWeight("dense/kernel", (1280, 7)), _FakeWeight("dense/bias", (7,))]


def test_check_frozen_counts_scalars():
    torch = pytest.importorskip("torch")
    layer = torch.nn.Linear(7, 3)
    assert checks.trainable_parameters(layer) == [("weight", 21), ("bias", 3)]
    with pytest.raises(checks.AnswerError, match=r"^24 parameters of `model` are still trainable \(in 2 weight "
                                                 r"tensors, e.g. weight\)"):
        checks.check_frozen(layer, "model")
    layer.requires_grad_(False)
    checks.check_frozen(layer, "model")
    assert checks.trainable_parameters(_FakeKerasModel()) == [("dense/kernel", 8960), ("dense/bias", 7)]
    with pytest.raises(checks.AnswerError, match="8,967 parameters"):
        checks.check_frozen(_FakeKerasModel(), "model", hint="freeze it")
    with pytest.raises(TypeError, match="PyTorch module or a Keras model"):
        checks.trainable_parameters(object())


def test_shape_errors_get_a_hint():
    torch = pytest.importorskip("torch")
    head = torch.nn.Linear(512, 7)
    with pytest.raises(checks.AnswerError, match=r"(?s)`build_classifier\(base, 7\)` failed with RuntimeError: "
                                                 r"mat1 and mat2 shapes cannot be multiplied.*Hint: .*1280"):
        with checks.explain_shape_errors("build_classifier(base, 7)"):
            head(torch.zeros(2, 1280))
    conv = torch.nn.Conv2d(3, 8, 3)
    with pytest.raises(checks.AnswerError, match="channels, height, width"):
        with checks.explain_shape_errors("model"):
            conv(torch.zeros(2, 32, 32, 3))          # channels last given to PyTorch
    with pytest.raises(checks.AnswerError, match="core dimension"):
        with checks.explain_shape_errors("features @ weights"):
            np.zeros((2, 3)) @ np.zeros((4, 5))
    with pytest.raises(ZeroDivisionError):           # other errors pass through unchanged
        with checks.explain_shape_errors("model"):
            1 / 0
    with pytest.raises(checks.AnswerError, match="^inner$"):
        with checks.explain_shape_errors("model"):
            raise checks.AnswerError("inner")
