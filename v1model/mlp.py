"""A multilayer perceptron: the baseline without locality or weight sharing.

Every hidden unit sees every pixel through its own weights, so it must learn
separately what a convolutional layer states once for all positions.  Built
from the same layers and trained by the same loop as the CNN
(:func:`v1model.cnn.train`), and wrapped by the same :class:`v1model.cnn.CNN`
model class (its stages are non-retinotopic ``(n, units)`` layers).
"""

from __future__ import annotations

from collections.abc import Sequence

from stimuli._shared.validation import check_int, check_range

__all__ = ["mlp_spec"]


def mlp_spec(n_classes: int, *, input_size: int = 32, hidden: Sequence[int] = (256,),
             dropout: float = 0.25) -> dict:
    """Architecture of an MLP on one grayscale ``input_size × input_size`` image.

    Stages ``fc1``, ``fc2``, ... (dense + ReLU + dropout; ``fc1`` first flattens the
    image) and ``logits``.

    Parameters
    ----------
    n_classes : int
        Output classes, >= 2.
    input_size : int
        Side of the square input in pixels, >= 1.
    hidden : sequence of int
        Width of each hidden layer (at least one), each >= 1.
    dropout : float
        Drop probability after each hidden layer, in [0, 1).

    Returns
    -------
    dict
        A specification for :meth:`v1model.cnn.Network.from_spec`.

    Raises
    ------
    ValueError, TypeError
        If a size is out of range or ``hidden`` is empty.

    Examples
    --------
    >>> from v1model.cnn import Network
    >>> net = Network.from_spec(mlp_spec(3, input_size=8, hidden=(16,)), rng=0)
    >>> net.names, net.n_parameters
    (('fc1', 'logits'), 1091)
    """
    n_classes = check_int("n_classes", n_classes, minimum=2)
    input_size = check_int("input_size", input_size, minimum=1)
    if isinstance(hidden, (str, bytes)) or not isinstance(hidden, Sequence):
        raise TypeError(f"hidden must be a sequence of layer widths, got {hidden!r}")
    hidden = [check_int(f"hidden[{i}]", h, minimum=1) for i, h in enumerate(hidden)]
    if not hidden:
        raise ValueError("hidden must list at least one layer width")
    dropout = check_range("dropout", dropout, 0.0, 1.0, closed="left")
    stages = []
    n_in = input_size**2
    for i, width in enumerate(hidden):
        layers = [{"type": "flatten"}] if i == 0 else []
        layers += [{"type": "dense", "in_features": n_in, "out_features": width},
                   {"type": "relu"}, {"type": "dropout", "p": dropout}]
        stages.append({"name": f"fc{i + 1}", "layers": layers})
        n_in = width
    stages.append({"name": "logits",
                   "layers": [{"type": "dense", "in_features": n_in, "out_features": n_classes}]})
    return {"input_shape": [1, input_size, input_size], "stages": stages}
