"""Configuration: endpoints, secrets, and one frozen settings object resolved from the command
line, ``AURORA_GUARD_*`` environment variables and ini keys, validated before any traffic.

May import ``tls`` (versions, allowlist) and ``errors``; never pytest, boto3 or a driver.
"""
