"""certificate_trusted: the chain a real server sends, judged without credentials, one weakness one failure.

Each weakness is served by the suite's real PostgreSQL 15 and MariaDB 10.11 (certificates made at
test time by tests/support/pki.py); the rules that need AWS names (RDS CA, RDS Proxy anchors,
wildcards) are specified on chains built the same way, since no loopback server has such a name.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any, Callable, Union

import pytest
from cryptography.hazmat.primitives import serialization

from pytest_aurora_guard.tls.certificates import (
    HostKind,
    PeerChain,
    ProblemKind,
    TrustStore,
    assess_chain,
    host_kind,
)
from tests.support.mariadb import MariaDbProfile, RunningMariaDb, start_mariadb
from tests.support.pki import CertVariant, ChainPki, Issued, make_chain_pki, new_intermediate, new_leaf, new_root
from tests.support.postgres import PgProfile, RunningPostgres, start_postgres

Server = Union[RunningPostgres, RunningMariaDb]

# The one problem each variant must produce, as the failure text says it.
ONE_PROBLEM = {
    CertVariant.EXPIRING_SOON: "certificate 0 (leaf, sent by the server, CN=localhost) expires too soon: expires on ",
    CertVariant.EXPIRED: "certificate 0 (leaf, sent by the server, CN=localhost) has expired: expired on ",
    CertVariant.RSA_1024: "certificate 0 (leaf, sent by the server, CN=localhost) has a weak key: its key is RSA 1024",
    CertVariant.SHA1_INTERMEDIATE: "certificate 1 (intermediate, sent by the server, CN=pytest-aurora-guard SHA-1 "
                                   "intermediate CA) has a weak signature: it is signed with SHA1",
    CertVariant.WRONG_SAN: "certificate 0 (leaf, sent by the server, CN=db.example.invalid) does not name the "
                           "endpoint: '127.0.0.1' is not among its names: DNS:db.example.invalid",
    CertVariant.SELF_SIGNED: "certificate 0 (leaf, sent by the server, CN=localhost) does not chain to a trusted "
                             "root: it is self-signed and not in the trust store",
}
# What the user is told to change, per variant.
REMEDY = {
    CertVariant.EXPIRING_SOON: "--ca-certificate-identifier rds-ca-rsa2048-g1",
    CertVariant.EXPIRED: "rotate the server certificate",
    CertVariant.RSA_1024: "reissue it with an RSA-2048 (or larger) or ECDSA P-256/P-384 key",
    CertVariant.SHA1_INTERMEDIATE: "have its issuer sign it with SHA-256 or stronger",
    CertVariant.WRONG_SAN: "connect by a name on the certificate",
    CertVariant.SELF_SIGNED: "a self-signed certificate cannot be verified by any client",
}
ENGINES = ["postgresql", "mysql"]


@pytest.fixture(scope="session")
def chain_pki(tmp_path_factory: pytest.TempPathFactory) -> ChainPki:
    return make_chain_pki(tmp_path_factory.mktemp("chain-pki"))


@pytest.fixture(scope="session")
def cert_server(chain_pki: ChainPki) -> Iterator[Callable[[str, CertVariant], Server]]:
    """A real server per (engine, variant), started on first use, configured like HARDENED."""
    started: dict[tuple[str, CertVariant], Server] = {}

    def get(engine: str, variant: CertVariant) -> Server:
        if (engine, variant) not in started:
            pki = chain_pki.chains[variant]
            started[engine, variant] = (start_postgres(PgProfile.CERTIFICATES, pki) if engine == "postgresql"
                                        else start_mariadb(MariaDbProfile.CERTIFICATES, pki))
        return started[engine, variant]

    yield get
    for server in started.values():
        server.stop()


def _check(run_guard: Any, server: Server, bundle: Any, *extra: str) -> Any:
    return run_guard(f"--aurora-endpoint={server.endpoint}", f"--aurora-ca-bundle={bundle}", "-k",
                     "certificate_trusted", "-rA", *extra)


@pytest.mark.parametrize("engine", ENGINES)
class TestOnRealServers:
    def test_the_good_chain_passes_with_evidence_for_every_certificate(self, run_guard, cert_server, chain_pki,
                                                                        engine):
        run = _check(run_guard, cert_server(engine, CertVariant.GOOD), chain_pki.ca_cert)
        assert run.outcome_of("certificate_trusted") == "passed"
        evidence = run.verdict_text("certificate_trusted")
        assert "the chain verifies to CN=pytest-aurora-guard chain root CA" in evidence
        assert "OpenSSL's own verification agrees" in evidence
        for label in ("certificate 0 (leaf, sent by the server", "certificate 1 (intermediate, sent by the server",
                      "certificate 2 (root, from the trust store"):
            assert label in evidence
        assert "SAN DNS:localhost, IP:127.0.0.1, IP:::1" in evidence
        assert "key RSA 2048; signature RSA_WITH_SHA256; SHA-256 " in evidence

    @pytest.mark.parametrize("variant", list(ONE_PROBLEM), ids=lambda v: v.value)
    def test_each_weakness_is_exactly_one_precise_failure(self, run_guard, cert_server, chain_pki, engine, variant):
        run = _check(run_guard, cert_server(engine, variant), chain_pki.ca_cert)
        assert run.outcome_of("certificate_trusted") == "failed"
        assert "1 problem(s) with the certificate chain: " + ONE_PROBLEM[variant] in run.output
        assert REMEDY[variant] in run.output

    def test_a_flaw_only_openssl_sees_fails_as_contradicting_evidence(self, run_guard, cert_server, chain_pki,
                                                                      engine):
        run = _check(run_guard, cert_server(engine, CertVariant.UNKNOWN_CRITICAL_EXTENSION), chain_pki.ca_cert)
        assert run.outcome_of("certificate_trusted") == "failed"
        assert "self-contradicting evidence: every rule of ours holds, but OpenSSL rejects" in run.output
        assert "unsupported certificate purpose" in run.output or "unhandled critical extension" in run.output

    def test_without_a_ca_bundle_the_check_errors_saying_where_to_get_one(self, run_guard, cert_server, engine):
        server = cert_server(engine, CertVariant.GOOD)
        run = run_guard(f"--aurora-endpoint={server.endpoint}", "-k", "certificate_trusted")
        assert run.outcome_of("certificate_trusted") == "error"
        assert "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem" in run.output
        assert run.result.ret == pytest.ExitCode.TESTS_FAILED


def test_the_minimum_days_are_a_setting(run_guard, cert_server, chain_pki, monkeypatch):
    server = cert_server("postgresql", CertVariant.EXPIRING_SOON)
    monkeypatch.setenv("AURORA_GUARD_CERT_MIN_DAYS", "5")
    assert _check(run_guard, server, chain_pki.ca_cert).outcome_of("certificate_trusted") == "passed"
    run = _check(run_guard, server, chain_pki.ca_cert, "--aurora-cert-min-days=11")
    assert "within --aurora-cert-min-days=11" in run.output


@pytest.mark.parametrize("value", ["thirty", "-1", "1.5", "4000"])
def test_a_minimum_that_is_not_a_whole_number_of_days_is_a_usage_error(run_guard, value):
    run = run_guard("--aurora-endpoint=127.0.0.1:5432", f"--aurora-cert-min-days={value}")
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR
    assert "give a whole number of days from 0 to 3650" in run.output


def test_a_bundle_that_holds_no_certificate_is_a_usage_error(run_guard, tmp_path):
    bundle = tmp_path / "bundle.pem"
    bundle.write_text("not a certificate\n")
    run = run_guard("--aurora-endpoint=127.0.0.1:5432", f"--aurora-ca-bundle={bundle}")
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR
    assert "is not a PEM bundle of certificates" in run.output


# -- the rules that depend on AWS names, on chains made the same way ----------------------------------

def _sent(*issued: Issued) -> PeerChain:
    return PeerChain(tuple(c.public_bytes(serialization.Encoding.DER) for c, _ in issued), True)


def _store(*roots: Issued) -> TrustStore:
    return TrustStore("the test bundle", None, tuple(cert for cert, _ in roots))


INSTANCE = "prod-pg-1.abcdefghijkl.us-east-1.rds.amazonaws.com"


@pytest.fixture(scope="module")
def rds_root() -> Issued:
    return new_root("Amazon RDS us-east-1 Root CA RSA4096 G1")


def test_an_rds_chain_passes_and_names_its_ca_identifier(rds_root):
    sub = new_intermediate("Amazon RDS us-east-1 Subordinate CA RSA4096 G1.A.3", rds_root)
    leaf = new_leaf([INSTANCE], sub)
    assessment = assess_chain(_sent(leaf, sub), _store(rds_root), INSTANCE, host_kind(INSTANCE), 30)
    assert assessment.problems == ()
    assert assessment.rds_ca == "rds-ca-rsa4096-g1"


def test_an_rds_name_served_under_another_ca_is_one_failure_naming_the_ca_to_choose():
    other_root = new_root("Corporate Root CA")
    sub = new_intermediate("Corporate Issuing CA 2", other_root)
    leaf = new_leaf([INSTANCE], sub)
    assessment = assess_chain(_sent(leaf, sub), _store(other_root), INSTANCE, HostKind.RDS, 30)
    assert [p.kind for p in assessment.problems] == [ProblemKind.NOT_RDS_CA]
    assert "Corporate Issuing CA 2, Corporate Root CA" in assessment.problems[0].detail
    assert "--ca-certificate-identifier rds-ca-rsa2048-g1" in assessment.problems[0].remedy


def test_the_retired_rds_ca_2019_is_not_an_rds_g1_ca():
    old_root = new_root("Amazon RDS us-east-1 2019 CA")
    leaf = new_leaf([INSTANCE], old_root)
    assessment = assess_chain(_sent(leaf), _store(old_root), INSTANCE, HostKind.RDS, 30)
    assert [p.kind for p in assessment.problems] == [ProblemKind.NOT_RDS_CA]


def test_a_proxy_name_needs_no_rds_ca_and_is_told_about_amazon_trust_services():
    proxy = "prod-proxy.proxy-abcdefghijkl.us-east-1.rds.amazonaws.com"
    assert host_kind(proxy) is HostKind.RDS_PROXY
    amazon_root = new_root("Amazon Root CA 1")
    leaf = new_leaf([proxy], amazon_root)
    assert assess_chain(_sent(leaf), _store(amazon_root), proxy, HostKind.RDS_PROXY, 30).problems == ()
    untrusted = assess_chain(_sent(leaf), _store(new_root("Somebody else")), proxy, HostKind.RDS_PROXY, 30)
    assert [p.kind for p in untrusted.problems] == [ProblemKind.UNTRUSTED]
    assert "--aurora-proxy-ca-bundle" in untrusted.problems[0].remedy


@pytest.mark.parametrize(("host", "kind"), [
    (INSTANCE, HostKind.RDS),
    ("prod.cluster-ro-abcdefghijkl.us-east-1.rds.amazonaws.com", HostKind.RDS),
    ("prod.cluster-abc.cn-north-1.rds.amazonaws.com.cn", HostKind.RDS),
    ("db.internal.example.com", HostKind.OTHER),
    ("rds.amazonaws.com.evil.example", HostKind.OTHER),
])
def test_rds_names_are_told_from_others(host, kind):
    assert host_kind(host) is kind


@pytest.mark.parametrize(("host", "names"), [
    ("a.b.example.com", True),
    ("example.com", False),
    ("x.a.b.example.com", False),
])
def test_a_wildcard_covers_exactly_one_left_most_label(rds_root, host, names):
    leaf = new_leaf(["*.b.example.com"], rds_root)
    problems = assess_chain(_sent(leaf), _store(rds_root), host, HostKind.OTHER, 30).problems
    assert (problems == ()) is names


def test_a_bundle_holding_only_the_intermediate_does_not_anchor_the_chain(rds_root):
    sub = new_intermediate("Issuing CA", rds_root)
    leaf = new_leaf(["db.example.com"], sub)
    assessment = assess_chain(_sent(leaf), _store(sub), "db.example.com", HostKind.OTHER, 30)
    assert [p.kind for p in assessment.problems] == [ProblemKind.UNTRUSTED]
    assert "neither sent by the server nor is in the trust store" in assessment.problems[0].detail


def test_an_expiring_root_is_named_as_the_certificate_at_fault():
    root = new_root("Short-lived Root", days=10)
    leaf = new_leaf(["db.example.com"], root, days=5)
    later = datetime.datetime.now(datetime.timezone.utc)
    problems = assess_chain(_sent(leaf), _store(root), "db.example.com", HostKind.OTHER, 30, now=later).problems
    assert [(p.kind, p.certificate.split(" (")[0]) for p in problems] == [
        (ProblemKind.EXPIRES_SOON, "certificate 0"), (ProblemKind.EXPIRES_SOON, "certificate 1")]
