from __future__ import annotations

import re

import pytest

from system.queue import queries as sql
from system.queue.app import create_app
from system.queue.config import QueueSettings
from system.queue.openapi import spec


def served_routes() -> set[tuple[str, str]]:
    app = create_app(QueueSettings(database_url="postgresql://unused", inference_url="http://unused"))
    found = set()
    for route in app.router.routes():
        if route.method == "HEAD":
            continue
        path = re.sub(r"\{(\w+):[^}]+\}", r"{\1}", route.resource.canonical)
        found.add((route.method.lower(), path))
    return found


def documented_routes() -> set[tuple[str, str]]:
    return {(method, path) for path, ops in spec()["paths"].items() for method in ops}


def test_every_served_route_is_documented_and_nothing_else():
    assert served_routes() == documented_routes()


def test_every_operation_documents_its_errors_in_the_contract_shape():
    for path, ops in spec()["paths"].items():
        for method, op in ops.items():
            for status, response in op["responses"].items():
                if int(status) >= 400 and path != "/ready":  # /ready says why in its own shape (docs/api.md)
                    assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}, (method, path, status)


def test_every_503_tells_when_to_retry():
    for path, ops in spec()["paths"].items():
        for method, op in ops.items():
            if "503" in op["responses"] and path != "/ready":
                assert "Retry-After" in op["responses"]["503"]["headers"], (method, path)


def test_the_documents_limits_are_the_contracts():
    from system import contract

    paths = spec()["paths"]
    segment = paths["/api/projects/{id}/segmentations"]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert segment["model"]["enum"] == list(contract.MODELS) and segment["model"]["default"] == contract.DEFAULT_MODEL
    assert (segment["threshold"]["minimum"], segment["threshold"]["maximum"]) == (contract.MIN_THRESHOLD, contract.MAX_THRESHOLD)
    upload = paths["/api/projects/{id}/images"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]["file"]
    assert (upload["minItems"], upload["maxItems"]) == (1, contract.MAX_FILES)


def test_links_lead_to_operations_that_exist():
    operations = {op["operationId"] for ops in spec()["paths"].values() for op in ops.values()}
    links = [link for ops in spec()["paths"].values() for op in ops.values() for r in op["responses"].values() for link in r.get("links", {}).values()]
    assert links and {link["operationId"] for link in links} <= operations
    for wanted in ("getImage", "getBatch", "getJob"):  # an upload to its image, a segmentation to its batch and jobs
        assert wanted in {link["operationId"] for link in links}, wanted


def test_named_queries_load():
    names = set(sql.queries())
    assert {"claim_job", "complete_job", "fail_attempt", "renew_lease", "events_from", "emit_events"} <= names
    assert all(body.strip() for body in sql.queries().values())


def test_a_name_defined_twice_is_refused(tmp_path, monkeypatch):
    (tmp_path / "a.sql").write_text("-- same --\nSELECT 1;\n")
    (tmp_path / "b.sql").write_text("-- same --\nSELECT 2;\n")
    monkeypatch.setattr(sql, "SQL_DIR", tmp_path)
    sql.queries.cache_clear()
    try:
        with pytest.raises(sql.DuplicateQuery, match="same"):
            sql.queries()
    finally:
        sql.queries.cache_clear()


def test_migrations_are_numbered_without_gaps():
    numbers = [n for n, _, _ in sql.migrations()]
    assert numbers == list(range(1, len(numbers) + 1))


def test_the_web_page_offers_the_contracts_models_and_thresholds():
    from system.contract import DEFAULT_MODEL, MAX_THRESHOLD, MIN_THRESHOLD, MODELS
    from system.queue.app import web_page

    page = web_page()
    assert "{{" not in page.split("<script>")[0], "a placeholder was left unfilled"
    assert [f"<option{' selected' if m == DEFAULT_MODEL else ''}>{m}</option>" for m in MODELS] == \
        [o for o in page.split("<select id=\"model\">")[1].split("</select>")[0].replace("</option>", "</option>\n").split("\n") if o]
    assert f'min="{MIN_THRESHOLD}" max="{MAX_THRESHOLD}"' in page
