"""Evidence a run leaves behind: the facts behind each verdict, the versioned JSON report, its
Markdown rendering, and the promotion decision.

It sits above the verdict rules (``checks``, ``probe``, ``drift``) and below ``plugin``: it may
import them and ``settings``/``tls``, never ``plugin``. It reads what the checks recorded; it
never opens a connection.
"""
