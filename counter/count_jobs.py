"""A count runs in a background thread while its page shows real progress (a large box takes minutes).

Checking every ballot's row proofs in a large box takes minutes: longer than a request
should last, and the board wants to see it move. So the k-th share starts a thread that
verifies the box streamed from its file (shared/box_file.py), adding up its ballots as it
goes, then decrypts only the totals and counts; it writes its progress, ballots checked /
ballots in the box, to COUNTER_HOME/counting/<election_id>.json. The progress
page and its JSON read that file, so any gunicorn worker can answer them.

- One count per box at a time, across workers: the thread holds an exclusive `flock` on
  counting/<election_id>.lock for the whole count; a second start finds it taken. The
  kernel drops the lock if the worker dies, so a "running" file without a held lock is a
  count that was interrupted, shown as such.
- No key is ever rebuilt: inside `tally_box` each share decrypts the totals on its own; the
  share codes live only in this thread's memory and are dropped with it. The progress file holds counts and
  Vietnamese messages, never a share, a choice or a result figure.
- Nothing is half-written: the signed results are written atomically, once, after the
  whole count succeeded; a failure (tampered box, wrong share, box changed on disk)
  writes only the failed state and its message.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from counter.counting import ShareRefused, count_box
from counter.i18n import N_
from counter.store import Store
from shared.errors import BoxInvalid, ShareError
from shared.tally import TallyFailed, WrongCounter

COUNTING_DIR = "counting"
RUNNING, DONE, FAILED = "running", "done", "failed"
INTERRUPTED = N_("Việc kiểm phiếu bị gián đoạn (máy kiểm phiếu đã khởi động lại?). Chưa có kết quả "
                  "nào được ghi; các mảnh khóa đã nhập đã được xóa, hãy nhập lại từ đầu.")
INTERNAL_ERROR = N_("Lỗi nội bộ khi kiểm phiếu; không có kết quả nào được ghi. Hãy nhập lại các mảnh khóa.")
SHARES_FORGOTTEN = N_("Các mảnh khóa đã nhập đã được xóa; không có kết quả nào được ghi.")
# Why a count failed (CountStatus.failure), so the page says it in its own language.
REFUSED, INTERNAL, STOPPED = "refused", "internal", "interrupted"
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CountStatus:
    """Where a box's count is: state, ballots checked so far, ballots in the box, message.

    The status is written by the count's thread, outside any request, so a failure is kept
    as its parts too (failure, and the domain error's message id and parameters) for the
    page to show in its language (counter.progress.failure_text); message is the Vietnamese.
    """

    state: str
    done: int = 0
    total: int = 0
    message: str = ""
    failure: str = ""
    error_id: str = ""
    error_params: dict[str, Any] = field(default_factory=dict)
    error_label: str = ""  # where a refused share came from ("Mảnh khóa ô 2"), in the page's language


def _paths(store: Store, election_id: str) -> tuple[Path, Path]:
    directory = store.config.home / COUNTING_DIR
    return directory / f"{election_id}.json", directory / f"{election_id}.lock"


def _write_status(store: Store, election_id: str, status: CountStatus) -> None:
    # Replaced whole (rename), so a reader never sees half a file; no fsync: it is only progress.
    path, _ = _paths(store, election_id)
    tmp = path.with_suffix(f".{os.getpid()}-{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(asdict(status), ensure_ascii=False), "utf-8")
    os.replace(tmp, path)


def _lock_is_held(lock_path: Path) -> bool:
    try:
        with open(lock_path, "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except FileNotFoundError:
        return False
    return False


def read_status(store: Store, election_id: str) -> CountStatus | None:
    """The box's count status; None if no count was started here."""
    path, lock_path = _paths(store, election_id)
    try:
        status = CountStatus(**json.loads(path.read_text("utf-8")))
    except (OSError, ValueError, TypeError):
        return None
    if status.state == RUNNING and not _lock_is_held(lock_path):
        return CountStatus(FAILED, status.done, status.total, INTERRUPTED, STOPPED)
    return status


@dataclass(frozen=True)
class Started:
    """What start_count did: started a count (or found one running), and the status after waiting."""

    started: bool
    status: CountStatus


def start_count(store: Store, election_id: str, shares: Sequence[tuple[str, str]],
                wait_seconds: float) -> Started:
    """Start counting in a thread unless one runs; wait up to wait_seconds for it to end."""
    _, lock_path = _paths(store, election_id)
    lock_path.parent.mkdir(mode=0o700, exist_ok=True)
    handle = open(lock_path, "a+b")  # noqa: SIM115 - held by the thread, which closes it
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return Started(False, read_status(store, election_id) or CountStatus(RUNNING))
    _write_status(store, election_id, CountStatus(RUNNING))
    thread = threading.Thread(target=_run, args=(store, election_id, list(shares), handle),
                              name="count", daemon=True)
    thread.start()
    if wait_seconds <= 0:  # never wait: the board always goes to the progress page
        return Started(True, CountStatus(RUNNING))
    thread.join(wait_seconds)
    return Started(True, read_status(store, election_id) or CountStatus(RUNNING))


def _run(store: Store, election_id: str, shares: list[tuple[str, str]], lock: IO[bytes]) -> None:
    def progress(done: int, total: int) -> None:
        _write_status(store, election_id, CountStatus(RUNNING, done, total))

    total = 0
    try:
        if store.has_results(election_id):  # counted by another start in the meantime
            _write_status(store, election_id, CountStatus(DONE))
            return
        box = store.open_box(election_id)
        total = len(box["ballots"])
        _write_status(store, election_id, CountStatus(RUNNING, 0, total))
        document = count_box(box, shares, store.config.signing_key, progress=progress)
        store.save_results(election_id, document)
        _write_status(store, election_id, CountStatus(DONE, total, total))
    except (ShareError, BoxInvalid, WrongCounter, TallyFailed) as exc:
        cause = exc.cause if isinstance(exc, ShareRefused) else exc
        _write_status(store, election_id, CountStatus(
            FAILED, 0, total, f"{exc} {SHARES_FORGOTTEN}", REFUSED,
            getattr(cause, "message_id", str(cause)),  # until DomainError carries message_id
            dict(getattr(cause, "params", None) or {}),
            exc.label if isinstance(exc, ShareRefused) else ""))
    except Exception as exc:  # noqa: BLE001 - the thread must always leave a final state
        _log.error("count failed: %s", type(exc).__name__)  # the type only: no data in logs
        _write_status(store, election_id, CountStatus(FAILED, 0, total, INTERNAL_ERROR, INTERNAL))
    finally:
        shares.clear()
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()
