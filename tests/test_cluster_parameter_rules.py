"""The control-plane rules on parameters, storage, certificates and proxies, mutation by mutation: the exact
verdict each kind of AWS answer gives.
"""

from __future__ import annotations
