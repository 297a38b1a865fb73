"""Background processes of the local stack: start, health-wait, stop, all tracked by pid files.

Each process writes its log to ``<home>/logs/<name>.log`` and its pid to ``<home>/run/<name>.pid``.
``stop`` only signals pids that this module recorded (and that still run the recorded command), so
``alleycat down`` never touches anything it did not start.

A process killed with SIGKILL a moment ago is not gone at once: until the kernel has torn it down it
is still listed (and may hold its listening socket). ``pid`` counts a process with SIGKILL pending or
already exiting as gone, and ``start`` waits for the port of a server that died to be released
before it calls the port taken, so ``alleycat up`` right after a crash restarts it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from alleycat.errors import StackError


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: list[str]
    port: int | None
    healthy: Callable[[], bool]
    env: dict[str, str] | None = None
    cwd: Path | None = None
    start_timeout_s: float = 60.0
    niceness: int = 0  # above 0: yields the CPU to the processes at 0 (`lower_priority`)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def lower_priority(pid: int, niceness: int) -> None:
    """Give the session ``pid`` leads the scheduling weight of ``niceness``.

    ``nice`` sets each thread's niceness (threads and children inherit it), but where Linux groups
    threads by session (autogroup, on by default on most distributions) the CPU is shared between
    sessions first and a thread's niceness counts only inside its own: a worker runs in a session
    of its own (``start_new_session``), so that session's autogroup is given the niceness too.
    """
    # lowering one's own priority needs no privilege; a kernel without autogroup has no such file
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/autogroup").write_text(str(niceness))


PORT_RELEASE_WAIT_S = 15.0  # a killed JVM can take seconds to exit and close its sockets


class ProcessTable:
    def __init__(self, home: Path, port_release_wait_s: float = PORT_RELEASE_WAIT_S) -> None:
        self.run_dir = home / "run"
        self.log_dir = home / "logs"
        self.port_release_wait_s = port_release_wait_s

    def _pidfile(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def pid(self, name: str) -> int | None:
        """The recorded pid if that process is still alive and still ours."""
        try:
            record = json.loads(self._pidfile(name).read_text())
        except (FileNotFoundError, ValueError):
            return None
        pid = int(record["pid"])
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except FileNotFoundError:
            return None
        if [c.decode(errors="replace") for c in cmdline if c] != record["argv"]:
            return None  # the pid was reused by something else
        if _dying(pid):
            return None
        return pid

    def log_tail(self, name: str, lines: int = 5) -> str:
        try:
            text = self.log_path(name).read_text(errors="replace").strip().splitlines()
        except FileNotFoundError:
            return ""
        return " | ".join(text[-lines:])

    def start(self, spec: ProcessSpec) -> int:
        """Start ``spec`` unless it already runs; wait until healthy. Returns the pid."""
        running = self.pid(spec.name)
        if running is not None:
            return running
        if spec.port is not None and not _released(spec.port, self.port_release_wait_s):
            raise StackError(
                f"{spec.name}: port {spec.port} on 127.0.0.1 is in use by another process; stop it or "
                f"choose another port (see `alleycat env --help`)"
            )
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path(spec.name), "ab") as log:
            try:
                proc = subprocess.Popen(
                    ["nice", "-n", str(spec.niceness), *spec.argv] if spec.niceness else spec.argv,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    cwd=spec.cwd,
                    env={**os.environ, **(spec.env or {})},
                    start_new_session=True,
                )
            except FileNotFoundError:
                raise StackError(f"{spec.name}: cannot run {spec.argv[0]!r}; run `make setup`") from None
        if spec.niceness:
            lower_priority(proc.pid, spec.niceness)
        self._pidfile(spec.name).write_text(json.dumps({"pid": proc.pid, "argv": spec.argv}))
        deadline = time.monotonic() + spec.start_timeout_s
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                self._pidfile(spec.name).unlink(missing_ok=True)
                raise StackError(
                    f"{spec.name} exited with code {proc.returncode} while starting: "
                    f"{self.log_tail(spec.name)} (log: {self.log_path(spec.name)})"
                )
            if self.pid(spec.name) == proc.pid and spec.healthy():  # exec'd (cmdline matches) and answering
                return proc.pid
            time.sleep(0.2)
        self.stop(spec.name)
        raise StackError(
            f"{spec.name} did not become healthy in {spec.start_timeout_s:.0f}s: {self.log_tail(spec.name)} "
            f"(log: {self.log_path(spec.name)})"
        )

    def stop(self, name: str, timeout_s: float = 10.0) -> bool:
        """Stop a process we started (SIGTERM, then SIGKILL). Returns True if one was running."""
        pid = self.pid(name)
        if pid is None:
            self._pidfile(name).unlink(missing_ok=True)
            return False
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.1)
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        self._pidfile(name).unlink(missing_ok=True)
        return True


def _released(port: int, wait_s: float) -> bool:
    """Whether nothing listens on ``port``, waiting up to ``wait_s`` for a dying holder to let go.
    (The servers set SO_REUSEADDR, so connections left in TIME_WAIT do not block the new bind.)"""
    deadline = time.monotonic() + wait_s
    while port_open(port):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


_SIGKILL_BIT = 1 << (signal.SIGKILL - 1)  # in the pending-signal masks of /proc/<pid>/status
_PF_EXITING = 0x4  # a task flag (/proc/<pid>/stat field 9): the task is in do_exit


def dying(status: str, stat: str) -> bool:
    """From /proc/<pid>/status and /proc/<pid>/stat: the process is a zombie, exiting, or has
    SIGKILL pending (kill -9 marks every thread at once; the teardown follows)."""
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    if fields.get("State", "").strip()[:1] in ("Z", "X"):
        return True
    pending = int(fields.get("SigPnd", "0"), 16) | int(fields.get("ShdPnd", "0"), 16)
    flags = int(stat.rsplit(")", 1)[1].split()[6])
    return bool(pending & _SIGKILL_BIT or flags & _PF_EXITING)


def _dying(pid: int) -> bool:
    try:
        return dying(Path(f"/proc/{pid}/status").read_text(), Path(f"/proc/{pid}/stat").read_text())
    except (OSError, IndexError, ValueError):
        return True  # gone while we looked


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


# --- what a process listens on (Linux /proc; `alleycat status` and the loopback test) -------------

_LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp{,6}


def _address(hex_address: str) -> str:
    """/proc/net/tcp{,6}'s ``0100007F:1F90`` -> ``127.0.0.1:8080`` (IPv4-mapped IPv6 shown as IPv4)."""
    ip_hex, port_hex = hex_address.split(":")
    raw = bytes.fromhex(ip_hex)
    # the kernel prints each 32-bit word in host (little-endian) order
    ip = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    if len(ip) == 16 and ip[:12] == b"\0" * 10 + b"\xff\xff":
        ip = ip[12:]
    host = socket.inet_ntop(socket.AF_INET if len(ip) == 4 else socket.AF_INET6, ip)
    return f"{host}:{int(port_hex, 16)}" if len(ip) == 4 else f"[{host}]:{int(port_hex, 16)}"


def _listening_sockets() -> dict[str, str]:
    """Socket inode -> address, for every TCP socket listening on this machine."""
    out: dict[str, str] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError), open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[3] == _LISTEN:
                    out[fields[9]] = _address(fields[1])
    return out


def process_tree(pid: int) -> set[int]:
    """``pid`` and its descendants (a worker's JVM or Python workers are its children)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
    tree, todo = set(), [pid]
    while todo:
        p = todo.pop()
        if p not in tree:
            tree.add(p)
            todo.extend(children.get(p, []))
    return tree


def listening_addresses(pid: int) -> list[str]:
    """The TCP addresses ``pid`` and its descendants listen on (``host:port``), sorted."""
    sockets = _listening_sockets()
    found = set()
    for p in process_tree(pid):
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{p}/fd"):
                with contextlib.suppress(OSError):
                    target = os.readlink(f"/proc/{p}/fd/{fd}")
                    if target.startswith("socket:[") and (inode := target[8:-1]) in sockets:
                        found.add(sockets[inode])
    return sorted(found)
