"""Reading the labelled JSON Lines files: a malformed row is an error naming file and line, never a skip."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from newsflow.errors import NewsflowError


def read_rows(path: Path, required: tuple[str, ...]) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(path.read_bytes().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise NewsflowError(f"{path}:{number}: not JSON ({exc})") from exc
        missing = [name for name in required if row.get(name) is None]
        if missing:
            raise NewsflowError(f"{path}:{number}: missing field(s) {', '.join(missing)}")
        rows.append(row)
    return rows
