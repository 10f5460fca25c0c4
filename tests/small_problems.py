"""Tiny problems the unit tests share."""

import torch
from torch import nn


def tiny_classifier(device, seed=0):
    """A 5-8-3 tanh MLP on 12 random points with 3 classes: ``(model, x (12, 5), y (12,))``, seeded."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3)).to(device)
    x = torch.randn(12, 5, device=device)
    y = torch.randint(0, 3, (12,), device=device)
    return model, x, y
