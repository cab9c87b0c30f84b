"""No evidence is never a pass: unreachable, silent, foreign and broken peers all end in errors."""

from __future__ import annotations

import time

import pytest

from tests.hostile_peers import (
    close_at_once,
    garbage_answer,
    http_answer,
    says_yes_to_tls_then_garbage,
    tcp_peer,
)
from tests.support.servers_common import free_port


def assert_nothing_passed(run) -> None:
    outcomes = run.outcomes()
    assert outcomes, run.output
    assert "passed" not in outcomes.values(), outcomes
    assert run.result.ret != pytest.ExitCode.OK


def test_a_closed_port_is_an_error_on_every_check(run_guard):
    run = run_guard(f"--aurora-endpoint=postgresql://127.0.0.1:{free_port()}")
    assert_nothing_passed(run)
    assert set(run.outcomes().values()) == {"error"}
    assert "was refused: nothing listens on that port" in run.output


def test_a_listener_that_never_answers_errors_within_the_timeout(run_guard):
    with tcp_peer(on_connect=None) as port:
        started = time.monotonic()
        run = run_guard(f"--aurora-endpoint=postgresql://127.0.0.1:{port}", "--aurora-timeout=1")
        elapsed = time.monotonic() - started
    assert_nothing_passed(run)
    assert "no answer within 1 s" in run.output
    assert elapsed < 10, "probes run concurrently, each bounded by the 1 s timeout"


def test_an_http_server_is_named_as_such_and_nothing_passes(run_guard):
    with tcp_peer(http_answer) as port:
        run = run_guard(f"--aurora-endpoint=postgresql://127.0.0.1:{port}", "--aurora-timeout=2")
    assert_nothing_passed(run)
    assert "an HTTP server" in run.output


def test_a_peer_sending_garbage_is_not_postgresql(run_guard):
    with tcp_peer(garbage_answer) as port:
        run = run_guard(f"--aurora-endpoint=postgresql://127.0.0.1:{port}", "--aurora-timeout=2")
    assert_nothing_passed(run)
    assert "not the PostgreSQL protocol" in run.output


def test_a_peer_that_hangs_up_at_once_is_an_error(run_guard):
    with tcp_peer(close_at_once) as port:
        run = run_guard(f"--aurora-endpoint=postgresql://127.0.0.1:{port}", "--aurora-timeout=2")
    assert_nothing_passed(run)
    assert "closed the connection" in run.output or "reset the connection" in run.output


def test_a_peer_that_accepts_starttls_then_speaks_garbage_proves_no_refusal(run_guard):
    with tcp_peer(says_yes_to_tls_then_garbage) as port:
        run = run_guard(f"--aurora-endpoint=postgresql://127.0.0.1:{port}", "--aurora-timeout=2",
                        "-k", "tls_version_refused")
    assert set(run.outcomes().values()) == {"error"}
    assert "not TLS" in run.output


def test_an_unresolvable_host_is_an_error_naming_dns(run_guard):
    run = run_guard("--aurora-endpoint=postgresql://no-such-host.invalid:5432", "--aurora-timeout=2")
    assert_nothing_passed(run)
    assert "could not resolve 'no-such-host.invalid'" in run.output
