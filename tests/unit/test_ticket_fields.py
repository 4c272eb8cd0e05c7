"""What a ticket in a project asks, at the HTTP layer: the custom fields for the project's trackers, a tracker's
disabled standard fields, versions and categories, and groups offered only where Redmine's own assignee list
holds them (the setting "Allow issue assignment to groups" is not in the REST API). The real Redmine's answers
are checked in tests/integration/test_company_form.py."""

from __future__ import annotations

import pytest
import responses

from app_integration.adapters.redmine.gateway import RedmineGateway
from app_integration.adapters.redmine.ticket_fields import RedmineFieldCatalog
from app_integration.core.commands.custom_values import value_of

URL = "http://redmine.test"
SELECT = '<select name="issue[assigned_to_id]" id="issue_assigned_to_id"><option value="">&nbsp;</option>'


def serve(groups_offered: bool) -> None:
    field = {
        "id": 7,
        "name": "Severity",
        "customized_type": "issue",
        "field_format": "list",
        "is_required": True,
        "default_value": "S3",
        "visible": True,
        "possible_values": [{"value": "S1", "label": "S1"}, {"value": "S3", "label": "S3"}],
        "trackers": [{"id": 1, "name": "Bug"}],
        "roles": [],
    }
    responses.get(f"{URL}/custom_fields.json", json={"custom_fields": [field]})
    trackers = [
        {"id": 1, "name": "Bug", "enabled_standard_fields": ["due_date", "description"]},
        {"id": 3, "name": "Support", "enabled_standard_fields": ["description"]},
    ]
    responses.get(f"{URL}/trackers.json", json={"trackers": trackers})
    project = {
        "id": 4,
        "identifier": "acme",
        "name": "Acme",
        "trackers": [{"id": 1, "name": "Bug"}, {"id": 3, "name": "Support"}],
        "issue_categories": [{"id": 2, "name": "Frontend"}],
        "issue_custom_fields": [{"id": 7, "name": "Severity"}],
    }
    responses.get(f"{URL}/projects/acme.json", json={"project": project})
    responses.get(f"{URL}/projects/4/versions.json", json={"versions": [{"id": 1, "name": "1.0", "status": "open"}]})
    members = [
        {"id": 1, "user": {"id": 5, "name": "Alice"}, "roles": []},
        {"id": 2, "group": {"id": 12, "name": "Support team"}, "roles": []},
    ]
    responses.get(f"{URL}/projects/4/memberships.json", json={"memberships": members})
    responses.get(f"{URL}/issues.json", json={"issues": [{"id": 40}], "total_count": 1})
    options = '<option value="5">Alice</option>' + (
        '<optgroup><option value="12">Support team</option>' * groups_offered
    )
    responses.get(f"{URL}/issues/40", body=SELECT + options + "</select>", content_type="text/html")


@pytest.mark.parametrize("offered", [True, False])
@responses.activate
def test_a_projects_fields_are_read_once_and_groups_only_where_redmine_offers_them(offered: bool) -> None:
    serve(offered)
    catalog = RedmineFieldCatalog(RedmineGateway(URL, "admin-key"))
    fields = catalog.fields("acme")
    assert [f.name for f in fields.custom_for(1)] == ["Severity"] and fields.custom_for(3) == ()
    assert fields.uses(1, "due_date") and not fields.uses(3, "due_date") and not fields.uses(1, "estimated_hours")
    assert [v.label for v in fields.versions] == ["1.0"] and [c.label for c in fields.categories] == ["Frontend"]
    assert [g.label for g in fields.assignable_groups] == (["Support team"] if offered else [])
    calls = len(responses.calls)
    assert catalog.fields("acme") is fields and catalog.fields("4") is fields and len(responses.calls) == calls


def test_values_are_taken_as_redmine_takes_them() -> None:
    from app_integration.core.models import Choice
    from app_integration.core.tickets import CustomField

    listed = CustomField(8, "Components", "list", multiple=True, options=(Choice("API", "API"), Choice("Web", "Web")))
    assert value_of(listed, "api, WEB") == ("API", "Web")
    assert str(value_of(listed, "Cobol")) == "Components is one of: API, Web"
    assert value_of(CustomField(3, "Points", "int"), "5") == "5"
    assert str(value_of(CustomField(3, "Points", "int"), "five")) == "Points must be a number"
    assert value_of(CustomField(4, "Budget", "float"), "1,5") == "1.5"
    assert value_of(CustomField(5, "Review", "date"), "31.12.27") == "2027-12-31"
    assert value_of(CustomField(6, "Billable", "bool"), "yes") == "1"
