"""The engine-default drift gate: committed baselines, their comparison with what AWS serves,
and the pytest items that report it (``drift.plugin`` is its only module that imports pytest).

May import ``aws``, ``tls`` (cipher names), ``settings`` (option specs, sources, spelling) and ``errors``.
"""
