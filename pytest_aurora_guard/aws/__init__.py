"""AWS access through boto3: the RDS client and what the gate reads from the RDS API.

May import ``errors`` and boto3/botocore; never pytest, a database driver or the probes.
"""
