"""TLS knowledge and probing: versions, the cipher-suite registry and allowlist, the crafted
ClientHello codec, real handshakes with the system OpenSSL, and surface enumeration.

May import ``wire`` and ``errors`` (and ``cryptography``); never pytest, boto3 or a driver.
"""
