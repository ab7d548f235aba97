"""The municipality this installation serves: its settings, and what every page shows of it."""
