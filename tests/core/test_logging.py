"""Logging: the CLI's -v/-vv/--log-level, one-line stderr records, and the warnings a run records as events."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest

from infbench import cli, logs
from infbench.records import RunEvent
from infbench.sessions.recorder import Recorder
from infbench.sessions.store import LiveStore
from infbench.vocab import EventKind

log = logging.getLogger("infbench.tests.logging")


def _level(argv: list[str]) -> int:
    parser, _modules = cli.build_parser()
    return logs.level_from_args(parser.parse_args(argv))


@pytest.mark.parametrize(
    ("argv", "level"),
    [
        (["doctor"], logging.WARNING),
        (["-v", "doctor"], logging.INFO),
        (["doctor", "-v"], logging.INFO),
        (["-vv", "doctor"], logging.DEBUG),
        (["-v", "doctor", "--verbose"], logging.DEBUG),  # counts before and after the subcommand add up
        (["--log-level", "ERROR", "doctor"], logging.ERROR),
        (["doctor", "--log-level", "info"], logging.INFO),
        (["-vv", "doctor", "--log-level", "error"], logging.ERROR),  # an explicit level wins over -v
        (
            ["--log-level", "debug", "doctor", "--log-level", "critical"],
            logging.CRITICAL,
        ),  # the later one wins
        (["--log-level", "info"], logging.INFO),  # no subcommand (the TUI) also takes it
    ],
)
def test_log_options_before_and_after_the_subcommand(argv: list[str], level: int) -> None:
    assert _level(argv) == level


def test_every_subcommand_accepts_the_log_options(capsys: pytest.CaptureFixture[str]) -> None:
    _parser, modules = cli.build_parser()
    assert {"run", "report", "doctor"} <= set(modules)
    for name in modules:
        with pytest.raises(SystemExit):
            cli.main([name, "--help"])
        help_text = capsys.readouterr().out
        assert "-v, --verbose" in help_text and "--log-level LEVEL" in help_text, name


def test_a_bad_log_level_is_one_line_naming_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["--log-level", "loud", "doctor"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "loud" in err and all(name in err for name in logs.LEVELS)


def test_console_records_are_one_line_with_a_traceback_only_at_debug(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def boom() -> None:
        raise ValueError("bad\nvalue")

    with logs.cli_logging(logging.WARNING):
        log.info("not shown at warning")
        try:
            boom()
        except ValueError:
            log.warning("sensor %s went away", "gpu0", exc_info=True)
    err = capsys.readouterr().err
    assert err == "infbench-tui: warning: sensor gpu0 went away: ValueError: bad value\n"

    with logs.cli_logging(logging.DEBUG):
        log.debug("details %d", 42)
        try:
            boom()
        except ValueError:
            log.warning("sensor went away", exc_info=True)
    err = capsys.readouterr().err
    assert "infbench-tui: debug: details 42 [infbench.tests.logging]" in err
    assert "Traceback (most recent call last)" in err and "in boom" in err


def test_cli_logging_restores_the_logger(capsys: pytest.CaptureFixture[str]) -> None:
    logger = logging.getLogger(logs.LOGGER)
    before = (logger.level, list(logger.handlers))
    with logs.cli_logging(logging.ERROR):
        assert logger.getEffectiveLevel() == logging.WARNING  # warnings still reach a run's recording
        log.warning("recorded, not printed")
    assert (logger.level, list(logger.handlers)) == before
    assert capsys.readouterr().err == ""


def test_internal_error_traceback_only_with_vv(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from infbench.commands import doctor

    def broken(args: object) -> int:
        raise RuntimeError("boom")

    monkeypatch.delenv("INFBENCH_DEBUG", raising=False)
    monkeypatch.setattr(doctor, "run", broken)
    assert cli.main(["doctor"]) == 1
    err = capsys.readouterr().err
    assert (
        err
        == "infbench-tui: internal error: RuntimeError: boom (-vv or INFBENCH_DEBUG=1 for the traceback)\n"
    )
    assert cli.main(["doctor", "-vv"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "RuntimeError: boom" in err


def _log_events(store: LiveStore) -> list[RunEvent]:
    return [e for e in store.events() if e.kind == EventKind.LOG]


def test_a_logged_warning_becomes_a_log_event_in_the_live_store() -> None:
    store = LiveStore()
    t_before = time.perf_counter_ns()
    with logs.recording_warnings(store):
        logging.getLogger("infbench.monitors.sampler").warning("listener %s failed", "on_monitor")
        logging.getLogger("infbench.engines.host").error("child exited")
        logging.getLogger("infbench.run.runner").info("only info: not recorded")
        logging.getLogger("somelib").warning("not ours: not recorded")
    logging.getLogger("infbench.run.runner").warning("after the run: not recorded")
    events = _log_events(store)
    assert [e.message for e in events] == ["listener on_monitor failed", "child exited"]
    assert [e.data for e in events] == [
        {"logger": "infbench.monitors.sampler", "level": "warning"},
        {"logger": "infbench.engines.host", "level": "error"},
    ]
    assert all(e.backend is None and t_before <= e.t_ns <= time.perf_counter_ns() for e in events)


def test_warnings_are_recorded_even_when_the_console_shows_only_errors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = LiveStore()
    with logs.cli_logging(logging.ERROR), logs.recording_warnings(store):
        log.warning("quiet on screen")
    assert [e.message for e in _log_events(store)] == ["quiet on screen"]
    assert capsys.readouterr().err == ""


def test_the_event_is_stamped_with_the_run_clock_when_logged() -> None:
    store = LiveStore()
    ticks = iter([111, 222])
    with logs.recording_warnings(store, clock_ns=lambda: next(ticks)):
        log.warning("first")
        log.warning("second")
    assert [(e.t_ns, e.message) for e in _log_events(store)] == [(111, "first"), (222, "second")]


class _LoggingListener(LiveStore):
    """A listener that logs a warning whenever it gets an event (as a buggy recorder might)."""

    def on_event(self, event: RunEvent) -> None:
        log.warning("listener saw %s", event.kind)
        super().on_event(event)


def test_records_logged_by_the_listener_while_delivering_are_ignored() -> None:
    store = _LoggingListener()
    with logs.recording_warnings(store) as handler:
        log.warning("one")
        assert handler.drain()
    assert [e.message for e in _log_events(store)] == ["one"]


class _Broken:
    def on_event(self, event: RunEvent) -> None:
        raise RuntimeError("listener bug")


def test_a_failing_listener_never_raises_into_the_caller() -> None:
    with logs.recording_warnings(_Broken()) as handler:
        log.warning("lost")
        log.warning("lost too")
    assert handler.dropped == 2


def test_warnings_from_many_threads_are_all_recorded() -> None:
    store = LiveStore()

    def worker(k: int) -> None:
        for i in range(50):
            log.warning("thread %d warning %d", k, i)

    with logs.recording_warnings(store):
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    messages = {e.message for e in _log_events(store)}
    assert messages == {f"thread {k} warning {i}" for k in range(4) for i in range(50)}


def test_a_logged_warning_is_kept_in_the_session_file(tmp_path: Path) -> None:
    from infbench.records import Fanout
    from infbench.sessions.reader import open_session

    path = tmp_path / "run.infb"
    rec = Recorder(path)
    store = LiveStore()
    t0 = time.perf_counter_ns()
    rec.on_start({"model": "bert-tiny"}, {"cpu": "test"}, t0, time.time())
    with logs.recording_warnings(Fanout(rec, store)):
        logging.getLogger("infbench.monitors.sampler").warning("monitor listener on_event failed")
    rec.close("complete")
    with open_session(path) as session:
        events = [e for e in session.events() if e.kind == EventKind.LOG]
    assert [(e.message, e.data["logger"], e.data["level"]) for e in events] == [
        ("monitor listener on_event failed", "infbench.monitors.sampler", "warning")
    ]
    assert events[0].t_ns >= t0
