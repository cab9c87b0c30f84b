"""One boto3 session and one RDS client per region for every part of the gate that reads the RDS API.

Plain boto3: the standard session honours the credential chain, ``AWS_PROFILE``, the shared
config file and ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_RDS`` (botocore's
``EnvironmentProvider`` looks the service variable up first, then the global one). Every
botocore failure becomes an :class:`~pytest_aurora_guard.errors.AwsApiError` subclass whose
message says what was asked, of which endpoint, what came back and which IAM action to grant,
with the credentials' own values scrubbed from it.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Callable, Literal, Optional

from ..errors import AwsAccessDeniedError, AwsApiError, AwsCredentialsError, AwsThrottledError

if TYPE_CHECKING:
    # boto3 and botocore are imported where they are used: a run that never reads the RDS API
    # (a TLS-only gate, an inert plugin) does not pay for them.
    import boto3
    import botocore.exceptions
    import botocore.session
    from botocore.credentials import Credentials
    from mypy_boto3_rds import RDSClient

# Error codes botocore's standard/adaptive retry treats as throttling
# (botocore/retries/standard.py, ThrottledRetryableChecker); they reach us only once the
# configured attempts are spent.
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "SlowDown",
    }
)
# The caller is known but not allowed (RDS common errors; IAM's AccessDenied spellings).
NOT_AUTHORIZED_CODES = frozenset({"NotAuthorized", "UnauthorizedOperation", "OptInRequired"})
# The credentials themselves were refused: wrong, expired or not signed right.
REJECTED_CREDENTIAL_CODES = frozenset(
    {
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "MissingAuthenticationToken",
        "ExpiredToken",
        "ExpiredTokenException",
        "RequestExpired",
        "AuthFailure",
    }
)
Refine = Callable[[str, str], Optional[AwsApiError]]
_ACCESS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA|AIDA|AROA)[A-Z0-9]{12,}\b")


class RdsClients:
    """One boto3 session for the run and one RDS client per region, made on first use."""

    def __init__(self) -> None:
        self._botocore_session: Optional[botocore.session.Session] = None
        self._session: Optional[boto3.session.Session] = None
        self._clients: dict[str, RDSClient] = {}
        self._lock = threading.Lock()
        self.scrub = Scrubber(())
        self.calls = 0  # HTTP requests answered, retries included (for the fleet benchmark)

    def client(self, region: str, operation: str) -> RDSClient:
        """The region's client; ``operation`` names the first call it is made for, in errors."""
        with self._lock:
            if region not in self._clients:
                session = self._standard_session(operation)
                credentials = session.get_credentials()
                if credentials is None:
                    raise no_credentials(f"{operation} in region {region}", "none found")
                self.scrub = Scrubber.of(credentials)
                import botocore.config

                config = botocore.config.Config(
                    retries={"mode": self._retry_mode()},
                    user_agent_extra="pytest-aurora-guard",
                )
                client = session.client("rds", region_name=region, config=config)
                client.meta.events.register("after-call.rds", self._count)
                self._clients[region] = client
            return self._clients[region]

    def _count(self, **_: object) -> None:
        with self._lock:
            self.calls += 1

    def _standard_session(self, operation: str) -> boto3.session.Session:
        import boto3
        import botocore.exceptions
        import botocore.session

        if self._session is None:
            try:
                self._botocore_session = botocore.session.get_session()
                self._session = boto3.session.Session(botocore_session=self._botocore_session)
            except botocore.exceptions.BotoCoreError as exc:  # ProfileNotFound and friends
                raise AwsCredentialsError(
                    f"Could not set up an AWS session for {operation}: {exc}. Check AWS_PROFILE "
                    "and the shared config/credentials files."
                ) from None
        return self._session

    def _retry_mode(self) -> Literal["standard", "adaptive"]:
        """``adaptive`` if the user chose it, else ``standard``; both retry throttling with backoff.

        botocore falls back to its ``legacy`` mode when nothing is configured; ``standard`` is
        the documented successor (exponential backoff with jitter, a retry quota). The attempt
        count stays botocore's: AWS_MAX_ATTEMPTS or ``max_attempts`` in the profile, else 3.
        """
        assert self._botocore_session is not None
        configured = self._botocore_session.get_config_variable("retry_mode")
        return "adaptive" if configured == "adaptive" else "standard"

    @contextmanager
    def calling(self, where: str, operation: str, refine: Optional[Refine] = None) -> Iterator[None]:
        """Turn every botocore failure inside the block into an ``AwsApiError`` about ``where``.

        ``refine(code, answer)`` may give a more precise error for an RDS error code in this context.
        """
        import botocore.exceptions
        import botocore.parsers

        try:
            with botocore_debug_logging_silenced():
                yield
        except botocore.exceptions.ClientError as exc:
            refined = None
            if refine is not None:
                code, answer, _ = client_error_answer(exc, where, self.scrub)
                refined = refine(code, answer)
            raise refined or classify_client_error(exc, where, operation, self.scrub) from None
        except (botocore.exceptions.NoCredentialsError, botocore.exceptions.PartialCredentialsError) as exc:
            raise no_credentials(where, self.scrub(str(exc))) from None
        except (botocore.parsers.ResponseParserError, KeyError, ValueError, TypeError) as exc:
            # botocore's QueryParser raises a bare KeyError when the body lacks the result
            # wrapper (a proxy's HTML page, another service answering on that URL).
            raise AwsApiError(
                f"{where}: the answer is not an RDS Query-protocol response ({type(exc).__name__}: "
                f"{self.scrub(str(exc))}). Check that AWS_ENDPOINT_URL_RDS / AWS_ENDPOINT_URL, "
                "if set, point at RDS."
            ) from None
        except botocore.exceptions.BotoCoreError as exc:
            raise AwsApiError(
                f"{where} failed before RDS answered: {self.scrub(str(exc))}. Check that the "
                "endpoint is reachable (AWS_ENDPOINT_URL_RDS / AWS_ENDPOINT_URL, proxies) "
                "and that the region is right."
            ) from None


def client_error_answer(exc: botocore.exceptions.ClientError, where: str, scrub: Scrubber) -> tuple[str, str, int]:
    """(code, one sentence saying what RDS answered, HTTP status) for a ClientError."""
    error = exc.response.get("Error", {})
    code = str(error.get("Code", "Unknown"))
    message = scrub(str(error.get("Message", "")))
    metadata = exc.response.get("ResponseMetadata", {})
    attempts = int(metadata.get("RetryAttempts", 0)) + 1
    status = metadata.get("HTTPStatusCode", 0)
    request_id = metadata.get("RequestId", "none")
    answer = (
        f"{where} failed after {attempts} attempt(s): RDS answered HTTP {status or '?'} {code}: "
        f"{message!r} (request id {request_id})."
    )
    return code, answer, int(status or 0)


def classify_client_error(exc: botocore.exceptions.ClientError, where: str, operation: str,
                          scrub: Scrubber) -> AwsApiError:
    code, answer, status = client_error_answer(exc, where, scrub)
    if code in THROTTLING_CODES or status == 429:
        return AwsThrottledError(
            f"{answer} botocore's retries were spent. Raise the attempts with "
            "AWS_MAX_ATTEMPTS (or max_attempts in the AWS config file), or let botocore "
            "pace the calls with AWS_RETRY_MODE=adaptive, then rerun."
        )
    if code.startswith("AccessDenied") or code in NOT_AUTHORIZED_CODES:
        return AwsAccessDeniedError(
            f"{answer} Allow the action rds:{operation} for the identity the run uses "
            "(AWS_PROFILE or the credential chain) in this region."
        )
    if code in REJECTED_CREDENTIAL_CODES:
        return AwsCredentialsError(
            f"{answer} The credentials were refused: refresh them (e.g. `aws sso login`) "
            "or point AWS_PROFILE at a valid profile."
        )
    return AwsApiError(f"{answer} Nothing was compared or written; rerun once RDS answers.")


class Scrubber:
    """Removes the run's credential strings (and anything shaped like a key id) from text.

    The strings live only inside this object, whose repr hides them, so no traceback local
    (``pytest --showlocals``) or debugger view prints them.
    """

    __slots__ = ("_secrets",)

    def __init__(self, secrets: tuple[str, ...]) -> None:
        self._secrets = secrets

    @classmethod
    def of(cls, credentials: Credentials) -> Scrubber:
        frozen = credentials.get_frozen_credentials()
        return cls(tuple(s for s in (frozen.secret_key, frozen.token, frozen.access_key) if s))

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return _ACCESS_KEY_ID.sub("[redacted access key id]", text)

    def __repr__(self) -> str:
        return f"<Scrubber of {len(self._secrets)} hidden value(s)>"


def no_credentials(where: str, detail: str) -> AwsCredentialsError:
    return AwsCredentialsError(
        f"{where}: no AWS credentials ({detail}). boto3 looked in the environment "
        "(AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), AWS_PROFILE and the shared config and "
        "credentials files, SSO, and container/instance metadata. Provide one of these; "
        "nothing was compared or written."
    )


@contextmanager
def botocore_debug_logging_silenced() -> Iterator[None]:
    """Keep botocore's DEBUG records out of pytest's log capture while we call AWS.

    At DEBUG, botocore.auth logs the canonical request (with the X-Amz-Security-Token header)
    and botocore.endpoint the request headers; ``--log-level=DEBUG`` would put a session token
    into a CI log. INFO and above carry no credential material.
    """
    logger = logging.getLogger("botocore")
    previous = logger.level
    if logger.getEffectiveLevel() < logging.INFO:
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.setLevel(previous)
