"""Which local folders an admin or operator may point Laurel at (export, drop, import, storage).

A folder is judged by its *real* path (symlinks and ``..`` resolved), so ``static/../static``, a
symlink to ``templates/`` or a relative path cannot slip through. Refused: anything inside the code
tree (the project folder, which holds the ``app`` package, ``static/`` - served to anyone at
``/static/`` - and ``templates/``) or inside ``instance/`` (the database, the secret key), with the
single exception a caller names (``allow``: the storage root's default ``instance/files``).

Checked when a setting is saved *and* each time the folder is used: a symlink can be re-pointed
after it was accepted. No Flask here: callers pass the instance folder.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The project folder: app/, static/, templates/, migrations/ and (by default) instance/.
CODE_TREE = Path(__file__).resolve().parent.parent


class UnsafePathError(ValueError):
    """The folder is inside the code tree or instance/ (message is for admins)."""


def real_path(folder: str | Path) -> Path:
    """The absolute path with every symlink and ``..`` resolved (the folder need not exist)."""
    return Path(os.path.realpath(Path(folder).expanduser()))


def _inside(path: Path, area: Path) -> bool:
    return path == area or area in path.parents


def protected_areas(instance_path: str | Path) -> list[tuple[Path, str]]:
    """(real path, what it is) for every area no configurable folder may be in."""
    package = CODE_TREE / "app"
    return [
        (real_path(package / ".."), "the application's code tree"),
        (real_path(package), "the application package (app/)"),
        (real_path(CODE_TREE / "static"), "static/ (served publicly)"),
        (real_path(CODE_TREE / "templates"), "templates/"),
        (real_path(instance_path), "instance/ (database and secret key)"),
    ]


def check_folder(
    folder: str | Path, instance_path: str | Path, *, label: str = "The folder", allow: Path | None = None
) -> Path:
    """Return the real path of ``folder``; raise UnsafePathError if it lies in a protected area.

    ``allow`` (a folder) is accepted even though it lies in a protected area, as is anything in it.
    The areas are listed most specific first in the message so the admin sees why.
    """
    path = real_path(folder)
    if allow is not None and _inside(path, real_path(allow)):
        return path
    hits = [what for area, what in protected_areas(instance_path) if _inside(path, area)]
    if hits:
        # The last hit is the most specific (static/ rather than the code tree around it).
        raise UnsafePathError(
            f"{label} {folder} resolves to {path}, inside {hits[-1]}: choose a folder outside "
            f"the application and its instance folder."
        )
    return path


def check_instance(instance_path: str | Path) -> Path:
    """LAUREL_INSTANCE_PATH must not be in app/, static/ or templates/: it holds the database and the
    secret key, and static/ is served to anyone. (Its default, ./instance in the project, is fine.)"""
    path = real_path(instance_path)
    served_or_code = [
        (real_path(CODE_TREE / "app"), "the application package (app/)"),
        (real_path(CODE_TREE / "static"), "static/ (served publicly)"),
        (real_path(CODE_TREE / "templates"), "templates/"),
    ]
    for area, what in served_or_code:
        if _inside(path, area):
            raise UnsafePathError(
                f"LAUREL_INSTANCE_PATH {instance_path} resolves to {path}, inside {what}: "
                "choose a folder outside the application package, static/ and templates/."
            )
    return path
