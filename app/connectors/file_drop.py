"""CSV drop folder: find files ready to import, and move them to done/ or failed/ (with a report).

No database here. A file still being written is left alone until it has not changed for
``settle_seconds``. Moves never overwrite: a name already taken gets a timestamp suffix.

The sync runner sees a folder and an S3 bucket (app.connectors.s3_bucket.S3DropSource) through
one small interface, :class:`DropSource`: list what is ready, read one, move it when done.
:class:`FolderTarget` is the folder side of the certificate PDF export.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from app.documents.storage import write_atomically

DONE, FAILED = "done", "failed"
#: A CSV larger than this goes to failed/ unread rather than into memory.
MAX_FILE_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class DropFile:
    name: str  # what admins see in logs and reports
    ref: str  # where the source finds it again (a path, an object key)


class DropSource(Protocol):
    def describe(self) -> str: ...
    def ready(self, settle_seconds: float = 5.0, now: float | None = None) -> list[DropFile]: ...
    def read(self, item: DropFile) -> bytes: ...
    def move(self, item: DropFile, outcome: str, report: str | None = None) -> str: ...


class FolderError(Exception):
    """The folder is missing or not usable (message is for admins)."""


class TooLarge(Exception):
    """One file is over MAX_FILE_BYTES: it goes to failed/ and the run goes on."""


def check_size(name: str, size: int) -> None:
    if size > MAX_FILE_BYTES:
        raise TooLarge(f"{name} is larger than {MAX_FILE_BYTES // 1024 // 1024} MB; not imported.")


def check_folder(folder: str) -> Path:
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise FolderError(f"The folder {folder} does not exist (or is not a folder).")
    for sub in (DONE, FAILED):
        try:
            (path / sub).mkdir(exist_ok=True)
        except OSError as exc:
            raise FolderError(f"Cannot create {path / sub}: {exc.strerror}") from None
        if (path / sub).is_symlink():
            # A link would move imported files (learner data) wherever it points, static/ included.
            raise FolderError(f"{path / sub} must be a folder, not a link.")
    return path


def ready_files(folder: str, settle_seconds: float = 5.0, now: float | None = None) -> list[Path]:
    """CSV files directly in the folder, oldest first, that have settled."""
    path = check_folder(folder)
    current = time.time() if now is None else now
    files = [
        p
        for p in path.iterdir()
        # Links are skipped: one could make the import read (and report) any file on the server.
        if p.is_file()
        and not p.is_symlink()
        and p.suffix.lower() == ".csv"
        and current - p.stat().st_mtime >= settle_seconds
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


class FolderSource:
    """The drop folder as a :class:`DropSource`."""

    def __init__(self, folder: str) -> None:
        self.folder = folder

    def describe(self) -> str:
        return self.folder

    def ready(self, settle_seconds: float = 5.0, now: float | None = None) -> list[DropFile]:
        return [DropFile(p.name, str(p)) for p in ready_files(self.folder, settle_seconds, now)]

    def read(self, item: DropFile) -> bytes:
        path = Path(item.ref)
        check_size(item.name, path.stat().st_size)
        return path.read_bytes()

    def move(self, item: DropFile, outcome: str, report: str | None = None) -> str:
        return str(move(Path(item.ref), outcome, report))


class FolderTarget:
    """Export files into a folder. Writes are atomic (temp file + rename), so a reader never sees half
    a PDF, and a regenerated PDF replaces the old one under the same name."""

    def __init__(self, folder: str) -> None:
        self.folder = folder

    def describe(self) -> str:
        return self.folder

    def _dir(self) -> Path:
        path = Path(self.folder).expanduser()
        if not path.is_dir():
            raise FolderError(f"The folder {self.folder} does not exist (or is not a folder).")
        return path

    def put(self, name: str, data: bytes, content_type: str) -> str:
        target = self._dir() / name
        try:
            write_atomically(target, data)
        except OSError as exc:
            raise FolderError(f"Cannot write in {self.folder}: {exc.strerror}") from None
        return str(target)

    def check(self) -> str:
        self.put(".laurel-write-test", b"laurel", "text/plain")
        (self._dir() / ".laurel-write-test").unlink(missing_ok=True)
        return f"Laurel can write to {self.folder}."
