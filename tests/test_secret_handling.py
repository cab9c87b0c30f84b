"""Secrets in memory and in text: every textual form masked, never pickled, scrubbed from whatever
a driver says, and handed to libpq only with parameters that verify the server first."""

from __future__ import annotations

import pickle
import ssl

import pytest

from pytest_aurora_guard.engines.drivers import DriverFailure, driver_call, raise_failure
from pytest_aurora_guard.errors import DriverError, UnverifiedTransportError
from pytest_aurora_guard.settings.credentials import Secret, libpq_password, scrub
from tests.openssl_errors import alert, handshake_error

_VERIFIED = {"sslmode": "verify-full", "gssencmode": "disable", "sslrootcert": "/etc/ca.pem"}


class TestSecret:
    def test_every_textual_form_is_masked(self):
        secret = Secret("hunter2")
        assert "hunter2" not in f"{secret} {secret!r} {secret!s} {[secret]} {({'p': secret})}"
        assert (repr(secret), str(secret), f"{secret:>20}") == ("Secret('***')", "Secret('***')", "***")

    def test_only_reveal_gives_the_value(self):
        assert Secret("hunter2").reveal() == "hunter2"

    def test_equality_works_for_any_text(self):
        assert Secret("pässwörd-🔑") == Secret("pässwörd-🔑")
        assert Secret("pässwörd-🔑") != Secret("password")
        assert Secret("hunter2") != "hunter2"

    def test_equal_secrets_hash_alike(self):
        assert hash(Secret("hunter2")) == hash(Secret("hunter2"))

    def test_it_cannot_be_pickled_to_a_worker_or_cache(self):
        with pytest.raises(TypeError) as raised:
            pickle.dumps(Secret("hunter2"))
        assert str(raised.value) == "a Secret cannot be pickled"


class TestScrub:
    @pytest.mark.parametrize("value", ["hunter2", "pa'ss\\word", "pä\tss-🔑"])
    def test_the_value_is_masked_as_text_as_a_repr_and_as_bytes(self, value):
        # The last differs in all three forms: a real tab, "\\t" in its repr, and UTF-8 escapes as bytes.
        text = " | ".join([value, repr(value)[1:-1], repr(value.encode("utf-8"))[2:-1]])
        assert scrub(f"<{text}>", [Secret(value)]) == "<*** | *** | ***>"

    def test_a_secret_that_starts_with_another_leaves_no_tail(self):
        assert scrub("token=abc-def-rest", [Secret("abc"), Secret("abc-def-rest")]) == "token=***"

    def test_a_secret_inside_another_leaves_none_of_the_longer_one(self):
        assert scrub("token=abcde", [Secret("bcd"), Secret("abcde")]) == "token=***"

    def test_a_value_that_cannot_be_encoded_is_still_masked_and_still_compares(self):
        mis_decoded = "pass\udcffword"  # a lone surrogate, as os.environ gives for undecodable bytes
        assert scrub(f"<{mis_decoded}>", [Secret(mis_decoded)]) == "<***>"
        assert Secret(mis_decoded) == Secret(mis_decoded)
        assert Secret(mis_decoded) != Secret("pass")

    def test_a_conninfo_password_field_is_masked_whatever_its_value(self):
        text = "host=db password=other-secret user=guard; password = 'quoted \\' one' dbname=x"
        assert scrub(text, []) == "host=db password=*** user=guard; password = *** dbname=x"

    def test_missing_and_empty_secrets_change_nothing(self):
        assert scrub("nothing to hide", [None, Secret("")]) == "nothing to hide"


class TestDriverBoundary:
    """``driver_call``: whatever a driver raises becomes a scrubbed ``DriverFailure``."""

    def test_a_driver_error_number_is_kept_with_its_message_scrubbed(self):
        def fails() -> None:
            raise RuntimeError(1045, "Access denied for 'guard' using password hunter2")

        found = driver_call(fails, [Secret("hunter2")])
        assert found == DriverFailure("RuntimeError", "ERROR 1045: Access denied for 'guard' using password ***", 1045)
        assert found.render() == "ERROR 1045: Access denied for 'guard' using password *** (RuntimeError)"

    @pytest.mark.parametrize(("exc", "message", "code"), [
        (RuntimeError(2013), "2013", 2013),
        (ValueError("first", "second"), "('first', 'second')", None),
        (RuntimeError(), "RuntimeError()", None),
    ])
    def test_the_message_is_the_error_number_form_only_with_a_number_and_a_text(self, exc, message, code):
        def fails() -> None:
            raise exc

        assert driver_call(fails, []) == DriverFailure(type(exc).__name__, message, code)

    def test_a_failure_without_a_type_renders_as_its_message(self):
        assert DriverFailure("", "refused to send the password").render() == "refused to send the password"

    def test_a_multi_line_message_becomes_one_line_and_a_bool_is_no_error_number(self):
        def fails() -> None:
            raise ValueError(True, "x")

        assert driver_call(fails, []).code is None

        def multi() -> None:
            raise OSError("connection failed:\n  password=hunter2 \n\n  FATAL: no")

        assert driver_call(multi, []).message == "connection failed: | password=*** | FATAL: no"

    def test_the_tls_error_underneath_is_kept_for_the_classifier(self):
        tls = handshake_error(alert(70))

        def fails() -> None:
            raise ConnectionError("could not connect") from tls

        found = driver_call(fails, [])
        assert isinstance(found, DriverFailure)
        assert (found.ssl_error, found.certificate_rejected) == (tls, False)

    def test_a_tls_error_a_driver_keeps_as_original_exception_is_kept_too(self):
        tls = handshake_error(alert(70))
        wrapped = RuntimeError("SSL connection error")
        wrapped.original_exception = tls  # type: ignore[attr-defined]

        def fails() -> None:
            raise wrapped

        found = driver_call(fails, [])
        assert isinstance(found, DriverFailure)
        assert found.ssl_error is tls

    def test_a_certificate_verification_error_marks_the_certificate_rejected(self):
        def fails() -> None:
            raise ssl.SSLCertVerificationError(1, "certificate verify failed")

        found = driver_call(fails, [])
        assert isinstance(found, DriverFailure)
        assert found.certificate_rejected

    def test_our_guard_wrapped_in_a_driver_exception_is_recognised(self):
        def fails() -> None:
            try:
                raise UnverifiedTransportError("refused to send the password: the connection is not TLS")
            except UnverifiedTransportError as exc:
                raise RuntimeError("driver wrapper") from exc

        found = driver_call(fails, [])
        assert found == DriverFailure("", "refused to send the password: the connection is not TLS",
                                      unverified_transport=True)
        raised = raise_failure(found, "PyMySQL could not connect to db")
        assert type(raised) is UnverifiedTransportError
        assert str(raised) == "PyMySQL could not connect to db: refused to send the password: the connection is not TLS"

    def test_our_guard_raised_directly_is_recognised(self):
        def fails() -> None:
            raise UnverifiedTransportError("refused to send the password: the connection is not TLS")

        assert driver_call(fails, []) == DriverFailure(
            "", "refused to send the password: the connection is not TLS", unverified_transport=True)

    def test_our_guard_as_a_drivers_explicit_cause_or_original_exception_is_recognised(self):
        guard = UnverifiedTransportError("refused to send the password: the connection is not TLS")
        caused = RuntimeError("driver wrapper")
        caused.__cause__ = guard  # raise ... from guard, outside the except block: no __context__
        kept = RuntimeError("driver wrapper")
        kept.original_exception = guard  # type: ignore[attr-defined]
        for wrapper in (caused, kept):
            def fails(exc: BaseException = wrapper) -> None:
                raise exc

            found = driver_call(fails, [])
            assert isinstance(found, DriverFailure)
            assert found.unverified_transport, wrapper

    def test_our_guard_is_recognised_however_deep_the_drivers_wrap_it(self):
        guard = UnverifiedTransportError("refused to send the password: the connection is not TLS")
        outer: BaseException = guard
        for depth in range(20):
            wrapper = RuntimeError(f"driver wrapper {depth}")
            wrapper.__cause__ = outer
            outer = wrapper

        def fails() -> None:
            raise outer

        assert driver_call(fails, []) == DriverFailure(
            "", "refused to send the password: the connection is not TLS", unverified_transport=True)

    def test_our_guard_kept_as_original_exception_by_an_inner_wrapper_is_recognised(self):
        inner = RuntimeError("PyMySQL wrapper")
        inner.original_exception = UnverifiedTransportError(  # type: ignore[attr-defined]
            "refused to send the password: the connection is not TLS")
        outer = RuntimeError("framework wrapper")
        outer.__cause__ = inner

        def fails() -> None:
            raise outer

        assert driver_call(fails, []) == DriverFailure(
            "", "refused to send the password: the connection is not TLS", unverified_transport=True)

    def test_a_chain_that_loops_without_our_guard_is_an_ordinary_failure(self):
        first, second = RuntimeError("first"), RuntimeError("second")
        first.__cause__, second.__cause__ = second, first

        def fails() -> None:
            raise first

        assert driver_call(fails, []) == DriverFailure("RuntimeError", "first")

    def test_our_guard_behind_a_driver_s_original_exception_and_a_raise_from_is_recognised(self):
        # original_exception names the driver's own error; our refusal is what that wrapper came from.
        guard = UnverifiedTransportError("refused to send the password: the connection is not TLS")
        wrapper = RuntimeError("driver wrapper")
        wrapper.original_exception = OSError(2003, "Can't connect")  # type: ignore[attr-defined]
        wrapper.__cause__ = guard

        def fails() -> None:
            raise wrapper

        assert driver_call(fails, []) == DriverFailure(
            "", "refused to send the password: the connection is not TLS", unverified_transport=True)

    def test_our_guard_is_found_past_an_exception_reached_twice(self):
        # The driver's wrapper names the same inner error as cause and context, and keeps our refusal.
        inner = RuntimeError("socket closed")
        wrapper = RuntimeError("driver wrapper")
        wrapper.original_exception = UnverifiedTransportError(  # type: ignore[attr-defined]
            "refused to send the password: the connection is not TLS")
        wrapper.__cause__ = wrapper.__context__ = inner

        def fails() -> None:
            raise wrapper

        assert driver_call(fails, []).unverified_transport  # type: ignore[union-attr]

    def test_an_original_exception_that_is_not_an_exception_is_ignored(self):
        odd = RuntimeError("driver wrapper")
        odd.original_exception = "not an exception"  # type: ignore[attr-defined]

        def fails() -> None:
            raise odd

        assert driver_call(fails, []) == DriverFailure("RuntimeError", "driver wrapper")

    def test_any_other_failure_is_raised_as_a_driver_error_with_its_type(self):
        raised = raise_failure(DriverFailure("OperationalError", "timeout expired"), "psycopg could not connect")
        assert type(raised) is DriverError
        assert str(raised) == "psycopg could not connect: timeout expired (OperationalError)"


class TestLibpqPassword:
    def test_verified_parameters_get_the_value(self):
        assert libpq_password(Secret("hunter2"), _VERIFIED) == "hunter2"

    @pytest.mark.parametrize(("key", "value"), [("sslmode", "require"), ("sslmode", None), ("gssencmode", "prefer")])
    def test_parameters_that_might_not_verify_get_nothing(self, key, value):
        params = {**_VERIFIED, key: value}
        with pytest.raises(UnverifiedTransportError) as raised:
            libpq_password(Secret("hunter2"), params)
        assert str(raised.value) == (f"refused to send the password: libpq would connect with {key}={value!r}, not "
                                     f"{_VERIFIED[key]!r}, so the server might not be verified before authentication")

    def test_no_root_certificate_gets_nothing(self):
        with pytest.raises(UnverifiedTransportError, match="no sslrootcert to verify the server against"):
            libpq_password(Secret("hunter2"), {**_VERIFIED, "sslrootcert": ""})
