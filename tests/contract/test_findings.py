"""Findings: stored as JSON, rendered from one registry of translated templates."""

from __future__ import annotations

import json

from tests.contract.conftest import entry, workspace
from tests.contract.test_rules import CASES
from workspaces.contract import Finding, Severity, evaluate_file


def test_it_round_trips_through_json(catalog):
    (finding,) = evaluate_file(entry("user/jules.yaml", workspace("Jules")), catalog).findings
    stored = json.loads(json.dumps(finding.as_dict()))
    assert Finding.from_dict(stored) == finding


def test_it_renders_message_from_params():
    finding = Finding(Severity.ERROR, "username.uppercase", "user.username", {"value": "Jules", "expected": "jules"})
    assert "Jules" in finding.message
    assert "Write jules." in finding.message


def test_it_uses_did_you_mean_variant():
    finding = Finding(Severity.ERROR, "email.tld", "user.email", {"value": "a@b.con", "tld": "con", "closest": "com"})
    assert finding.message.endswith("Did you mean .com?")


def test_it_keeps_unknown_placeholders_visible():
    finding = Finding(Severity.ERROR, "email.tld", "user.email", {})
    assert "%(tld)s" in finding.message


def test_it_falls_back_to_code_for_unknown_code():
    assert Finding(Severity.WARNING, "future.code").message == "future.code"


def test_it_has_template_for_every_reported_code(catalog):
    reported = []
    for _name, path, content, _codes in CASES:
        reported.extend(evaluate_file(entry(path, content), catalog).findings)
    without_template = sorted({finding.code for finding in reported if finding.message == finding.code})
    assert without_template == []


def test_it_fills_every_placeholder_of_reported_findings(catalog):
    for _name, path, content, _codes in CASES:
        for finding in evaluate_file(entry(path, content), catalog).findings:
            assert "%(" not in finding.message, (finding.code, finding.message)
