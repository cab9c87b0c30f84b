"""IAM database-authentication tokens: boto3's ``generate_db_auth_token``, signed locally, no API call.

A token is a SigV4-presigned ``connect`` request for one host, port and database user, valid 15
minutes (facts §5); we make a fresh one for each verified connection, for the endpoint's own DNS
name and port (never the address --aurora-connect-to dials: the database checks the name signed).
The region is the one in the RDS name, else the standard lookup (AWS_REGION, the profile).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping
from typing import Any, Optional

from ..errors import AwsApiError, AwsCredentialsError
from ..settings.credentials import Secret
from ..settings.endpoints import Endpoint
from .client import Scrubber, botocore_debug_logging_silenced, no_credentials
from .engine_defaults import default_region

_RDS_REGION = re.compile(r"\.(?P<region>[a-z]{2}(?:-gov|-iso[a-z]*)?-[a-z]+-\d+)\.rds\.amazonaws\.com(?:\.cn)?\.?$")


def token_region(host: str, environ: Mapping[str, str] = os.environ) -> Optional[str]:
    match = _RDS_REGION.search(host.lower())
    return match.group("region") if match else default_region(environ)


class IamTokens:
    """Makes tokens with one boto3 session (the standard credential chain) per run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clients: dict[str, Any] = {}

    def __call__(self, endpoint: Endpoint, user: str) -> Secret:
        assert endpoint.port is not None
        region = token_region(endpoint.host)
        where = f"an IAM token for {user!r} at {endpoint.host}:{endpoint.port}"
        if region is None:
            raise AwsApiError(f"{where}: no AWS region in the name and none configured; set AWS_REGION")
        import boto3  # only runs with --aurora-iam-auth pay for boto3
        import botocore.exceptions

        try:
            with self._lock:
                client = self._clients.get(region)
                if client is None:
                    session = boto3.session.Session()
                    if session.get_credentials() is None:
                        raise no_credentials(where, "none found")
                    client = self._clients[region] = session.client("rds", region_name=region)
            with botocore_debug_logging_silenced():
                return Secret(str(client.generate_db_auth_token(DBHostname=endpoint.host, Port=endpoint.port,
                                                                 DBUsername=user, Region=region)))
        except (botocore.exceptions.NoCredentialsError, botocore.exceptions.PartialCredentialsError) as exc:
            raise no_credentials(where, Scrubber(())(str(exc))) from None
        except botocore.exceptions.BotoCoreError as exc:
            raise AwsCredentialsError(f"{where}: {Scrubber(())(str(exc))}; check AWS_PROFILE") from None
