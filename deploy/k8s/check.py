"""Consistency checks of the Kubernetes manifests, runnable without a cluster.

    uv run python deploy/k8s/check.py

1. Every YAML file under deploy/k8s parses.
2. Every path a kustomization.yaml lists (resources, patches) exists.
3. Each overlay renders with `kubectl kustomize` (skipped, and said so, when kubectl is absent), and the rendered
   objects agree with each other: selectors match pod labels, referenced ConfigMaps and Secrets exist or are
   created by an operator or by hand, the partition count is the same everywhere, no consumer group is scaled past
   it, replication fits the brokers, database and Kafka credentials match their roles and users, and every pod
   runs with the restricted security settings.

Exits non-zero on the first file that does not parse or on any failed check.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
OVERLAYS = ("pilot", "state")

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
            if not (sc.get("readOnlyRootFilesystem") and sc.get("allowPrivilegeEscalation") is False
                    and sc.get("capabilities", {}).get("drop") == ["ALL"]):
                f.append(f"{where}: needs readOnlyRootFilesystem, no privilege escalation, capabilities drop ALL")
            res = c.get("resources", {})
            if not (res.get("requests", {}).get("cpu") and res.get("requests", {}).get("memory")
                    and res.get("limits", {}).get("memory")):
                f.append(f"{where}: needs cpu and memory requests and a memory limit")
            if ":" not in c["image"].rsplit("/", 1)[-1]:
                f.append(f"{where}: image {c['image']} has no tag")
            for m in c.get("volumeMounts", []):
                if m["name"] not in volumes:
                    f.append(f"{where}: mounts unknown volume {m['name']}")
            for ef in c.get("envFrom", []):
                if ef.get("configMapRef", {}).get("name") not in configmaps:
                    f.append(f"{where}: envFrom unknown ConfigMap")
            env = {e["name"]: e for e in c.get("env", [])}
            for e in env.values():
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref and ref["name"] not in secrets:
                    f.append(f"{where}: env {e['name']} uses unknown Secret {ref['name']}")
                if ref and ref["name"] in template_secrets and ref["key"] not in template_secrets[ref["name"]]:
                    f.append(f"{where}: env {e['name']} uses key {ref['key']} absent from Secret {ref['name']}")
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
        if owner.startswith("Deployment/"):
            c = spec["containers"][0]
            if c.get("readinessProbe", {}).get("httpGet", {}).get("path") != "/readyz":
                f.append(f"{owner}: readiness probe is not /readyz")
            if c.get("livenessProbe", {}).get("httpGet", {}).get("path") != "/healthz":
                f.append(f"{owner}: liveness probe is not /healthz")
            if meta.get("annotations", {}).get("prometheus.io/scrape") != "true":
                f.append(f"{owner}: not annotated for Prometheus")

    # Selectors.
    pods = [(owner, meta["labels"]) for owner, meta, _ in pod_specs(objects)]
    for o in objects:
        kind, name = o["kind"], o["metadata"]["name"]
        if kind == "Deployment":
            if not matches(o["spec"]["selector"], o["spec"]["template"]["metadata"]["labels"]):
                f.append(f"Deployment/{name}: selector does not match its pod labels")
            others = [w for w, labels in pods if w != f"Deployment/{name}" and matches(o["spec"]["selector"], labels)]
            if others:
                f.append(f"Deployment/{name}: selector also matches {others}")
        if kind == "Service":
            if not any(matches({"matchLabels": o["spec"]["selector"]}, labels) for w, labels in pods
                       if w.startswith("Deployment/")):
                f.append(f"Service/{name}: selects no Deployment's pods")
        if kind == "PodDisruptionBudget":
            if not any(matches(o["spec"]["selector"], labels) for w, labels in pods if w.startswith("Deployment/")):
                f.append(f"PodDisruptionBudget/{name}: selects no Deployment's pods")
        if kind == "HorizontalPodAutoscaler":
            ref = o["spec"]["scaleTargetRef"]
            target = by.get((ref["kind"], ref["name"]))
            if target is None:
                f.append(f"HorizontalPodAutoscaler/{name}: no {ref['kind']} {ref['name']}")
            elif "replicas" in target["spec"]:
                f.append(f"HorizontalPodAutoscaler/{name}: {ref['name']} still sets replicas (apply would reset them)")
        if kind == "NetworkPolicy":
            if not any(matches(o["spec"]["podSelector"], labels) for _, labels in pods) and \
                    "cnpg.io/cluster" not in o["spec"]["podSelector"].get("matchLabels", {}):
                f.append(f"NetworkPolicy/{name}: selects no CivicLoop pod")

    # Kafka: one cluster, replication that fits, partitions agreed everywhere.
    kafka = [o for o in objects if o["kind"] == "Kafka"]
    if len(kafka) != 1:
        return f + ["expected exactly one Kafka"]
    cluster = kafka[0]["metadata"]["name"]
    brokers = sum(o["spec"]["replicas"] for o in objects if o["kind"] == "KafkaNodePool" and "broker" in o["spec"]["roles"])
    for o in objects:
        if o["kind"] in ("KafkaNodePool", "KafkaTopic", "KafkaUser") and \
                o["metadata"]["labels"].get("strimzi.io/cluster") != cluster:
            f.append(f"{o['kind']}/{o['metadata']['name']}: strimzi.io/cluster is not {cluster}")
        if o["kind"] == "KafkaTopic":
            s = o["spec"]
            isr = int(s["config"]["min.insync.replicas"])
            if not (s["replicas"] <= brokers and (isr < s["replicas"] or s["replicas"] == 1)):
                f.append(f"KafkaTopic/{o['metadata']['name']}: replicas {s['replicas']}, min ISR {isr}, "
                         f"{brokers} broker(s)")
            if str(s["config"]["retention.ms"]) != "-1" or str(s["config"]["retention.bytes"]) != "-1":
                f.append(f"KafkaTopic/{o['metadata']['name']}: the log must be retained forever")
    cfg = kafka[0]["spec"]["kafka"]["config"]
    if int(cfg["offsets.topic.replication.factor"]) > brokers or int(cfg["default.replication.factor"]) > brokers:
        f.append(f"Kafka/{cluster}: internal topics' replication exceeds {brokers} broker(s)")
    partitions = by[("KafkaTopic", "requests.events")]["spec"]["partitions"]
    configured = int(by[("ConfigMap", "civicloop-config")]["data"]["CIVICLOOP_TOPIC_PARTITIONS"])
    if partitions != configured:
        f.append(f"CIVICLOOP_TOPIC_PARTITIONS {configured} != requests.events partitions {partitions}")
    projections = by[("Deployment", "public-projections")]["spec"].get("replicas", 1)
    if projections > partitions:
        f.append(f"public-projections: {projections} replicas for {partitions} partitions")
    hpa = by.get(("HorizontalPodAutoscaler", "intake"))
    if hpa and hpa["spec"]["maxReplicas"] > partitions:
        f.append(f"intake: autoscaled up to {hpa['spec']['maxReplicas']} for {partitions} partitions")

    # PostgreSQL: every managed role's Secret is a template whose username is the role.
    for o in objects:
        if o["kind"] == "Cluster":
            for role in o["spec"].get("managed", {}).get("roles", []):
                secret = role.get("passwordSecret", {}).get("name")
                if template_secrets.get(secret, {}).get("username") != role["name"]:
                    f.append(f"Cluster/{o['metadata']['name']}: role {role['name']} has no matching Secret template")
    return [f"{overlay}: {x}" for x in f]


def main() -> int:
    failures = check_files()
    if failures:
        print("\n".join(failures))
        return 1
    print(f"parsed: {len(list(HERE.rglob('*.yaml')))} YAML files; every kustomization path exists")
    template_secrets = {s["metadata"]["name"]: s.get("stringData", {})
                        for s in load_all(HERE / "base" / "secrets.template.yaml")}
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        print("kubectl not found: rendering and cross-reference checks skipped")
        return 0
    for overlay in OVERLAYS:
        out = subprocess.run([kubectl, "kustomize", str(HERE / "overlays" / overlay)],
                             capture_output=True, text=True, check=False)
        if out.returncode != 0:
            failures.append(f"{overlay}: kubectl kustomize failed: {out.stderr.strip()}")
            continue
        objects = [d for d in yaml.safe_load_all(out.stdout) if d]
        found = check_rendered(overlay, objects, template_secrets)
        failures += found
        print(f"{overlay}: {len(objects)} objects rendered, {'ok' if not found else f'{len(found)} problem(s)'}")
    print("\n".join(failures) if failures else "all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
