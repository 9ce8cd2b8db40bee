"""Running protocols through models and measuring the responses."""

from analysis.recording import Recording
from analysis.runner import run_protocol

__all__ = ["Recording", "run_protocol"]
