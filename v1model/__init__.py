"""Models of primary visual cortex and convolutional networks behind one interface."""

from v1model.base import Model

__all__ = ["Model"]
