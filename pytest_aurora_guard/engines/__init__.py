"""Engine adapters: PostgreSQL and MySQL-compatible STARTTLS, plaintext probes and driver
sessions (psycopg, PyMySQL), each producing the engine-neutral findings the checks judge.

May import ``wire``, ``tls``, ``settings``, ``findings`` and ``errors``; never pytest or boto3.
"""
