"""One problem, one message: an unreachable endpoint is explained once, failures lead with the verdict,
long suite lists are grouped by version and wrapped, weak suite classes are called out (issue 10)."""

from __future__ import annotations

import pytest

from pytest_aurora_guard.checks import Outcome, Verdict
from pytest_aurora_guard.report import WIDTH, render_verdict, weak_suite_classes
from tests.support.servers_common import free_port


def test_an_unreachable_endpoint_prints_one_error_block(run_guard):
    port = free_port()
    run = run_guard(f"--aurora-endpoint=postgresql://127.0.0.1:{port}")
    assert run.result.ret == pytest.ExitCode.TESTS_FAILED
    out = run.output
    assert out.count("endpoint unreachable: TCP connect to 127.0.0.1") == 1
    assert out.count("INCONCLUSIVE (no evidence either way: not a pass)") == 1
    assert "  change:   check that the endpoint, port and engine are right" in out
    checks = run.result.parseoutcomes()["errors"]  # every credential-free check, each an ERROR
    assert checks >= 8
    assert out.count("\nnot run: endpoint unreachable, see plaintext_refused\n") == checks - 1


def test_without_the_first_check_the_next_one_carries_the_explanation(run_guard):
    run = run_guard(f"--aurora-endpoint=postgresql://127.0.0.1:{free_port()}", "-k", "not plaintext")
    out = run.output
    assert out.count("endpoint unreachable: TCP connect") == 1
    checks = run.result.parseoutcomes()["errors"]
    assert out.count("\nnot run: endpoint unreachable, see tls_version_refused[SSLv3]\n") == checks - 1


def test_a_reachable_endpoint_keeps_each_checks_own_message(run_guard, raw_peer):
    # A peer that accepts TCP and closes at once: reachable, so no check is collapsed into another.
    peer = raw_peer(lambda sock: sock.close())
    run = run_guard(f"--aurora-endpoint=postgresql://127.0.0.1:{peer.address[1]}", "-k", "tls_version_refused")
    assert "endpoint unreachable" not in run.output
    assert run.output.count("INCONCLUSIVE (no evidence either way: not a pass)") == 4


def test_the_short_summary_line_starts_with_the_verdict(run_guard, pg_weak, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    run = run_guard(f"--aurora-endpoint={pg_weak.endpoint}", "-k", "plaintext_refused")
    run.result.stdout.fnmatch_lines([
        "FAILED aurora-guard*::plaintext_refused - Failed: plaintext accepted for user *: the unencrypted connection*",
    ])


def _verdict(summary: str, answered: tuple[str, ...] = ()) -> Verdict:
    return Verdict("accepted_suites_allowed", "postgresql://db:5432", Outcome.FAILED, summary,
                   ("crafted ClientHellos",), answered, "restrict ssl_ciphers")


def test_a_long_suite_list_is_grouped_by_version_and_wrapped():
    offenders = [f"TLS_RSA_WITH_AES_{n}_CBC_SHA (AES{n}-SHA, 0x00,0x35) at TLSv1.0" for n in range(20)]
    offenders += ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 (ECDHE-RSA-AES128-GCM-SHA256, 0xC0,0x2F) at TLSv1.2"]
    text = render_verdict(_verdict("the server accepts 21 suite(s) outside the allowlist: " + "; ".join(offenders)))
    lines = text.splitlines()
    assert lines[0].startswith("the server accepts 21 suite(s) outside the allowlist: TLS_RSA_WITH_AES_0_CBC_SHA")
    assert "(21 in all, listed below)" in lines[0]
    assert lines[1] == "aurora-guard accepted_suites_allowed FAILED for postgresql://db:5432"
    assert lines[2].startswith("  listed:   TLSv1.0: TLS_RSA_WITH_AES_0_CBC_SHA")
    assert any(line.startswith("            TLSv1.2: TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256") for line in lines)
    assert all(len(line) <= WIDTH for line in lines[1:])


def test_weak_suites_are_called_out_by_class():
    names = ["TLS_DH_anon_WITH_AES_128_CBC_SHA", "TLS_RSA_WITH_NULL_SHA256", "TLS_RSA_EXPORT_WITH_RC4_40_MD5",
             "TLS_ECDHE_RSA_WITH_RC4_128_SHA", "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_RSA_WITH_AES_128_GCM_SHA256",
             "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "TLS_AES_128_GCM_SHA256"]
    classes = dict(line.split(": ", 1) for line in weak_suite_classes([", ".join(names)]))
    assert classes["anonymous (no authentication)"] == "TLS_DH_anon_WITH_AES_128_CBC_SHA"
    assert classes["NULL (no encryption)"] == "TLS_RSA_WITH_NULL_SHA256"
    assert classes["EXPORT"] == "TLS_RSA_EXPORT_WITH_RC4_40_MD5"
    assert classes["RC4"] == "TLS_RSA_EXPORT_WITH_RC4_40_MD5, TLS_ECDHE_RSA_WITH_RC4_128_SHA"
    assert classes["3DES"] == "TLS_RSA_WITH_3DES_EDE_CBC_SHA"
    assert "TLS_RSA_WITH_AES_128_GCM_SHA256" in classes["static RSA (no forward secrecy)"]
    assert classes["CBC with SHA-1"] == ("TLS_DH_anon_WITH_AES_128_CBC_SHA, TLS_RSA_WITH_3DES_EDE_CBC_SHA, "
                                         "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA")
    assert "TLS_AES_128_GCM_SHA256" not in " ".join(classes.values())


def test_a_failure_lists_its_weak_classes_in_the_block():
    text = render_verdict(_verdict("TLSv1.2 accepted: TLS_RSA_WITH_3DES_EDE_CBC_SHA (DES-CBC3-SHA, 0x00,0x0A)"))
    assert "  weak:     3DES: TLS_RSA_WITH_3DES_EDE_CBC_SHA" in text.splitlines()
