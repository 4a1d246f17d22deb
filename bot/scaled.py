"""The scaled profile on one machine (``make run-scaled``): every service twice, behind nginx.

What production runs on several machines (``deploy/``), here on loopback:

    customers ─▶ nginx :8000 ─▶ gateway 1 :8001, gateway 2 :8002 ─┐  Socket.IO rooms, console
                                                                  │  events, presence, rate
                 nginx :5005 ◀────────────────────────────────────┘  limits: Redis
                   ├▶ Rasa 1 :5006, Rasa 2 :5007   conversations: PostgreSQL tracker store,
                   │                               one turn at a time: Redis lock store
                 nginx :5055 ◀─ (action endpoint)
                   └▶ actions 1 :5056, actions 2 :5057 ─▶ PostgreSQL (profiles, desk, feedback)

PostgreSQL and Redis are started from Debian packages under ``BANKBOT_DATA_DIR/scaled`` unless
``PROFILE_DB`` / ``TRACKER_DB_HOST`` / ``REDIS_URL`` point at running ones. Ports are the usual
ones (nginx) plus 1, 2, … for the replicas.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from bot import supervisor
from bot.local_services import Nginx, Postgres, Redis
from bot.settings import Settings

REPLICAS = 2
ENDPOINTS = "deploy/endpoints.scaled.yml"
TRACKER_VARIABLES = (
    "TRACKER_DB_HOST",
    "TRACKER_DB_PORT",
    "TRACKER_DB_NAME",
    "TRACKER_DB_USER",
    "TRACKER_DB_PASSWORD",
)
STARTUP_TIMEOUT_SECONDS = 300
TEMP_PATHS = (
    "client_body",
    "proxy",
    "fastcgi",
    "uwsgi",
    "scgi",
)  # six heavy processes share the CPUs while they load


@dataclasses.dataclass
class Backends:
    """Where the replicas keep what they share; local servers are stopped with the system."""

    profile_db: str
    tracker: dict[str, str]  # TRACKER_DB_* variables for deploy/endpoints.scaled.yml
    redis_url: str
    local: list[Postgres | Redis]


def backends(settings: Settings) -> Backends:
    """The configured PostgreSQL and Redis, or local ones started now."""
    local: list[Postgres | Redis] = []
    directory = settings.data_dir / "scaled"
    profile_db = os.environ.get("PROFILE_DB", "")
    tracker_host = os.environ.get("TRACKER_DB_HOST", "")
    if not (profile_db.startswith("postgresql") and tracker_host):
        postgres = Postgres(directory / "postgres", _port("LOCAL_POSTGRES_PORT", 55432))
        print(f"==> starting PostgreSQL on 127.0.0.1:{postgres.port}", flush=True)
        postgres.start()
        local.append(postgres)
        profile_db = postgres.url("profile")
        tracker = _tracker_variables(postgres.url("tracker"))
    else:
        tracker = {name: os.environ.get(name, "") for name in TRACKER_VARIABLES}
    redis_url = os.environ.get("REDIS_URL", "")
    if not redis_url:
        redis = Redis(directory / "redis", _port("LOCAL_REDIS_PORT", 56379))
        print(f"==> starting Redis on 127.0.0.1:{redis.port}", flush=True)
        redis.start()
        local.append(redis)
        redis_url = redis.url
    return Backends(profile_db, tracker, redis_url, local)


def _port(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def _tracker_variables(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    values = (parts.hostname, str(parts.port or 5432), parts.path.lstrip("/"), parts.username, parts.password)
    return {name: value or "" for name, value in zip(TRACKER_VARIABLES, values, strict=True)}


def _redis_variables(url: str) -> dict[str, str]:
    """The lock store's REDIS_* variables; Rasa wants host, port and password separately."""
    parts = urlsplit(url)
    return {
        "REDIS_URL": url,
        "REDIS_HOST": parts.hostname or "127.0.0.1",
        "REDIS_PORT": str(parts.port or 6379),
        "REDIS_PASSWORD": parts.password or "",
    }


def scaled_settings(settings: Settings, shared: Backends) -> Settings:
    return dataclasses.replace(
        settings, profile_db=shared.profile_db, kb_feedback_db=shared.profile_db, redis_url=shared.redis_url
    )


def replica_ports(port: int, replicas: int = REPLICAS) -> list[int]:
    return [port + n for n in range(1, replicas + 1)]


def services(settings: Settings, model: Path, replicas: int = REPLICAS) -> list[supervisor.Service]:
    actions = [
        supervisor.action_server(settings, port, n)
        for n, port in enumerate(replica_ports(settings.action_port, replicas), 1)
    ]
    rasa = [
        supervisor.rasa_server(settings, model, port, n, ENDPOINTS)
        for n, port in enumerate(replica_ports(settings.rasa_port, replicas), 1)
    ]
    gateways = [
        supervisor.gateway(settings, port, n)
        for n, port in enumerate(replica_ports(settings.gateway_port, replicas), 1)
    ]
    return [*actions, *rasa, *gateways]


def environment(settings: Settings, shared: Backends) -> dict[str, str]:
    env = supervisor.service_env(settings)
    env.update(
        PROFILE_DB=shared.profile_db,
        KB_FEEDBACK_DB=shared.profile_db,
        SANIC_PROXIES_COUNT="1",  # the gateways see customers' addresses in nginx's X-Forwarded-For
        **shared.tracker,
        **_redis_variables(shared.redis_url),
    )
    return env


def nginx_config(settings: Settings, directory: Path, replicas: int = REPLICAS) -> str:
    """Round robin over Rasa and action servers; customers stick to one gateway (Socket.IO polling)."""
    temp = "".join(f"    {kind}_temp_path {directory}/tmp/{kind};\n" for kind in TEMP_PATHS)
    parts = [
        f"worker_processes 1;\npid {directory}/nginx.pid;\nerror_log {directory}/logs/error.log warn;\n",
        "events { worker_connections 4096; }\nhttp {\n    access_log off;\n",
        temp,
        "    map $http_upgrade $connection_upgrade { default upgrade; '' close; }\n",
        "    limit_conn_zone $binary_remote_addr zone=per_address:10m;\n",
        _upstream("gateways", replica_ports(settings.gateway_port, replicas), "ip_hash;"),
        _upstream("rasa", replica_ports(settings.rasa_port, replicas)),
        _upstream("actions", replica_ports(settings.action_port, replicas)),
        _proxy(settings.gateway_port, "gateways", "limit_conn per_address 200;"),
        _proxy(settings.rasa_port, "rasa"),
        _proxy(settings.action_port, "actions"),
        "}\n",
    ]
    return "".join(parts)


def _upstream(name: str, ports: list[int], option: str = "") -> str:
    servers = "".join(f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;\n" for port in ports)
    return f"    upstream {name} {{\n        {option}\n{servers}    }}\n"


def _proxy(port: int, upstream: str, option: str = "") -> str:
    """A listener passing everything (WebSockets too) to ``upstream``, trying the next on failure."""
    return f"""    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 64k;
        {option}
        location = /nginx-health {{ return 200 "ok"; }}
        location / {{
            proxy_pass http://{upstream};
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_read_timeout 150s;
            proxy_next_upstream error timeout;
        }}
    }}
"""


def run_scaled(settings: Settings, model: Path, prepare: Callable[[Settings], None]) -> int:
    """Start the backends, the replicas and nginx; stop all of it on Ctrl-C. ``prepare`` (index and
    profile database) runs while the Rasa servers load their model."""
    shared = backends(settings)
    nginx: Nginx | None = None
    try:
        settings = scaled_settings(settings, shared)
        directory = settings.data_dir / "scaled" / "nginx"
        (directory / "tmp").mkdir(parents=True, exist_ok=True)
        nginx = Nginx(directory, nginx_config(settings, directory))
        nginx.start(f"{settings.gateway_url}/nginx-health")
        replicas = services(settings, model)
        env = environment(settings, shared)
        label = f" (scaled: {REPLICAS}× gateway, Rasa, actions behind nginx)"
        return supervisor.run_services(
            settings, replicas, env, label, STARTUP_TIMEOUT_SECONDS, prepare=lambda: prepare(settings)
        )
    finally:
        if nginx is not None:
            nginx.stop()
        for backend in reversed(shared.local):
            backend.stop()
