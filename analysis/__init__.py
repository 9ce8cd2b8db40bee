"""Running protocols through models and measuring the responses."""

__all__: list[str] = []
