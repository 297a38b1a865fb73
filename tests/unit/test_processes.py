"""The local stack's process table: start, health-wait, clear errors, stop only what it started."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from alleycat.errors import StackError
from infra.local.processes import ProcessSpec, ProcessTable, dying, free_port, port_open


def _sleeper(name: str, healthy=lambda: True, seconds: int = 30) -> ProcessSpec:
    return ProcessSpec(
        name=name,
        argv=[sys.executable, "-c", f"import time; time.sleep({seconds})"],
        port=None,
        healthy=healthy,
        start_timeout_s=3,
    )


def test_start_is_idempotent_and_stop_ends_the_process(tmp_path: Path) -> None:
    table = ProcessTable(tmp_path)
    pid = table.start(_sleeper("sleeper"))
    assert table.start(_sleeper("sleeper")) == pid
    assert table.pid("sleeper") == pid
    assert table.stop("sleeper") is True
    assert table.pid("sleeper") is None
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split(")")[-1][:3]
    assert table.stop("sleeper") is False


def _niceness(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def test_a_spec_with_a_niceness_runs_its_command_and_threads_at_it(tmp_path: Path) -> None:
    table = ProcessTable(tmp_path)
    threads = "import threading, time; threading.Thread(target=time.sleep, args=(30,)).start(); time.sleep(30)"
    spec = ProcessSpec("yielder", [sys.executable, "-c", threads], None, lambda: True, start_timeout_s=3, niceness=7)
    pid = table.start(spec)
    try:
        assert table.pid("yielder") == pid  # the command itself (``nice`` exec'd it), so still ours
        deadline = time.monotonic() + 3
        while len(list(Path(f"/proc/{pid}/task").iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        tids = [int(task.name) for task in Path(f"/proc/{pid}/task").iterdir()]
        assert len(tids) == 2
        assert [_niceness(tid) for tid in tids] == [7, 7]
        autogroup = Path(f"/proc/{pid}/autogroup")
        if autogroup.exists():  # where the kernel shares the CPU between sessions first
            assert autogroup.read_text().split()[-1] == "7"
        assert _niceness(table.start(_sleeper("at-zero"))) == 0
    finally:
        table.stop("yielder")
        table.stop("at-zero")


def test_a_process_that_dies_while_starting_is_reported_with_its_log(tmp_path: Path) -> None:
    spec = ProcessSpec(
        name="crasher",
        argv=[sys.executable, "-c", "import sys; print('boom: config missing'); sys.exit(3)"],
        port=None,
        healthy=lambda: False,
        start_timeout_s=5,
    )
    with pytest.raises(StackError, match=r"crasher exited with code 3 while starting: boom: config missing"):
        ProcessTable(tmp_path).start(spec)


def test_unhealthy_process_times_out_and_is_stopped(tmp_path: Path) -> None:
    table = ProcessTable(tmp_path)
    with pytest.raises(StackError, match="did not become healthy"):
        table.start(_sleeper("slow", healthy=lambda: False))
    assert table.pid("slow") is None


def test_port_in_use_is_a_one_line_error(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert port_open(port)
        spec = ProcessSpec(name="kinesis", argv=[sys.executable, "-c", "pass"], port=port, healthy=lambda: True)
        started = time.monotonic()
        with pytest.raises(StackError, match=f"port {port} on 127.0.0.1 is in use"):
            ProcessTable(tmp_path, port_release_wait_s=0.5).start(spec)
        assert time.monotonic() - started >= 0.5  # it waited for a dying holder first


def _listener(port: int, seconds: float) -> list[str]:
    code = (
        "import socket, time; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
        f"s.bind(('127.0.0.1', {port})); s.listen(); time.sleep({seconds})"
    )
    return [sys.executable, "-c", code]


def test_a_port_still_held_by_a_dying_server_is_waited_for(tmp_path: Path) -> None:
    """The restart right after a kill -9: the old server's socket goes away a moment later."""
    port = free_port()
    old = subprocess.Popen(_listener(port, 1.5))
    try:
        deadline = time.monotonic() + 10
        while not port_open(port) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert port_open(port)
        spec = ProcessSpec(name="server", argv=_listener(port, 30), port=port, healthy=lambda: port_open(port))
        table = ProcessTable(tmp_path, port_release_wait_s=10)
        pid = table.start(spec)
        assert old.poll() is not None and table.pid("server") == pid
        table.stop("server")
    finally:
        old.kill()
        old.wait()


def test_a_process_being_killed_counts_as_gone() -> None:
    status = Path("/proc/self/status").read_text()
    stat = Path("/proc/self/stat").read_text()
    assert not dying(status, stat)

    def with_line(name: str, value: str) -> str:
        lines = status.splitlines(True)
        return "".join(f"{name}:\t{value}\n" if line.startswith(f"{name}:") else line for line in lines)

    assert dying(with_line("SigPnd", f"{1 << 8:016x}"), stat)  # SIGKILL pending: the teardown follows
    assert dying(with_line("ShdPnd", f"{1 << 8:016x}"), stat)
    assert not dying(with_line("SigPnd", f"{1 << 14:016x}"), stat)  # SIGTERM pending: it may still handle it
    assert dying(with_line("State", "Z (zombie)"), stat)
    head, tail = stat.rsplit(")", 1)
    fields = tail.split()
    fields[6] = str(int(fields[6]) | 0x4)  # PF_EXITING
    assert dying(status, f"{head}) {' '.join(fields)}")


def test_missing_program_says_how_to_fix(tmp_path: Path) -> None:
    spec = ProcessSpec(name="x", argv=["/nonexistent/program"], port=free_port(), healthy=lambda: True)
    with pytest.raises(StackError, match="make setup"):
        ProcessTable(tmp_path).start(spec)


def test_a_reused_pid_is_not_ours(tmp_path: Path) -> None:
    table = ProcessTable(tmp_path)
    pid = table.start(_sleeper("victim"))
    (tmp_path / "run" / "victim.pid").write_text(f'{{"pid": {pid}, "argv": ["something", "else"]}}')
    assert table.pid("victim") is None
    assert table.stop("victim") is False  # never signals a process it cannot prove it started
    assert Path(f"/proc/{pid}").exists()
    (tmp_path / "run" / "victim.pid").write_text(
        f'{{"pid": {pid}, "argv": {list(_sleeper("victim").argv)!r}}}'.replace("'", '"')
    )
    assert table.stop("victim") is True
