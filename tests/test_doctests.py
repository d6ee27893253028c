"""The examples in the docstrings run as written."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

import hatetris

# Every module but the command-line entry point, which runs on import.
MODULES = sorted(m.name for m in pkgutil.walk_packages(hatetris.__path__, "hatetris.")
                 if m.name != "hatetris.__main__")


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0


def test_readme_examples(monkeypatch):
    """The README's Python API example runs as written, from the repository root."""
    root = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(root)
    result = doctest.testfile(str(root / "README.md"), module_relative=False,
                              optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 10 and result.failed == 0
