"""Helpers for tests that start a real server process: a free port, waiting until it answers,
and finding the processes a server left behind."""

from __future__ import annotations

import os
import socket
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent  # the checkout: PYTHONPATH for a child process


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, seconds: float = 60) -> str:
    deadline = time.time() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return str(response.read().decode("utf-8"))
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.3)


def processes_mentioning(text: str) -> list[int]:
    """Pids of live processes whose command line contains `text` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            state = next((line for line in (entry / "status").read_text().splitlines()
                          if line.startswith("State:")), "")
        except OSError:  # the process ended while we looked
            continue
        if text in cmdline and "zombie" not in state:
            found.append(int(entry.name))
    return found


def stat_fields(stat: Path) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state, ppid, pgrp, ... as in
    proc(5), counted from 0 here); None if the process ended while we looked."""
    try:
        return stat.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def parents() -> dict[int, int]:
    """Every live (not zombie) process and its parent's pid (Linux /proc)."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        fields = stat_fields(stat)
        if fields is not None and fields[0] != "Z":
            found[int(stat.parent.name)] = int(fields[1])
    return found


def descendants(pid: int) -> list[int]:
    """The live processes started by `pid`, by its children, and so on."""
    family = parents()
    found: list[int] = []
    frontier = {pid}
    while frontier:
        children = [child for child, parent in family.items() if parent in frontier]
        found += children
        frontier = set(children)
    return found


def alive(pids: list[int]) -> list[int]:
    """Those of `pids` still running."""
    running = parents()
    return [pid for pid in pids if pid in running]
