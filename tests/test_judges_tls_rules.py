"""Each TLS verdict rule (a version below the floor refused, the accepted and negotiated suites, the floor
accepted, the certificate trusted), mutation by mutation: the exact verdict each kind of evidence gives.
"""

from __future__ import annotations
