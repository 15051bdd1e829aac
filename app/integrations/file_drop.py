"""CSV drop folder: find files ready to import, and move them to done/ or failed/ (with a report).

No database here. A file still being written is left alone until it has not changed for
``settle_seconds``. Moves never overwrite: a name already taken gets a timestamp suffix.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

DONE, FAILED = "done", "failed"


class FolderError(Exception):
    """The folder is missing or not usable (message is for admins)."""


def check_folder(folder: str) -> Path:
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise FolderError(f"The folder {folder} does not exist (or is not a folder).")
    for sub in (DONE, FAILED):
        try:
            (path / sub).mkdir(exist_ok=True)
        except OSError as exc:
            raise FolderError(f"Cannot create {path / sub}: {exc.strerror}") from None
    return path


def ready_files(folder: str, settle_seconds: float = 5.0, now: float | None = None) -> list[Path]:
    """CSV files directly in the folder, oldest first, that have settled."""
    path = check_folder(folder)
    current = time.time() if now is None else now
    files = [
        p
        for p in path.iterdir()
        if p.is_file() and p.suffix.lower() == ".csv" and current - p.stat().st_mtime >= settle_seconds
    ]
    return sorted(files, key=lambda p: (p.stat().st_mtime, p.name))


def _free_name(target_dir: Path, name: str) -> Path:
    target = target_dir / name
    if not target.exists():
        return target
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    return target_dir / f"{Path(name).stem}-{stamp}{Path(name).suffix}"


def move(file: Path, outcome: str, report: str | None = None) -> Path:
    """Move ``file`` into done/ or failed/; write ``<name>.errors.txt`` next to it when a report is given."""
    target = _free_name(file.parent / outcome, file.name)
    file.rename(target)
    if report:
        target.with_name(target.name + ".errors.txt").write_text(report, encoding="utf-8")
    return target
