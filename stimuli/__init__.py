"""Visual stimuli in contrast units on a display measured in degrees."""

from stimuli.display import Display
from stimuli.table import Table

__all__ = ["Display", "Table"]
