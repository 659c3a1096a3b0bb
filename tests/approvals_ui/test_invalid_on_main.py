"""A file on main that fails validation is listed for admins and never provisioned."""

from approvals.models import ApprovedFile
from workspaces.contract import Finding, Severity


def test_workspaces_page_lists_invalid_files_on_main(admin_client, db):
    finding = Finding(
        severity=Severity.ERROR,
        code="cuda.unknown",
        field="cuda.version",
        params={"value": "cuda12.9", "offered": "cuda12.8, cuda13.0"},
        suggestion="version: cuda12.8",
    )
    ApprovedFile.objects.create(path="user/sven.yaml", username="sven", valid=False, findings=[finding.as_dict()])

    response = admin_client.get("/admin/workspaces/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "user/sven.yaml" in page
    assert finding.message in page
