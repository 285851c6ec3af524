"""The team deployment (README, "Deploy for a team"): compose.yaml, the Dockerfile and the load
balancer's configuration, checked without Docker.

compose.yaml is validated against the Compose Specification's JSON schema; the checks below it
are those a schema cannot make (names that must refer to other services, to settings, to the
upstream). Each check is a function returning what it found wrong, so that a test can also show
it catching a deliberately broken copy.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import yaml
from pydantic import AliasChoices

from rag.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_TEXT = (ROOT / "compose.yaml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
DOCKERFILE_TEXT = (ROOT / "Dockerfile").read_text()
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
# The Compose Specification's JSON schema, vendored unchanged from the compose-spec/compose-spec
# repository, schema/compose-spec.json at commit 00655e2222608fa6eaecdf12ac5195889ca2244a.
SCHEMA = json.loads((Path(__file__).with_name("data") / "compose-spec.json").read_text())

# Compose interpolation (${NAME}, ${NAME:-default}, ${NAME:?error}), blanked before a value is
# read as a URL.
INTERPOLATION = re.compile(r"\$\{[^}]*\}")
RAG_VARIABLE = re.compile(r"\bRAG_[A-Z0-9_]+\b")
# The replicated service, and the image each server it reaches runs.
REPLICAS = "rag"
SERVER_IMAGES = {
    "RAG_DATABASE_URL": "postgres:",
    "RAG_CHROMA_HOST": "chromadb/chroma:",
    "RAG_OPENAI_BASE_URL": "ghcr.io/ggml-org/llama.cpp:",
}


def schema_errors(compose: dict) -> list[str]:
    validator = jsonschema.Draft7Validator(SCHEMA)
    return [f"/{'/'.join(map(str, error.absolute_path))}: {error.message}"
            for error in validator.iter_errors(compose)]


def unknown_dependencies(compose: dict) -> list[str]:
    """Dependencies naming no service (depends_on is a list or a mapping of names)."""
    services = compose["services"]
    return [
        f"{name} depends on {dependency}"
        for name, service in services.items()
        for dependency in service.get("depends_on", [])
        if dependency not in services
    ]


def waits_without_healthcheck(compose: dict) -> list[str]:
    """`condition: service_healthy` on a service with no health check, which never becomes healthy."""
    services = compose["services"]
    return [
        f"{name} waits for {dependency} to be healthy"
        for name, service in services.items()
        for dependency, wait in _mapping(service.get("depends_on", {})).items()
        if wait.get("condition") == "service_healthy" and "healthcheck" not in services.get(dependency, {})
    ]


def setting_variables() -> set[str]:
    """The environment variables rag.settings.Settings reads: RAG_<FIELD>, or a field's aliases."""
    names = set()
    for name, field in Settings.model_fields.items():
        if isinstance(field.validation_alias, AliasChoices):
            names.update(choice for choice in field.validation_alias.choices if isinstance(choice, str))
        else:
            names.add(f"RAG_{name.upper()}")
    return names


def unknown_rag_variables(compose_text: str) -> list[str]:
    """RAG_* names anywhere in the file (keys, interpolations, comments) that no setting reads."""
    return sorted(set(RAG_VARIABLE.findall(compose_text)) - setting_variables())


def _mapping(depends_on: list | dict) -> dict:
    return depends_on if isinstance(depends_on, dict) else {}


def replica_environment() -> dict:
    return COMPOSE["services"][REPLICAS]["environment"]


def server_host(variable: str) -> str:
    value = INTERPOLATION.sub("x", replica_environment()[variable])
    return urlsplit(value).hostname if "://" in value else value


def service_running(image_prefix: str) -> str:
    return next(name for name, service in COMPOSE["services"].items()
                if service.get("image", "").startswith(image_prefix))


def nginx_upstreams(conf: str) -> dict[str, str]:
    """upstream name -> the block's body, comments removed."""
    conf = re.sub(r"#[^\n]*", "", conf)
    return dict(re.findall(r"\bupstream\s+([\w.-]+)\s*\{([^}]*)\}", conf))


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined and comments dropped."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip())
            for line in joined.splitlines() if line.strip()]


# compose.yaml against the specification


def test_compose_file_follows_the_compose_specification():
    assert schema_errors(COMPOSE) == []


def test_schema_check_rejects_a_misspelled_key():
    broken = copy.deepcopy(COMPOSE)
    broken["services"]["rag"]["depend_on"] = broken["services"]["rag"].pop("depends_on")
    assert any(error.startswith("/services/rag: 'depend_on'") for error in schema_errors(broken))


# What the schema cannot check


def test_every_dependency_is_a_service():
    assert unknown_dependencies(COMPOSE) == []


def test_dependency_check_catches_a_missing_service():
    broken = copy.deepcopy(COMPOSE)
    broken["services"]["rag"]["depends_on"]["postgress"] = {"condition": "service_healthy"}
    assert unknown_dependencies(broken) == ["rag depends on postgress"]


def test_every_health_wait_is_on_a_service_with_a_health_check():
    assert waits_without_healthcheck(COMPOSE) == []


def test_health_wait_check_catches_a_server_without_health_check():
    broken = copy.deepcopy(COMPOSE)
    del broken["services"]["chroma"]["healthcheck"]
    assert sorted(waits_without_healthcheck(broken)) == [
        "ingest waits for chroma to be healthy", "rag waits for chroma to be healthy"]


def test_every_rag_variable_is_a_setting():
    # RAG_DATABASE_URL needs the `database_url` setting of issue 16's PostgreSQL catalog.
    assert unknown_rag_variables(COMPOSE_TEXT) == []


def test_variable_check_catches_a_misspelled_setting():
    broken = COMPOSE_TEXT.replace("RAG_CHROMA_HOST:", "RAG_CHROMA_HOSTNAME:")
    assert "RAG_CHROMA_HOSTNAME" in unknown_rag_variables(broken)


def test_replicas_reach_postgres_by_its_service_name():
    assert server_host("RAG_DATABASE_URL") == service_running(SERVER_IMAGES["RAG_DATABASE_URL"])


def test_replicas_reach_chroma_by_its_service_name():
    assert server_host("RAG_CHROMA_HOST") == service_running(SERVER_IMAGES["RAG_CHROMA_HOST"])


def test_replicas_reach_the_llm_server_by_its_service_name():
    assert server_host("RAG_OPENAI_BASE_URL") == service_running(SERVER_IMAGES["RAG_OPENAI_BASE_URL"])


def test_replicas_listen_beyond_loopback():
    assert replica_environment()["RAG_UI_HOST"] == "0.0.0.0"


def test_rag_runs_several_replicas():
    assert COMPOSE["services"][REPLICAS]["deploy"]["replicas"] >= 2


# The load balancer


def test_load_balancer_uses_the_nginx_configuration():
    mounts = [volume.split(":")[:2] for volume in COMPOSE["services"]["lb"]["volumes"]]
    assert ["./deploy/nginx.conf", "/etc/nginx/conf.d/default.conf"] in mounts


def test_load_balancer_upstream_is_the_rag_service_and_port():
    conf = NGINX_CONF.read_text()
    upstream = re.search(r"\bproxy_pass\s+http://([\w.-]+)\s*;", conf).group(1)
    servers = re.findall(r"\bserver\s+(\S+?)[\s;]", nginx_upstreams(conf)[upstream])
    port = replica_environment().get("RAG_UI_PORT", Settings.model_fields["ui_port"].default)
    assert servers == [f"{REPLICAS}:{port}"]


def test_load_balancer_keeps_each_client_on_one_replica():
    # Gradio's queue needs every request of a session on one replica (deploy/nginx.conf).
    bodies = nginx_upstreams(NGINX_CONF.read_text()).values()
    assert all(re.search(r"^\s*(ip_hash|hash\s|sticky\s)", body, re.MULTILINE) for body in bodies)


# The image


def test_image_runs_rag_serve():
    commands = [arguments for instruction, arguments in dockerfile_instructions(DOCKERFILE_TEXT)
                if instruction == "CMD"]
    assert json.loads(commands[-1]) == ["rag", "serve"]


def test_image_installs_the_project_with_the_tested_versions():
    runs = [arguments for instruction, arguments in dockerfile_instructions(DOCKERFILE_TEXT)
            if instruction == "RUN"]
    assert any("-c constraints.txt -e '.[ui,openai,postgres]'" in run for run in runs)


def test_image_takes_the_cpu_build_of_torch():
    build_arguments = dict(arguments.split("=", 1)
                           for instruction, arguments in dockerfile_instructions(DOCKERFILE_TEXT)
                           if instruction == "ARG")
    assert build_arguments["TORCH_INDEX_URL"].endswith("/whl/cpu")
