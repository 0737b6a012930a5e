"""deploy/kibana/ checked without a Kibana: structure valid for 8.12, and every field used exists with a usable type."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from newsflow.es.indices import ARTICLES_TEMPLATE
from newsflow.kibana import kibana_dir, saved_object_lines
from newsflow.schemas import load_json

KIBANA_VERSION = (8, 12, 2)
TYPES = {"index-pattern", "search", "lens", "dashboard"}
DASHBOARD_ATTRIBUTES = {
    "title", "description", "panelsJSON", "optionsJSON", "timeRestore", "timeFrom", "timeTo", "refreshInterval",
    "kibanaSavedObjectMeta", "version", "hits", "controlGroupInput",
}  # fmt: skip
# Lens operation -> field types it can run on
OPERATION_TYPES = {
    "date_histogram": {"date"},
    "terms": {"keyword"},
    "unique_count": {"keyword", "date", "integer", "long", "float"},
}
ES_QUERY_COMPARATORS = {">", ">=", "<", "<=", "between", "notBetween"}


def objects() -> list[dict]:
    return [orjson.loads(line) for line in saved_object_lines(kibana_dir()).splitlines() if line.strip()]


def by_id() -> dict[str, dict]:
    return {obj["id"]: obj for obj in objects()}


def field_types(properties: dict, prefix: str = "") -> dict[str, str]:
    """Every field path of a mapping (sub-fields included) -> its type."""
    found = {}
    for name, spec in properties.items():
        path = prefix + name
        if "type" in spec:
            found[path] = spec["type"]
        found |= field_types(spec.get("properties", {}), path + ".")
        found |= field_types(spec.get("fields", {}), path + ".")
    return found


def data_view_fields(data_view: dict) -> dict[str, str] | None:
    """Fields of the index a data view reads; None when this checkout has no template for it yet."""
    title = data_view["attributes"]["title"]
    if title == "articles*":
        return field_types(load_json(ARTICLES_TEMPLATE)["template"]["mappings"]["properties"])
    templates = sorted((Path(__file__).parents[2] / "schemas" / "elasticsearch").glob(f"{title.rstrip('*')}.v*.json"))
    if not templates:
        return None
    return field_types(orjson.loads(templates[-1].read_bytes())["template"]["mappings"]["properties"])


def version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def test_every_line_is_a_saved_object_of_a_known_type_for_this_kibana():
    ids = [obj["id"] for obj in objects()]
    assert len(ids) == len(set(ids))
    for obj in objects():
        assert obj["type"] in TYPES and obj["attributes"]["title"]
        assert version(obj["typeMigrationVersion"]) <= KIBANA_VERSION
        assert version(obj["coreMigrationVersion"]) <= KIBANA_VERSION


def test_every_reference_resolves_inside_the_file():
    known = by_id()
    for obj in objects():
        for reference in obj["references"]:
            assert known[reference["id"]]["type"] == reference["type"], reference


def test_saved_searches_and_dashboard_carry_what_kibana_requires():
    for obj in objects():
        attributes = obj["attributes"]
        if obj["type"] == "search":
            source = orjson.loads(attributes["kibanaSavedObjectMeta"]["searchSourceJSON"])
            assert {ref["name"] for ref in obj["references"]} == {source["indexRefName"]}
            assert source["query"]["language"] == "kuery"
        if obj["type"] == "lens":
            layers = attributes["state"]["datasourceStates"]["formBased"]["layers"]
            names = {ref["name"] for ref in obj["references"]}
            assert names == {f"indexpattern-datasource-layer-{key}" for key in layers}
        if obj["type"] == "dashboard":
            assert set(attributes) <= DASHBOARD_ATTRIBUTES
            panels = orjson.loads(attributes["panelsJSON"])
            assert {f"{p['panelIndex']}:{p['panelRefName']}" for p in panels} == {r["name"] for r in obj["references"]}
            assert len(panels) == 5


def used_fields(obj: dict) -> list[tuple[str, str | None]]:
    """(field, operation) pairs a saved object reads."""
    attributes = obj["attributes"]
    if obj["type"] == "search":
        kuery = orjson.loads(attributes["kibanaSavedObjectMeta"]["searchSourceJSON"])["query"]["query"]
        in_query = [(part.split(":")[0].strip(), None) for part in kuery.split(" and ") if ":" in part]
        return [(column, None) for column in attributes["columns"]] + [("published_at", "date_histogram")] + in_query
    if obj["type"] == "lens":
        layers = attributes["state"]["datasourceStates"]["formBased"]["layers"].values()
        return [
            (column["sourceField"], column["operationType"])
            for layer in layers
            for column in layer["columns"].values()
            if column["sourceField"] != "___records___"
        ]
    if obj["type"] == "index-pattern":
        return [(attributes["timeFieldName"], "date_histogram")]
    return []


def data_view_of(obj: dict) -> dict:
    known = by_id()
    if obj["type"] == "index-pattern":
        return obj
    (reference,) = [ref for ref in obj["references"] if ref["type"] == "index-pattern"]
    return known[reference["id"]]


@pytest.mark.parametrize("obj", [obj for obj in objects() if used_fields(obj)], ids=lambda obj: obj["id"])
def test_every_field_used_exists_in_the_index_template_with_a_usable_type(obj):
    fields = data_view_fields(data_view_of(obj))
    if fields is None:
        pytest.skip(f"no index template for {data_view_of(obj)['attributes']['title']} in schemas/ yet")
    for field, operation in used_fields(obj):
        assert field in fields, f"{obj['id']} uses {field}, which the template does not map"
        if operation:
            assert fields[field] in OPERATION_TYPES[operation], f"{obj['id']}: {operation} on {fields[field]} {field}"


def test_rules_are_valid_es_query_rules_on_mapped_fields():
    articles = field_types(load_json(ARTICLES_TEMPLATE)["template"]["mappings"]["properties"])
    connectors = {orjson.loads(path.read_bytes())["id"] for path in kibana_dir().glob("connectors/*.json")}
    rules = [orjson.loads(path.read_bytes()) for path in kibana_dir().glob("rules/*.json")]
    assert rules
    for rule in rules:
        params = rule["params"]
        assert rule["rule_type_id"] == ".es-query" and params["searchType"] == "esQuery"
        assert params["index"] == ["articles"] and articles[params["timeField"]] == "date"
        query = orjson.loads(params["esQuery"])["query"]
        for field in query["multi_match"]["fields"]:
            assert field in articles
        assert len(params["threshold"]) == 1 and params["thresholdComparator"] in ES_QUERY_COMPARATORS
        assert 0 <= params["size"] <= 10_000
        for action in rule["actions"]:
            assert action["group"] == "query matched" and action["id"] in connectors
