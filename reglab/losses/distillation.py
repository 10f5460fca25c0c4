"""Knowledge distillation: a student learns the teacher's softened probabilities.

Paper:
    - G. Hinton, O. Vinyals, J. Dean. "Distilling the Knowledge in a Neural
      Network." NIPS 2014 Deep Learning Workshop, arXiv:1503.02531 (2015).

Both the teacher's and the student's logits are divided by the same
temperature T before the softmax. The gradient of the soft term with respect
to the student's logits scales as :math:`1/T^2` (for large T it tends to
:math:`(z_s - z_t)/(K T^2)` with centred logits), so the soft term is multiplied
by :math:`T^2` to keep its weight against the hard-label term when T changes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from reglab._validation import check_probability, check_real, check_tensor, parameter_error

__all__ = ["distillation_loss", "DistillationLoss"]


def distillation_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    target: torch.Tensor | None = None,
    temperature: float = 4.0,
    alpha: float = 0.9,
) -> torch.Tensor:
    """Hinton et al.'s distillation loss, averaged over the batch.

    .. math::
        \\mathcal{L} = \\alpha\\, T^2\\, \\frac{1}{N}\\sum_{i=1}^{N}
        \\mathrm{KL}\\big(\\operatorname{softmax}(t_i / T) \\,\\big\\|\\,
        \\operatorname{softmax}(s_i / T)\\big)
        + (1 - \\alpha)\\, \\frac{1}{N}\\sum_{i=1}^{N} \\mathrm{CE}(s_i, y_i)

    where :math:`s` are the student's logits and :math:`t` the teacher's. The
    teacher's logits are detached: no gradient flows into the teacher.

    Args:
        student_logits (Tensor): the student's scores.
        teacher_logits (Tensor): the teacher's scores on the same inputs.
        target (Tensor, optional): class indices for the hard-label term;
            required unless ``alpha`` is 1.
        temperature (float): T > 0. Default: 4.0.
        alpha (float): weight of the soft term in [0, 1]. Default: 0.9.

    Shape:
        - student_logits, teacher_logits: :math:`(N, K)`.
        - target: :math:`(N,)` int64.
        - Output: :math:`()`.

    Example:
        >>> s, t = torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0, 0.0]])
        >>> distillation_loss(s, t, alpha=1.0)  # same distributions: KL = 0
        tensor(0.)

    References:
        Hinton, Vinyals and Dean (2015), section 2.
    """
    owner = "distillation_loss"
    check_tensor(student_logits, "student_logits", owner, ndim=2, floating=True)
    check_tensor(teacher_logits, "teacher_logits", owner, ndim=2, floating=True)
    if teacher_logits.shape != student_logits.shape:
        raise ValueError(
            parameter_error("teacher_logits", owner, f"shape {tuple(student_logits.shape)}", f"shape {tuple(teacher_logits.shape)}")
        )
    temperature = check_real(temperature, "temperature", owner, low=0.0, low_open=True)
    alpha = check_probability(alpha, "alpha", owner, allow_one=True)
    if alpha < 1.0 and target is None:
        raise ValueError(parameter_error("target", owner, "class indices when alpha < 1", None))

    log_p_student = F.log_softmax(student_logits / temperature, dim=1)           # (N, K)
    log_p_teacher = F.log_softmax(teacher_logits.detach() / temperature, dim=1)  # (N, K)
    kl = (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum(dim=1).mean()
    loss = alpha * temperature**2 * kl
    if alpha < 1.0:
        check_tensor(target, "target", owner, ndim=1, floating=False)
        loss = loss + (1.0 - alpha) * F.cross_entropy(student_logits, target)
    return loss


class DistillationLoss(nn.Module):
    """Module form of :func:`distillation_loss`.

    Args:
        temperature (float): T > 0. Default: 4.0.
        alpha (float): weight of the soft term in [0, 1]. Default: 0.9.

    Example:
        >>> DistillationLoss(temperature=2.0, alpha=0.5)
        DistillationLoss(temperature=2.0, alpha=0.5)
    """

    def __init__(self, temperature: float = 4.0, alpha: float = 0.9) -> None:
        super().__init__()
        self.temperature = check_real(temperature, "temperature", "DistillationLoss", low=0.0, low_open=True)
        self.alpha = check_probability(alpha, "alpha", "DistillationLoss", allow_one=True)

    def forward(self, student_logits: torch.Tensor, teacher_logits: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
        return distillation_loss(student_logits, teacher_logits, target, self.temperature, self.alpha)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}, alpha={self.alpha}"
