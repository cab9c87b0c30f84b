"""Which cluster checks are planned for an inventory, what the parameter group claims about the wire, and how a
claim is set against what the wire showed: the exact verdict for each combination.
"""

from __future__ import annotations
