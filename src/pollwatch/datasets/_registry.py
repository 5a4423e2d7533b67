"""Which datasets exist, which files each reads, and how to parse one by name."""

from __future__ import annotations

from pathlib import Path

from pollwatch.datasets import (
    generic,
    pakistan_2018_constituency,
    pakistan_2018_pollingstation,
    pakistan_2024_constituency,
    pakistan_2024_pollingstation,
)
from pollwatch.datasets._dataset import Dataset, merge
from pollwatch.datasets._pakistan import PK_2018, PK_2024
from pollwatch.errors import DataError, InputError
from pollwatch.model import Election

NAMES = (
    "pakistan-2018-constituency",
    "pakistan-2018-pollingstation",
    "pakistan-2024-constituency",
    "pakistan-2024-pollingstation",
)
GROUPS = {
    "pakistan-2018": ("pakistan-2018-constituency", "pakistan-2018-pollingstation"),
    "pakistan-2024": ("pakistan-2024-constituency", "pakistan-2024-pollingstation"),
}
DEPENDS_ON = {"pakistan-2024-pollingstation": ("pakistan-2024-constituency",)}
"""Datasets whose sheets refer to another dataset's candidates: that one is read and imported first."""
AUTHORITATIVE_REGISTRATION = ("pakistan-2018-constituency", "pakistan-2024-constituency")
"""Datasets whose registered voters per constituency overwrite what another dataset filled in (the
2018 polling scheme's station sums cover only the stations of a pilot scheme)."""
ELECTIONS: dict[str, Election] = {
    "pakistan-2018-constituency": PK_2018,
    "pakistan-2018-pollingstation": PK_2018,
    "pakistan-2024-constituency": PK_2024,
    "pakistan-2024-pollingstation": PK_2024,
}


def members(name: str) -> tuple[str, ...]:
    """The datasets a name stands for, in import order; raise InputError for an unknown name."""
    if name in GROUPS:
        return GROUPS[name]
    if name in NAMES or name.startswith(generic.PREFIX):
        return (name,)
    raise InputError(
        f"unknown dataset {name!r}",
        expected=f"one of {', '.join((*NAMES, *GROUPS))} or generic:<path>",
        found=name,
        remedy="run `pollwatch import --help`; docs/data.md describes each dataset",
    )


def folder(name: str, data_dir: Path) -> Path:
    """The folder (or, for generic, the file or folder) a dataset is read from."""
    if name.startswith(generic.PREFIX):
        return Path(name.removeprefix(generic.PREFIX))
    path = data_dir / name
    if not path.is_dir():
        raise DataError(
            f"the folder of {name} is missing",
            where=str(path),
            expected=f"a folder {name}/ in the data directory",
            found="no such folder",
            remedy="pass --data-dir (or set POLLWATCH_DATA_DIR) to the folder holding the datasets",
        )
    return path


def files(name: str, data_dir: Path) -> tuple[Path, list[Path]]:
    """The root and the input files whose content hash decides whether an import is needed."""
    root = folder(name, data_dir)
    if name.startswith(generic.PREFIX):
        return (root.parent if root.is_file() else root), generic.files(root)
    if name == "pakistan-2018-constituency":
        return root, [root / f for f in pakistan_2018_constituency.FILES]
    if name == "pakistan-2018-pollingstation":
        return root, [root / f for f in pakistan_2018_pollingstation.FILES]
    if name == "pakistan-2024-constituency":
        return root, pakistan_2024_constituency.files(root)
    return root, pakistan_2024_pollingstation.files(root)


def read(name: str, data_dir: Path) -> Dataset:
    """Parse and validate a dataset, a group (merged) or ``generic:<path>``; nothing is written."""
    names = members(name)
    if len(names) > 1:
        return merge(name, [read(n, data_dir) for n in names])
    return read_one(name, data_dir, {})


def read_one(name: str, data_dir: Path, cache: dict[str, Dataset]) -> Dataset:
    """Parse one dataset, reusing (and filling) ``cache`` for datasets others depend on."""
    if name in cache:
        return cache[name]
    path = folder(name, data_dir)
    if name.startswith(generic.PREFIX):
        parsed = generic.read(path)
    elif name == "pakistan-2018-constituency":
        parsed = pakistan_2018_constituency.read(path)
    elif name == "pakistan-2018-pollingstation":
        parsed = pakistan_2018_pollingstation.read(path)
    elif name == "pakistan-2024-constituency":
        parsed = pakistan_2024_constituency.read(path)
    else:
        reference = read_one("pakistan-2024-constituency", data_dir, cache)
        parsed = pakistan_2024_pollingstation.read(path, reference)
    cache[name] = parsed
    return parsed
