"""The small ResNet: its blocks against torchvision's BasicBlock, each block regularizer, and argument checks."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.resnet import BasicBlock

from reglab.layers import DropPath, ShakeDrop, ShakeShake
from reglab.models import ResNet
from reglab.models.resnet import ResidualBlock

REGULARIZERS = ["none", "drop_path", "shake_shake", "shake_drop"]


def _torchvision_twin(block: ResidualBlock, stride: int) -> BasicBlock:
    """torchvision's BasicBlock carrying the weights of our block."""
    conv1, bn1, _, conv2, bn2 = block.branch
    downsample = None if isinstance(block.shortcut, nn.Identity) else block.shortcut
    twin = BasicBlock(conv1.in_channels, conv1.out_channels, stride=stride, downsample=downsample)
    twin.conv1, twin.bn1, twin.conv2, twin.bn2 = conv1, bn1, conv2, bn2
    return twin


@pytest.mark.parametrize("in_ch,out_ch,stride", [(8, 8, 1), (8, 16, 2)])
@pytest.mark.parametrize("train", [True, False])
def test_block_matches_torchvision_basic_block(device, in_ch, out_ch, stride, train):
    torch.manual_seed(0)
    block = ResidualBlock(in_ch, out_ch, stride).to(device)
    with torch.no_grad():  # non-trivial batch-norm statistics and affine parameters
        for m in block.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5), m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5), m.bias.uniform_(-0.2, 0.2)
    twin = _torchvision_twin(block, stride)
    x = torch.randn(4, in_ch, 8, 8, device=device)
    block.train(train), twin.train(train)
    torch.testing.assert_close(block(x), twin(x))


@pytest.mark.parametrize("regularizer", REGULARIZERS)
def test_shapes_modes_and_gradients(device, regularizer):
    torch.manual_seed(0)
    model = ResNet(1, 10, blocks=(2, 2), width=8, block_regularizer=regularizer, p_max=0.5).to(device)
    x = torch.randn(16, 1, 8, 8, device=device)
    out = model(x)
    assert out.shape == (16, 10) and out.device == x.device
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.eval()
    torch.testing.assert_close(model(x), model(x))  # evaluation is deterministic
    if regularizer != "none":
        model.train()
        torch.manual_seed(1)
        a = model(x)
        torch.manual_seed(2)
        assert not torch.allclose(a, model(x))  # training is random


def test_regularizer_layers_and_linear_decay():
    model = ResNet(3, 10, blocks=(3, 3, 3), width=16, block_regularizer="drop_path", p_max=0.5)
    assert len(model.blocks) == 9  # the 20-layer CIFAR ResNet of He et al.: 1 + 2 * 9 + 1
    assert all(isinstance(b.regularize, DropPath) for b in model.blocks)
    assert [b.regularize.p for b in model.blocks] == pytest.approx([0.5 * l / 9 for l in range(1, 10)])
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    assert sum(p.numel() for p in ResNet(3, 10, blocks=(3, 3, 3)).parameters()) == pytest.approx(0.27e6, rel=0.02)
    sd = ResNet(1, 10, blocks=(2,), block_regularizer="shake_drop", p_max=0.4)
    assert [type(b.regularize) for b in sd.blocks] == [ShakeDrop, ShakeDrop]
    assert [b.regularize.p for b in sd.blocks] == pytest.approx([0.2, 0.4])
    ss = ResNet(1, 10, blocks=(2,), block_regularizer="shake_shake")
    assert all(isinstance(b.regularize, ShakeShake) and b.branch2 is not None for b in ss.blocks)


def test_drop_path_with_zero_rate_and_eval_shake_shake_reduce_to_plain_blocks(device):
    torch.manual_seed(0)
    x = torch.randn(8, 4, 6, 6, device=device)
    plain = ResidualBlock(4, 4).to(device)
    dropped = ResidualBlock(4, 4, regularizer="drop_path", p=0.0).to(device)
    dropped.load_state_dict(plain.state_dict())
    torch.testing.assert_close(dropped.train()(x), plain.train()(x))
    shaken = ResidualBlock(4, 4, regularizer="shake_shake").to(device).eval()
    by_hand = F.relu(x + 0.5 * (shaken.branch(x) + shaken.branch2(x)))
    torch.testing.assert_close(shaken(x), by_hand)
    shake_drop = ResidualBlock(4, 4, regularizer="shake_drop", p=0.3).to(device).eval()
    torch.testing.assert_close(shake_drop(x), F.relu(x + 0.7 * shake_drop.branch(x)))


def test_learns_a_small_batch(device):
    """40 Adam steps fit 32 random images: the loss falls on every seed, and by far on a typical one.

    One seed is not enough: the ratio of final to first loss varies with the seed (measured on 10 seeds: from
    0.02 to 0.16 on torch 2.14, from 0.03 to 0.37 on torch 2.1, medians 0.04 and 0.08). So five seeds, and two
    margins: every ratio below 0.75 (twice the worst of the 20 runs), the median below 0.3 (four times the larger
    median).
    """
    ratios = []
    for seed in range(5):
        torch.manual_seed(seed)
        x, y = torch.randn(32, 1, 8, 8, device=device), torch.arange(32, device=device) % 4
        model = ResNet(1, 4, blocks=(1, 1), width=8, block_regularizer="shake_drop", p_max=0.3).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        first = F.cross_entropy(model(x), y).item()
        for _ in range(40):
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
        model.eval()
        ratios.append(F.cross_entropy(model(x), y).item() / first)
    assert max(ratios) < 0.75, ratios
    assert torch.tensor(ratios).median() < 0.3, ratios


def test_bad_arguments():
    with pytest.raises(ValueError, match="'block_regularizer' parameter of ResNet"):
        ResNet(1, 10, block_regularizer="dropout")
    with pytest.raises(ValueError, match="'p_max' parameter of ResNet"):
        ResNet(1, 10, p_max=1.0)
    with pytest.raises(ValueError, match="'blocks' parameter of ResNet"):
        ResNet(1, 10, blocks=(2, 0))
    with pytest.raises(TypeError, match="'blocks' parameter of ResNet"):
        ResNet(1, 10, blocks=3)
    with pytest.raises(ValueError, match="'width' parameter of ResNet"):
        ResNet(1, 10, width=0)
    with pytest.raises(ValueError, match="'regularizer' parameter of ResidualBlock"):
        ResidualBlock(4, 4, regularizer="shake")
    with pytest.raises(ValueError, match="'p' parameter of ResidualBlock"):
        ResidualBlock(4, 4, regularizer="drop_path", p=1.2)


def test_stem_stride_matches_a_strided_convolution(device):
    """``stem_stride=2``: the stem is F.conv2d with stride 2 (then BN, ReLU); the blocks see ceil(H/2) x ceil(W/2)."""
    torch.manual_seed(0)
    model = ResNet(1, 10, blocks=(1, 1), width=8, stem_stride=2).to(device).eval()
    for size, half in ((14, 7), (7, 4), (28, 14)):
        x = torch.randn(3, 1, size, size, device=device)
        conv, bn, _ = model.stem
        by_hand = F.relu(bn(F.conv2d(x, conv.weight, stride=2, padding=1)))
        torch.testing.assert_close(model.stem(x), by_hand)
        assert model.stem(x).shape == (3, 8, half, half)
        assert model(x).shape == (3, 10)
    plain = ResNet(1, 10, blocks=(1, 1), width=8)
    assert plain.stem[0].stride == (1, 1)  # the default is unchanged
    with pytest.raises(ValueError, match="'stem_stride' parameter of ResNet"):
        ResNet(1, 10, stem_stride=0)
    with pytest.raises(TypeError, match="'stem_stride' parameter of ResNet"):
        ResNet(1, 10, stem_stride=2.0)
