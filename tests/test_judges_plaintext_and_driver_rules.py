"""The plaintext and driver verdict rules, mutation by mutation: the exact verdict each kind of evidence gives,
the check's own wiring (its name, what it needs probed, its plan) included.
"""

from __future__ import annotations
