"""headrace.config: models, YAML loader with line numbers, ${ENV} interpolation."""

from __future__ import annotations

from pathlib import Path

import pytest

from headrace.config import (
    ConnectionConfig,
    ProjectConfig,
    find_config,
    load_config,
    load_config_text,
    parse_duration,
)
from headrace.errors import ConfigError, UsageError

NO_ENV: dict[str, str] = {}

FULL = """\
name: shop
warehouse: prod
connections:
  prod:
    url: postgresql://loader@db:5432/shop
    read_only: false
    statement_timeout: 5m
  local: duckdb:///local.duckdb
  replica-1:
    url: postgresql://reader@replica/shop
    read_only: true
    statement_timeout: 30
pipelines:
  orders: {source: orders.csv, table: raw.orders}
models:
  config:
    staging: {materialized: table}
checks:
  - table: orders
defaults:
  batch_size: 10000
"""


def config_error(text: str, env: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config_text(text, env=NO_ENV if env is None else env)
    return info.value


# --- valid files ------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n", "~\n"])
def test_empty_file_means_all_defaults(text: str) -> None:
    config = load_config_text(text, env=NO_ENV)
    assert config == ProjectConfig()
    assert config.warehouse == "duckdb:///warehouse.duckdb"
    assert config.connections == {}


def test_full_config() -> None:
    config = load_config_text(FULL, env=NO_ENV)
    assert config.name == "shop"
    assert config.warehouse == "prod"
    assert config.connections["prod"] == ConnectionConfig(
        url="postgresql://loader@db:5432/shop", read_only=False, statement_timeout=300.0
    )
    assert config.connections["replica-1"].read_only is True
    assert config.connections["replica-1"].statement_timeout == 30.0
    assert config.pipelines["orders"].source == "orders.csv"
    assert config.pipelines["orders"].table == "raw.orders"
    assert config.models.config["staging"].materialized == "table"
    assert config.models.dialect == "duckdb"
    assert config.checks == [{"table": "orders"}]
    assert config.defaults == {"batch_size": 10000}


def test_connection_written_as_plain_url() -> None:
    config = load_config_text("connections:\n  local: duckdb:///local.duckdb\n", env=NO_ENV)
    assert config.connections["local"] == ConnectionConfig(url="duckdb:///local.duckdb")
    assert ConnectionConfig.model_validate("duckdb:///:memory:").url == "duckdb:///:memory:"


def test_yaml_merge_keys_and_anchors() -> None:
    text = """\
defaults:
  connection: &ro {read_only: true, statement_timeout: 10s}
connections:
  a:
    <<: *ro
    url: duckdb:///a.duckdb
  b:
    <<: *ro
    url: duckdb:///b.duckdb
    read_only: false
"""
    config = load_config_text(text, env=NO_ENV)
    assert config.connections["a"].read_only is True
    assert config.connections["a"].statement_timeout == 10.0
    assert config.connections["b"].read_only is False


# --- durations --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30.0),
        ("5m", 300.0),
        ("1h", 3600.0),
        ("250ms", 0.25),
        ("1h30m", 5400.0),
        ("90", 90.0),
        ("2.5s", 2.5),
        (" 30 s ", 30.0),
        ("1d", 86400.0),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "abc", "5x", "-1s", "s", "1e3", "5M", "inf"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration") as info:
        parse_duration(text)
    assert "250ms, 30s, 5m, 1h" in str(info.value)


@pytest.mark.parametrize(("value", "seconds"), [(30, 30.0), (0.5, 0.5), ("1m", 60.0)])
def test_statement_timeout_accepts_numbers_and_durations(value: object, seconds: float) -> None:
    config = ConnectionConfig.model_validate({"url": "duckdb:///x", "statement_timeout": value})
    assert config.statement_timeout == seconds


@pytest.mark.parametrize("value", ["5x", "true", "0", "-3", "0s"])
def test_statement_timeout_rejects_with_line(value: str) -> None:
    text = f"connections:\n  prod:\n    url: duckdb:///x\n    statement_timeout: {value}\n"
    error = config_error(text)
    assert error.line == 4
    assert "connections.prod.statement_timeout: expected" in str(error)


# --- validation errors point at the right line -------------------------------------------


def test_unknown_top_level_key_suggests_closest() -> None:
    error = config_error("name: shop\nwarehouse: duckdb:///w.duckdb\n\n\n\n\nconections: {}\n")
    assert error.file == "headrace.yml"
    assert error.line == 7
    text = str(error)
    assert text.startswith(
        "headrace.yml:7: unknown key 'conections' in top level (allowed: name, warehouse, "
        "connections, pipelines, models, checks, defaults"
    )
    assert "did you mean 'connections'?" in text


def test_wrong_type_says_what_was_expected() -> None:
    text = "connections:\n  prod:\n    url: duckdb:///x\n\n    read_only: maybe\n"
    error = config_error(text)
    assert str(error) == (
        "headrace.yml:5: connections.prod.read_only: expected true or false, got 'maybe'"
    )


def test_nested_unknown_key_in_connection() -> None:
    text = "connections:\n  prod:\n    url: duckdb:///x\n    read_onyl: true\n"
    error = config_error(text)
    assert error.line == 4
    assert "unknown key 'read_onyl' in connections.prod" in str(error)
    assert "allowed: url, read_only, statement_timeout" in str(error)
    assert "did you mean 'read_only'?" in str(error)


def test_missing_url_points_at_connection() -> None:
    error = config_error("connections:\n  prod:\n    read_only: true\n")
    assert error.line == 2
    assert "connections.prod: missing required key 'url'" in str(error)


def test_connection_url_needs_a_scheme() -> None:
    error = config_error("connections:\n  prod: warehouse.duckdb\n")
    assert error.line == 2
    assert "expected a connection URL" in str(error)


@pytest.mark.parametrize("name", ["1prod", "pro d", "-x"])
def test_connection_names_are_identifiers(name: str) -> None:
    error = config_error(f"connections:\n  ok: duckdb:///a\n  '{name}': duckdb:///b\n")
    assert error.line == 3
    assert f"invalid connection name '{name}'" in str(error)


def test_top_level_must_be_a_mapping() -> None:
    error = config_error("- a\n- b\n")
    assert error.line == 1
    assert "top level must be a mapping" in str(error)


def test_earliest_error_in_the_file_is_reported() -> None:
    error = config_error("name: [1]\nwarehouse: duckdb:///w\nconections: {}\n")
    assert error.line == 1
    assert "name: expected a string, got a list" in str(error)


def test_warehouse_must_be_url_or_connection() -> None:
    error = config_error("connections:\n  prod: duckdb:///p\nwarehouse: prdo\n")
    assert error.line == 3
    assert "'prdo' is neither a URL nor a known connection" in str(error)
    assert "known connections: prod" in str(error)


# --- YAML problems -----------------------------------------------------------------------


def test_bad_yaml_reports_line() -> None:
    error = config_error("name: shop\nconnections:\n  prod: [unclosed\nwarehouse: x\n")
    assert error.line is not None and error.line >= 3
    assert str(error).startswith(f"headrace.yml:{error.line}: invalid YAML: ")


def test_tab_indent_gets_a_hint() -> None:
    error = config_error("connections:\n\tprod: duckdb:///x\n")
    assert error.line == 2
    assert "tabs" in str(error)


def test_duplicate_key_names_both_lines() -> None:
    error = config_error(
        "connections:\n  prod: duckdb:///a\n  dev: duckdb:///b\n  prod: duckdb:///c\n"
    )
    assert error.line == 4
    assert "duplicate key 'prod' in connections: lines 2 and 4" in str(error)


def test_unsafe_tags_are_refused() -> None:
    for text in ["name: !!python/object/apply:os.system ['true']\n", "name: !!python/none x\n"]:
        error = config_error(text)
        assert error.line == 1
        assert "tag" in str(error)


def test_recursive_alias_is_an_error() -> None:
    error = config_error("defaults: &d\n  self: *d\n")
    assert "alias" in str(error)


# --- environment interpolation -----------------------------------------------------------


def test_env_variable_is_interpolated() -> None:
    text = "connections:\n  prod: postgresql://loader:${PGPASSWORD}@db/shop\n"
    config = load_config_text(text, env={"PGPASSWORD": "pw"})
    assert config.connections["prod"].url == "postgresql://loader:pw@db/shop"


def test_missing_env_variable_names_variable_and_line() -> None:
    text = "name: shop\nconnections:\n  prod:\n    url: postgresql://u:${DB_PASSWORD}@h/db\n"
    error = config_error(text)
    assert error.line == 4
    message = str(error)
    assert "DB_PASSWORD is not set" in message
    assert "connections.prod.url" in message
    assert "export DB_PASSWORD=... or write ${DB_PASSWORD:-default}" in message


def test_default_is_used_when_unset_or_empty() -> None:
    text = "warehouse: ${WAREHOUSE:-duckdb:///dev.duckdb}\n"
    assert load_config_text(text, env=NO_ENV).warehouse == "duckdb:///dev.duckdb"
    assert load_config_text(text, env={"WAREHOUSE": ""}).warehouse == "duckdb:///dev.duckdb"
    prod = {"WAREHOUSE": "duckdb:///prod.duckdb"}
    assert load_config_text(text, env=prod).warehouse == "duckdb:///prod.duckdb"


def test_double_dollar_escapes() -> None:
    config = load_config_text("defaults:\n  sql: 'a $${NOT_A_VAR} b $5'\n", env=NO_ENV)
    assert config.defaults["sql"] == "a ${NOT_A_VAR} b $5"


def test_values_cannot_inject_yaml_structure() -> None:
    env = {"NAME": "x\nwarehouse: postgresql://evil/db"}
    config = load_config_text("name: ${NAME}\n", env=env)
    assert config.name == "x\nwarehouse: postgresql://evil/db"
    assert config.warehouse == "duckdb:///warehouse.duckdb"


def test_keys_and_non_strings_are_not_interpolated() -> None:
    config = load_config_text("defaults:\n  ${X}: 1\n  n: 5\n", env=NO_ENV)
    assert config.defaults == {"${X}": 1, "n": 5}


@pytest.mark.parametrize("value", ["${", "${1X}", "${A-b}", "${}"])
def test_bad_references_are_errors(value: str) -> None:
    error = config_error(f"defaults:\n  v: '{value}'\n")
    assert error.line == 2
    assert "$${" in str(error)


SECRET = "s3cr3t"


@pytest.mark.parametrize(
    "text",
    [
        "connections:\n  prod:\n    url: duckdb:///x\n    read_only: ${SECRET}\n",
        "connections:\n  prod:\n    url: duckdb:///x\n    statement_timeout: ${SECRET}\n",
        "connections:\n  prod: ${SECRET}\n",
        "connections:\n  prod:\n    url: ${SECRET}\n",
        "warehouse: ${SECRET}\n",
        "warehouse: ${SECRET}\nconnections: {}\n",
        "pipelines:\n  p: ${SECRET}\n",
        "checks:\n  - ${SECRET}\n",
    ],
)
def test_secret_values_never_appear_in_errors(text: str) -> None:
    error = config_error(text, env={"SECRET": SECRET})
    assert SECRET not in str(error)
    assert SECRET not in repr(error.args)
    assert SECRET not in repr(error.context)
    # A chained exception would print the value in a --debug traceback.
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__
    assert "environment variable" in str(error)


# --- resolve_connection ------------------------------------------------------------------


def test_resolve_connection() -> None:
    config = load_config_text(FULL, env=NO_ENV)
    assert config.resolve_connection(None) == config.connections["prod"]
    assert config.resolve_connection("local").url == "duckdb:///local.duckdb"
    assert config.resolve_connection("duckdb:///:memory:") == ConnectionConfig(
        url="duckdb:///:memory:"
    )


def test_resolve_connection_default_warehouse_url() -> None:
    assert ProjectConfig().resolve_connection(None).url == "duckdb:///warehouse.duckdb"


def test_resolve_unknown_connection() -> None:
    config = load_config_text(FULL, env=NO_ENV)
    with pytest.raises(UsageError) as info:
        config.resolve_connection("staging")
    assert not isinstance(info.value, ConfigError)
    assert info.value.message == "unknown connection 'staging'"
    assert "known connections: local, prod, replica-1" in str(info.value)
    assert "duckdb:///file.duckdb" in str(info.value)


# --- files -------------------------------------------------------------------------------


def test_load_config_reads_file(tmp_path: Path) -> None:
    path = tmp_path / "headrace.yml"
    path.write_text("name: shop\nwarehouse: ${W}\n", encoding="utf-8")
    config = load_config(path, env={"W": "duckdb:///w.duckdb"})
    assert config.name == "shop"
    assert config.warehouse == "duckdb:///w.duckdb"


def test_load_config_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "headrace.yml"
    path.write_text("name: shop\nconections: {}\n", encoding="utf-8")
    error = pytest.raises(ConfigError, load_config, path, NO_ENV).value
    assert str(error).startswith(f"{path}:2: unknown key 'conections'")


def test_load_config_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yml"
    error = pytest.raises(ConfigError, load_config, path).value
    assert error.file == str(path)
    assert "not found" in str(error)


def test_load_config_directory(tmp_path: Path) -> None:
    error = pytest.raises(ConfigError, load_config, tmp_path).value
    assert error.file == str(tmp_path)
    assert "cannot read" in str(error)


def test_load_config_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "headrace.yml"
    path.write_bytes(b"name: shop\nwarehouse: caf\xe9\n")
    error = pytest.raises(ConfigError, load_config, path).value
    assert error.file == str(path)
    assert error.line == 2
    assert "UTF-8" in str(error)


def test_find_config_walks_up(tmp_path: Path) -> None:
    (tmp_path / "headrace.yaml").write_text("", encoding="utf-8")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_config(deep) == tmp_path / "headrace.yaml"
    (deep / "headrace.yml").write_text("", encoding="utf-8")
    assert find_config(deep) == deep / "headrace.yml"


def test_find_config_none(tmp_path: Path) -> None:
    # tmp_path's own parents could hold a headrace.yml on some machines; only check below it.
    found = find_config(tmp_path)
    assert found is None or tmp_path not in found.parents


def test_find_config_refuses_two_files(tmp_path: Path) -> None:
    (tmp_path / "headrace.yml").write_text("", encoding="utf-8")
    (tmp_path / "headrace.yaml").write_text("", encoding="utf-8")
    with pytest.raises(ConfigError, match="both headrace.yml and headrace.yaml"):
        find_config(tmp_path)
