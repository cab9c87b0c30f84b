"""The probe account from AWS Secrets Manager: one GetSecretValue per pytest process, never shown.

Plain boto3 with the standard credential chain; ``AWS_ENDPOINT_URL_SECRETS_MANAGER`` (or
``AWS_ENDPOINT_URL``) points it elsewhere, as botocore's ``EnvironmentProvider`` reads them. The
region is the ARN's, else ``AWS_REGION`` / ``AWS_DEFAULT_REGION`` / the profile's. The secret's
text is wrapped in a :class:`Secret` the moment it arrives, so no frame holds it as a plain string
longer than the JSON parse.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Optional, cast

from ..errors import AwsAccessDeniedError, AwsApiError, AwsCredentialsError, AwsThrottledError
from ..settings.credentials import DbSecret, Secret, parse_db_secret
from .client import (
    REJECTED_CREDENTIAL_CODES,
    THROTTLING_CODES,
    Scrubber,
    botocore_debug_logging_silenced,
    no_credentials,
)
from .engine_defaults import default_region

if TYPE_CHECKING:
    import botocore.exceptions

_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:(?P<region>[a-z0-9-]+):\d{12}:secret:.+$")


def secret_region(secret_id: str, environ: Mapping[str, str] = os.environ) -> Optional[str]:
    match = _ARN.match(secret_id)
    return match.group("region") if match else default_region(environ)


def fetch_db_secret(secret_id: str, environ: Mapping[str, str] = os.environ) -> DbSecret:
    """GetSecretValue for ``secret_id`` (ARN or name), parsed as RDS's JSON layout."""
    source = f"Secrets Manager secret {secret_id!r}"
    region = secret_region(secret_id, environ)
    if region is None:
        raise AwsApiError(f"{source}: no AWS region: give the secret's full ARN, or set AWS_REGION")
    where = f"GetSecretValue for {source} in {region}"
    import boto3  # only runs that read a secret pay for boto3
    import botocore.config
    import botocore.exceptions

    try:
        session = boto3.session.Session()
        credentials = session.get_credentials()
    except botocore.exceptions.BotoCoreError as exc:
        raise AwsCredentialsError(f"{where}: could not set up an AWS session: {exc}; check AWS_PROFILE") from None
    if credentials is None:
        raise no_credentials(where, "none found")
    scrub = Scrubber.of(credentials)
    config = botocore.config.Config(retries={"mode": "standard"}, user_agent_extra="pytest-aurora-guard")
    client = cast(Any, session.client("secretsmanager", region_name=region, config=config))
    try:
        with botocore_debug_logging_silenced():
            text = Secret(str(client.get_secret_value(SecretId=secret_id).get("SecretString") or ""))
    except botocore.exceptions.ClientError as exc:
        raise _classified(exc, where, scrub) from None
    except (botocore.exceptions.NoCredentialsError, botocore.exceptions.PartialCredentialsError) as exc:
        raise no_credentials(where, scrub(str(exc))) from None
    except botocore.exceptions.BotoCoreError as exc:
        raise AwsApiError(f"{where} failed before Secrets Manager answered: {scrub(str(exc))}. Check the "
                          "region and AWS_ENDPOINT_URL_SECRETS_MANAGER / AWS_ENDPOINT_URL, if set.") from None
    if text == Secret(""):
        raise AwsApiError(f"{where}: the secret has no SecretString (binary secrets are not RDS's layout)")
    return parse_db_secret(text, source)


def _classified(exc: botocore.exceptions.ClientError, where: str, scrub: Scrubber) -> AwsApiError:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", "Unknown"))
    answer = f"{where}: Secrets Manager answered {code}: {scrub(str(error.get('Message', '')))!r}."
    if code == "ResourceNotFoundException":
        return AwsApiError(f"{answer} Check the name or ARN and the region (the ARN's region wins).")
    if code.startswith("AccessDenied"):
        return AwsAccessDeniedError(f"{answer} Allow secretsmanager:GetSecretValue on the secret (and kms:Decrypt "
                                    "on its KMS key) for the identity the run uses.")
    if code in THROTTLING_CODES:
        return AwsThrottledError(f"{answer} botocore's retries were spent; raise AWS_MAX_ATTEMPTS and rerun.")
    if code in REJECTED_CREDENTIAL_CODES:
        return AwsCredentialsError(f"{answer} The credentials were refused: refresh them or fix AWS_PROFILE.")
    return AwsApiError(f"{answer} No check ran; rerun once Secrets Manager answers.")
