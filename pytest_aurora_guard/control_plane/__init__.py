"""The cluster-aware gate: endpoints from the RDS API, control-plane checks, and their cross-check with the wire.

``targets`` turns what ``aws.clusters`` read into endpoints to probe; ``checks`` judges the
cluster's configuration (and confronts it with the probes); ``plugin`` is the pytest glue.
May import ``aws``, ``checks``, ``probe``, ``settings``, ``tls`` and ``errors``; never ``plugin.py``.
"""
