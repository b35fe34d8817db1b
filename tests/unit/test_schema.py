"""The published JSON Schema agrees with the loader."""
import glob
import json
import os

import jsonschema
import pytest
import yaml

from lab.config.topology import load_topology
from lab.errors import InputError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
SCHEMA = os.path.join(ROOT, "schema", "topology.schema.json")
SHIPPED = sorted(glob.glob(os.path.join(ROOT, "topologies", "*.yaml")))

# Mistakes a schema can see (shape and types); the loader must reject them too.
SCHEMA_VISIBLE = ["unknown_key_top.yaml", "unknown_key_node.yaml", "unknown_kind.yaml",
                  "wrong_type_interfaces.yaml", "wrong_type_stp.yaml", "wrong_type_name.yaml",
                  "missing_nodes.yaml", "three_endpoints.yaml", "missing_prefix.yaml",
                  "top_list.yaml"]


@pytest.fixture(scope="module")
def validator():
    with open(SCHEMA) as fh:
        schema = json.load(fh)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("path", SHIPPED, ids=os.path.basename)
def test_shipped_topology_valid_for_schema_and_loader(validator, path):
    with open(path) as fh:
        validator.validate(yaml.safe_load(fh))
    load_topology(path)


@pytest.mark.parametrize("name", SCHEMA_VISIBLE)
def test_schema_and_loader_both_reject(validator, name):
    path = os.path.join(ROOT, "tests", "data", "bad", name)
    with open(path) as fh:
        data = yaml.safe_load(fh)
    assert list(validator.iter_errors(data)), f"schema accepted {name}"
    with pytest.raises(InputError):
        load_topology(path)


SCENARIO_SCHEMA = os.path.join(ROOT, "schema", "scenario.schema.json")
SHIPPED_SCENARIOS = sorted(glob.glob(os.path.join(ROOT, "scenarios", "*.yaml")))


@pytest.fixture(scope="module")
def scenario_validator():
    from referencing import Registry, Resource

    with open(SCHEMA) as fh:
        topo = json.load(fh)
    with open(SCENARIO_SCHEMA) as fh:
        scen = json.load(fh)
    registry = Registry().with_resources([
        ("https://tlslab.invalid/schema/topology.schema.json", Resource.from_contents(topo)),
        ("https://tlslab.invalid/schema/scenario.schema.json", Resource.from_contents(scen))])
    jsonschema.Draft202012Validator.check_schema(scen)
    return jsonschema.Draft202012Validator(scen, registry=registry)


@pytest.mark.parametrize("path", SHIPPED_SCENARIOS, ids=os.path.basename)
def test_shipped_scenario_valid_for_schema_and_loader(scenario_validator, path):
    from lab.scenario.loader import load_scenarios

    with open(path) as fh:
        text = fh.read()
    assert text.startswith("# yaml-language-server: $schema=../schema/scenario.schema.json")
    scenario_validator.validate(yaml.safe_load(text))
    load_scenarios(path)


@pytest.mark.parametrize("name", ["scenario_unknown_key.yaml", "scenario_bad_expect.yaml"])
def test_scenario_schema_and_loader_both_reject(scenario_validator, name):
    from lab.scenario.loader import load_scenarios

    path = os.path.join(ROOT, "tests", "data", "bad", name)
    with open(path) as fh:
        assert list(scenario_validator.iter_errors(yaml.safe_load(fh)))
    with pytest.raises(InputError):
        load_scenarios(path)
