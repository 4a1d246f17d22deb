"""The operators' deployment files in deploy/, checked without Docker or Kubernetes (neither runs here).

Schemas are checked by the real validators (check-jsonschema's compose-spec, kubernetes-validate in
strict mode) from their own pinned venv (``scripts/setup_deploy_tools.sh``); nginx.conf is tested and
then run by Debian's nginx against two stand-in gateways; the rest are cross-file consistency checks
(what a command runs exists, every variable a file expects is given, no secret is written down).
"""

from __future__ import annotations

import http.client
import importlib.util
import json
import re
import shlex
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.local_services import Nginx
from bot.settings import PROJECT_ROOT
from tests.helpers import free_port
from tests.services import apt_install, scratch_directory

DEPLOY = PROJECT_ROOT / "deploy"
COMPOSE_FILE = DEPLOY / "docker-compose.yml"
NGINX_CONF = DEPLOY / "nginx" / "nginx.conf"
K8S = DEPLOY / "k8s"
SECRET_EXAMPLE = "secret.example.yaml"
K8S_VERSION = "1.30.0"  # one of the schema sets kubernetes-validate bundles (works offline)

APP_SERVICES = ("actions", "rasa", "gateway")
SECRET_NAME = re.compile(r"(PASSWORD|SECRET|TOKEN|_KEY)$")
REQUIRED_SECRETS = {
    "TRACKER_DB_PASSWORD",
    "REDIS_PASSWORD",
    "RASA_AUTH_TOKEN",
    "WEB_TOKEN_SECRET",
    "BANKBOT_PSEUDONYM_KEY",
    "BANKBOT_HANDLE_KEY",
    "BANKBOT_OTP_KEY",
}
OPTIONAL_SECRETS = {"WECHAT_TOKEN", "WECHAT_ENCODING_AES_KEY", "WECHAT_APP_SECRET"}  # WeChat is optional
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}")
PLACEHOLDER = re.compile(r"^(|\$\{[^}]+\}|\$\([A-Z0-9_]+\)|<[^<>]+>)$")


# ----------------------------------------------------------------------------- helpers


def run(command: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout)


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def k8s_manifests() -> list[Path]:
    return sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def k8s_resources() -> list[dict[str, Any]]:
    """Every resource kustomization.yaml applies (not the example Secret)."""
    return [yaml.safe_load((K8S / name).read_text(encoding="utf-8")) for name in kustomization()["resources"]]


def kustomization() -> dict[str, Any]:
    return yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))


def deployments() -> dict[str, dict[str, Any]]:
    return {r["metadata"]["name"]: r for r in k8s_resources() if r["kind"] == "Deployment"}


def containers(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    spec = deployment["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def secret_example_keys() -> set[str]:
    return set(yaml.safe_load((K8S / SECRET_EXAMPLE).read_text(encoding="utf-8"))["stringData"])


def configmap_keys() -> set[str]:
    (configmap,) = [r for r in k8s_resources() if r["kind"] == "ConfigMap"]
    assert configmap["metadata"]["name"] == "bankbot-config"
    return set(configmap["data"])


def container_variables(container: dict[str, Any]) -> set[str]:
    """Names of the variables a container gets: its ConfigMap's keys and its own env entries."""
    names = {entry["name"] for entry in container.get("env", [])}
    for source in container.get("envFrom", []):
        assert source["configMapRef"]["name"] == "bankbot-config"
        names |= configmap_keys()
    return names


def endpoint_variables() -> set[str]:
    """The ${...} variables Rasa's scaled endpoints file needs from the environment."""
    text = (DEPLOY / "endpoints.scaled.yml").read_text(encoding="utf-8")
    return {match["name"] for match in INTERPOLATION.finditer(text)}


def assert_runnable(module: str) -> None:
    """``python -m module`` would find it: a project module or package with ``__main__``, or a
    third-party module installed in the project's environment."""
    if module.split(".")[0] in ("bot", "actions", "knowledge_base"):
        path = PROJECT_ROOT.joinpath(*module.split("."))
        assert path.with_suffix(".py").is_file() or (path / "__main__.py").is_file(), module
    else:
        assert importlib.util.find_spec(module) is not None, f"{module} is not installed"


def assert_runs_project_code(command: list[str]) -> None:
    """``python -m module …`` runs a module that exists, with files and packages that exist."""
    assert command[:2] == ["python", "-m"], command
    assert_runnable(command[2])
    if command[2] == "bot.masked_logs":
        assert_runnable(command[3])
    for flag in ("--endpoints", "--credentials"):
        if flag in command:
            assert (PROJECT_ROOT / command[command.index(flag) + 1]).is_file(), flag
    if "--actions" in command:
        package = command[command.index("--actions") + 1]
        assert (PROJECT_ROOT.joinpath(*package.split(".")) / "__init__.py").is_file(), package


# ----------------------------------------------------------------------------- the validators


@pytest.fixture(scope="module")
def tools() -> Path:
    """The validators' venv, created by the script operators and CI use (once per lock file)."""
    done = run(["bash", "scripts/setup_deploy_tools.sh"], timeout=900)  # first time: a pip install
    assert done.returncode == 0, done.stderr
    venv = Path(done.stdout.strip().splitlines()[-1])
    assert (venv / "bin" / "check-jsonschema").is_file() and (venv / "bin" / "kubernetes-validate").is_file()
    return venv / "bin"


def test_compose_file_matches_the_compose_spec(tools: Path) -> None:
    done = run(
        [str(tools / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)]
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok -- validation done" in done.stdout


def test_compose_schema_check_rejects_a_misspelt_key(tools: Path, tmp_path: Path) -> None:
    """The schema check is not vacuous: a typo in a service is an error."""
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE_FILE.read_text(encoding="utf-8").replace("    command:", "    comand:", 1))
    done = run([str(tools / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(broken)])
    assert done.returncode == 1
    assert "'comand' was unexpected" in done.stdout


@pytest.mark.parametrize("manifest", k8s_manifests(), ids=lambda p: p.name)
def test_kubernetes_manifest_is_valid(tools: Path, manifest: Path) -> None:
    done = run([str(tools / "kubernetes-validate"), "--strict", "-k", K8S_VERSION, str(manifest)])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "passed for resource" in done.stdout


def test_kubernetes_validation_rejects_an_unknown_field(tools: Path, tmp_path: Path) -> None:
    """Strict mode is on: a misspelt field in a container is an error, not ignored."""
    broken = tmp_path / "deployment.yaml"
    text = (K8S / "gateway-deployment.yaml").read_text(encoding="utf-8")
    broken.write_text(text.replace("containerPort: 8000", "containerPort: 8000\n              protocl: TCP"))
    done = run([str(tools / "kubernetes-validate"), "--strict", "-k", K8S_VERSION, str(broken)])
    assert done.returncode == 1
    assert "'protocl' was unexpected" in done.stdout


# ----------------------------------------------------------------------------- kustomize


def test_kustomization_lists_exactly_the_manifests() -> None:
    resources = kustomization()["resources"]
    assert len(resources) == len(set(resources))
    assert all((K8S / name).is_file() for name in resources)
    assert SECRET_EXAMPLE not in resources  # an example to copy, never applied with real-looking values
    assert set(resources) == {p.name for p in k8s_manifests()} - {SECRET_EXAMPLE}


def test_kustomize_renders_every_resource() -> None:
    """What `kubectl apply -k` would send (rendered offline; needs only the kubectl binary)."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    done = run([kubectl, "kustomize", str(K8S)])
    assert done.returncode == 0, done.stderr
    rendered = [doc for doc in yaml.safe_load_all(done.stdout) if doc]
    kinds = sorted(doc["kind"] for doc in rendered)
    assert (
        kinds
        == ["ConfigMap"]
        + ["Deployment"] * 3
        + ["Ingress"] * 2
        + ["PodDisruptionBudget"] * 3
        + ["Service"] * 3
    )
    image = kustomization()["images"][0]
    for doc in rendered:
        assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "bankbot"
        if doc["kind"] == "Deployment":
            for container in containers(doc):
                assert container["image"] == f"{image['newName']}:{image['newTag']}"


# ----------------------------------------------------------------------------- Kubernetes semantics


def test_deployments_probes_replicas_and_security() -> None:
    probes = {  # readiness, liveness, startup (None: none wanted)
        "bankbot-gateway": ("/ready", "/health", None),
        "bankbot-actions": ("/health", "/health", "/health"),
        "bankbot-rasa": ("/", "/", "/"),
    }
    found = deployments()
    assert set(found) == set(probes)
    for name, (ready, alive, startup) in probes.items():
        deployment = found[name]
        pod = deployment["spec"]["template"]["spec"]
        assert deployment["spec"]["replicas"] == 2
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        (main,) = pod["containers"]
        assert main["readinessProbe"]["httpGet"]["path"] == ready
        assert main["livenessProbe"]["httpGet"]["path"] == alive
        if startup is None:
            assert "startupProbe" not in main
        else:
            probe = main["startupProbe"]
            assert probe["httpGet"]["path"] == startup
            assert probe["periodSeconds"] * probe["failureThreshold"] >= 180, "loading takes ~35-60 s"
        for container in containers(deployment):
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), container["name"]
            assert "memory" in container["resources"]["limits"], container["name"]
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert_runs_project_code(container["command"])


def test_containers_get_every_variable_they_reference() -> None:
    """Secrets come from bankbot-secrets by name (keys the example documents), nothing else is inlined,
    and every $(VAR) in a command and every variable Rasa's endpoints file reads is defined."""
    secret_keys = secret_example_keys()
    for deployment in deployments().values():
        for container in containers(deployment):
            for entry in container.get("env", []):
                if SECRET_NAME.search(entry["name"]) or entry["name"] in ("PROFILE_DB", "REDIS_URL"):
                    assert "value" not in entry, f"{entry['name']} must come from the Secret"
                reference = entry.get("valueFrom", {}).get("secretKeyRef")
                if reference:
                    assert reference["name"] == "bankbot-secrets"
                    assert reference["key"] in secret_keys, reference["key"]
            defined = container_variables(container)
            used = {m for part in container["command"] for m in re.findall(r"\$\(([A-Z0-9_]+)\)", part)}
            assert used <= defined, f"{container['name']}: {used - defined} undefined"
    (rasa,) = deployments()["bankbot-rasa"]["spec"]["template"]["spec"]["containers"]
    assert endpoint_variables() <= container_variables(rasa)
    (gateway,) = deployments()["bankbot-gateway"]["spec"]["template"]["spec"]["containers"]
    assert "RASA_AUTH_TOKEN" in container_variables(gateway), "Rasa requires the token the gateway sends"
    assert not {key for key in configmap_keys() if SECRET_NAME.search(key)}, "secrets in the ConfigMap"


def test_services_pdbs_ingress_and_scraping_point_at_the_deployments() -> None:
    resources = k8s_resources()
    pods = {
        name: (d["spec"]["template"]["metadata"], d["spec"]["template"]["spec"]["containers"][0])
        for name, d in deployments().items()
    }
    services = {r["metadata"]["name"]: r for r in resources if r["kind"] == "Service"}
    for name, service in services.items():
        labels, container = pods[name]
        assert service["spec"]["selector"].items() <= labels["labels"].items()
        port_names = {p["name"] for p in container["ports"]}
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= port_names
    budgets = [r for r in resources if r["kind"] == "PodDisruptionBudget"]
    assert sorted(b["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] for b in budgets) == sorted(
        pods
    )
    ingresses = {r["metadata"]["name"]: r for r in resources if r["kind"] == "Ingress"}
    for ingress in ingresses.values():
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                assert path["backend"]["service"]["name"] in services
    annotations = ingresses["bankbot-gateway"]["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"]) >= 3600
    (metrics,) = ingresses["bankbot-gateway-metrics"]["spec"]["rules"][0]["http"]["paths"]
    assert (metrics["path"], metrics["pathType"]) == ("/metrics", "Exact")
    for name, port in (("bankbot-gateway", "8000"), ("bankbot-actions", "5055")):
        scrape = pods[name][0]["annotations"]
        assert scrape == {
            "prometheus.io/scrape": "true",
            "prometheus.io/path": "/metrics",
            "prometheus.io/port": port,
        }


# ----------------------------------------------------------------------------- docker compose


def test_compose_services_replicas_limits_and_health() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres", "redis", "migrate", *APP_SERVICES, "nginx"}
    health_urls = {
        "actions": "http://localhost:5055/health",
        "rasa": "http://localhost:5005/",
        "gateway": "http://localhost:8000/health",
    }
    for name in APP_SERVICES:
        service = services[name]
        assert service["deploy"]["replicas"] == 2
        assert service["deploy"]["resources"]["limits"]["memory"] == "2.5G"
        test = service["healthcheck"]["test"]
        assert test[:3] == ["CMD", "python", "-c"] and "urllib.request" in test[3], test
        assert f"'{health_urls[name]}'" in test[3]
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"][1]
    assert "redis-cli" in services["redis"]["healthcheck"]["test"][1]
    for name, service in services.items():
        assert "curl" not in json.dumps(service.get("healthcheck", {})), f"{name}: images have no curl"
        for dependency, condition in service.get("depends_on", {}).items():
            wanted = "service_completed_successfully" if dependency == "migrate" else "service_healthy"
            assert condition == {"condition": wanted}, (name, dependency)
            if wanted == "service_healthy":
                assert "healthcheck" in services[dependency], dependency
    assert [name for name, s in services.items() if "ports" in s] == ["nginx"]
    assert services["nginx"]["ports"] == ["8000:8000"]


def test_compose_commands_run_project_modules() -> None:
    services = compose()["services"]
    for name in ("migrate", *APP_SERVICES):
        assert_runs_project_code(services[name]["command"])
    rasa = services["rasa"]["command"]
    assert rasa[3:6] == ["rasa", "run", "--enable-api"]
    assert rasa[rasa.index("--model") + 1] == "${RASA_MODEL:-models/current.tar.gz}"
    assert rasa[rasa.index("--auth-token") + 1].startswith("${RASA_AUTH_TOKEN:?")


def test_compose_environment_connects_the_services() -> None:
    services = compose()["services"]
    expected = {
        "ACTION_SERVER_URL": "http://actions:5055/webhook",
        "RASA_HOST": "rasa",
        "RASA_PORT": "5005",
        "ACTION_HOST": "actions",
        "ACTION_PORT": "5055",
        "TRACKER_DB_HOST": "postgres",
        "TRACKER_DB_PORT": "5432",
        "TRACKER_DB_NAME": "tracker",
        "REDIS_HOST": "redis",
        "REDIS_PORT": "6379",
        "LOG_FORMAT": "json",
        "BANKBOT_DATA_DIR": "/data",
    }
    for name in APP_SERVICES:
        environment = services[name]["environment"]
        assert expected.items() <= environment.items(), name
        assert environment["REDIS_URL"].endswith("@redis:6379/0")
        for database in ("PROFILE_DB", "KB_FEEDBACK_DB"):
            assert environment[database].startswith("postgresql+psycopg2://")
            assert environment[database].endswith("@postgres:5432/profile")
    assert endpoint_variables() <= set(services["rasa"]["environment"])
    gateway = services["gateway"]["environment"]
    assert (gateway["GATEWAY_HOST"], gateway["GATEWAY_PORT"]) == ("0.0.0.0", "8000")
    assert "RASA_AUTH_TOKEN" in gateway, "Rasa requires the token the gateway sends"
    for name in ("gateway", "actions"):
        assert "bankbot-data:/data" in services[name]["volumes"]


def test_compose_mounts_exist_and_postgres_gets_both_databases() -> None:
    services = compose()["services"]
    for name in ("postgres", "nginx"):
        for volume in services[name]["volumes"]:
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (COMPOSE_FILE.parent / source).is_file(), volume
    init = (DEPLOY / "postgres" / "init.sql").read_text(encoding="utf-8")
    assert re.findall(r"CREATE DATABASE (\w+)", init) == ["tracker", "profile"]


def test_compose_secrets_are_required_never_defaulted() -> None:
    """`${SECRET:?message}` everywhere: compose refuses to start without it instead of using a default."""
    text = COMPOSE_FILE.read_text(encoding="utf-8").replace("$$", "")
    secrets: set[str] = set()
    for match in INTERPOLATION.finditer(text):
        name, operator, argument = match["name"], match["op"], match["arg"]
        if not SECRET_NAME.search(name):
            continue
        secrets.add(name)
        if name in OPTIONAL_SECRETS:
            assert (operator, argument) == (":-", ""), f"{match[0]}: optional, but never with a default"
        else:
            assert operator == ":?" and argument.strip(), f"{match[0]} must be ${{{name}:?message}}"
    assert secrets >= REQUIRED_SECRETS | OPTIONAL_SECRETS
    for name, service in compose()["services"].items():
        for variable, value in (service.get("environment") or {}).items():
            if SECRET_NAME.search(variable):
                assert str(value).startswith("${"), f"{name}: {variable} is written down"


def test_no_secret_is_written_in_any_deploy_file() -> None:
    files = [p for p in DEPLOY.rglob("*") if p.is_file()] + [PROJECT_ROOT / ".dockerignore"]
    credentials_in_url = re.compile(r"[a-z0-9+]+://[^\s:/@]*:([^\s@]+)@")
    long_hex = re.compile(r"\b[0-9a-fA-F]{32,}\b")
    for path in files:
        text = path.read_text(encoding="utf-8")
        for password in credentials_in_url.findall(text):
            assert PLACEHOLDER.match(password), f"{path.name}: password {password!r} in a URL"
        assert not long_hex.findall(text), f"{path.name}: a key-like hex string"
        if path.suffix in (".yml", ".yaml"):
            for document in yaml.safe_load_all(text):
                for key, value in _scalars(document):
                    if SECRET_NAME.search(key) and key.isupper():
                        assert PLACEHOLDER.match(str(value)), f"{path.name}: {key}={value!r}"


def _scalars(node: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    """(key, value) of every scalar in a YAML document; a k8s env entry counts as name=value."""
    if isinstance(node, dict):
        if "name" in node and "value" in node:
            yield str(node["name"]), node["value"]
        for child_key, child in node.items():
            yield from _scalars(child, str(child_key))
    elif isinstance(node, list):
        for child in node:
            yield from _scalars(child, key)
    elif node is not None:
        yield key, node


# ----------------------------------------------------------------------------- Dockerfile


@dataclass
class Stage:
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)


def dockerfile_stages() -> list[Stage]:
    """The Dockerfile's build stages with their instructions (continuation lines joined)."""
    text = re.sub(r"\\\n", " ", (DEPLOY / "Dockerfile").read_text(encoding="utf-8"))
    stages: list[Stage] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, argument = line.partition(" ")
        if keyword.upper() == "FROM":
            stages.append(Stage(argument.split()[0]))
        else:
            assert stages, "instruction before FROM"
            stages[-1].instructions.append((keyword.upper(), argument.strip()))
    return stages


def test_dockerfile_builds_a_non_root_image_without_secrets() -> None:
    stages = dockerfile_stages()
    final = stages[-1]
    assert final.base == "python:3.10-slim"
    users = [argument for keyword, argument in final.instructions if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    every = [instruction for stage in stages for instruction in stage.instructions]
    assert not [argument for keyword, argument in every if keyword == "ADD"], "COPY only, never ADD"
    for keyword, argument in every:
        if keyword == "COPY":
            sources = [s for s in shlex.split(argument) if not s.startswith("--")][:-1]
            assert not any(".env" in source for source in sources)
            if not argument.startswith("--from"):
                assert all((PROJECT_ROOT / s).exists() for s in sources), argument
        if keyword in ("ENV", "ARG"):
            assert not SECRET_NAME.search(argument.split("=")[0].split()[0]), argument
    environment = " ".join(argument for keyword, argument in final.instructions if keyword == "ENV")
    assert "PYTHONUNBUFFERED=1" in environment.split()


def test_dockerfile_installs_like_setup_env() -> None:
    """The image gets the same pip and setuptools as .venv, then the lock, in that order."""
    runs = [argument for keyword, argument in dockerfile_stages()[-1].instructions if keyword == "RUN"]
    install = next(r for r in runs if "requirements.lock" in r)
    pip = re.search(r'"pip==([\d.]+)"', (PROJECT_ROOT / "scripts" / "setup_env.sh").read_text())
    setuptools = re.search(r"^setuptools==([\d.]+)$", (PROJECT_ROOT / "requirements.lock").read_text(), re.M)
    assert pip and setuptools
    pins = f'"pip=={pip[1]}" "setuptools=={setuptools[1]}"'
    assert pins in install and install.index(pins) < install.index("-r requirements.lock")
    assert "--no-cache-dir" in install


def test_dockerignore_keeps_local_state_out_of_the_image() -> None:
    patterns = {
        line.strip()
        for line in (PROJECT_ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    wanted = {".env", ".venv", "var", "reports", "web/node_modules", ".git", ".pytest_cache", ".ruff_cache"}
    assert wanted <= patterns
    assert "models/embeddings/*-finetuned" in patterns  # research-only licence (README: embeddings)


# ----------------------------------------------------------------------------- nginx


def local_nginx_config(directory: Path, port: int, backends: list[int]) -> str:
    """deploy/nginx/nginx.conf for this machine: upstream service names (which only Docker resolves)
    become the given loopback backends, and pid, logs and temp files go to ``directory``."""
    text = NGINX_CONF.read_text(encoding="utf-8")
    upstream_server = re.compile(r"^(\s*)server\s+([a-z][\w.-]*):(\d+)([^;]*);", re.M)
    hosts = {match[2] for match in upstream_server.finditer(text)}
    assert hosts and hosts <= set(compose()["services"]), f"upstreams {hosts} are not compose services"

    def local(match: re.Match[str]) -> str:
        return "\n".join(f"{match[1]}server 127.0.0.1:{backend}{match[4]};" for backend in backends)

    temp = "".join(
        f"    {kind}_temp_path {directory}/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    replacements = [
        (upstream_server, local),
        (re.compile(r"^(\s*)listen\s+8000;", re.M), rf"\1listen 127.0.0.1:{port};"),
        (re.compile(r"^pid\s+[^;]+;", re.M), f"pid {directory}/nginx.pid;"),
        (re.compile(r"^error_log\s+\S+", re.M), f"error_log {directory}/error.log"),
        (re.compile(r"access_log\s+/\S+", re.M), f"access_log {directory}/access.log"),
        (re.compile(r"^http\s*\{\n", re.M), "http {\n" + temp),
    ]
    for pattern, replacement in replacements:
        text, count = pattern.subn(replacement, text)
        assert count, f"{pattern.pattern} not found in nginx.conf"
    return text


@pytest.fixture(scope="module")
def nginx_binary() -> str:
    apt_install("nginx")
    return shutil.which("nginx") or "/usr/sbin/nginx"


def test_nginx_accepts_the_configuration(nginx_binary: str) -> None:
    with scratch_directory("bankbot-nginx-t-") as directory:
        config = directory / "nginx.conf"
        config.write_text(local_nginx_config(directory, free_port(), [free_port()]))
        done = run([nginx_binary, "-t", "-p", str(directory), "-c", str(config)])
    assert done.returncode == 0, done.stderr
    assert "syntax is ok" in done.stderr and "test is successful" in done.stderr


def test_nginx_configuration_promises() -> None:
    """What the runtime tests below cannot show from loopback: /metrics only for private networks,
    and no retry of a POST that already reached a gateway."""
    text = re.sub(r"#.*", "", NGINX_CONF.read_text(encoding="utf-8"))  # directives, not comments
    assert "non_idempotent" not in text
    assert re.search(r"proxy_next_upstream\s+error\s+timeout;", text)
    metrics = re.search(r"location = /metrics \{(.*?)\}", text, re.S)
    assert metrics
    allowed = re.findall(r"allow\s+([^;]+);", metrics[1])
    assert set(allowed) <= {"127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"}
    assert re.search(r"deny\s+all;", metrics[1])
    assert re.search(r"upstream gateway \{\s*ip_hash;", text)


class StandInGateway(ThreadingHTTPServer):
    """Answers with its name and records what nginx passed on; ``/crash`` drops the connection unanswered."""

    daemon_threads = True

    def __init__(self, name: str) -> None:
        super().__init__(("127.0.0.1", 0), StandInHandler)
        self.name = name
        self.seen: list[dict[str, Any]] = []


class StandInHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: StandInGateway

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {key.lower(): value for key, value in self.headers.items()}
        self.server.seen.append({"method": self.command, "path": self.path, "headers": headers})
        if self.path.startswith("/crash"):
            self.close_connection = True  # like a gateway replica dying mid-request
            return
        body = json.dumps({"backend": self.server.name, "headers": headers}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        pass


@dataclass
class Proxy:
    port: int
    gateways: list[StandInGateway]

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            reply = connection.getresponse()
            payload = reply.read()
        finally:
            connection.close()
        try:
            return reply.status, json.loads(payload)
        except ValueError:
            return reply.status, payload.decode(errors="replace")

    def seen(self, method: str, path: str) -> list[str]:
        """Names of the stand-in gateways that received the request."""
        return [g.name for g in self.gateways for r in g.seen if (r["method"], r["path"]) == (method, path)]


@pytest.fixture(scope="module")
def stand_ins() -> Iterator[list[StandInGateway]]:
    gateways = [StandInGateway(f"gateway-{n}") for n in (1, 2)]
    threads = [threading.Thread(target=g.serve_forever, daemon=True) for g in gateways]
    for thread in threads:
        thread.start()
    yield gateways
    for gateway in gateways:
        gateway.shutdown()
        gateway.server_close()


@pytest.fixture
def proxy(nginx_binary: str, stand_ins: list[StandInGateway]) -> Iterator[Proxy]:
    """deploy/nginx/nginx.conf running in front of two stand-in gateway replicas (fresh per test, so
    one test's failed replicas are not another's)."""
    for gateway in stand_ins:
        gateway.seen.clear()
    port = free_port()
    with scratch_directory("bankbot-nginx-") as directory:
        config = local_nginx_config(directory, port, [g.server_address[1] for g in stand_ins])
        server = Nginx(directory, config)
        server.start(f"http://127.0.0.1:{port}/nginx-health")
        try:
            yield Proxy(port, stand_ins)
        finally:
            server.stop()


def test_nginx_health_and_sticky_replicas(proxy: Proxy) -> None:
    assert proxy.request("GET", "/nginx-health") == (200, "ok\n")
    backends = {proxy.request("GET", f"/socket.io/?EIO=4&t={n}")[1]["backend"] for n in range(20)}
    assert len(backends) == 1, "Socket.IO polling from one address must reach one replica"


def test_nginx_passes_websocket_upgrades_and_client_addresses(proxy: Proxy) -> None:
    upgrade = {"Upgrade": "websocket", "Connection": "Upgrade", "X-Forwarded-For": "203.0.113.9"}
    for path in ("/socket.io/?EIO=4&transport=websocket", "/agent/ws?token=t"):
        status, reply = proxy.request("GET", path, headers=upgrade)
        assert status == 200
        assert reply["headers"]["upgrade"] == "websocket", path
        assert reply["headers"]["connection"] == "upgrade", path
        assert reply["headers"]["x-forwarded-for"] == "203.0.113.9, 127.0.0.1"
    status, reply = proxy.request("GET", "/", headers=upgrade)
    assert "upgrade" not in reply["headers"]  # only the WebSocket paths upgrade


def test_nginx_refuses_large_bodies(proxy: Proxy) -> None:
    status, _ = proxy.request("POST", "/webhooks/rest/webhook", body=b"x" * 70_000)
    assert status == 413
    assert proxy.seen("POST", "/webhooks/rest/webhook") == []
    assert proxy.request("POST", "/webhooks/rest/webhook", body=b"x" * 60_000)[0] == 200


def test_nginx_never_sends_a_message_twice(proxy: Proxy) -> None:
    """A POST whose gateway dies mid-request fails (502) instead of reaching the other replica."""
    status, _ = proxy.request("POST", "/crash/webhooks/rest/webhook", body=b'{"message": "hi"}')
    assert status == 502
    assert len(proxy.seen("POST", "/crash/webhooks/rest/webhook")) == 1


def test_nginx_retries_a_read_on_the_other_replica(proxy: Proxy) -> None:
    status, _ = proxy.request("GET", "/crash/history")
    assert status == 502  # both stand-ins drop it
    assert sorted(proxy.seen("GET", "/crash/history")) == ["gateway-1", "gateway-2"]


def test_nginx_rate_limits_webhooks_per_address_but_not_wechat(proxy: Proxy) -> None:
    rest = [proxy.request("POST", "/webhooks/rest/webhook", body=b"{}")[0] for _ in range(80)]
    assert 429 in rest and 200 in rest
    wechat = [proxy.request("POST", "/webhooks/wechat", body=b"<xml/>")[0] for _ in range(80)]
    assert set(wechat) == {200}
