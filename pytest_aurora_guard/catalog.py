"""The gate's checks by name and description, without their rules.

What start-up needs before, and whether or not, any check runs: marker names, the checks a
waiver may name. Kept apart from the rules so that an inert run (the plugin installed, nothing
configured) imports none of the probing, TLS, driver or AWS code.
"""

from __future__ import annotations

# Wire checks, one set per endpoint (their rules: checks.CHECKS).
ENDPOINT_CHECKS: dict[str, str] = {
    "plaintext_refused": "an unencrypted connection is refused because it is unencrypted",
    "tls_version_refused": "each protocol version below the floor is refused",
    "tls_floor_accepted": "a handshake at the floor version succeeds",
    "negotiated_cipher_allowed": "the suite a modern default client negotiates is allowlisted",
    "accepted_suites_allowed": "every suite the server accepts, at every version, is allowlisted",
    "certificate_trusted": "the certificate chain verifies to a trusted root, names the endpoint, uses strong keys "
                           "and signatures and stays valid long enough",
    "driver_plaintext_refused": "the driver's unencrypted connection is refused for transport reasons",
    "driver_below_floor_refused": "a driver connection capped below the floor is refused",
    "driver_verified_session": "a verified driver session runs at or above the floor with an allowlisted suite, "
                               "in the server's own view",
}

# Control-plane checks, per cluster (their rules: control_plane.checks).
CLUSTER_CHECKS: dict[str, str] = {
    "endpoints_listed": "AWS lists every member instance with an endpoint to probe",
    "parameters_enforce_tls": "the cluster parameter group in effect enforces TLS, the floor and the allowlist",
    "parameters_in_effect": "every member runs the parameter group as it is (in-sync, no reboot pending)",
    "storage_encrypted": "the cluster's storage is encrypted at rest",
    "instance_ca_current": "each instance uses an allowed RDS CA and a server certificate far from expiry",
    "proxy_requires_tls": "each RDS Proxy in front of the cluster requires TLS",
    "config_matches_wire": "what the parameter group says is what the instance does on the wire",
    "cluster_found": "each cluster named with --aurora-cluster exists and is an Aurora cluster",
    "clusters_matched": "the regions were listed and at least one cluster matched",
}

# What a waiver may name: every wire and control-plane check, except the two that say the cluster
# gate found nothing to gate (waiving them would switch the gate off, not accept a known risk).
WAIVABLE_CHECKS = frozenset(ENDPOINT_CHECKS) | (frozenset(CLUSTER_CHECKS) - {"cluster_found", "clusters_matched"})
