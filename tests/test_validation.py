"""The one error-message format, and the checks behind it."""

import math

import pytest
import torch

from reglab._validation import check_bool, check_class_indices, check_int, check_probability, check_real, check_tensor


def test_message_names_parameter_owner_range_and_value():
    with pytest.raises(ValueError) as info:
        check_probability(1.5, "p", "Dropout")
    assert str(info.value) == "The 'p' parameter of Dropout must be a finite float in the range [0, 1). Got 1.5 instead."


@pytest.mark.parametrize("bad", [-0.1, 1.0, math.nan, math.inf])
def test_probability_rejects_outside_half_open_interval(bad):
    with pytest.raises(ValueError, match="'p' parameter of Thing"):
        check_probability(bad, "p", "Thing")


def test_probability_allow_one_closes_the_interval():
    assert check_probability(1, "p", "Thing", allow_one=True) == 1.0
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        check_probability(1.01, "p", "Thing", allow_one=True)


@pytest.mark.parametrize("bad", ["0.5", None, True, torch.tensor(0.5)])
def test_real_rejects_non_numbers_with_type_error(bad):
    with pytest.raises(TypeError, match="'x' parameter of f must be a finite float"):
        check_real(bad, "x", "f")


def test_real_open_and_closed_ends():
    assert check_real(0.0, "x", "f", low=0.0) == 0.0
    with pytest.raises(ValueError, match=r"> 0"):
        check_real(0.0, "x", "f", low=0.0, low_open=True)
    with pytest.raises(ValueError, match=r"in the range \(0, 2\]"):
        check_real(3, "x", "f", low=0, high=2, low_open=True)


def test_int_rejects_bool_float_and_out_of_range():
    assert check_int(3, "n", "f", low=1) == 3
    with pytest.raises(TypeError, match="an int >= 1"):
        check_int(2.0, "n", "f", low=1)
    with pytest.raises(TypeError):
        check_int(True, "n", "f")
    with pytest.raises(ValueError, match=r"an int in the range \[1, 5\]. Got 6 instead"):
        check_int(6, "n", "f", low=1, high=5)


def test_bool_is_strict():
    assert check_bool(False, "flag", "f") is False
    with pytest.raises(TypeError, match="'flag' parameter of f must be a bool"):
        check_bool(0, "flag", "f")


def test_tensor_rank_and_kind():
    x = torch.zeros(2, 3)
    assert check_tensor(x, "x", "f", ndim=2, floating=True) is x
    with pytest.raises(TypeError, match="a torch.Tensor. Got 'list'"):
        check_tensor([1.0], "x", "f")
    with pytest.raises(ValueError, match=r"1 or 3 dimensions. Got 'shape \(2, 3\)'"):
        check_tensor(x, "x", "f", ndim=(1, 3))
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        check_tensor(x, "x", "f", min_ndim=3)
    with pytest.raises(TypeError, match="an integer tensor"):
        check_tensor(x, "x", "f", floating=False)
    with pytest.raises(TypeError, match="a floating-point tensor"):
        check_tensor(x.long(), "x", "f", floating=True)


def test_class_indices_must_be_int64():
    y = torch.zeros(3, dtype=torch.long)
    assert check_class_indices(y, "y", "f", ndim=1) is y
    for dtype in (torch.int32, torch.uint8, torch.bool, torch.float32):
        with pytest.raises(TypeError, match=r"'y' parameter of f must be an int64 tensor of class indices \(as F.one_hot"):
            check_class_indices(y.to(dtype), "y", "f")
    with pytest.raises(ValueError, match="'y' parameter of f must be a tensor with 1 dimensions"):
        check_class_indices(y.reshape(3, 1), "y", "f", ndim=1)
