import time

from newsflow.services.common import Launch, ProcessId, is_running, process_tree, rss_bytes, spawn, stop_process


def _wait_for(condition, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_a_spawned_process_runs_reports_memory_and_stops_on_sigterm(tmp_path):
    process = spawn(Launch(argv=["sleep", "60"], cwd=tmp_path, log=tmp_path / "sleep.log"))
    assert is_running(process)
    assert rss_bytes([process]) > 0
    assert stop_process(process, timeout_s=5)
    assert not is_running(process)
    assert not stop_process(process, timeout_s=5)  # already stopped


def test_a_recycled_pid_is_not_our_process(tmp_path):
    process = spawn(Launch(argv=["sleep", "60"], cwd=tmp_path, log=tmp_path / "sleep.log"))
    try:
        assert not is_running(ProcessId(process.pid, process.start_ticks + 1))
    finally:
        stop_process(process, timeout_s=5)


def test_a_process_ignoring_sigterm_is_killed_with_its_children(tmp_path):
    stubborn = "trap '' TERM; sleep 60 & wait"
    process = spawn(Launch(argv=["sh", "-c", stubborn], cwd=tmp_path, log=tmp_path / "stubborn.log"))
    _wait_for(lambda: len(process_tree(process)) == 2)
    tree = process_tree(process)
    started = time.monotonic()
    assert stop_process(process, timeout_s=0.5)
    assert time.monotonic() - started < 5
    assert not any(is_running(member) for member in tree)


def test_output_goes_to_the_log_and_the_previous_log_is_kept(tmp_path):
    log = tmp_path / "echo.log"
    for word in ("first", "second"):
        process = spawn(Launch(argv=["sh", "-c", f"echo {word}"], cwd=tmp_path, log=log))
        _wait_for(lambda process=process: not is_running(process))
    assert log.read_text() == "second\n"
    assert (tmp_path / "echo.log.1").read_text() == "first\n"
