"""The shipped alert rules and dashboard are valid, tested, and use only metrics the
service exports: a renamed metric fails here, not silently in production."""

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import project_root
from tests.e2e.conftest import unavailable

ROOT = project_root()
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "alerts_test.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "backoffice.json"
RUNBOOK = ROOT / "docs" / "runbook.md"
METRIC_NAME = re.compile(r"\bbackoffice_[a-z0-9_]+")
HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    if binary is None:
        unavailable("promtool not installed (make e2e-deps installs Debian's prometheus)")
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=120)


def rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def dashboard_expressions() -> list[str]:
    def walk(panels: list[dict[str, Any]]) -> list[str]:
        found = []
        for panel in panels:
            found += [target["expr"] for target in panel.get("targets", [])]
            found += walk(panel.get("panels", []))
        return found

    return walk(json.loads(DASHBOARD.read_text())["panels"])


def exported_names(exposition: str) -> set[str]:
    """Every series name `/metrics` declares, labelled or not, with a histogram's parts."""
    names = set()
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            names.add(name)
            if kind == "histogram":
                names.update(name + suffix for suffix in HISTOGRAM_SUFFIXES)
    return names


def test_the_alert_rules_are_valid() -> None:
    result = promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_alert_rules_pass_their_unit_tests() -> None:
    result = promtool("test", "rules", str(RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


async def test_every_metric_in_the_rules_and_dashboard_is_exported(
    client: httpx.AsyncClient,
) -> None:
    await client.get("http://test/health/ready")
    exported = exported_names((await client.get("http://test/metrics")).text)
    used = {
        name
        for expression in [rule["expr"] for rule in rules()] + dashboard_expressions()
        for name in METRIC_NAME.findall(expression)
    }
    missing = sorted(used - exported)
    assert not missing, f"used but not exported: {missing}"


@pytest.mark.parametrize("rule", rules(), ids=lambda rule: rule["alert"])
def test_each_alert_has_a_summary_and_a_runbook_paragraph(rule: dict[str, Any]) -> None:
    annotations = rule["annotations"]
    assert annotations["summary"]
    path, _, anchor = annotations["runbook"].partition("#")
    assert (ROOT / path) == RUNBOOK
    assert anchor in headings(RUNBOOK)


def headings(markdown: Path) -> set[str]:
    """GitHub's anchors of the `##`/`###` headings."""
    anchors = set()
    for line in markdown.read_text().splitlines():
        if line.startswith("##"):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^a-z0-9 _-]", "", title).replace(" ", "-"))
    return anchors
