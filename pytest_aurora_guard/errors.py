"""One exception hierarchy, each message written for the engineer reading a CI log at 2 a.m.

Every message says what was attempted, against what, what came back and what to change.
"""

from __future__ import annotations


class AuroraGuardError(Exception):
    """Base of every error this plugin raises on purpose."""


class ConfigurationError(AuroraGuardError):
    """An option, ini key or environment variable has a value we cannot use."""


class ProbeError(AuroraGuardError):
    """A network probe could not produce evidence either way (timeout, reset, foreign protocol)."""


class WrongEngineError(ProbeError):
    """The server speaks another database protocol than the one configured."""


class AwsApiError(AuroraGuardError):
    """The RDS API refused or failed a call, or no credentials were found."""


class BaselineError(AuroraGuardError):
    """A committed baseline file is missing, unreadable or not in the expected schema."""


# Drift gate: finer kinds so the gate can say which of its inputs let it down.


class AwsCredentialsError(AwsApiError):
    """No usable AWS credentials were found in the standard credential chain."""


class AwsAccessDeniedError(AwsApiError):
    """The credentials were found but are not allowed to make the call."""


class AwsThrottledError(AwsApiError):
    """The API kept throttling after botocore's retries were spent."""


class UnknownEngineFamilyError(AwsApiError):
    """RDS does not know the requested DB parameter group family in that region."""


class MissingBaselineError(BaselineError):
    """A family is checked but no baseline file has been committed for it."""


class TlsNotOffered(ProbeError):
    """The server does not offer TLS at all: positive evidence that every TLS check fails."""


class EndpointBudgetExceeded(ProbeError):
    """The overall time budget for one endpoint ran out before the evidence was complete."""


class UnverifiedTransportError(AuroraGuardError):
    """A credential was about to go over a connection that is not verified TLS; it was not sent."""


class DriverError(ProbeError):
    """A database driver failed; the message is scrubbed of every secret and carries no driver frames."""
