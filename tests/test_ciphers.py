"""The cipher-suite registry: one identity (the IANA code point) behind every name a suite has."""

from __future__ import annotations

import ssl
from importlib import resources

import pytest

from pytest_aurora_guard.errors import ConfigurationError
from pytest_aurora_guard.tls.ciphers import (
    REGISTRY,
    CipherRegistry,
    CipherSuite,
    UnknownCipherSuite,
)
from pytest_aurora_guard.tls.versions import TlsVersion

# aws rds describe-engine-default-cluster-parameters --db-parameter-group-family
# aurora-postgresql11, ssl_ciphers AllowedValues (reference/aurora-tls-facts.md §2.1).
AWS_AURORA_PG11_ALLOWED_VALUES = (
    "DHE-RSA-AES128-SHA,DHE-RSA-AES128-SHA256,DHE-RSA-AES128-GCM-SHA256,DHE-RSA-AES256-SHA,"
    "DHE-RSA-AES256-SHA256,DHE-RSA-AES256-GCM-SHA384,ECDHE-RSA-AES128-SHA,ECDHE-RSA-AES128-SHA256,"
    "ECDHE-RSA-AES128-GCM-SHA256,ECDHE-RSA-AES256-SHA,ECDHE-RSA-AES256-SHA384,"
    "ECDHE-RSA-AES256-GCM-SHA384,TLS_RSA_WITH_AES_256_GCM_SHA384,TLS_RSA_WITH_AES_256_CBC_SHA,"
    "TLS_RSA_WITH_AES_128_GCM_SHA256,TLS_RSA_WITH_AES_128_CBC_SHA256,TLS_RSA_WITH_AES_128_CBC_SHA,"
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,"
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,"
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"
)


def test_an_iana_name_resolves_to_its_code_point() -> None:
    suite = REGISTRY.lookup("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384")
    assert suite.code == 0xC030
    assert suite.openssl_name == "ECDHE-RSA-AES256-GCM-SHA384"


def test_an_openssl_name_resolves_to_the_same_suite_as_its_iana_name() -> None:
    assert REGISTRY.lookup("ECDHE-RSA-AES256-GCM-SHA384") is REGISTRY.lookup(
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"
    )


def test_lookup_ignores_case_and_surrounding_whitespace() -> None:
    assert REGISTRY.lookup("  ecdhe-rsa-aes256-gcm-sha384\n").code == 0xC030
    assert REGISTRY.lookup("tls_dh_anon_with_aes_128_cbc_sha").code == 0x0034


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("TLS_AES_128_GCM_SHA256", 0x1301),
        ("TLS_AES_256_GCM_SHA384", 0x1302),
        ("TLS_CHACHA20_POLY1305_SHA256", 0x1303),
        ("TLS_AES_128_CCM_SHA256", 0x1304),
        ("TLS_AES_128_CCM_8_SHA256", 0x1305),
    ],
)
def test_tls13_suites_have_their_rfc8446_b4_code_points_and_only_tls13(
    name: str, code: int
) -> None:
    suite = REGISTRY.lookup(name)
    assert suite.code == code
    assert suite.versions == frozenset({TlsVersion.TLSv1_3})
    # OpenSSL and Python name TLS 1.3 suites the IANA way.
    assert suite.openssl_name == name


@pytest.mark.parametrize(
    ("openssl_name", "iana_name", "code"),
    [
        ("ECDHE-RSA-AES256-GCM-SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", 0xC030),
        ("ECDHE-RSA-AES256-SHA384", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", 0xC028),
        ("ECDHE-RSA-AES256-SHA", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", 0xC014),
        ("ECDHE-RSA-CHACHA20-POLY1305", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", 0xCCA8),
        ("ECDHE-ECDSA-CHACHA20-POLY1305", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", 0xCCA9),
        ("ECDHE-ECDSA-AES256-GCM-SHA384", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", 0xC02C),
        ("AES256-GCM-SHA384", "TLS_RSA_WITH_AES_256_GCM_SHA384", 0x009D),
        ("AES256-SHA", "TLS_RSA_WITH_AES_256_CBC_SHA", 0x0035),
        ("DHE-RSA-AES256-GCM-SHA384", "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", 0x009F),
        ("DHE-RSA-AES256-SHA256", "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", 0x006B),
        ("DHE-RSA-AES256-SHA", "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", 0x0039),
    ],
)
def test_the_name_pairs_aws_lists_mix_are_one_suite_each(
    openssl_name: str, iana_name: str, code: int
) -> None:
    suite = REGISTRY.lookup(openssl_name)
    assert (suite.iana_name, suite.code) == (iana_name, code)


def test_every_name_in_aws_mixed_naming_allowed_values_resolves() -> None:
    names = AWS_AURORA_PG11_ALLOWED_VALUES.split(",")
    suites = [REGISTRY.lookup(name) for name in names]
    # 23 names, but five IANA names repeat an OpenSSL name earlier in the list: 18 suites.
    assert len(names) == 23
    assert len({suite.code for suite in suites}) == 18


@pytest.mark.parametrize(
    "name", ["HIGH", "ECDHE-RSA-AES256-GCM-SHA385", "TLS_FOO", "", "0xC0,0x30"]
)
def test_an_unknown_name_raises_a_configuration_error_that_says_how_to_list_names(
    name: str,
) -> None:
    with pytest.raises(UnknownCipherSuite) as caught:
        REGISTRY.lookup(name)
    assert isinstance(caught.value, ConfigurationError)
    assert caught.value.name == name
    message = str(caught.value)
    assert "neither an IANA" in message
    assert "python -m pytest_aurora_guard.tls.ciphers" in message


def test_a_near_miss_suggests_the_names_it_resembles() -> None:
    with pytest.raises(UnknownCipherSuite, match="Did you mean ECDHE-RSA-AES256-GCM-SHA384"):
        REGISTRY.lookup("ECDHE-RSA-AES256-GCM-SHA385")


def test_a_suite_describes_itself_with_both_names_and_its_code_point() -> None:
    suite = REGISTRY.lookup("ECDHE-RSA-AES256-GCM-SHA384")
    assert suite.code_hex == "0xC0,0x30"
    assert suite.describe() == (
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 (ECDHE-RSA-AES256-GCM-SHA384, 0xC0,0x30)"
    )
    assert REGISTRY.lookup("TLS_AES_128_GCM_SHA256").describe() == (
        "TLS_AES_128_GCM_SHA256 (0x13,0x01)"
    )


def test_by_code_answers_none_for_a_code_point_nobody_assigned() -> None:
    assert REGISTRY.by_code(0xC030) is REGISTRY.lookup("ECDHE-RSA-AES256-GCM-SHA384")
    assert REGISTRY.by_code(0x0A0A) is None  # GREASE (RFC 8701) is not a suite
    assert REGISTRY.by_code(0x00FF) is None  # the renegotiation SCSV (RFC 5746) is not a suite


def test_a_suite_from_ssl3_days_is_usable_up_to_tls12_but_not_in_tls13() -> None:
    assert REGISTRY.lookup("AES128-SHA").versions == frozenset(
        {TlsVersion.SSLv3, TlsVersion.TLSv1_0, TlsVersion.TLSv1_1, TlsVersion.TLSv1_2}
    )


def test_gcm_sha256_and_chacha_suites_are_usable_only_with_tls12() -> None:
    for name in ("AES128-GCM-SHA256", "AES128-SHA256", "ECDHE-RSA-CHACHA20-POLY1305"):
        assert REGISTRY.lookup(name).versions == frozenset({TlsVersion.TLSv1_2})


def test_for_version_lists_exactly_the_suites_usable_in_that_version() -> None:
    tls10 = {suite.code for suite in REGISTRY.for_version(TlsVersion.TLSv1_0)}
    tls13 = {suite.code for suite in REGISTRY.for_version(TlsVersion.TLSv1_3)}
    assert 0xC014 in tls10
    assert 0xC030 not in tls10
    assert {0x1301, 0x1302, 0x1303, 0x1304, 0x1305} <= tls13
    assert not tls10 & tls13
    assert all(
        TlsVersion.TLSv1_2 in suite.versions for suite in REGISTRY.for_version(TlsVersion.TLSv1_0)
    )


def test_all_lists_every_suite_once_in_code_point_order() -> None:
    codes = [suite.code for suite in REGISTRY.all()]
    assert codes == sorted(set(codes))
    assert len(codes) > 300


def test_every_suite_the_local_openssl_knows_has_the_code_point_python_reports() -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.set_ciphers("ALL:COMPLEMENTOFALL:@SECLEVEL=0")
    known = context.get_ciphers()
    assert known, "the local OpenSSL offers no cipher at all"
    for cipher in known:
        suite = REGISTRY.lookup(cipher["name"])
        assert suite.code == cipher["id"] & 0xFFFF, cipher["name"]
        # OpenSSL's own minimum protocol for the suite is the oldest version we list.
        assert min(suite.versions) == TlsVersion.parse(cipher["protocol"]), cipher["name"]


def test_a_registry_refuses_one_name_for_two_code_points() -> None:
    tls12 = frozenset({TlsVersion.TLSv1_2})
    with pytest.raises(ValueError, match="maps SAME-NAME to both"):
        CipherRegistry(
            [
                CipherSuite(0xC02F, "TLS_A", "SAME-NAME", tls12),
                CipherSuite(0xC030, "TLS_B", "SAME-NAME", tls12),
            ]
        )


def test_the_shipped_data_file_records_its_sources_and_generation_date() -> None:
    data = resources.files("pytest_aurora_guard.tls").joinpath("data").joinpath("cipher_suites.csv")
    lines = data.read_text(encoding="utf-8").splitlines()
    text = "\n".join(line for line in lines if line.startswith("#"))
    assert "Generated 2026-11-28 by tools/make_cipher_suites.py" in text
    assert "tls-parameters-4.csv" in text
    assert "testssl/testssl.sh@" in text
    assert "openssl ciphers -V -stdname" in text
