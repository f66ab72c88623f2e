"""The shipped deployment files are valid, offline, and agree with what the e2e tests run."""

import configparser
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from backoffice.settings import Settings
from tests.conftest import project_root

ROOT = project_root()
K8S = ROOT / "deploy" / "k8s"
BIN = Path(sys.executable).parent
MANIFESTS = sorted(K8S.glob("*.yaml"))


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / args[0]), *args[1:]], capture_output=True, text=True, timeout=120
    )


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def resource(kind: str, name: str) -> dict[str, Any]:
    for path in MANIFESTS:
        for doc in documents(path):
            if doc["kind"] == kind and doc["metadata"]["name"] == name:
                return doc
    raise LookupError(f"{kind}/{name}")


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda path: path.name)
def test_kubernetes_manifest_validates_strictly(manifest: Path) -> None:
    result = run_tool("kubernetes-validate", "--strict", "--quiet", str(manifest))
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_file_follows_the_compose_specification() -> None:
    result = run_tool(
        "check-jsonschema",
        "--builtin-schema",
        "vendor.compose-spec",
        str(ROOT / "docker-compose.yml"),
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "deploy/pgbouncer.Dockerfile"])
def test_dockerfile_is_hadolint_clean(dockerfile: str) -> None:
    result = run_tool("hadolint", str(ROOT / dockerfile))
    assert result.returncode == 0, result.stdout + result.stderr


def test_image_runs_as_a_numeric_user_and_checks_readiness() -> None:
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    user = next(line.split()[1] for line in lines if line.startswith("USER "))
    healthcheck = next(line for line in lines if line.lstrip().startswith('CMD ["python"'))
    assert all(part.isdigit() for part in user.split(":"))
    assert "/health/ready" in healthcheck


def test_compose_gates_nginx_on_ready_replicas_and_uses_the_shipped_configs() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    replicas = [name for name in services if name.startswith("api")]
    assert replicas
    for name in replicas:
        assert "/health/ready" in " ".join(services[name]["healthcheck"]["test"])
        assert "@pgbouncer:" in services[name]["environment"]["DATABASE_URL"]
    assert services["nginx"]["depends_on"] == {
        name: {"condition": "service_healthy"} for name in replicas
    }
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in services["nginx"]["volumes"]
    assert (
        "./deploy/pgbouncer.ini:/etc/pgbouncer/pgbouncer.ini:ro" in services["pgbouncer"]["volumes"]
    )


def pgbouncer_settings(text: str) -> dict[str, str]:
    parser = configparser.ConfigParser(comment_prefixes=(";", "#"), interpolation=None)
    parser.read_string(text)
    return dict(parser["pgbouncer"])


def test_kubernetes_pgbouncer_has_the_shipped_settings() -> None:
    shipped = pgbouncer_settings((ROOT / "deploy" / "pgbouncer.ini").read_text())
    in_cluster = pgbouncer_settings(
        resource("ConfigMap", "backoffice-pgbouncer")["data"]["pgbouncer.ini"]
    )
    assert in_cluster == shipped
    assert shipped["pool_mode"] == "transaction"
    assert shipped["server_login_retry"] == "1"


def test_api_deployment_drains_within_its_grace_period() -> None:
    deployment = resource("Deployment", "backoffice-api")
    settings = resource("ConfigMap", "backoffice-config")["data"]
    pod = deployment["spec"]["template"]["spec"]
    (api,) = pod["containers"]
    pause = int(api["lifecycle"]["preStop"]["exec"]["command"][-1])
    drain = float(settings["DRAIN_SECONDS"])
    grace = float(settings["GRACEFUL_SHUTDOWN_SECONDS"])
    assert deployment["spec"]["replicas"] == 3
    assert api["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert api["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert pause >= drain
    assert pod["terminationGracePeriodSeconds"] > pause + drain + grace
    assert {"requests", "limits"} <= api["resources"].keys()


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("Deployment", "backoffice-api"),
        ("Job", "backoffice-migrate"),
        ("Deployment", "backoffice-pgbouncer"),
        ("Deployment", "backoffice-valkey"),
    ],
)
def test_pods_run_non_root_on_a_read_only_root(kind: str, name: str) -> None:
    pod = resource(kind, name)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    for container in pod["containers"]:
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False


def test_migration_job_runs_backoffice_migrate() -> None:
    job = resource("Job", "backoffice-migrate")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["backoffice", "migrate"]


def test_compose_replicas_share_one_rate_limit_store() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    replicas = [name for name in services if name.startswith("api")]
    for name in replicas:
        environment = services[name]["environment"]
        store = environment["RATE_LIMIT_STORAGE_URL"].removeprefix("redis://").split(":")[0]
        assert store in services
        assert services[name]["depends_on"][store] == {"condition": "service_started"}
        workers = int(environment["WEB_CONCURRENCY"].removesuffix("}").split(":-")[-1])
        fallback = int(environment["RATE_LIMIT_REPLICAS"].removesuffix("}").split(":-")[-1])
        assert fallback == len(replicas) * workers
    assert "ports" not in services[store]


def test_kubernetes_pods_share_the_valkey_service_for_their_budgets() -> None:
    secret = resource("Secret", "backoffice-secrets")["stringData"]
    settings = resource("ConfigMap", "backoffice-config")["data"]
    deployment = resource("Deployment", "backoffice-api")
    (api,) = deployment["spec"]["template"]["spec"]["containers"]
    env = {entry["name"]: entry for entry in api["env"]}
    service = resource("Service", "backoffice-valkey")["metadata"]["name"]
    assert f"@{service}:6379/" in secret["RATE_LIMIT_STORAGE_URL"]
    assert env["RATE_LIMIT_STORAGE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "backoffice-secrets",
        "key": "RATE_LIMIT_STORAGE_URL",
    }
    processes = deployment["spec"]["replicas"] * int(settings["WEB_CONCURRENCY"])
    assert int(settings["RATE_LIMIT_REPLICAS"]) == processes


def compose_value(value: str) -> str:
    """A compose value as `docker compose` would make it with nothing set: a default
    (`${X:-default}`) stands in, a required variable (`${X:?...}`) gets a good secret."""
    value = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)
    return re.sub(r"\$\{\w+:\?[^}]*\}", "s" * 40, value)


def settings_of(env: dict[str, str]) -> Settings:
    """The settings a process with this environment (and no other) would run with."""
    return Settings(_env_file=None, **{key.lower(): value for key, value in env.items()})


def test_compose_sends_the_api_mails_to_mailpit_and_passes_the_prod_checks() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    replicas = [name for name in services if name.startswith("api")]
    assert services["mailpit"]["image"].startswith("axllent/mailpit:")
    assert "8025:8025" in services["mailpit"]["ports"]
    for name in replicas:
        env = {
            key: compose_value(str(value)) for key, value in services[name]["environment"].items()
        }
        settings = Settings(_env_file=None, **{key.lower(): value for key, value in env.items()})
        assert (settings.email_backend, settings.smtp_host) == ("smtp", "mailpit")
        assert (settings.smtp_port, settings.smtp_tls) == (1025, "none")


def test_kubernetes_takes_the_smtp_relay_from_the_secret_and_passes_the_prod_checks() -> None:
    config = resource("ConfigMap", "backoffice-config")["data"]
    secret = resource("Secret", "backoffice-secrets")["stringData"]
    (api,) = resource("Deployment", "backoffice-api")["spec"]["template"]["spec"]["containers"]
    from_secret = {item["name"]: item["valueFrom"]["secretKeyRef"]["key"] for item in api["env"]}
    relay = ("SMTP_HOST", "SMTP_USERNAME", "SMTP_PASSWORD")
    assert {name: from_secret[name] for name in relay} == {name: name for name in relay}
    assert not set(relay) & set(config)
    env = config | {name: secret[key] for name, key in from_secret.items()}
    settings = settings_of(env)
    assert (settings.email_backend, settings.smtp_host) == ("smtp", secret["SMTP_HOST"])
    assert settings.smtp_username == secret["SMTP_USERNAME"]
    assert settings.smtp_password.get_secret_value() == secret["SMTP_PASSWORD"]
