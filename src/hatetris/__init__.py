"""hatetris: an exact, fast HATETRIS emulator and search engine."""

__version__ = "0.1.0"
