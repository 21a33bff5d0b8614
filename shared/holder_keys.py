"""The per-election holder key K (docs/storage-secrecy.md D5), kept only in memory-backed files.

K lets the desk check that a slip handed back for voiding is the one issued to that voter
(shared/voting.py): each token row carries HMAC(K, voter, token), and nothing else anywhere
pairs a voter with a token. So K must never be in the database, its journal or a backup: it
lives in one file per election in a directory on a tmpfs (default
/dev/shm/cv-kiosk-<hash of the instance folder or the database>), mode 0600, in a 0700
directory owned by the kiosk's user; it is made on first need (the first check-in), survives
a restart of the kiosk's workers, is lost when the machine restarts, and is overwritten and
removed when the vote closes.

Where: the session's `info["holder_key_dir"]` (the kiosk sets it from its configuration),
else $KIOSK_HOLDER_KEY_DIR, else the default under /dev/shm named after the database.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
from pathlib import Path

from sqlalchemy.orm import Session

from shared import crypto
from shared.errors import HolderKeyUnavailable

ENV_DIR = "KIOSK_HOLDER_KEY_DIR"
SESSION_INFO_KEY = "holder_key_dir"
MEMORY_ROOT = Path("/dev/shm")
_SAFE_NAME = re.compile(r"[0-9A-Za-z]{1,64}")


def default_directory(anchor: str) -> Path:
    """/dev/shm/cv-kiosk-<16 hex of SHA-256(anchor)>: one directory per kiosk instance."""
    return MEMORY_ROOT / f"cv-kiosk-{hashlib.sha256(anchor.encode()).hexdigest()[:16]}"


def directory_for(session: Session) -> Path:
    """Where this session's kiosk keeps its holder keys (see the module docstring)."""
    configured = session.info.get(SESSION_INFO_KEY)
    if configured:
        return Path(configured)
    if os.environ.get(ENV_DIR):
        return Path(os.environ[ENV_DIR])
    return default_directory(session.get_bind().engine.url.render_as_string(hide_password=True))


class HolderKeys:
    """The holder keys of one kiosk instance: load, make on first need, destroy at close."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path(self, election_id: str) -> Path:
        """The key file of an election (its id when it is a plain name, else a hash of it)."""
        name = election_id if _SAFE_NAME.fullmatch(election_id) else \
            hashlib.sha256(election_id.encode()).hexdigest()
        return self.directory / f"{name}.key"

    def _checked_directory(self, create: bool) -> bool:
        """True if the directory exists and is ours alone; made (0700) if create."""
        try:
            if create:
                self.directory.mkdir(mode=0o700, parents=self.directory.parent != MEMORY_ROOT,
                                     exist_ok=True)
            info = os.stat(self.directory, follow_symlinks=False)
        except FileNotFoundError:
            if create:
                raise HolderKeyUnavailable() from None
            return False
        except OSError as exc:
            raise HolderKeyUnavailable() from exc
        # A directory made by another user (on a shared /dev/shm) could let them read K.
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
            raise HolderKeyUnavailable()
        return True

    def load(self, election_id: str) -> bytes | None:
        """K of the election, or None if there is none (never made, or lost in a restart)."""
        if not self._checked_directory(create=False):
            return None
        try:
            fd = os.open(self.path(election_id), os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise HolderKeyUnavailable() from exc
        with os.fdopen(fd, "rb") as fh:
            info = os.fstat(fh.fileno())
            key = fh.read(crypto.HOLDER_KEY_LENGTH + 1)
        if info.st_uid != os.getuid() or info.st_mode & 0o077 or len(key) != crypto.HOLDER_KEY_LENGTH:
            raise HolderKeyUnavailable()
        return key

    def load_or_create(self, election_id: str) -> bytes:
        """K of the election, made now if there is none yet.

        Several workers may ask at once: the key is written whole under a temporary name and
        then linked into place, so exactly one key wins and nobody reads half of one.
        """
        key = self.load(election_id)
        if key is not None:
            return key
        self._checked_directory(create=True)
        final = self.path(election_id)
        temporary = final.with_name(f".{final.name}.{os.getpid()}.{crypto.random_bytes(6).hex()}")
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(crypto.new_holder_key())
            with contextlib.suppress(FileExistsError):
                os.link(temporary, final)
        except OSError as exc:
            raise HolderKeyUnavailable() from exc
        finally:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        key = self.load(election_id)
        if key is None:
            raise HolderKeyUnavailable()
        return key

    def destroy(self, election_id: str) -> None:
        """Overwrite K with zeros and remove its file (at close); nothing if there is none."""
        path = self.path(election_id)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            return
        with os.fdopen(fd, "wb") as fh:
            fh.write(bytes(crypto.HOLDER_KEY_LENGTH))
            fh.flush()
            os.fsync(fh.fileno())
        path.unlink(missing_ok=True)


def holder_keys(session: Session) -> HolderKeys:
    """The holder keys of the kiosk this session belongs to."""
    return HolderKeys(directory_for(session))
