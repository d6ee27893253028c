"""Where the project's shared reference files are: ../shared beside the repo, or $HATETRIS_SHARED."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

SHARED = Path(os.environ.get("HATETRIS_SHARED") or Path(__file__).resolve().parents[2] / "shared")
RECORDS_PATH = SHARED / "replays" / "records.json"


@lru_cache(maxsize=1)
def _records_text() -> str:
    if not RECORDS_PATH.exists():
        raise FileNotFoundError(f"records.json not found at {RECORDS_PATH} (set HATETRIS_SHARED)")
    return RECORDS_PATH.read_text(encoding="utf-8")


def load_records() -> list[dict]:
    """The published record replays (a fresh copy each call)."""
    return json.loads(_records_text())


RECORDS = load_records()
