"""Control-plane checks per cluster, with the same Verdict model as the wire checks.

Each rule reads what the RDS API said (``aws.clusters``) and passes only on positive evidence:
a value AWS did not send is said, not assumed, and a call that failed is an error naming the
call and the IAM action to grant. ``config_matches_wire`` confronts the parameter group with
what each instance did on the wire, reusing the wire checks' own verdicts.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Callable, Optional

from .. import catalog
from ..aws.clusters import ClusterInventory, Facts, Fetched, ParameterFacts, ParameterGroupFacts, Unavailable
from ..checks import CHECKS, INTEGRITY, TRANSMISSION_SECURITY, Outcome, Verdict
from ..errors import ConfigurationError
from ..probe import EndpointProbe
from ..settings.config import GuardSettings
from ..settings.endpoints import Endpoint, Engine
from ..tls.ciphers import REGISTRY, UnknownCipherSuite
from ..tls.versions import TlsVersion
from .targets import ClusterTarget, cluster_engine

AT_REST = ("HIPAA 45 CFR 164.312(a)(2)(iv) encryption and decryption (at rest)",)
CERTIFICATES = (*TRANSMISSION_SECURITY, *INTEGRITY)

ProbeLookup = Callable[[Endpoint], EndpointProbe]


@dataclass(frozen=True)
class ClusterCheck:
    """One control-plane item: its name, the rule, and the probe observations the rule reads."""

    check: str  # the check's name, e.g. "parameters_enforce_tls"
    item_name: str  # e.g. "parameters_enforce_tls[rds.force_ssl]"
    rule: Callable[[ProbeLookup], Verdict]
    needs: Mapping[Endpoint, tuple[Hashable, ...]]

    @property
    def marker(self) -> str:
        return f"aurora_{self.check}"


CLUSTER_CHECKS = catalog.CLUSTER_CHECKS  # names and descriptions, readable without the rules


class _Make:
    def __init__(self, check: str, where: str, controls: tuple[str, ...] = TRANSMISSION_SECURITY) -> None:
        self.check, self.where, self.controls = check, where, controls

    def __call__(self, outcome: Outcome, summary: str, attempted: Sequence[str], answered: Sequence[str],
                 remedy: Optional[str] = None) -> Verdict:
        return Verdict(self.check, self.where, outcome, summary, tuple(attempted), tuple(answered),
                       remedy if outcome is not Outcome.PASSED else None, self.controls)

    def unavailable(self, missing: Unavailable, attempted: Sequence[str]) -> Verdict:
        return self(Outcome.INCONCLUSIVE, f"no evidence: {missing.operation} did not answer", attempted,
                    (missing.error,), f"allow {missing.iam_action} for the identity the run uses, then rerun")


def cluster_where(inventory: ClusterInventory) -> str:
    cluster = inventory.cluster
    version = f" {cluster.engine_version}" if cluster.engine_version else ""
    return f"cluster {cluster.cluster_id} ({cluster.engine}{version}, {cluster.region})"


def plan_cluster_checks(inventory: ClusterInventory, targets: Sequence[ClusterTarget],
                        settings: GuardSettings) -> list[ClusterCheck]:
    """Every control-plane item for one cluster, in report order."""
    where = cluster_where(inventory)
    engine = cluster_engine(inventory.cluster.engine)
    plan = [ClusterCheck("endpoints_listed", "endpoints_listed",
                         lambda _: judge_endpoints_listed(inventory, targets, where), {})]
    for parameter in _tls_parameters(engine, settings):
        plan.append(ClusterCheck("parameters_enforce_tls", f"parameters_enforce_tls[{parameter}]",
                                 _ignoring_probes(partial(judge_parameter, inventory, parameter, settings, where)), {}))
    plan += [
        ClusterCheck("parameters_in_effect", "parameters_in_effect",
                     lambda _: judge_parameters_in_effect(inventory, where), {}),
        ClusterCheck("storage_encrypted", "storage_encrypted", lambda _: judge_storage_encrypted(inventory, where), {}),
        ClusterCheck("instance_ca_current", "instance_ca_current",
                     lambda _: judge_instance_ca(inventory, settings, where, _now()), {}),
    ]
    proxies = inventory.proxies
    if isinstance(proxies, Unavailable):
        plan.append(ClusterCheck("proxy_requires_tls", "proxy_requires_tls",
                                 lambda _: _Make("proxy_requires_tls", where).unavailable(
                                     proxies, ("list the RDS Proxies in front of the cluster",)), {}))
    else:
        for proxy in proxies.value:
            plan.append(ClusterCheck("proxy_requires_tls", f"proxy_requires_tls[{proxy.name}]",
                                     _ignoring_probes(partial(judge_proxy, inventory, proxy.name, where)), {}))
    for target in targets:
        if target.role != "instance":
            continue
        claims = group_claims(inventory)
        needs = {endpoint: _claim_needs(claims, settings) for endpoint in target.endpoints}
        plan.append(ClusterCheck("config_matches_wire", f"config_matches_wire[{target.name}]",
                                 partial(judge_config_matches_wire, inventory, target, where=where), needs))
    return plan


def _ignoring_probes(rule: Callable[[], Verdict]) -> Callable[[ProbeLookup], Verdict]:
    """A rule over AWS's answers alone: it reads no probe."""
    return lambda _: rule()


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


# -- endpoints_listed --------------------------------------------------------------------------

def judge_endpoints_listed(inventory: ClusterInventory, targets: Sequence[ClusterTarget], where: str) -> Verdict:
    make = _Make("endpoints_listed", where)
    attempted = ("DescribeDBClusters, DescribeDBInstances and DescribeDBClusterEndpoints for the cluster",)
    for part in (inventory.instances, inventory.endpoints):
        if isinstance(part, Unavailable):
            return make.unavailable(part, attempted)
    listed = [f"{t.role} {t.name}: {', '.join(e.label for e in t.endpoints)}" for t in targets]
    probed = {t.instance_id for t in targets if t.instance_id}
    unprobed = [m.instance_id for m in inventory.cluster.members if m.instance_id not in probed]
    if unprobed:
        return make(Outcome.INCONCLUSIVE, f"member instance(s) without an endpoint to probe: {', '.join(unprobed)}",
                    attempted, listed or ("no endpoint",),
                    "rerun once every member is available (an instance being created has no endpoint yet)")
    if not probed:
        return make(Outcome.INCONCLUSIVE, "the cluster has no member instance to probe", attempted,
                    listed or ("no endpoint",), "add an instance to the cluster, or stop gating it")
    return make(Outcome.PASSED, f"{len(targets)} endpoint(s), every one of the {len(probed)} member instance(s) "
                f"among them", attempted, listed)


# -- parameters_enforce_tls[...] -------------------------------------------------------------------

def _tls_parameters(engine: Engine, settings: GuardSettings) -> list[str]:
    below_13 = settings.min_tls < TlsVersion.TLSv1_3  # suites of TLS <= 1.2 matter only when the floor allows them
    if engine is Engine.POSTGRESQL:
        return ["rds.force_ssl", "ssl_min_protocol_version", *(["ssl_ciphers"] if below_13 else [])]
    return ["require_secure_transport", "tls_version", *(["ssl_cipher"] if below_13 else []), "tls_ciphersuites"]


def _major(version: Optional[str]) -> Optional[int]:
    match = re.match(r"(\d+)", version) if version else None
    return int(match.group(1)) if match else None


def _value_text(facts: Optional[ParameterFacts]) -> str:
    if facts is None:
        return "not in the group's answer"
    value = "(no value)" if facts.value is None else repr(facts.value)
    return f"{facts.name}={value} (Source {facts.source or '?'}, ApplyMethod {facts.apply_method or '?'})"


def judge_parameter(inventory: ClusterInventory, name: str, settings: GuardSettings, where: str) -> Verdict:
    make = _Make(f"parameters_enforce_tls[{name}]", where)
    cluster = inventory.cluster
    group = inventory.parameters
    attempted = [f"DescribeDBClusterParameters for {cluster.parameter_group!r} (every page, every Source), "
                 f"the group attached to {cluster.cluster_id}"]
    if isinstance(group, Unavailable):
        return make.unavailable(group, attempted)
    facts = group.value.get(name)
    answered = [_value_text(facts)]
    remedy_group = f"in the DB cluster parameter group {group.value.name!r}"
    floor = settings.min_tls
    if name == "rds.force_ssl":
        value = facts.value if facts is not None else None
        if value is None:
            major = _major(cluster.engine_version)
            if major is None:
                return make(Outcome.INCONCLUSIVE, "rds.force_ssl has no value and the engine version is unknown, so "
                            "its default (1 from Aurora PostgreSQL 17, 0 before) cannot be told", attempted, answered,
                            f"set rds.force_ssl=1 explicitly {remedy_group}")
            value = "1" if major >= 17 else "0"
            answered.append(f"no value in the group: Aurora PostgreSQL {major} defaults to rds.force_ssl={value}")
        if value == "1":
            return make(Outcome.PASSED, "rds.force_ssl=1: plaintext connections are refused", attempted, answered)
        if value == "0":
            return make(Outcome.FAILED, "rds.force_ssl=0: the cluster accepts unencrypted connections", attempted,
                        answered, f"set rds.force_ssl=1 {remedy_group} (dynamic: no reboot needed)")
        return make(Outcome.INCONCLUSIVE, f"rds.force_ssl={value!r} is neither 0 nor 1", attempted, answered,
                    f"set rds.force_ssl=1 {remedy_group}")
    if name == "require_secure_transport":
        value = (facts.value if facts is not None else None)
        if value is None:
            answered.append("no value in the group: Aurora MySQL defaults to require_secure_transport=OFF")
            value = "OFF"
        if value.upper() in ("ON", "1"):
            return make(Outcome.PASSED, f"require_secure_transport={value}: plaintext connections are refused",
                        attempted, answered)
        if value.upper() in ("OFF", "0"):
            return make(Outcome.FAILED, f"require_secure_transport={value}: the cluster accepts unencrypted "
                        "connections", attempted, answered, f"set require_secure_transport=ON {remedy_group} "
                        "(dynamic: no reboot needed)")
        return make(Outcome.INCONCLUSIVE, f"require_secure_transport={value!r} is neither ON nor OFF", attempted,
                    answered, f"set require_secure_transport=ON {remedy_group}")
    if name in ("ssl_min_protocol_version", "tls_version"):
        return _judge_versions(make, name, facts, floor, attempted, answered, remedy_group)
    return _judge_suites(make, name, facts, settings, attempted, answered, remedy_group)


def _versions_of(name: str, value: str) -> list[TlsVersion]:
    """ssl_min_protocol_version: that version and newer; tls_version: the listed versions."""
    parts = [p for p in re.split(r"[,:\s]+", value) if p]
    versions = [TlsVersion.parse(p) for p in parts]
    if name == "ssl_min_protocol_version":
        return [v for v in TlsVersion if v >= versions[0]] if len(versions) == 1 else []
    return versions


def _judge_versions(make: _Make, name: str, facts: Optional[ParameterFacts], floor: TlsVersion,
                    attempted: list[str], answered: list[str], remedy_group: str) -> Verdict:
    wanted = floor.server_setting if name == "ssl_min_protocol_version" else ",".join(
        v.server_setting for v in TlsVersion if v >= floor and v >= TlsVersion.TLSv1_2)
    remedy = f"set {name}={wanted} {remedy_group}" + (" (static: reboot every instance after the change)"
                                                       if name == "tls_version" else "")
    if facts is None or facts.value is None:
        return make(Outcome.INCONCLUSIVE, f"{name} has no value in the group, so the versions it allows are not "
                    "shown", attempted, answered, remedy)
    try:
        allowed = _versions_of(name, facts.value)
    except ConfigurationError:
        allowed = []
    if not allowed:
        return make(Outcome.INCONCLUSIVE, f"{name}={facts.value!r} cannot be read as TLS versions", attempted,
                    answered, remedy)
    below = [v for v in allowed if v < floor]
    if below:
        return make(Outcome.FAILED, f"{name}={facts.value} allows {', '.join(v.label for v in below)}, below the "
                    f"floor {floor.label}", attempted, answered, remedy)
    if floor not in allowed:
        return make(Outcome.FAILED, f"{name}={facts.value} does not allow the floor {floor.label}", attempted,
                    answered, remedy)
    return make(Outcome.PASSED, f"{name}={facts.value}: nothing below the floor {floor.label}", attempted, answered)


def _judge_suites(make: _Make, name: str, facts: Optional[ParameterFacts], settings: GuardSettings,
                  attempted: list[str], answered: list[str], remedy_group: str) -> Verdict:
    allowlist = settings.allowlist
    remedy = f"set {name} {remedy_group} to allowlisted suites only ({allowlist.describe()})"
    if facts is None:
        return make(Outcome.INCONCLUSIVE, f"{name} is not in the group's answer", attempted, answered, remedy)
    value = facts.value
    if value is None:
        # Aurora documents "defaults to all allowed cipher suites": the AllowedValues in effect.
        if not facts.allowed_values:
            return make(Outcome.INCONCLUSIVE, f"{name} has no value and no AllowedValues, so the suites in effect "
                        "are not shown", attempted, answered, remedy)
        value = facts.allowed_values
        answered.append(f"no value: the engine default is every allowed suite, AllowedValues={value}")
    names = [n for n in re.split(r"[,:\s]+", value) if n]
    unknown, outside = [], []
    for suite_name in names:
        try:
            suite = REGISTRY.lookup(suite_name)
        except UnknownCipherSuite:
            unknown.append(suite_name)
            continue
        if suite.code not in allowlist:
            outside.append(suite.describe())
    if outside:
        return make(Outcome.FAILED, f"{name} allows {len(outside)} suite(s) outside the allowlist "
                    f"({allowlist.source}): {'; '.join(outside)}", attempted, answered, remedy)
    if unknown or not names:
        return make(Outcome.INCONCLUSIVE, f"{name} names suites the registry does not know: {', '.join(unknown)}"
                    if unknown else f"{name} is empty", attempted, answered, remedy)
    return make(Outcome.PASSED, f"every suite {name} allows is allowlisted ({len(names)})", attempted, answered)


# -- parameters_in_effect ----------------------------------------------------------------------

def judge_parameters_in_effect(inventory: ClusterInventory, where: str) -> Verdict:
    make = _Make("parameters_in_effect", where)
    cluster = inventory.cluster
    attempted = [f"DescribeDBClusters: DBClusterMembers[].DBClusterParameterGroupStatus of {cluster.cluster_id}"]
    answered = [f"{m.instance_id}{' (writer)' if m.is_writer else ''}: {m.parameter_group_status or '(not sent)'}"
                for m in cluster.members]
    if not cluster.members:
        return make(Outcome.INCONCLUSIVE, "the cluster has no members", attempted, ["no DBClusterMembers"],
                    "add an instance to the cluster")
    pending = [m for m in cluster.members if m.parameter_group_status == "pending-reboot"]
    if pending:
        waiting = _static_user_parameters(inventory.parameters)
        names = ", ".join(m.instance_id for m in pending)
        return make(Outcome.FAILED, f"pending-reboot: {names} still run(s) the previous values of "
                    f"{cluster.parameter_group!r}; parameters that wait for the reboot: {waiting}", attempted,
                    answered, f"reboot {names} (aws rds reboot-db-instance --db-instance-identifier ...), "
                    "then rerun")
    unknown = [m for m in cluster.members if m.parameter_group_status != "in-sync"]
    if unknown:
        return make(Outcome.INCONCLUSIVE, "not every member is in-sync: " + ", ".join(
            f"{m.instance_id} is {m.parameter_group_status or 'not reported'}" for m in unknown),
            attempted, answered, "rerun once RDS has applied the parameter group (status in-sync)")
    return make(Outcome.PASSED, f"every member ({len(cluster.members)}) is in-sync with {cluster.parameter_group!r}",
                attempted, answered)


def _static_user_parameters(group: Facts[ParameterGroupFacts]) -> str:
    if isinstance(group, Unavailable):
        return f"not known ({group.operation} did not answer: allow {group.iam_action})"
    names = sorted(p.name for p in group.value.parameters.values()
                   if p.source == "user" and (p.apply_type == "static" or p.apply_method == "pending-reboot"))
    return ", ".join(names) if names else "none set by the user is static (the change may predate this group)"


# -- storage_encrypted ---------------------------------------------------------------------------

def judge_storage_encrypted(inventory: ClusterInventory, where: str) -> Verdict:
    make = _Make("storage_encrypted", where, AT_REST)
    cluster = inventory.cluster
    attempted = [f"DescribeDBClusters: StorageEncrypted and KmsKeyId of {cluster.cluster_id}"]
    answered = [f"StorageEncrypted={cluster.storage_encrypted}, KmsKeyId={cluster.kms_key_id or '(none)'}"]
    if cluster.storage_encrypted is True:
        return make(Outcome.PASSED, f"storage encrypted with KMS key {cluster.kms_key_id or '(not named)'}",
                    attempted, answered)
    if cluster.storage_encrypted is False:
        return make(Outcome.FAILED, "the cluster's storage is not encrypted at rest", attempted, answered,
                    "encryption cannot be turned on in place: snapshot the cluster, restore the snapshot with "
                    "--storage-encrypted --kms-key-id KEY into a new cluster, and move traffic to it")
    return make(Outcome.INCONCLUSIVE, "RDS did not say whether the storage is encrypted", attempted, answered,
                "check the cluster in the RDS console; rerun")


# -- instance_ca_current -------------------------------------------------------------------------

def judge_instance_ca(inventory: ClusterInventory, settings: GuardSettings, where: str,
                      now: datetime.datetime) -> Verdict:
    make = _Make("instance_ca_current", where, CERTIFICATES)
    attempted = ["DescribeDBInstances: CACertificateIdentifier and CertificateDetails of every instance",
                 "DescribeCertificates: the CAs' own ValidTill"]
    if isinstance(inventory.instances, Unavailable):
        return make.unavailable(inventory.instances, attempted)
    limit = now + datetime.timedelta(days=settings.cert_min_days)
    cas = inventory.certificates.value if isinstance(inventory.certificates, Fetched) else {}
    answered, failures, missing = [], [], []
    for instance in inventory.instances.value:
        ident = instance.instance_id
        till = instance.certificate_valid_till
        answered.append(f"{ident}: CACertificateIdentifier={instance.ca_identifier or '(not sent)'}, "
                        f"CertificateDetails.ValidTill={till.isoformat() if till else '(not sent)'}")
        if instance.ca_identifier is None:
            missing.append(f"{ident}: RDS sent no CACertificateIdentifier")
        else:
            if instance.ca_identifier not in settings.allowed_cas:
                failures.append(f"{ident} uses {instance.ca_identifier}, not one of "
                                f"{', '.join(settings.allowed_cas)}")
            ca = cas.get(instance.ca_identifier)
            if ca is not None and ca.valid_till is not None and ca.valid_till < limit:
                failures.append(f"{ident}: its CA {ca.identifier} is valid only until {ca.valid_till.date()}")
        if till is None:
            missing.append(f"{ident}: RDS sent no CertificateDetails.ValidTill")
        elif till < limit:
            state = "expired on" if till < now else "expires on"
            failures.append(f"{ident}: server certificate {state} {till.date()} (less than "
                            f"{settings.cert_min_days} days from now)")
    if isinstance(inventory.certificates, Unavailable):
        answered.append(f"DescribeCertificates: {inventory.certificates.error}")
    remedy = (f"aws rds modify-db-instance --db-instance-identifier ID --ca-certificate-identifier "
              f"{settings.allowed_cas[0]} --apply-immediately (clients need the RDS global-bundle.pem)")
    if failures:
        return make(Outcome.FAILED, "; ".join(failures), attempted, answered, remedy)
    if missing or not inventory.instances.value:
        return make(Outcome.INCONCLUSIVE, "; ".join(missing) or "no instance listed", attempted, answered,
                    "rerun once RDS reports each instance's certificate (a new instance may not have it yet)")
    return make(Outcome.PASSED, f"every instance ({len(inventory.instances.value)}) uses an allowed CA and a "
                f"certificate valid for more than {settings.cert_min_days} days", attempted, answered)


# -- proxy_requires_tls[...] -----------------------------------------------------------------------

def judge_proxy(inventory: ClusterInventory, name: str, where: str) -> Verdict:
    make = _Make(f"proxy_requires_tls[{name}]", where)
    assert isinstance(inventory.proxies, Fetched)
    proxy = next(p for p in inventory.proxies.value if p.name == name)
    attempted = [f"DescribeDBProxies: RequireTLS of {name} (linked by DescribeDBProxyTargets)"]
    answered = [f"RequireTLS={proxy.require_tls}, EngineFamily={proxy.engine_family}, Status={proxy.status}"]
    if proxy.require_tls is True:
        return make(Outcome.PASSED, f"RDS Proxy {name} requires TLS", attempted, answered)
    if proxy.require_tls is False:
        return make(Outcome.FAILED, f"RDS Proxy {name} accepts unencrypted client connections (RequireTLS=false)",
                    attempted, answered, f"aws rds modify-db-proxy --db-proxy-name {name} --require-tls")
    return make(Outcome.INCONCLUSIVE, f"RDS did not say whether {name} requires TLS", attempted, answered,
                "rerun; check the proxy in the RDS console")


# -- config_matches_wire[instance] ---------------------------------------------------------------

@dataclass(frozen=True)
class GroupClaims:
    """What the parameter group says the wire must show: plaintext refused, these versions refused."""

    plaintext_refused: Optional[str]  # the parameter text that claims it, or None
    refused_versions: tuple[TlsVersion, ...]
    versions_claim: Optional[str]


def group_claims(inventory: ClusterInventory) -> Optional[GroupClaims]:
    group = inventory.parameters
    if not isinstance(group, Fetched):
        return None
    engine = cluster_engine(inventory.cluster.engine)
    params = group.value
    plaintext: Optional[str] = None
    versions_claim: Optional[str] = None
    refused: tuple[TlsVersion, ...] = ()
    if engine is Engine.POSTGRESQL:
        force = params.get("rds.force_ssl")
        value = force.value if force is not None else None
        major = _major(inventory.cluster.engine_version)
        if value == "1" or (value is None and major is not None and major >= 17):
            plaintext = "rds.force_ssl=1"
        version_param = params.get("ssl_min_protocol_version")
        name = "ssl_min_protocol_version"
    else:
        secure = params.get("require_secure_transport")
        value = secure.value if secure is not None else None
        if value is not None and value.upper() in ("ON", "1"):
            plaintext = f"require_secure_transport={value}"
        version_param = params.get("tls_version")
        name = "tls_version"
    if version_param is not None and version_param.value:
        try:
            allowed = set(_versions_of(name, version_param.value))
        except ConfigurationError:
            pass  # an unreadable value claims no versions
        else:
            if allowed:
                refused = tuple(v for v in TlsVersion if v not in allowed)
                versions_claim = f"{name}={version_param.value}"
    return GroupClaims(plaintext, refused, versions_claim)


def _claim_needs(claims: Optional[GroupClaims], settings: GuardSettings) -> tuple[Hashable, ...]:
    if claims is None:
        return ()
    drivers = ["driver_plaintext", "driver_verified"] if settings.has_credentials else []
    needs: list[Hashable] = ["plaintext", "modern", *drivers] if claims.plaintext_refused else []
    needs += [("surface", v) for v in claims.refused_versions]
    return tuple(needs)


def judge_config_matches_wire(inventory: ClusterInventory, target: ClusterTarget, probes: ProbeLookup, *,
                              where: str) -> Verdict:
    make = _Make(f"config_matches_wire[{target.name}]", where)
    attempted = [f"the claims of {inventory.cluster.parameter_group!r} confronted with the probes of instance "
                 f"{target.name} ({', '.join(e.label for e in target.endpoints)})"]
    if isinstance(inventory.parameters, Unavailable):
        return make.unavailable(inventory.parameters, attempted)
    claims = group_claims(inventory)
    assert claims is not None
    member = next((m for m in inventory.cluster.members if m.instance_id == target.instance_id), None)
    status = member.parameter_group_status if member is not None else None
    why = (f" (the instance is {status}: it still runs earlier values)" if status and status != "in-sync"
           else " (another parameter group, or a change not applied)")
    contradictions: list[str] = []
    unconfirmed: list[str] = []
    confirmed: list[str] = []
    for endpoint in target.endpoints:
        probe = probes(endpoint)
        shown = f"{endpoint.url}{endpoint.via}"
        if claims.plaintext_refused:
            verdict = _wire_verdict("plaintext_refused", probe, None)
            _sort(verdict, f"the group says {claims.plaintext_refused}", f"{target.name} at {shown}",
                  "accepted plaintext", why, contradictions, unconfirmed, confirmed)
        for version in claims.refused_versions:
            verdict = _wire_verdict("tls_version_refused", probe, version)
            _sort(verdict, f"the group says {claims.versions_claim}", f"{target.name} at {shown}",
                  f"accepted {version.label}", why, contradictions, unconfirmed, confirmed)
    answered = [*contradictions, *unconfirmed, *confirmed]
    if contradictions:
        return make(Outcome.FAILED, "; ".join(contradictions), attempted, answered,
                    f"reboot {target.name} if it is pending-reboot, and check that "
                    f"{inventory.cluster.parameter_group!r} is the group attached and applied; then rerun")
    if not claims.plaintext_refused and not claims.refused_versions:
        return make(Outcome.INCONCLUSIVE, "the parameter group claims neither TLS enforcement nor a version floor, "
                    "so there is nothing to confront with the wire", attempted, ("no claim",),
                    "see parameters_enforce_tls for what to set")
    if unconfirmed:
        return make(Outcome.INCONCLUSIVE, f"{len(unconfirmed)} claim(s) could not be confronted with the wire",
                    attempted, answered, "see the wire checks of this instance for what evidence was missing")
    return make(Outcome.PASSED, f"the wire confirms every claim of the group on {target.name} ({len(confirmed)})",
                attempted, answered)


def _wire_verdict(check: str, probe: EndpointProbe, version: Optional[TlsVersion]) -> Verdict:
    """The wire check's own verdict (shared evidence, same rules), so the two can never disagree."""
    spec = next(spec for spec in CHECKS if spec.name == check)
    return spec.judge(probe, version)


def _sort(verdict: Verdict, claim: str, who: str, contrary: str, why: str, contradictions: list[str],
          unconfirmed: list[str], confirmed: list[str]) -> None:
    if verdict.outcome is Outcome.FAILED:
        contradictions.append(f"{claim} but instance {who} {contrary}{why}: {verdict.summary}")
    elif verdict.outcome is Outcome.INCONCLUSIVE:
        unconfirmed.append(f"{claim}; {who}: not confirmed ({verdict.summary})")
    else:
        confirmed.append(f"{claim}; {who} confirms: {verdict.summary}")

