"""Bytes on sockets: TCP with deadlines, and the PostgreSQL and MySQL wire protocols up to STARTTLS.

May import only the standard library and ``pytest_aurora_guard.errors``: no TLS logic, no
pytest, no boto3, no database driver.
"""
