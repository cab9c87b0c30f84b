"""Small pure pieces that the end-to-end specs lean on."""

from __future__ import annotations

import pytest

from pytest_aurora_guard.errors import ConfigurationError
from pytest_aurora_guard.settings.endpoints import Engine, parse_endpoint
from pytest_aurora_guard.tls.versions import TlsVersion


class TestEndpoints:
    @pytest.mark.parametrize(
        ("text", "label", "port", "engine"),
        [
            ("postgresql://db.example.com", "postgresql://db.example.com:5432", 5432, Engine.POSTGRESQL),
            ("mysql://db.example.com", "mysql://db.example.com:3306", 3306, Engine.MYSQL),
            ("db.example.com:6000", "db.example.com:6000", 6000, None),
            ("[::1]:5432", "[::1]:5432", 5432, None),
            ("postgres://10.0.0.1:5433", "postgresql://10.0.0.1:5433", 5433, Engine.POSTGRESQL),
        ],
    )
    def test_accepted_spellings(self, text, label, port, engine):
        endpoint = parse_endpoint(text)
        assert (endpoint.label, endpoint.port, endpoint.engine) == (label, port, engine)

    def test_a_node_label_never_contains_the_pytest_id_separator(self):
        assert "::" not in parse_endpoint("postgresql://[::1]:5432").node_label

    def test_sni_is_only_for_dns_names(self):
        assert parse_endpoint("postgresql://10.0.0.1").server_name is None
        assert parse_endpoint("postgresql://db.example.com").server_name == "db.example.com"

    def test_scheme_and_engine_option_must_agree(self):
        with pytest.raises(ConfigurationError, match="drop one of them"):
            parse_endpoint("mysql://db.example.com", Engine.POSTGRESQL)


class TestTlsVersions:
    @pytest.mark.parametrize("text", ["TLSv1.3", "tlsv1_3", "1.3", "TLS1.3"])
    def test_spellings_of_tls13(self, text):
        assert TlsVersion.parse(text) is TlsVersion.TLSv1_3

    def test_tlsv1_means_tls_1_0_as_servers_spell_it(self):
        assert TlsVersion.parse("TLSv1") is TlsVersion.TLSv1_0
        assert TlsVersion.TLSv1_0.server_setting == "TLSv1"

    def test_below_a_floor_lists_every_older_version_oldest_first(self):
        assert TlsVersion.TLSv1_3.below() == [
            TlsVersion.SSLv3, TlsVersion.TLSv1_0, TlsVersion.TLSv1_1, TlsVersion.TLSv1_2,
        ]


class TestRemediesFollowTheVersionsSeen:
    def test_mysql_tls13_suites_are_fixed_in_tls_ciphersuites_only(self):
        from pytest_aurora_guard.engines.mysql import REMEDIES

        advice = REMEDIES.ciphers_at([TlsVersion.TLSv1_3])
        assert advice.startswith("restrict tls_ciphersuites")
        assert "ssl_cipher " not in advice

    def test_mysql_tls12_suites_are_fixed_in_ssl_cipher_only(self):
        from pytest_aurora_guard.engines.mysql import REMEDIES

        assert REMEDIES.ciphers_at([TlsVersion.TLSv1_2]) == REMEDIES.ciphers_up_to_tls12

    def test_suites_at_both_kinds_of_version_name_both_places(self):
        from pytest_aurora_guard.engines.mysql import REMEDIES

        assert REMEDIES.ciphers_at([TlsVersion.TLSv1_3, TlsVersion.TLSv1_0]) == (
            f"{REMEDIES.ciphers_up_to_tls12}; {REMEDIES.ciphers_tls13}")

    def test_no_version_known_falls_back_to_the_pre_tls13_list(self):
        from pytest_aurora_guard.engines.postgresql import REMEDIES

        assert REMEDIES.ciphers_at([]) == REMEDIES.ciphers_up_to_tls12
