"""A directory this process cannot write, for the "unwritable state directory" tests.

Mode bits bind an ordinary user, so ``chmod 0500`` is enough there; root ignores them, so as root
the directory is bind-mounted onto itself read-only (a real ``EROFS``, as on a read-only
container root filesystem). Where neither is possible the test is skipped, never faked.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _mount(*args: str) -> bool:
    mount = shutil.which("mount")
    if mount is None:
        return False
    done = subprocess.run([mount, *args], capture_output=True, check=False)  # noqa: S603
    return done.returncode == 0


@contextmanager
def read_only_directory(path: Path) -> Iterator[Path]:
    """``path`` (created, with whatever it already holds) read-only until the block ends."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        path.chmod(0o500)
        try:
            yield path
        finally:
            path.chmod(0o700)
        return
    if not _mount("--bind", str(path), str(path)):
        pytest.skip("running as root without mount: no way to make a read-only directory")
    try:
        if not _mount("-o", "remount,bind,ro", str(path)):
            pytest.skip("running as root and cannot remount read-only")
        yield path
    finally:
        _mount_umount = shutil.which("umount")
        if _mount_umount is not None:
            subprocess.run([_mount_umount, str(path)], capture_output=True, check=False)  # noqa: S603
