"""Regularizing layers built from scratch: the dropout family, noise, and normalization.

Each technique is a plain function and a thin module that passes
``self.training`` (as in timm's ``layers/drop.py``), one family per module:

- ``reglab.layers.dropout``: ``Dropout``, ``SpatialDropout``, ``EmbeddingDropout``, ``LockedDropout``
- ``reglab.layers.noise``: ``GaussianNoise``, ``GaussianDropout``
- ``reglab.layers.dropconnect``: ``DropConnectLinear``
- ``reglab.layers.attention``: ``DotProductAttention`` (attention dropout)
- ``reglab.layers.zoneout``: ``ZoneoutGRUCell``
- ``reglab.layers.mc_dropout``: ``mc_predict``
- ``reglab.layers.batchnorm``: ``BatchNorm1d``, ``BatchNorm2d``
- ``reglab.layers.layernorm``: ``LayerNorm``
- ``reglab.layers.spectral``: ``spectral_norm_estimate``
- ``reglab.layers.drop_path``: ``DropPath`` (stochastic depth), ``drop_path_rates``
- ``reglab.layers.shake``: ``ShakeShake``, ``ShakeDrop``
"""

from reglab.layers.attention import DotProductAttention, attention
from reglab.layers.batchnorm import BatchNorm1d, BatchNorm2d, batch_norm
from reglab.layers.drop_path import DropPath, drop_path, drop_path_rates
from reglab.layers.dropconnect import DropConnectLinear, drop_connect
from reglab.layers.dropout import (
    Dropout,
    EmbeddingDropout,
    LockedDropout,
    SpatialDropout,
    dropout,
    embedding_dropout,
    locked_dropout,
    spatial_dropout,
)
from reglab.layers.layernorm import LayerNorm, layer_norm
from reglab.layers.mc_dropout import is_dropout, mc_predict
from reglab.layers.noise import GaussianDropout, GaussianNoise, gaussian_dropout, gaussian_noise
from reglab.layers.shake import ShakeDrop, ShakeShake, shake_drop, shake_scale, shake_shake
from reglab.layers.spectral import spectral_norm_estimate
from reglab.layers.zoneout import ZoneoutGRUCell, zoneout

__all__ = [
    "dropout", "Dropout", "spatial_dropout", "SpatialDropout", "embedding_dropout", "EmbeddingDropout",
    "locked_dropout", "LockedDropout", "gaussian_noise", "GaussianNoise", "gaussian_dropout", "GaussianDropout",
    "drop_connect", "DropConnectLinear", "attention", "DotProductAttention", "zoneout", "ZoneoutGRUCell",
    "is_dropout", "mc_predict", "batch_norm", "BatchNorm1d", "BatchNorm2d", "layer_norm", "LayerNorm",
    "spectral_norm_estimate", "drop_path", "DropPath", "drop_path_rates", "shake_scale", "shake_shake", "ShakeShake",
    "shake_drop", "ShakeDrop",
]
