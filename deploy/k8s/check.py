"""Consistency checks of the Kubernetes manifests, runnable without a cluster.

    uv run python deploy/k8s/check.py

1. Every YAML file under deploy/k8s parses.
2. Every path a kustomization.yaml lists (resources, patches) exists.
3. Each overlay renders with `kubectl kustomize` (skipped, and said so, when kubectl is absent), alone and with
   every Component under components/ enabled, and the rendered objects agree with each other: selectors match pod
   labels, referenced ConfigMaps and Secrets exist or are created by an operator or by hand, the partition count is
   the same everywhere, no consumer group is scaled past it, replication fits the brokers, database and Kafka
   credentials match their roles and users, each service's KafkaUser may read every consumer group its code names,
   every pod runs with the restricted security settings, server Deployments are probed and scraped on their own
   port and have a migration Job (those with a database), singleton workers stay single, network policies point at
   ports the pods listen on, PostgreSQL's max_connections covers every pool, every pod given the vault pepper shares
   one Secret and may use the vault, a Deployment runs the outbound sender loop and every pod that runs it has the
   vault pepper, the back-ends' Secret and the back-end egress label (and is selected by the egress policy when its
   Component is enabled), a Deployment runs the notifier and every notifier pod has the pepper, its providers'
   Secret and the provider egress label (selected by that policy when rendered), a Deployment runs selfheal and every
   pod running intake's server or selfheal (and any cron runner) has the cron token from one Secret, the calls the
   pods make inside the cluster (the URLs of Services they are given; PostgreSQL for those with a database) pass
   the network policies at both ends, and the Ingresses publish exactly
   the routes strangers may call: every route the route walk of tests/contract/test_every_route_guarded.py declares
   public (or a resident's own) of every service, but those KEPT_INSIDE, over TLS (the gateway's on the host of
   CIVICLOOP_PUBLIC_BASE_URL), and no other route (staff and admin APIs, health, metrics, OpenAPI, /docs and its
   assets). The apps are built by tests/contract/service_apps.py, with the test staff verifier, so no key is needed.

Exits non-zero on the first file that does not parse or on any failed check.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
OVERLAYS = ("pilot", "state")
# Optional pieces an overlay enables (`components:`); checked by rendering each overlay with all of them.
COMPONENTS = sorted(p.parent.name for p in (HERE / "components").glob("*/kustomization.yaml"))
IMAGE_REPOSITORY = "ghcr.io/civicloop/"

# Deployments that must run exactly one pod (they coordinate nothing between replicas): replicas 1, Recreate, and
# no autoscaler. base/open311-gateway-poller.yaml says why.
SINGLETONS = {"open311-gateway-poller"}

# The outbound sender loop (emails, webhooks, Open311 POSTs to the bodies' back-ends) runs in `civicloop-outbound
# run`, the outbound service's own process. A pod running it needs the vault pepper, the back-ends' secrets
# (CIVICLOOP_SECRET_<REF>) and the label that the opt-in egress Component selects. base/open311-gateway-outbound.yaml
# says why.
OUTBOUND_COMMAND = "civicloop-outbound"
BACKEND_EGRESS_LABEL = "civicloop.io/backend-egress"
BACKEND_EGRESS_POLICY = "gateway-backend-egress"
BACKEND_SECRETS = "civicloop-gateway-backends"

# The Deployment serving each app of the route walk (tests/contract/service_apps.py names them).
DEPLOYMENT_OF = {
    "intake": "intake",
    "public-projections": "public-projections",
    "open311-gateway": "open311-gateway",
    "outbound": "open311-gateway-outbound",
    "geo": "geo",
    "notifier": "notifier",
    "backend-adapters": "open311-backend-adapters",
}
# Routes the route walk lets strangers call that no Ingress here publishes, on purpose (path patterns, with why).
# Everything else it declares public (or a resident's own) must be published over TLS, and nothing else may be.
KEPT_INSIDE: dict[str, dict[str, str]] = {
    "intake": {
        r"/api/v1/staff/auth/.*": "staff sign-in goes where the staff API goes: inside, or an internal ingress class",
        r"/console(/.*)?": "the agent console and admin pages sign staff in: they go where staff sign-in goes",
    },
    "backend-adapters": {
        r"/open311/v2/.*": "the departments' stand-in: only the outbound sender and the poller call it",
    },
}

# Static mounts strangers need (the route walk sees documented routes only): the residents' pages' assets. The
# console's and admin pages' assets stay inside with the console.
PUBLIC_MOUNTS: dict[str, dict[str, str]] = {
    "intake": {"/static/pages": "the residents' pages' CSS, scripts and vendored map library"},
}

# The notifier (`civicloop-notifier serve|consume`: consumers, sender and feed loops) needs the vault pepper, its
# providers' secrets (CIVICLOOP_SECRET_*) and the label the provider egress Component selects. base/notifier.yaml.
NOTIFIER_COMMAND = "civicloop-notifier"
PROVIDER_EGRESS_LABEL = "civicloop.io/provider-egress"
PROVIDER_EGRESS_POLICY = "notifier-provider-egress"
PROVIDER_SECRETS = "civicloop-notifier-providers"

# The cron token (docs/selfheal.md): selfheal's cron route admits a cron runner holding it, and selfheal sends it to
# intake's POST /api/cron/sweep-pending. Every pod running either server (or a selfheal sweep) needs it, from one
# Secret, or one side refuses the other. base/selfheal.yaml.
CRON_TOKEN_ENV = "CIVICLOOP_SECRET_SELFHEAL_CRON_TOKEN"  # noqa: S105 - the variable's name, not a token
CRON_TOKEN_COMMANDS = {
    ("civicloop-intake", "serve"),
    ("civicloop-selfheal", "serve"),
    ("civicloop-selfheal", "consume"),
    ("civicloop-selfheal", "sweep"),
}
SELFHEAL_COMMAND = "civicloop-selfheal"
# Where the pods that talk to PostgreSQL connect (the CloudNativePG instances' label), checked against the policies.
POSTGRES_PODS = {"cnpg.io/cluster": "civicloop-pg"}

# Secrets the operators create (Strimzi: per KafkaUser and the cluster CA; CloudNativePG: the CA and app owner).
OPERATOR_SECRETS = {"civicloop-cluster-ca-cert", "civicloop-pg-ca", "civicloop-pg-app"}


def load_all(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def check_files() -> list[str]:
    failures = []
    for path in sorted(HERE.rglob("*.yaml")):
        try:
            load_all(path)
        except yaml.YAMLError as exc:
            failures.append(f"{path.relative_to(HERE)}: does not parse: {exc}")
    for kfile in sorted(HERE.rglob("kustomization.yaml")):
        spec = yaml.safe_load(kfile.read_text())
        listed = list(spec.get("resources", [])) + [p["path"] for p in spec.get("patches", []) if "path" in p]
        for entry in listed:
            if not (kfile.parent / entry).exists():
                failures.append(f"{kfile.relative_to(HERE)}: lists {entry}, which does not exist")
    return failures


def pod_specs(objects: list[dict]):
    """(owner, pod metadata, pod spec) of every workload."""
    for o in objects:
        kind, name = o["kind"], o["metadata"]["name"]
        if kind in ("Deployment", "Job"):
            t = o["spec"]["template"]
        elif kind == "CronJob":
            t = o["spec"]["jobTemplate"]["spec"]["template"]
        else:
            continue
        yield f"{kind}/{name}", t["metadata"], t["spec"]


def matches(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def container_env(container: dict, configmaps: dict[str, dict]) -> dict[str, str]:
    """The literal environment of a container: its ConfigMaps (envFrom), then its own `value`s."""
    env: dict[str, str] = {}
    for ef in container.get("envFrom", []):
        env.update(configmaps.get(ef.get("configMapRef", {}).get("name"), {}).get("data", {}))
    env.update({e["name"]: e["value"] for e in container.get("env", []) if "value" in e})
    return env


def deployment_ceilings(objects: list[dict]) -> dict[str, int]:
    """The most replicas each Deployment may run: its autoscaler's maximum when it has one, else its replicas."""
    most = {o["metadata"]["name"]: o["spec"].get("replicas", 1) for o in objects if o["kind"] == "Deployment"}
    for o in objects:
        ref = o["spec"].get("scaleTargetRef", {}) if o["kind"] == "HorizontalPodAutoscaler" else {}
        if ref.get("kind") == "Deployment":
            most[ref["name"]] = o["spec"]["maxReplicas"]
    return most


def ingress_routes(rule_path: dict, path: str) -> bool:
    """Whether an Ingress path routes this request path (Kubernetes semantics: Prefix matches whole segments)."""
    if rule_path["pathType"] == "Exact":
        return path == rule_path["path"]
    if rule_path["pathType"] == "Prefix":
        want = [s for s in rule_path["path"].split("/") if s]
        return [s for s in path.split("/") if s][: len(want)] == want
    return True  # ImplementationSpecific: whatever the controller makes of it, so assume everything


def _served_routes(app: Any) -> set[str]:
    """Every route of the app's OpenAPI document, and those the document leaves out: ops, the documentation pages
    and their assets (a mount: one path under it stands for all)."""
    from starlette.routing import Mount

    mounted = {r.path.rstrip("/") + "/x" for r in app.routes if isinstance(r, Mount) and r.path}
    return (
        set(app.openapi()["paths"])
        | {"/healthz", "/readyz", "/metrics"}
        | {u for u in (app.openapi_url, app.docs_url, app.redoc_url) if u}
        | {getattr(r, "path", "") for r in app.routes if getattr(r, "path", "").startswith("/docs")}
        | mounted
    ) - {""}


# The formats a `{fmt}` suffix stands for: a public route is sampled in Open311's (the only public ones with a
# suffix), a private one in every format the services answer in (the posters' svg and pdf too), so that an Exact
# Ingress path of any of them is seen.
PUBLIC_FORMATS = ("json", "xml")
ANY_FORMAT = ("json", "xml", "svg", "pdf", "csv")


def _sample_paths(route: str, formats: tuple[str, ...]) -> set[str]:
    """Request paths standing for a route: `{fmt}` as each of `formats`, any other parameter as `x`."""
    return {
        re.sub(r"\{[^}]+\}", "x", route.replace("{fmt}", fmt))
        for fmt in (formats if "{fmt}" in route else ("",))
    }


def _contract_lists() -> tuple[list[Any], dict, dict]:
    """The apps (built by their real factories with the test staff verifier: no key needed here) and the two lists
    of what strangers may call, both kept by the route walk in tests/contract: the deliberately public routes, and
    a resident's own routes (their session, not staff)."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from tests.contract.service_apps import SERVICES
    from tests.contract.test_every_route_guarded import PUBLIC, RESIDENT_SESSION

    return SERVICES, PUBLIC, RESIDENT_SESSION


@cache
def service_paths() -> tuple[dict[str, tuple[list[str], list[str]]], list[str]]:
    """Per Deployment: one request path per route it serves that must be published (the routes the route walk
    declares public or a resident's own, but those KEPT_INSIDE), and every other one (staff routes, health, metrics,
    OpenAPI, /docs and its assets), which must never be. And a finding for each KEPT_INSIDE pattern that matches no
    route (an exception left behind would hide the next route it happens to match)."""
    services, public, resident = _contract_lists()
    out: dict[str, tuple[list[str], list[str]]] = {}
    stale = {(name, p) for name, patterns in KEPT_INSIDE.items() for p in patterns}
    for service in services:
        deployment = DEPLOYMENT_OF.get(service.name, service.name)
        app = service.build()
        documented = app.openapi()["paths"]
        published, internal = set(), set()
        for route in _served_routes(app):
            methods = documented.get(route, {})
            # An Ingress routes paths, not methods: a path is published when any of its methods is public.
            open_to_strangers = any(
                m in ("*", method) and re.fullmatch(pattern, route)
                for m, pattern in public[service.name]
                for method in methods
            ) or (service.name in resident and re.fullmatch(resident[service.name], route) is not None)
            open_to_strangers |= any(route == f"{m}/x" for m in PUBLIC_MOUNTS.get(service.name, {}))
            kept = {p for p in KEPT_INSIDE.get(service.name, {}) if re.fullmatch(p, route)}
            stale -= {(service.name, p) for p in kept}
            kept_inside = bool(kept)
            if open_to_strangers and not kept_inside:
                published.update(_sample_paths(route, PUBLIC_FORMATS))
            else:
                internal.update(_sample_paths(route, ANY_FORMAT))
        out[deployment] = (sorted(published), sorted(internal))
    return out, [f"KEPT_INSIDE: {p!r} matches no route of {name}" for name, p in sorted(stale)]


def check_rendered(overlay: str, objects: list[dict], template_secrets: dict[str, dict]) -> list[str]:
    f: list[str] = []
    by = {(o["kind"], o["metadata"]["name"]): o for o in objects}
    kafka_users = {n for k, n in by if k == "KafkaUser"}
    secrets = set(template_secrets) | OPERATOR_SECRETS | kafka_users
    configmaps = {n for k, n in by if k == "ConfigMap"}

    for o in objects:
        if o["kind"] != "Namespace" and o["metadata"].get("namespace") != "civicloop":
            f.append(f"{o['kind']}/{o['metadata']['name']}: not in namespace civicloop")

    # Workloads: security settings, resources, references.
    for owner, meta, spec in pod_specs(objects):
        psc = spec.get("securityContext", {})
        if not psc.get("runAsNonRoot") or psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            f.append(f"{owner}: pod must set runAsNonRoot and the RuntimeDefault seccomp profile")
        if spec.get("automountServiceAccountToken") is not False:
            f.append(f"{owner}: mounts a service account token")
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for v in volumes.values():
            if "secret" in v and v["secret"]["secretName"] not in secrets:
                f.append(f"{owner}: volume {v['name']} uses unknown Secret {v['secret']['secretName']}")
        for c in spec["containers"]:
            where = f"{owner} container {c['name']}"
            sc = c.get("securityContext", {})
            if not (
                sc.get("readOnlyRootFilesystem")
                and sc.get("allowPrivilegeEscalation") is False
                and sc.get("capabilities", {}).get("drop") == ["ALL"]
            ):
                f.append(
                    f"{where}: needs readOnlyRootFilesystem, no privilege escalation, capabilities drop ALL"
                )
            res = c.get("resources", {})
            if not (
                res.get("requests", {}).get("cpu")
                and res.get("requests", {}).get("memory")
                and res.get("limits", {}).get("memory")
            ):
                f.append(f"{where}: needs cpu and memory requests and a memory limit")
            if ":" not in c["image"].rsplit("/", 1)[-1]:
                f.append(f"{where}: image {c['image']} has no tag")
            for m in c.get("volumeMounts", []):
                if m["name"] not in volumes:
                    f.append(f"{where}: mounts unknown volume {m['name']}")
            for ef in c.get("envFrom", []):
                if "secretRef" in ef:
                    if ef["secretRef"]["name"] not in secrets:
                        f.append(f"{where}: envFrom unknown Secret {ef['secretRef']['name']}")
                elif ef.get("configMapRef", {}).get("name") not in configmaps:
                    f.append(f"{where}: envFrom unknown ConfigMap")
            env = {e["name"]: e for e in c.get("env", [])}
            for e in env.values():
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref and ref["name"] not in secrets:
                    f.append(f"{where}: env {e['name']} uses unknown Secret {ref['name']}")
                if (
                    ref
                    and ref["name"] in template_secrets
                    and ref["key"] not in template_secrets[ref["name"]]
                ):
                    f.append(
                        f"{where}: env {e['name']} uses key {ref['key']} absent from Secret {ref['name']}"
                    )
            # The DSN's user must be the role whose password PGPASSWORD carries.
            dsn = env.get("CIVICLOOP_PG_DSN", {}).get("value")
            if dsn:
                user = re.match(r"postgresql://([^@:]+)@", dsn).group(1)
                secret = env["PGPASSWORD"]["valueFrom"]["secretKeyRef"]["name"]
                if template_secrets.get(secret, {}).get("username") != user:
                    f.append(f"{where}: DSN user {user} is not the username of Secret {secret}")
            # The SASL username is a KafkaUser, and the password comes from that user's Secret.
            sasl_user = env.get("CIVICLOOP_KAFKA_SASL_USERNAME", {}).get("value")
            if sasl_user:
                pw = env["CIVICLOOP_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"]
                if sasl_user not in kafka_users or pw != sasl_user:
                    f.append(f"{where}: Kafka user {sasl_user} / Secret {pw} do not match a KafkaUser")
                if meta["labels"].get("civicloop.io/kafka-client") != "true":
                    f.append(f"{where}: talks to Kafka without the civicloop.io/kafka-client label")
        # Servers: probed, scraped on the port they listen on, and (when they have a database) migrated by a Job of
        # the same image. Workers need neither (those with HTTP are probed too, by choice).
        if owner.startswith("Deployment/") and meta["labels"].get("app.kubernetes.io/component") == "server":
            c = spec["containers"][0]
            if c.get("readinessProbe", {}).get("httpGet", {}).get("path") != "/readyz":
                f.append(f"{owner}: readiness probe is not /readyz")
            if c.get("livenessProbe", {}).get("httpGet", {}).get("path") != "/healthz":
                f.append(f"{owner}: liveness probe is not /healthz")
            annotations = meta.get("annotations", {})
            if annotations.get("prometheus.io/scrape") != "true":
                f.append(f"{owner}: not annotated for Prometheus")
            http = [p["containerPort"] for p in c.get("ports", []) if p.get("name") == "http"]
            if [str(p) for p in http] != [annotations.get("prometheus.io/port")]:
                f.append(
                    f"{owner}: prometheus.io/port {annotations.get('prometheus.io/port')} is not its http "
                    f"port {http}"
                )
            has_database = any(e["name"] == "CIVICLOOP_PG_DSN" for e in c.get("env", []))
            if has_database and not any(
                w.startswith("Job/")
                and m["labels"].get("app.kubernetes.io/component") == "migrate"
                and m["labels"].get("app.kubernetes.io/name") == meta["labels"].get("app.kubernetes.io/name")
                and s["containers"][0]["image"] == c["image"]
                for w, m, s in pod_specs(objects)
            ):
                f.append(f"{owner}: no migration Job (component migrate) of the same name and image")
        elif (
            owner.startswith("Deployment/") and meta["labels"].get("app.kubernetes.io/component") != "worker"
        ):
            f.append(f"{owner}: a Deployment is a server or a worker (app.kubernetes.io/component)")

    # Selectors.
    pods = [(owner, meta["labels"]) for owner, meta, _ in pod_specs(objects)]
    for o in objects:
        kind, name = o["kind"], o["metadata"]["name"]
        if kind == "Deployment":
            if not matches(o["spec"]["selector"], o["spec"]["template"]["metadata"]["labels"]):
                f.append(f"Deployment/{name}: selector does not match its pod labels")
            others = [
                w
                for w, labels in pods
                if w != f"Deployment/{name}" and matches(o["spec"]["selector"], labels)
            ]
            if others:
                f.append(f"Deployment/{name}: selector also matches {others}")
        if kind == "Service" and not any(
            matches({"matchLabels": o["spec"]["selector"]}, labels)
            for w, labels in pods
            if w.startswith("Deployment/")
        ):
            f.append(f"Service/{name}: selects no Deployment's pods")
        if kind == "PodDisruptionBudget" and not any(
            matches(o["spec"]["selector"], labels) for w, labels in pods if w.startswith("Deployment/")
        ):
            f.append(f"PodDisruptionBudget/{name}: selects no Deployment's pods")
        if kind == "HorizontalPodAutoscaler":
            ref = o["spec"]["scaleTargetRef"]
            target = by.get((ref["kind"], ref["name"]))
            if target is None:
                f.append(f"HorizontalPodAutoscaler/{name}: no {ref['kind']} {ref['name']}")
            elif "replicas" in target["spec"]:
                f.append(
                    f"HorizontalPodAutoscaler/{name}: {ref['name']} still sets replicas (apply would reset them)"
                )
        if kind == "NetworkPolicy":
            if not any(
                matches(o["spec"]["podSelector"], labels) for _, labels in pods
            ) and "cnpg.io/cluster" not in o["spec"]["podSelector"].get("matchLabels", {}):
                f.append(f"NetworkPolicy/{name}: selects no CivicLoop pod")
            f += check_egress_ports(o, objects)

    # Kafka: one cluster, replication that fits, partitions agreed everywhere.
    kafka = [o for o in objects if o["kind"] == "Kafka"]
    if len(kafka) != 1:
        return [*f, "expected exactly one Kafka"]
    cluster = kafka[0]["metadata"]["name"]
    brokers = sum(
        o["spec"]["replicas"]
        for o in objects
        if o["kind"] == "KafkaNodePool" and "broker" in o["spec"]["roles"]
    )
    for o in objects:
        if (
            o["kind"] in ("KafkaNodePool", "KafkaTopic", "KafkaUser")
            and o["metadata"]["labels"].get("strimzi.io/cluster") != cluster
        ):
            f.append(f"{o['kind']}/{o['metadata']['name']}: strimzi.io/cluster is not {cluster}")
        if o["kind"] == "KafkaTopic":
            s = o["spec"]
            isr = int(s["config"]["min.insync.replicas"])
            if not (s["replicas"] <= brokers and (isr < s["replicas"] or s["replicas"] == 1)):
                f.append(
                    f"KafkaTopic/{o['metadata']['name']}: replicas {s['replicas']}, min ISR {isr}, "
                    f"{brokers} broker(s)"
                )
            if str(s["config"]["retention.ms"]) != "-1" or str(s["config"]["retention.bytes"]) != "-1":
                f.append(f"KafkaTopic/{o['metadata']['name']}: the log must be retained forever")
    cfg = kafka[0]["spec"]["kafka"]["config"]
    if (
        int(cfg["offsets.topic.replication.factor"]) > brokers
        or int(cfg["default.replication.factor"]) > brokers
    ):
        f.append(f"Kafka/{cluster}: internal topics' replication exceeds {brokers} broker(s)")
    partitions = by[("KafkaTopic", "requests.events")]["spec"]["partitions"]
    configured = int(by[("ConfigMap", "civicloop-config")]["data"]["CIVICLOOP_TOPIC_PARTITIONS"])
    if partitions != configured:
        f.append(f"CIVICLOOP_TOPIC_PARTITIONS {configured} != requests.events partitions {partitions}")
    # No consuming Deployment may run more replicas (autoscaled or not) than requests.events has partitions.
    ceilings = deployment_ceilings(objects)
    for name, most in ceilings.items():
        labels = by[("Deployment", name)]["spec"]["template"]["metadata"]["labels"]
        if labels.get("civicloop.io/kafka-client") == "true" and most > partitions:
            f.append(f"Deployment/{name}: up to {most} replicas for {partitions} partitions")

    for name in SINGLETONS:
        d = by.get(("Deployment", name))
        if d is None:
            f.append(f"Deployment/{name}: missing")
        elif ceilings[name] != 1 or d["spec"].get("strategy", {}).get("type") != "Recreate":
            f.append(f"Deployment/{name}: must run one pod (replicas 1, no autoscaler, strategy Recreate)")
    f += check_consumer_groups(objects)

    # PostgreSQL: every managed role's Secret is a template whose username is the role.
    for o in objects:
        if o["kind"] == "Cluster":
            for role in o["spec"].get("managed", {}).get("roles", []):
                secret = role.get("passwordSecret", {}).get("name")
                if template_secrets.get(secret, {}).get("username") != role["name"]:
                    f.append(
                        f"Cluster/{o['metadata']['name']}: role {role['name']} has no matching Secret template"
                    )
    f += check_database_users(objects, ceilings)
    f += check_outbound_sender(objects)
    f += check_notifier(objects)
    f += check_cron_token(objects)
    f += check_in_cluster_calls(objects)
    f += check_ingresses(objects)
    return [f"{overlay}: {x}" for x in f]


def selector_matches(selector: dict, labels: dict) -> bool:
    """matchLabels and the In / NotIn / Exists / DoesNotExist matchExpressions of a label selector."""
    if not matches(selector, labels):
        return False
    for e in selector.get("matchExpressions", []):
        key, op, values = e["key"], e["operator"], e.get("values", [])
        ok = {
            "In": labels.get(key) in values,
            "NotIn": labels.get(key) not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[op]
        if not ok:
            return False
    return True


def check_egress_ports(policy: dict, objects: list[dict]) -> list[str]:
    """An egress rule towards CivicLoop's own pods (a podSelector alone) names ports those pods listen on."""
    f: list[str] = []
    name = policy["metadata"]["name"]
    workloads = list(pod_specs(objects))
    for rule in policy["spec"].get("egress", []):
        for peer in rule.get("to", []):
            if set(peer) != {"podSelector"}:
                continue
            targets = [
                (owner, spec)
                for owner, meta, spec in workloads
                if selector_matches(peer["podSelector"], meta["labels"])
            ]
            for owner, spec in targets:
                listening = {p["containerPort"] for c in spec["containers"] for p in c.get("ports", [])} | {
                    p["name"] for c in spec["containers"] for p in c.get("ports", []) if "name" in p
                }
                for port in rule.get("ports", []):
                    if port.get("port") not in listening:
                        f.append(
                            f"NetworkPolicy/{name}: egress to {owner} on port {port.get('port')}, "
                            f"which it does not listen on"
                        )
    return f


def service_source(image: str) -> Path | None:
    """The workspace package an image is built from: ghcr.io/civicloop/<dir>[:tag] -> services/<dir>."""
    if not image.startswith(IMAGE_REPOSITORY):
        return None
    path = REPO / "services" / image[len(IMAGE_REPOSITORY) :].split(":", 1)[0]
    return path if (path / "pyproject.toml").is_file() else None


def check_consumer_groups(objects: list[dict]) -> list[str]:
    """Each service's KafkaUser may Read every consumer group its code names (`<NAME>_CONSUMER = "group"`)."""
    f: list[str] = []
    users = {o["metadata"]["name"]: o for o in objects if o["kind"] == "KafkaUser"}
    seen: set[tuple[str, Path]] = set()
    for owner, _, spec in pod_specs(objects):
        for c in spec["containers"]:
            user = next(
                (e.get("value") for e in c.get("env", []) if e["name"] == "CIVICLOOP_KAFKA_SASL_USERNAME"),
                None,
            )
            if user is None or user == "civicloop-operator" or user not in users:
                continue
            source = service_source(c["image"])
            if source is None:
                f.append(f"{owner}: image {c['image']} is not built from a package under services/")
                continue
            if (user, source) in seen:
                continue
            seen.add((user, source))
            acls = users[user]["spec"]["authorization"]["acls"]
            for py in sorted((source / "src").rglob("*.py")):
                for group in re.findall(r'^[A-Z_]*CONSUMER = "([^"]+)"', py.read_text(), flags=re.MULTILINE):
                    if not any(
                        a["resource"]["type"] == "group"
                        and "Read" in a["operations"]
                        and (
                            group == a["resource"]["name"]
                            if a["resource"].get("patternType", "literal") == "literal"
                            else group.startswith(a["resource"]["name"])
                        )
                        for a in acls
                    ):
                        f.append(
                            f"KafkaUser/{user}: no Read on consumer group {group} "
                            f"({py.relative_to(REPO)}), which {owner} joins"
                        )
    return f


def check_database_users(objects: list[dict], ceilings: dict[str, int]) -> list[str]:
    """max_connections covers every pool twice (maxSurge 100%); the vault's users share one pepper and may use it."""
    f: list[str] = []
    configmaps = {o["metadata"]["name"]: o for o in objects if o["kind"] == "ConfigMap"}
    cluster = next(o for o in objects if o["kind"] == "Cluster")
    max_connections = int(cluster["spec"]["postgresql"]["parameters"]["max_connections"])
    sql = " ".join(cluster["spec"]["bootstrap"]["initdb"].get("postInitApplicationSQL", []))
    owner = re.search(r"CREATE SCHEMA vault AUTHORIZATION (\w+)", sql)
    groups = set(re.findall(r"GRANT USAGE ON SCHEMA vault TO (\w+)", sql))
    vault_roles = {owner.group(1)} if owner else set()
    for role in cluster["spec"].get("managed", {}).get("roles", []):
        if groups & set(role.get("inRoles", [])):
            vault_roles.add(role["name"])

    budget, peppers = 0, set()
    for owner_name, _, spec in pod_specs(objects):
        for c in spec["containers"]:
            env = container_env(c, configmaps)
            dsn = env.get("CIVICLOOP_PG_DSN")
            user = re.match(r"postgresql://([^@:]+)@", dsn).group(1) if dsn else None
            if user and owner_name.startswith("Deployment/"):
                budget += (
                    2 * ceilings[owner_name.split("/", 1)[1]] * int(env.get("CIVICLOOP_POOL_MAX_SIZE", 10))
                )
            ref = next(
                (
                    e["valueFrom"]["secretKeyRef"]
                    for e in c.get("env", [])
                    if e["name"] == "CIVICLOOP_VAULT_PEPPER" and "valueFrom" in e
                ),
                None,
            )
            if ref:
                peppers.add((ref["name"], ref["key"]))
                if user not in vault_roles:
                    f.append(
                        f"{owner_name}: seals into the vault as {user}, which may not use it "
                        f"(vault roles: {sorted(vault_roles)})"
                    )
    if len(peppers) > 1:
        f.append(f"the vault pepper comes from several Secrets {sorted(peppers)}: residents would be split")
    if budget > max_connections:
        f.append(
            f"Cluster/{cluster['metadata']['name']}: max_connections {max_connections} < {budget}, every "
            f"Deployment's pools at its most replicas, twice over during a rollout"
        )
    return f


def runs_sender_loop(container: dict) -> bool:
    """Whether a container runs the outbound sender loop: `civicloop-outbound run`."""
    argv = [*container.get("command", []), *container.get("args", [])]
    return argv[:2] == [OUTBOUND_COMMAND, "run"]


def check_outbound_sender(objects: list[dict]) -> list[str]:
    """Some Deployment runs the outbound sender loop (else nothing is ever sent to a back-end), and every pod that
    runs it has the vault pepper, the back-ends' Secret and the egress label (selected by the egress policy when the
    Component is rendered)."""
    f: list[str] = []
    deployments = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Deployment"}
    egress = next(
        (
            o
            for o in objects
            if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == BACKEND_EGRESS_POLICY
        ),
        None,
    )
    running = []
    for owner, meta, spec in pod_specs(objects):
        for c in spec["containers"]:
            if not runs_sender_loop(c):
                continue
            where = f"{owner} container {c['name']} (outbound sender loop)"
            kind, name = owner.split("/", 1)
            if kind == "Deployment" and deployments[name]["spec"].get("replicas", 1) >= 1:
                running.append(owner)
            pepper = next((e for e in c.get("env", []) if e["name"] == "CIVICLOOP_VAULT_PEPPER"), None)
            if pepper is None or "secretKeyRef" not in pepper.get("valueFrom", {}):
                f.append(
                    f"{where}: no CIVICLOOP_VAULT_PEPPER from a Secret (contact details are unsealed with it when "
                    f"CIVICLOOP_OUTBOUND_INCLUDE_CONTACT is true)"
                )
            if not any(ef.get("secretRef", {}).get("name") == BACKEND_SECRETS for ef in c.get("envFrom", [])):
                f.append(f"{where}: no envFrom Secret {BACKEND_SECRETS} (back-ends' CIVICLOOP_SECRET_<REF>)")
            labels = meta.get("labels", {})
            if labels.get(BACKEND_EGRESS_LABEL) != "true":
                f.append(
                    f'{where}: pod lacks the label {BACKEND_EGRESS_LABEL}: "true", so '
                    f"components/{BACKEND_EGRESS_POLICY} would not let it reach SMTP or the back-ends"
                )
            elif egress is not None and not selector_matches(egress["spec"]["podSelector"], labels):
                f.append(f"{where}: NetworkPolicy/{BACKEND_EGRESS_POLICY} does not select its pods")
    if not running:
        f.append(
            f"no Deployment runs the outbound sender loop (`{OUTBOUND_COMMAND} run`): nothing would ever be sent "
            f"to the bodies' back-ends"
        )
    return f


def check_notifier(objects: list[dict]) -> list[str]:
    """Some Deployment runs the notifier (else no resident hears back), and every pod that runs it has the vault pepper
    (it unseals contacts and keys opt-outs with it), its providers' Secret and the provider egress label (selected by
    the egress policy when the Component is rendered)."""
    f: list[str] = []
    egress = next(
        (
            o
            for o in objects
            if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == PROVIDER_EGRESS_POLICY
        ),
        None,
    )
    running = []
    for owner, meta, spec in pod_specs(objects):
        for c in spec["containers"]:
            argv = [*c.get("command", []), *c.get("args", [])]
            if argv[:1] != [NOTIFIER_COMMAND] or argv[1:2] not in (["serve"], ["consume"]):
                continue
            where = f"{owner} container {c['name']} (notifier)"
            running.append(owner)
            pepper = next((e for e in c.get("env", []) if e["name"] == "CIVICLOOP_VAULT_PEPPER"), None)
            if pepper is None or "secretKeyRef" not in pepper.get("valueFrom", {}):
                f.append(f"{where}: no CIVICLOOP_VAULT_PEPPER from a Secret")
            if not any(
                ef.get("secretRef", {}).get("name") == PROVIDER_SECRETS for ef in c.get("envFrom", [])
            ):
                f.append(f"{where}: no envFrom Secret {PROVIDER_SECRETS} (the providers' CIVICLOOP_SECRET_*)")
            labels = meta.get("labels", {})
            if labels.get(PROVIDER_EGRESS_LABEL) != "true":
                f.append(
                    f'{where}: pod lacks the label {PROVIDER_EGRESS_LABEL}: "true", so it reaches no provider'
                )
            elif egress is not None and not selector_matches(egress["spec"]["podSelector"], labels):
                f.append(f"{where}: NetworkPolicy/{PROVIDER_EGRESS_POLICY} does not select its pods")
    if not any(w.startswith("Deployment/") for w in running):
        f.append(f"no Deployment runs `{NOTIFIER_COMMAND} serve|consume`: no resident would hear back")
    return f


def check_cron_token(objects: list[dict]) -> list[str]:
    """Some Deployment runs selfheal (else nothing stuck is ever found), and every pod running intake's server or
    selfheal, and any other container given the cron token (a cron runner), reads it from one Secret and key."""
    f: list[str] = []
    sources, running = set(), []
    for owner, _, spec in pod_specs(objects):
        for c in spec["containers"]:
            argv = [*c.get("command", []), *c.get("args", [])]
            token = next((e for e in c.get("env", []) if e["name"] == CRON_TOKEN_ENV), None)
            needs = tuple(argv[:2]) in CRON_TOKEN_COMMANDS
            if needs and argv[0] == SELFHEAL_COMMAND and owner.startswith("Deployment/"):
                running.append(owner)
            if token is None:
                if needs:
                    f.append(f"{owner} container {c['name']} ({' '.join(argv[:2])}): no {CRON_TOKEN_ENV}")
                continue
            ref = token.get("valueFrom", {}).get("secretKeyRef")
            if ref is None:
                f.append(f"{owner} container {c['name']}: {CRON_TOKEN_ENV} is not read from a Secret")
            else:
                sources.add((ref["name"], ref["key"]))
    if len(sources) > 1:
        f.append(
            f"the cron token comes from several Secrets {sorted(sources)}: one side would refuse the other"
        )
    if not running:
        f.append(f"no Deployment runs `{SELFHEAL_COMMAND} serve|consume`: nothing stuck would ever be found")
    return f


def _policies(objects: list[dict], labels: dict, kind: str) -> list[dict]:
    """The NetworkPolicies of `kind` (Ingress or Egress) that select pods with these labels."""
    return [
        o
        for o in objects
        if o["kind"] == "NetworkPolicy"
        and kind in o["spec"].get("policyTypes", ["Ingress"])
        and selector_matches(o["spec"]["podSelector"], labels)
    ]


def _port_allowed(rule: dict, number: int, name: str | None) -> bool:
    ports = rule.get("ports") or []
    return not ports or any(p.get("port") in (number, name) for p in ports)


def egress_allows(objects: list[dict], source: dict, target: dict, number: int, name: str | None) -> bool:
    """Whether pods labelled `source` may open a connection to pods labelled `target` (same namespace) on a port
    (the destination's number and name): no Egress policy selects them, or one of their rules names the target's pods
    (a podSelector alone, or no `to`) and the port."""
    policies = _policies(objects, source, "Egress")
    return not policies or any(
        _port_allowed(rule, number, name)
        and (
            not rule.get("to")
            or any(
                set(peer) == {"podSelector"} and selector_matches(peer["podSelector"], target)
                for peer in rule["to"]
            )
        )
        for o in policies
        for rule in o["spec"].get("egress", [])
    )


def ingress_allows(objects: list[dict], source: dict, target: dict, number: int, name: str | None) -> bool:
    """Whether pods labelled `target` admit a connection from pods labelled `source` (same namespace) on a port."""
    policies = _policies(objects, target, "Ingress")
    return not policies or any(
        _port_allowed(rule, number, name)
        and (
            not rule.get("from")
            or any(
                set(peer) == {"podSelector"} and selector_matches(peer["podSelector"], source)
                for peer in rule["from"]
            )
        )
        for o in policies
        for rule in o["spec"].get("ingress", [])
    )


def check_in_cluster_calls(objects: list[dict]) -> list[str]:
    """The calls CivicLoop's pods make inside the cluster pass the network policies at both ends: each URL a
    container is given (`http://<Service>[:port]/...`: the notifier to geo and intake, selfheal to intake, the cron
    runner to selfheal) reaches that Service's pods, and every pod with a database reaches PostgreSQL, which admits
    it."""
    f: list[str] = []
    configmaps = {o["metadata"]["name"]: o for o in objects if o["kind"] == "ConfigMap"}
    services = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Service"}
    workloads = list(pod_specs(objects))
    for owner, meta, spec in workloads:
        source = meta.get("labels", {})
        for c in spec["containers"]:
            env = container_env(c, configmaps)
            if "CIVICLOOP_PG_DSN" in env and not (
                egress_allows(objects, source, POSTGRES_PODS, 5432, None)
                and ingress_allows(objects, source, POSTGRES_PODS, 5432, None)
            ):
                f.append(f"{owner}: the network policies do not let it reach PostgreSQL on 5432")
            for var, value in sorted(env.items()):
                url = urlsplit(value) if re.match(r"https?://", value) else None
                service = services.get(url.hostname) if url else None
                if service is None:
                    continue
                port = url.port or (443 if url.scheme == "https" else 80)
                sport = next((p for p in service["spec"]["ports"] if p["port"] == port), None)
                if sport is None:
                    f.append(f"{owner}: {var} calls Service/{url.hostname} on port {port}, which it lacks")
                    continue
                target_port = sport.get("targetPort", port)
                pods = [
                    (m["labels"], s)
                    for w, m, s in workloads
                    if w.startswith("Deployment/")
                    and matches({"matchLabels": service["spec"]["selector"]}, m["labels"])
                ]
                for labels, target_spec in pods:
                    listening = [p for tc in target_spec["containers"] for p in tc.get("ports", [])]
                    cport = next(
                        (p for p in listening if target_port in (p["containerPort"], p.get("name"))), None
                    )
                    if cport is None:
                        f.append(
                            f"{owner}: {var}: Service/{url.hostname}'s pods do not listen on {target_port}"
                        )
                        continue
                    number, name = cport["containerPort"], cport.get("name")
                    if not egress_allows(objects, source, labels, number, name):
                        f.append(
                            f"{owner}: {var}: its network policies do not let it reach {url.hostname} on {number}"
                        )
                    if not ingress_allows(objects, source, labels, number, name):
                        f.append(
                            f"{owner}: {var}: the network policies of {url.hostname} do not admit it on {number}"
                        )
    return f


def check_ingresses(objects: list[dict]) -> list[str]:
    """Backends exist, every host has TLS, and every service's routes are published exactly: each route the route
    walk declares public (or a resident's own), but those KEPT_INSIDE, over TLS, and nothing else (no staff or admin
    API, health, metrics, OpenAPI, /docs or its assets); the gateway's on the host of CIVICLOOP_PUBLIC_BASE_URL."""
    f: list[str] = []
    services = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Service"}
    configmaps = {o["metadata"]["name"]: o for o in objects if o["kind"] == "ConfigMap"}
    published: list[tuple[str | None, bool, str, dict]] = []  # host, has TLS, Service, path
    for o in objects:
        if o["kind"] != "Ingress":
            continue
        name = o["metadata"]["name"]
        tls_hosts = {h for t in o["spec"].get("tls", []) if t.get("secretName") for h in t.get("hosts", [])}
        for rule in o["spec"].get("rules", []):
            host = rule.get("host")
            if host not in tls_hosts:
                f.append(f"Ingress/{name}: host {host} is served without TLS")
            for p in rule.get("http", {}).get("paths", []):
                svc = p["backend"].get("service", {})
                target = services.get(svc.get("name"))
                if target is None:
                    f.append(f"Ingress/{name}: path {p['path']} goes to unknown Service {svc.get('name')}")
                elif not any(
                    port.get("name") == svc["port"].get("name") or port["port"] == svc["port"].get("number")
                    for port in target["spec"]["ports"]
                ):
                    f.append(f"Ingress/{name}: path {p['path']} goes to a port Service/{svc['name']} lacks")
                if p["pathType"] not in ("Exact", "Prefix"):
                    f.append(f"Ingress/{name}: path {p['path']} is {p['pathType']}; use Exact or Prefix")
                published.append((host, host in tls_hosts, svc.get("name"), p))

    try:
        paths, stale = service_paths()
    except ImportError as exc:
        return [*f, f"cannot read the services' routes ({exc}); run with `uv run` from the repository root"]
    f += stale
    deployments = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Deployment"}
    for name, (public, private) in paths.items():
        deployment = deployments.get(name)
        if deployment is None:
            f.append(f"Deployment/{name}: missing (it serves routes the route walk knows)")
            continue
        routes = _routes_to(deployment["spec"]["template"]["metadata"]["labels"], services, published)
        for path in public:
            if not any(tls and ingress_routes(p, path) for _, tls, p in routes):
                f.append(f"{name}: {path} is deliberately public but not published over TLS")
        f += _published_private(name, private, routes)

    # The gateway's resources are published on the host discovery advertises (CIVICLOOP_PUBLIC_BASE_URL).
    gateway = deployments.get("open311-gateway")
    if gateway is None:
        return f
    pod = gateway["spec"]["template"]
    to_gateway = _routes_to(pod["metadata"]["labels"], services, published)
    base = urlsplit(
        container_env(pod["spec"]["containers"][0], configmaps).get("CIVICLOOP_PUBLIC_BASE_URL", "")
    )
    if base.scheme != "https" or base.path not in ("", "/"):
        f.append(f"open311-gateway: CIVICLOOP_PUBLIC_BASE_URL must be https://<host>, not {base.geturl()!r}")
    for path in paths["open311-gateway"][0]:
        if not any(host == base.hostname and tls and ingress_routes(p, path) for host, tls, p in to_gateway):
            f.append(f"open311-gateway: {path} is not published over TLS on {base.hostname}")
    return f


def _routes_to(
    labels: dict, services: dict[str, dict], published: list[tuple[str | None, bool, str, dict]]
) -> list[tuple[str | None, bool, dict]]:
    """(host, over TLS, Ingress path) of every published path whose Service selects pods with these labels."""
    return [
        (host, tls, p)
        for host, tls, svc, p in published
        if svc in services and matches({"matchLabels": services[svc]["spec"]["selector"]}, labels)
    ]


def _published_private(
    deployment: str, private: list[str], routes: list[tuple[str | None, bool, dict]]
) -> list[str]:
    """A finding for each private path of `deployment` that one of its Ingress paths would route."""
    return [
        f"{deployment}: {path} is published (Ingress path {p['path']}, {p['pathType']})"
        for path in private
        for _, _, p in routes
        if ingress_routes(p, path)
    ]


def render(kubectl: str, overlay: str, components: list[str]) -> subprocess.CompletedProcess:
    """`kubectl kustomize` of an overlay, with these Components enabled as a county would in its overlay."""
    if not components:
        return subprocess.run(
            [kubectl, "kustomize", str(HERE / "overlays" / overlay)],
            capture_output=True,
            text=True,
            check=False,
        )
    # A Component the overlay enables already would be added twice.
    spec = yaml.safe_load((HERE / "overlays" / overlay / "kustomization.yaml").read_text())
    enabled = spec.get("components") or []
    components = [c for c in components if not any(Path(e).name == c for e in enabled)]
    # kustomize takes only relative paths to other kustomizations: a throw-away overlay of the overlay, beside it.
    with tempfile.TemporaryDirectory(dir=HERE, prefix=".check-") as tmp:
        rel = Path(os.path.relpath(HERE, tmp))
        (Path(tmp) / "kustomization.yaml").write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "kustomize.config.k8s.io/v1beta1",
                    "kind": "Kustomization",
                    "namespace": "civicloop",
                    "resources": [str(rel / "overlays" / overlay)],
                    "components": [str(rel / "components" / c) for c in components],
                    # The overlay's tags, which a county enabling a Component in the overlay itself gives its
                    # workloads too (selfheal-cron runs selfheal's image).
                    "images": spec.get("images") or [],
                }
            )
        )
        return subprocess.run([kubectl, "kustomize", tmp], capture_output=True, text=True, check=False)


def main() -> int:
    failures = check_files()
    if failures:
        print("\n".join(failures))
        return 1
    print(f"parsed: {len(list(HERE.rglob('*.yaml')))} YAML files; every kustomization path exists")
    template_secrets = {
        s["metadata"]["name"]: s.get("stringData", {})
        for s in load_all(HERE / "base" / "secrets.template.yaml")
    }
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        print("kubectl not found: rendering and cross-reference checks skipped")
        return 0
    variants = [(o, []) for o in OVERLAYS] + ([(o, COMPONENTS) for o in OVERLAYS] if COMPONENTS else [])
    for overlay, components in variants:
        label = overlay + (f" + {', '.join(components)}" if components else "")
        out = render(kubectl, overlay, components)
        if out.returncode != 0:
            failures.append(f"{label}: kubectl kustomize failed: {out.stderr.strip()}")
            continue
        objects = [d for d in yaml.safe_load_all(out.stdout) if d]
        found = check_rendered(label, objects, template_secrets)
        failures += found
        print(
            f"{label}: {len(objects)} objects rendered, {'ok' if not found else f'{len(found)} problem(s)'}"
        )
    print("\n".join(failures) if failures else "all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
