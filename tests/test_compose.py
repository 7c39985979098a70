"""Static checks of the production deployment files (no Docker engine needed).

Parses docker-compose.yml, Dockerfile and .dockerignore and checks them against the code: service set,
pinned images, health checks and start-up order, and that every ``YISHI_*`` variable handed to a
container is a real field of ``yishi.settings.Settings``. And the exposure: only the TLS proxy is published
beyond this machine, the app trusts exactly the proxy's forwarded headers, and Temporal is the production
server image at the version the tests run against.
"""

from __future__ import annotations

import importlib
import json
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

EXPECTED_SERVICES = {"postgres", "temporal-schema", "temporal-archival-dir", "temporal", "temporal-namespace",
                     "temporal-ui", "yishi-migrate", "yishi-worker", "yishi-web", "proxy"}
PROXY = "proxy"  # the one service reachable from other machines
CADDYFILE = ROOT / "deploy" / "caddy" / "Caddyfile"
NEEDS_HEALTHCHECK = ("postgres", "temporal", "yishi-web")
LONG_RUNNING_YISHI = ("yishi-worker", "yishi-web")
REQUIRED_YISHI_FIELDS = ("database_url", "temporal_address", "secret_key", "public_base_url")


# --------------------------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    assert COMPOSE_FILE.is_file(), f"{COMPOSE_FILE.name} is missing at the repository root"
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{COMPOSE_FILE.name} is not a YAML mapping"
    assert isinstance(data.get("services"), dict), f"{COMPOSE_FILE.name} has no 'services' mapping"
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="module")
def settings_env_names() -> set[str]:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    settings_cls = importlib.import_module("yishi.settings").Settings
    return {"YISHI_" + name.upper() for name in settings_cls.model_fields}


def _environment(service: dict[str, Any]) -> dict[str, str | None]:
    """A service's environment as a dict, whether written as a mapping or as a list of KEY=VALUE."""
    env = service.get("environment") or {}
    if isinstance(env, dict):
        return {str(k): (None if v is None else str(v)) for k, v in env.items()}
    out: dict[str, str | None] = {}
    for item in env:
        key, sep, value = str(item).partition("=")
        out[key] = value if sep else None
    return out


def _depends_on(service: dict[str, Any]) -> dict[str, str]:
    """depends_on as {service: condition}; the short list form means service_started."""
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {name: "service_started" for name in deps}
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def _image_tag(image: str) -> str | None:
    """The tag of an image reference (``registry:5000/repo:tag`` -> ``tag``), or None if untagged."""
    if "@sha256:" in image:
        return image.split("@", 1)[1]
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def _healthcheck_text(service: dict[str, Any]) -> str:
    test = (service.get("healthcheck") or {}).get("test")
    return " ".join(test) if isinstance(test, list) else str(test or "")


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with comments dropped and backslash continuations joined."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        if full:
            keyword, _, args = full.partition(" ")
            instructions.append((keyword.upper(), args.strip()))
    return instructions


def _exec_or_shell_form(args: str) -> list[str]:
    if args.startswith("["):
        return json.loads(args)
    return shlex.split(args)


# --------------------------------------------------------------------------------------------- compose


def test_all_services_present(services: dict[str, Any]) -> None:
    missing = EXPECTED_SERVICES - services.keys()
    assert not missing, f"docker-compose.yml lacks services: {sorted(missing)}"


def test_every_image_is_pinned(services: dict[str, Any]) -> None:
    problems = []
    for name, service in services.items():
        image = service.get("image")
        if image is None:
            if "build" not in service:
                problems.append(f"{name}: neither 'image' nor 'build'")
            continue
        tag = _image_tag(str(image))
        if tag is None:
            problems.append(f"{name}: image {image!r} has no tag (implicitly 'latest')")
        elif tag == "latest" or "$" in tag:
            problems.append(f"{name}: image {image!r} uses a floating tag {tag!r}")
        elif not re.search(r"\d", tag):
            problems.append(f"{name}: image {image!r} tag {tag!r} has no version number")
        elif re.fullmatch(r"v?\d+", tag.split("-", 1)[0]):
            problems.append(f"{name}: image {image!r} pins only a major version; use an exact version")
    assert not problems, "images not pinned to an exact version:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("name", NEEDS_HEALTHCHECK)
def test_healthchecks(services: dict[str, Any], name: str) -> None:
    healthcheck = services[name].get("healthcheck")
    assert healthcheck, f"service {name!r} has no healthcheck; dependants cannot wait for it"
    assert not healthcheck.get("disable"), f"service {name!r} has its healthcheck disabled"
    test = healthcheck.get("test")
    assert test and test != ["NONE"], f"service {name!r} healthcheck has no 'test' command"


def test_web_healthcheck_hits_healthz(services: dict[str, Any]) -> None:
    text = _healthcheck_text(services["yishi-web"])
    assert "/healthz" in text, f"yishi-web healthcheck should request /healthz, got: {text!r}"
    assert "curl" not in text and "wget" not in text, (
        "yishi-web healthcheck uses curl/wget, which python:*-slim images do not have"
    )


def test_temporal_waits_for_postgres_and_its_schema(services: dict[str, Any]) -> None:
    assert _depends_on(services["temporal-schema"]).get("postgres") == "service_healthy"
    deps = _depends_on(services["temporal"])
    assert deps.get("postgres") == "service_healthy", (
        f"temporal must depend on postgres with condition service_healthy, got {deps!r}"
    )
    assert deps.get("temporal-schema") == "service_completed_successfully", (
        f"temporal must start after its schema step completed, got {deps!r}"
    )
    assert _depends_on(services["temporal-namespace"]).get("temporal") == "service_healthy"


@pytest.mark.parametrize("name", LONG_RUNNING_YISHI)
def test_yishi_start_order(services: dict[str, Any], name: str) -> None:
    deps = _depends_on(services[name])
    expected = {
        "postgres": "service_healthy",
        "temporal": "service_healthy",
        "temporal-namespace": "service_completed_successfully",
        "yishi-migrate": "service_completed_successfully",
    }
    wrong = {dep: deps.get(dep) for dep, cond in expected.items() if deps.get(dep) != cond}
    assert not wrong, f"{name} depends_on is wrong for {sorted(wrong)}: expected {expected!r}, got {deps!r}"


def test_migrate_is_one_shot(services: dict[str, Any]) -> None:
    migrate = services["yishi-migrate"]
    command = migrate.get("command")
    command = shlex.split(command) if isinstance(command, str) else command
    assert command and command[0] == "migrate", f"yishi-migrate should run `yishi migrate`, got {command!r}"
    for name in ("yishi-migrate", "temporal-schema", "temporal-archival-dir", "temporal-namespace"):
        restart = services[name].get("restart", "no")
        assert str(restart) in {"no", "False", "false", "on-failure"}, (
            f"{name} must not restart after completing (restart: {restart!r}); "
            "otherwise service_completed_successfully never holds"
        )


def test_yishi_env_vars_are_settings_fields(services: dict[str, Any], settings_env_names: set[str]) -> None:
    unknown = sorted(
        f"{name}: {key}"
        for name, service in services.items()
        for key in _environment(service)
        if key.startswith("YISHI_") and key not in settings_env_names
    )
    assert not unknown, (
        "YISHI_* variables that no field of yishi.settings.Settings reads (typo, or a field the "
        "settings model lacks):\n  " + "\n  ".join(unknown)
    )


@pytest.mark.parametrize("name", LONG_RUNNING_YISHI)
def test_required_yishi_env_is_set(services: dict[str, Any], name: str) -> None:
    env = _environment(services[name])
    missing = [
        f"YISHI_{field.upper()}" for field in REQUIRED_YISHI_FIELDS if not env.get(f"YISHI_{field.upper()}")
    ]
    assert not missing, f"{name} lacks (or leaves empty) required environment variables: {missing}"


def test_secret_key_must_be_provided(services: dict[str, Any]) -> None:
    for name in LONG_RUNNING_YISHI:
        value = _environment(services[name]).get("YISHI_SECRET_KEY") or ""
        assert re.fullmatch(r"\$\{YISHI_SECRET_KEY:\?[^}]*\}", value), (
            f"{name}: YISHI_SECRET_KEY should be ${{YISHI_SECRET_KEY:?...}} so compose refuses to start "
            f"without it; got {value!r}"
        )


def test_web_listens_in_its_container_and_publishes_on_loopback_only(services: dict[str, Any]) -> None:
    web = services["yishi-web"]
    env = _environment(web)
    assert env.get("YISHI_WEB_HOST") == "0.0.0.0", (
        f"yishi-web must listen on 0.0.0.0 inside its container (the proxy reaches it over the edge network), "
        f"YISHI_WEB_HOST={env.get('YISHI_WEB_HOST')!r}"
    )
    port = env.get("YISHI_WEB_PORT") or "8000"
    assert [str(p) for p in web.get("ports") or []] == [f"127.0.0.1:{port}:{port}"], (
        "yishi-web speaks plain HTTP: publish it on 127.0.0.1 only (residents come through the proxy)"
    )


def _published(service: dict[str, Any]) -> list[str]:
    return [str(p) if not isinstance(p, dict) else f"{p.get('host_ip', '')}:{p.get('published')}:{p.get('target')}"
            for p in service.get("ports") or []]


def test_only_the_proxy_is_published_beyond_this_machine(services: dict[str, Any]) -> None:
    exposed = [f"{name}: {port}" for name, service in services.items() if name != PROXY
               for port in _published(service) if not port.startswith("127.0.0.1:")]
    assert not exposed, "ports published on every interface (bind them to 127.0.0.1):\n  " + "\n  ".join(exposed)
    assert {p.split("/")[0] for p in _published(services[PROXY])} == {"80:80", "443:443"}


def _proxy_address(services: dict[str, Any]) -> tuple[str, str]:
    networks = services[PROXY].get("networks") or {}
    assert isinstance(networks, dict) and len(networks) == 1, f"the proxy should be on one network: {networks!r}"
    ((network, spec),) = networks.items()
    address = (spec or {}).get("ipv4_address")
    assert address, "the proxy needs a fixed address for the app to trust its forwarded headers"
    return network, address


def test_the_app_trusts_exactly_the_proxy(compose: dict[str, Any], services: dict[str, Any]) -> None:
    import ipaddress

    from yishi.web.proxy import TrustedProxies, parse_networks

    network, address = _proxy_address(services)
    subnets = [c["subnet"] for c in compose["networks"][network]["ipam"]["config"]]
    assert any(ipaddress.ip_address(address) in ipaddress.ip_network(n) for n in subnets), (address, subnets)
    web = services["yishi-web"]
    assert network in (web.get("networks") or []), f"yishi-web is not on the proxy's network {network!r}"
    trusted = _environment(web).get("YISHI_TRUSTED_PROXIES") or ""
    proxies = TrustedProxies(parse_networks(trusted))
    assert proxies.trusts(ipaddress.ip_address(address)), f"YISHI_TRUSTED_PROXIES={trusted!r} misses {address}"
    assert not proxies.trusts(ipaddress.ip_address(subnets[0].split("/")[0])), "trust the proxy, not its network"
    assert not proxies.trusts(ipaddress.ip_address("127.0.0.1")), "in a container, loopback is not the proxy"


def test_the_proxy_terminates_tls_for_the_public_host(services: dict[str, Any]) -> None:
    proxy = services[PROXY]
    assert str(proxy["image"]).startswith("caddy:"), proxy["image"]
    mounts = [str(v) for v in proxy.get("volumes") or []]
    assert "./deploy/caddy/Caddyfile:/etc/caddy/Caddyfile:ro" in mounts, mounts
    text = "\n".join(line.split("#", 1)[0] for line in CADDYFILE.read_text(encoding="utf-8").splitlines())
    assert "{$YISHI_PUBLIC_BASE_URL}" in text and _environment(proxy).get("YISHI_PUBLIC_BASE_URL"), (
        "Caddy serves (and gets the certificate for) the host of the public links"
    )
    port = _environment(services["yishi-web"]).get("YISHI_WEB_PORT") or "8000"
    assert re.search(rf"^\s*reverse_proxy yishi-web:{port}\s*$", text, re.M), "the proxy must pass to yishi-web"
    assert "trusted_proxies" not in text, "Caddy must not believe X-Forwarded-For sent by clients"


def _tested_temporal_server() -> str:
    from yishi.embedded import temporal_binary

    out = subprocess.run([str(temporal_binary()), "--version"], capture_output=True, text=True, timeout=30).stdout
    match = re.search(r"Server (\d+\.\d+\.\d+)", out)
    assert match, f"cannot read the server version from `temporal --version`: {out!r}"
    return match.group(1)


def test_temporal_is_the_server_image_at_the_tested_version(services: dict[str, Any]) -> None:
    version = _tested_temporal_server()
    images = {name: str(s.get("image", "")) for name, s in services.items()}
    assert not [n for n, i in images.items() if "auto-setup" in i], "temporalio/auto-setup is a development image"
    assert images["temporal"] == f"temporalio/server:{version}", (
        f"the tests run against Temporal {version}; compose runs {images['temporal']}"
    )
    for name in ("temporal-schema", "temporal-archival-dir", "temporal-namespace"):
        assert images[name] == f"temporalio/admin-tools:{version}", f"{name}: {images[name]}"


def test_the_schema_step_sets_up_both_databases(services: dict[str, Any]) -> None:
    step = services["temporal-schema"]
    mounts = [str(v) for v in step.get("volumes") or []]
    assert "./deploy/temporal/setup-schema.sh:/setup-schema.sh:ro" in mounts, mounts
    script = (ROOT / "deploy" / "temporal" / "setup-schema.sh").read_text(encoding="utf-8")
    for word in ("temporal-sql-tool", "setup-schema -v 0.0", "update-schema -d", '"temporal:temporal"',
                 '"temporal_visibility:visibility"', "set -eu"):
        assert word in script, f"setup-schema.sh lacks {word!r}"
    assert _environment(services["temporal"]).get("SKIP_SCHEMA_SETUP") == "true"
    assert _environment(step).get("POSTGRES_PWD") == _environment(services["temporal"]).get("POSTGRES_PWD")


def test_yishi_services_use_the_project_image(services: dict[str, Any]) -> None:
    images = set()
    for name in ("yishi-migrate", "yishi-worker", "yishi-web"):
        build = services[name].get("build")
        assert build, f"{name} has no 'build'; it should be built from the repository's Dockerfile"
        context = build if isinstance(build, str) else build.get("context", ".")
        dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
        assert (ROOT / context / dockerfile).resolve() == DOCKERFILE, (
            f"{name} builds from {context}/{dockerfile}, not the repository's Dockerfile"
        )
        images.add(services[name].get("image"))
    assert len(images) == 1, f"yishi services should share one image name, got {sorted(map(str, images))}"


def test_bind_mounted_host_paths_exist(services: dict[str, Any]) -> None:
    missing = []
    for name, service in services.items():
        for volume in service.get("volumes") or []:
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume.get("source", "")
            if source.startswith((".", "/")) and not (ROOT / source).exists():
                missing.append(f"{name}: {source}")
    assert not missing, "bind-mounted paths that do not exist in the repository:\n  " + "\n  ".join(missing)


# --------------------------------------------------------------------------------------------- kept histories


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """Named-volume mounts of a service: container path -> 'volume[:ro]'."""
    found = {}
    for volume in service.get("volumes") or []:
        parts = str(volume).split(":")
        if not parts[0].startswith((".", "/")):
            found[parts[1]] = ":".join([parts[0], *parts[2:]])
    return found


def test_the_worker_keeps_histories_on_a_volume_of_their_own(compose: dict[str, Any],
                                                             services: dict[str, Any]) -> None:
    """Closed runs' histories outlive Temporal's retention, outside PostgreSQL (docs/audit.md, "Kept histories")."""
    path = _environment(services["yishi-worker"]).get("YISHI_HISTORIES_DIR")
    assert path and path.startswith("/"), f"YISHI_HISTORIES_DIR={path!r}"
    assert _mounts(services["yishi-worker"]).get(path) == "histories", "the keeper must write to a named volume"
    assert _mounts(services["yishi-web"]).get(path) == "histories:ro", "the console's audit reads it, read-only"
    assert "histories" in compose["volumes"]
    assert all(path not in _mounts(s) for n, s in services.items() if n not in ("yishi-worker", "yishi-web"))
    assert "histories" not in {v.split(":")[0] for v in _mounts(services["postgres"]).values()}
    # A named volume starts with the owner of the image's folder at its mount point: the runtime user's.
    created = [args for keyword, args in _dockerfile_instructions() if keyword == "RUN" and path in args]
    assert created and re.search(rf"install -d -o yishi -g yishi -m 0700 {re.escape(path)}\b", created[0]), created


def test_temporal_archives_closed_histories_to_a_volume(compose: dict[str, Any], services: dict[str, Any]) -> None:
    """Temporal's own history archival (file store), beside Yishi's keeper: the server image enables it for the
    cluster; the namespace step turns it on, with URIs inside the server's archival volume."""
    mounts = _mounts(services["temporal"])
    archive = next((path for path, volume in mounts.items() if volume == "temporal_archival"), None)
    assert archive, f"the temporal service mounts no archival volume: {mounts}"
    assert "temporal_archival" in compose["volumes"]
    env = _environment(services["temporal-namespace"])
    for key in ("HISTORY_ARCHIVAL_URI", "VISIBILITY_ARCHIVAL_URI"):
        uri = env.get(key) or ""
        assert uri.startswith(f"file://{archive}/"), f"{key}={uri!r} is not in the archival volume {archive}"
    script = (ROOT / "deploy" / "temporal" / "create-namespace.sh").read_text(encoding="utf-8")
    for word in ('--history-archival-state enabled --history-uri "$HISTORY_URI"',
                 '--visibility-archival-state enabled --visibility-uri "$VISIBILITY_URI"',
                 "temporal operator namespace update", "temporal operator namespace create"):
        assert word in script, f"create-namespace.sh lacks {word!r}"
    step = services["temporal-archival-dir"]
    assert _mounts(step) == {"/archival": "temporal_archival"} and str(step.get("user")) == "0:0"
    assert "chown -R 1000:1000 /archival" in " ".join(step["entrypoint"]), "the server image runs as uid 1000"
    assert _depends_on(services["temporal"]).get("temporal-archival-dir") == "service_completed_successfully"


def test_the_namespace_script_runs_against_a_real_server(temporal_server: Any, tmp_path: Path) -> None:
    """The script of the namespace step, with the tested `temporal` CLI, against the embedded server: it creates a
    namespace with archival, and runs again on it (the update of an existing deployment). The dev server has no
    cluster archival, so it leaves the state Disabled: the archival itself is not run here."""
    import os
    import uuid

    from yishi.embedded import temporal_binary

    env = {**os.environ, "PATH": f"{temporal_binary().parent}:{os.environ.get('PATH', '')}",
           "TEMPORAL_ADDRESS": temporal_server.address, "DEFAULT_NAMESPACE": f"compose-{uuid.uuid4().hex[:8]}",
           "HISTORY_ARCHIVAL_URI": f"file://{tmp_path}/history", "VISIBILITY_ARCHIVAL_URI": f"file://{tmp_path}/vis"}
    for verb in ("registered", "update succeeded"):
        proc = subprocess.run(["/bin/sh", str(ROOT / "deploy" / "temporal" / "create-namespace.sh")], env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0 and verb in proc.stdout, proc.stdout + proc.stderr
        assert "HistoryArchivalState" in proc.stdout


# --------------------------------------------------------------------------------------------- image


def test_dockerfile_runs_as_non_root() -> None:
    assert DOCKERFILE.is_file(), "Dockerfile is missing at the repository root"
    users = [args for keyword, args in _dockerfile_instructions() if keyword == "USER"]
    assert users, "Dockerfile has no USER instruction, so the container runs as root"
    user = users[-1].split(":", 1)[0]
    assert user not in {"root", "0"}, f"Dockerfile's final USER is {users[-1]!r}, which is root"


def test_dockerfile_entrypoint_is_yishi() -> None:
    entrypoints = [args for keyword, args in _dockerfile_instructions() if keyword == "ENTRYPOINT"]
    assert entrypoints, 'Dockerfile has no ENTRYPOINT; it should be ["yishi"]'
    argv = _exec_or_shell_form(entrypoints[-1])
    assert argv[:1] == ["yishi"], f"Dockerfile ENTRYPOINT should start with 'yishi', got {argv!r}"


def test_dockerfile_base_image_pinned() -> None:
    bases = [args.split()[0] for keyword, args in _dockerfile_instructions() if keyword == "FROM"]
    assert bases, "Dockerfile has no FROM"
    for base in bases:
        tag = _image_tag(base)
        assert tag and tag != "latest" and re.search(r"\d+\.\d+", tag), (
            f"Dockerfile base image {base!r} is not pinned to an exact version"
        )


def test_dockerfile_copies_everything_the_package_needs() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools_cfg = pyproject["tool"]["setuptools"]
    needed = {"pyproject.toml", pyproject["project"]["readme"]}
    needed |= {pattern.rstrip("*").rstrip(".") for pattern in setuptools_cfg["packages"]["find"]["include"]}
    needed |= {f"{module}.py" for module in setuptools_cfg.get("py-modules", [])}

    copied: set[str] = set()
    for keyword, args in _dockerfile_instructions():
        if keyword in {"COPY", "ADD"}:
            parts = [p for p in _exec_or_shell_form(args) if not p.startswith("--")]
            copied |= {p.rstrip("/").removeprefix("./") for p in parts[:-1]}
    missing = sorted(needed - copied)
    assert not missing, f"Dockerfile does not COPY what `pip install .` needs: {missing}"

    ignored = {line.strip().rstrip("/") for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()}
    excluded = sorted(needed & ignored)
    assert not excluded, f".dockerignore excludes files the image build needs: {excluded}"


def test_dockerignore_excludes_local_state() -> None:
    assert DOCKERIGNORE.is_file(), ".dockerignore is missing at the repository root"
    patterns = {
        line.strip().removeprefix("**/").removeprefix("/").rstrip("/")
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    }
    missing = [p for p in (".venv", ".data", ".env") if p not in patterns]
    assert not missing, f".dockerignore should exclude {missing} (local virtualenv, embedded data, secrets)"
