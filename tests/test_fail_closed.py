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


def _trickling_postgres(conn) -> None:
    """Says 'S' to SSLRequest, then answers each ClientHello with a ServerHello choosing the first
    suite offered, one byte every 50 ms: every step ends inside the step timeout, and the
    enumeration of a few hundred suites would take many minutes."""
    import time as clock

    from tests.tls_peers import parse_client_hello, read_record, record, server_hello_body

    conn.settimeout(5)
    if len(conn.recv(8)) != 8:
        return
    conn.sendall(b"S")
    hello = parse_client_hello(read_record(conn))
    if hello.legacy_version == 0x0303 and 43 in hello.extensions:  # a TLS 1.3 offer: refuse it at once
        conn.sendall(bytes([21, 3, 3, 0, 2, 2, 70]))
        return
    answer = record(22, server_hello_body(version=hello.legacy_version, suite=hello.suites[0], extensions=b""))
    for byte in answer:
        conn.sendall(bytes([byte]))
        clock.sleep(0.05)


def test_a_server_trickling_inside_the_step_timeout_ends_as_an_error_naming_the_endpoint_budget(run_guard):
    from tests.tls_peers import RawPeer

    with RawPeer(_trickling_postgres) as peer:
        started = time.monotonic()
        run = run_guard(f"--aurora-endpoint=postgresql://127.0.0.1:{peer.address[1]}", "--aurora-timeout=5",
                        "--aurora-endpoint-budget=4", "-k", "tls_version_refused and TLSv1.2")
        elapsed = time.monotonic() - started
    assert run.outcomes() == {"tls_version_refused[TLSv1.2]": "error"}
    assert "the endpoint budget of 4 s (--aurora-endpoint-budget) ran out" in run.output
    # Without the budget, removing 355 TLS 1.2 suites one ServerHello (~2.5 s) at a time would take
    # about 15 minutes; the bound is loose only so that a loaded CI machine does not trip it.
    assert elapsed < 60, "the budget bounds the whole endpoint, not each step"


def test_an_unexpected_exception_in_a_rule_is_an_inconclusive_verdict_without_the_password() -> None:
    from pytest_aurora_guard.checks import CheckSpec, Outcome
    from pytest_aurora_guard.probe import ProbeRun
    from pytest_aurora_guard.settings.config import GuardSettings
    from pytest_aurora_guard.settings.credentials import Secret
    from pytest_aurora_guard.settings.endpoints import parse_endpoint

    def crashing_rule(probe, version):
        raise KeyError(f"something the server sent, and the password {probe.settings.password.reveal()}")

    settings = GuardSettings(endpoints=(parse_endpoint(f"postgresql://127.0.0.1:{free_port()}"),),
                             user="guard", password=Secret("hunter2-secret"))
    run = ProbeRun(settings)
    try:
        spec = CheckSpec("plaintext_refused", needs_credentials=False, per_version=False,
                         rule=crashing_rule, observations=lambda s, v: [])
        verdict = spec.judge(run.probe(settings.endpoints[0]), None)
    finally:
        run.close()
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert "KeyError: 'something the server sent, and the password ***'" in verdict.answered
    assert "hunter2-secret" not in repr(verdict)
