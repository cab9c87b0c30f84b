"""Read AWS's engine defaults for a DB parameter group family, every page of them.

Plain boto3: the standard session honours the credential chain, ``AWS_PROFILE``, the shared
config file and ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_RDS`` (botocore's
``EnvironmentProvider`` looks the service variable up first, then the global one). Every
botocore failure is turned into an :class:`~pytest_aurora_guard.errors.AwsApiError` subclass
whose message says what was asked, of which endpoint, what came back and what to change, with
the credentials' own values scrubbed from it.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Optional

import boto3
import botocore.config
import botocore.exceptions
import botocore.parsers
import botocore.session

from ..errors import (
    AwsAccessDeniedError,
    AwsApiError,
    AwsCredentialsError,
    AwsThrottledError,
    UnknownEngineFamilyError,
)

if TYPE_CHECKING:
    from botocore.credentials import Credentials
    from mypy_boto3_rds import RDSClient

OPERATION = "DescribeEngineDefaultClusterParameters"

# MaxRecords must lie in 20..100 (service-2.json doc string); the maximum costs fewest calls.
PAGE_SIZE = 100

# botocore (1.43) reads only AWS_DEFAULT_REGION; AWS_REGION is what the other SDKs and the
# AWS CLI read, so we honour it first (boto/boto3#3620).
REGION_ENV_VARS = ("AWS_REGION", "AWS_DEFAULT_REGION")

# Error codes botocore's standard/adaptive retry treats as throttling
# (botocore/retries/standard.py, ThrottledRetryableChecker); they reach us only once the
# configured attempts are spent.
_THROTTLING_CODES = frozenset(
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
_NOT_AUTHORIZED_CODES = frozenset({"NotAuthorized", "UnauthorizedOperation", "OptInRequired"})
# The credentials themselves were refused: wrong, expired or not signed right.
_REJECTED_CREDENTIAL_CODES = frozenset(
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
_ACCESS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA|AIDA|AROA)[A-Z0-9]{12,}\b")


@dataclass(frozen=True)
class EngineParameter:
    """One ``Parameter`` element as RDS sent it; ``None`` wherever RDS left the field out."""

    name: str
    value: Optional[str]
    allowed_values: Optional[str]
    source: Optional[str]
    apply_type: Optional[str]
    data_type: Optional[str]
    is_modifiable: Optional[bool]
    apply_method: Optional[str]
    minimum_engine_version: Optional[str]
    description: Optional[str]


@dataclass(frozen=True)
class FetchedEngineDefaults:
    """Every parameter of one family in one region, and what it cost to read them."""

    region: str
    family: str
    endpoint: str
    parameters: tuple[EngineParameter, ...]
    pages: int


def default_region(environ: Mapping[str, str] = os.environ) -> Optional[str]:
    """The region the user's AWS setup names: ``AWS_REGION``, then botocore's own lookup."""
    for name in REGION_ENV_VARS:
        value = environ.get(name, "").strip()
        if value:
            return value
    try:
        region: Optional[str] = boto3.session.Session().region_name
    except botocore.exceptions.BotoCoreError:  # e.g. AWS_PROFILE names no profile
        return None
    return region


class EngineDefaultsReader:
    """Fetches engine defaults through one boto3 session and one RDS client per region."""

    def __init__(self) -> None:
        self._botocore_session: Optional[botocore.session.Session] = None
        self._session: Optional[boto3.session.Session] = None
        self._clients: dict[str, RDSClient] = {}
        self._scrubber = _Scrubber(())

    def fetch(self, region: str, family: str) -> FetchedEngineDefaults:
        """Read every page of ``DescribeEngineDefaultClusterParameters`` for ``family``.

        Raises an ``AwsApiError`` subclass on any failure; never returns partial data.
        """
        where = f"{OPERATION} for family {family!r} in region {region}"
        parameters: list[EngineParameter] = []
        pages = 0
        try:
            with _botocore_debug_logging_silenced():
                client = self._client(region)
                endpoint = str(client.meta.endpoint_url)
                where = f"{where} at {endpoint}"
                paginator = client.get_paginator("describe_engine_default_cluster_parameters")
                for page in paginator.paginate(DBParameterGroupFamily=family, PaginationConfig={"PageSize": PAGE_SIZE}):
                    pages += 1
                    parameters.extend(_parse_page(page, family, where, pages))
        except botocore.exceptions.ClientError as exc:
            raise self._classify(exc, where, family, region) from None
        except (
            botocore.exceptions.NoCredentialsError,
            botocore.exceptions.PartialCredentialsError,
        ) as exc:
            raise _no_credentials(where, self._scrub(str(exc))) from None
        except (botocore.parsers.ResponseParserError, KeyError, ValueError, TypeError) as exc:
            # botocore's QueryParser raises a bare KeyError when the body lacks the result
            # wrapper (a proxy's HTML page, another service answering on that URL).
            raise AwsApiError(
                f"{where}: the answer is not an RDS Query-protocol response ({type(exc).__name__}: "
                f"{self._scrub(str(exc))}). Check that AWS_ENDPOINT_URL_RDS / AWS_ENDPOINT_URL, "
                "if set, point at RDS."
            ) from None
        except botocore.exceptions.BotoCoreError as exc:
            raise AwsApiError(
                f"{where} failed before RDS answered: {self._scrub(str(exc))}. Check that the "
                "endpoint is reachable (AWS_ENDPOINT_URL_RDS / AWS_ENDPOINT_URL, proxies) "
                "and that the region is right."
            ) from None
        if not parameters:
            # A retired or misspelled family can come back as an empty EngineDefaults
            # (botocore's examples-1.json shows exactly that for "aurora5.6").
            raise UnknownEngineFamilyError(
                f"{where} returned no parameters at all ({pages} page(s)). RDS does not know "
                f"this family here: check the spelling against `aws rds "
                f"describe-db-engine-versions --region {region} --query "
                f"'DBEngineVersions[].DBParameterGroupFamily'`."
            )
        return FetchedEngineDefaults(region, family, endpoint, tuple(parameters), pages)

    def _client(self, region: str) -> RDSClient:
        if region not in self._clients:
            session = self._standard_session()
            credentials = session.get_credentials()
            if credentials is None:
                raise _no_credentials(f"{OPERATION} in region {region}", "none found")
            self._scrubber = _Scrubber.of(credentials)
            config = botocore.config.Config(
                retries={"mode": self._retry_mode()},
                user_agent_extra="pytest-aurora-guard",
            )
            self._clients[region] = session.client("rds", region_name=region, config=config)
        return self._clients[region]

    def _standard_session(self) -> boto3.session.Session:
        if self._session is None:
            try:
                self._botocore_session = botocore.session.get_session()
                self._session = boto3.session.Session(botocore_session=self._botocore_session)
            except botocore.exceptions.BotoCoreError as exc:  # ProfileNotFound and friends
                raise AwsCredentialsError(
                    f"Could not set up an AWS session for {OPERATION}: {exc}. Check AWS_PROFILE "
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

    def _classify(self, exc: botocore.exceptions.ClientError, where: str, family: str, region: str) -> AwsApiError:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        message = self._scrub(str(error.get("Message", "")))
        metadata = exc.response.get("ResponseMetadata", {})
        attempts = int(metadata.get("RetryAttempts", 0)) + 1
        status = metadata.get("HTTPStatusCode", "?")
        request_id = metadata.get("RequestId", "none")
        answer = (
            f"{where} failed after {attempts} attempt(s): RDS answered HTTP {status} {code}: "
            f"{message!r} (request id {request_id})."
        )
        if code in _THROTTLING_CODES or status == 429:
            return AwsThrottledError(
                f"{answer} botocore's retries were spent. Raise the attempts with "
                "AWS_MAX_ATTEMPTS (or max_attempts in the AWS config file), or let botocore "
                "pace the calls with AWS_RETRY_MODE=adaptive, then rerun."
            )
        if code.startswith("AccessDenied") or code in _NOT_AUTHORIZED_CODES:
            return AwsAccessDeniedError(
                f"{answer} Allow the action rds:{OPERATION} for the identity the run uses "
                "(AWS_PROFILE or the credential chain) in this region."
            )
        if code in _REJECTED_CREDENTIAL_CODES:
            return AwsCredentialsError(
                f"{answer} The credentials were refused: refresh them (e.g. `aws sso login`) "
                "or point AWS_PROFILE at a valid profile."
            )
        if code == "InvalidParameterValue":
            return UnknownEngineFamilyError(
                f"{answer} Check the family name {family!r} against `aws rds "
                f"describe-db-engine-versions --region {region} --query "
                f"'DBEngineVersions[].DBParameterGroupFamily'`, and fix --aurora-engine-family, "
                "aurora_engine_families or the baseline file name."
            )
        return AwsApiError(f"{answer} Nothing was compared or written; rerun once RDS answers.")

    def _scrub(self, text: str) -> str:
        return self._scrubber(text)


class _Scrubber:
    """Removes the run's credential strings (and anything shaped like a key id) from text.

    The strings live only inside this object, whose repr hides them, so no traceback local
    (``pytest --showlocals``) or debugger view prints them.
    """

    __slots__ = ("_secrets",)

    def __init__(self, secrets: tuple[str, ...]) -> None:
        self._secrets = secrets

    @classmethod
    def of(cls, credentials: Credentials) -> _Scrubber:
        frozen = credentials.get_frozen_credentials()
        return cls(tuple(s for s in (frozen.secret_key, frozen.token, frozen.access_key) if s))

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return _ACCESS_KEY_ID.sub("[redacted access key id]", text)

    def __repr__(self) -> str:
        return f"<_Scrubber of {len(self._secrets)} hidden value(s)>"


def _no_credentials(where: str, detail: str) -> AwsCredentialsError:
    return AwsCredentialsError(
        f"{where}: no AWS credentials ({detail}). boto3 looked in the environment "
        "(AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), AWS_PROFILE and the shared config and "
        "credentials files, SSO, and container/instance metadata. Provide one of these; "
        "nothing was compared or written."
    )


def _parse_page(page: Mapping[str, Any], family: str, where: str, number: int) -> Iterator[EngineParameter]:
    """Check one page's shape instead of trusting it: an unexpected body is an error, never []."""
    defaults = page.get("EngineDefaults")
    if not isinstance(defaults, Mapping):
        raise AwsApiError(f"{where}: page {number} has no EngineDefaults element: {page!r:.300}")
    answered_family = defaults.get("DBParameterGroupFamily")
    if answered_family not in (None, family):
        raise AwsApiError(f"{where}: page {number} describes family {answered_family!r}, not {family!r}.")
    raw_parameters = defaults.get("Parameters", [])
    if not isinstance(raw_parameters, list):
        raise AwsApiError(f"{where}: page {number} has malformed Parameters: {raw_parameters!r:.300}")
    for raw in raw_parameters:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("ParameterName"), str):
            raise AwsApiError(f"{where}: page {number} has a parameter without a name: {raw!r:.300}")
        yield EngineParameter(
            name=raw["ParameterName"],
            value=_optional(raw, "ParameterValue", str, where),
            allowed_values=_optional(raw, "AllowedValues", str, where),
            source=_optional(raw, "Source", str, where),
            apply_type=_optional(raw, "ApplyType", str, where),
            data_type=_optional(raw, "DataType", str, where),
            is_modifiable=_optional(raw, "IsModifiable", bool, where),
            apply_method=_optional(raw, "ApplyMethod", str, where),
            minimum_engine_version=_optional(raw, "MinimumEngineVersion", str, where),
            description=_optional(raw, "Description", str, where),
        )


def _optional(raw: Mapping[str, Any], key: str, kind: type[Any], where: str) -> Any:
    value = raw.get(key)
    if value is not None and not isinstance(value, kind):
        raise AwsApiError(
            f"{where}: parameter {raw.get('ParameterName')!r} has {key}={value!r}, expected {kind.__name__}."
        )
    return value


@contextmanager
def _botocore_debug_logging_silenced() -> Iterator[None]:
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
