"""The kernel cache is dropped when any source of the package changes (Numba alone only
notices a change in a kernel's own file)."""

from __future__ import annotations

from pathlib import Path

from hatetris.config import STAMP, refresh_kernel_cache


def _package(tmp_path: Path) -> Path:
    root = tmp_path / "pkg"
    (root / "sub" / "__pycache__").mkdir(parents=True)
    (root / "__pycache__").mkdir()
    (root / "engine.py").write_text("A = 1\n")
    (root / "sub" / "beam.py").write_text("B = 2\n")
    return root


def _cached(root: Path) -> list[Path]:
    files = [root / "sub" / "__pycache__" / "beam.kernel-1.py311.nbi",
             root / "sub" / "__pycache__" / "beam.kernel-1.py311.1.nbc"]
    for f in files:
        f.write_bytes(b"compiled")
    return files


def test_cache_kept_while_sources_are_unchanged_and_dropped_when_another_file_changes(tmp_path):
    root = _package(tmp_path)
    assert refresh_kernel_cache(root)  # no stamp yet: whatever is cached is of unknown age
    assert (root / "__pycache__" / STAMP).is_file()
    files = _cached(root)
    assert not refresh_kernel_cache(root)
    assert all(f.exists() for f in files)
    # The beam's kernels compiled the engine into themselves: a change to engine.py alone
    # must drop them too.
    (root / "engine.py").write_text("A = 3\n")
    assert refresh_kernel_cache(root)
    assert not any(f.exists() for f in files)
    assert not refresh_kernel_cache(root)


def test_a_new_source_file_counts_as_a_change(tmp_path):
    root = _package(tmp_path)
    refresh_kernel_cache(root)
    files = _cached(root)
    (root / "sub" / "new.py").write_text("C = 1\n")
    assert refresh_kernel_cache(root)
    assert not any(f.exists() for f in files)
