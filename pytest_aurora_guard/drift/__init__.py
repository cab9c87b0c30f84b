"""The engine-default drift gate: committed baselines, their comparison with what AWS serves,
and the pytest items that report it (``drift.plugin``, its options, and ``drift.session``, its items,
are its only modules that import pytest).

May import ``aws``, ``tls`` (cipher names), ``settings`` (option specs, sources, spelling) and ``errors``.
"""
