"""The configuration file and its environment overrides: what a table means, what a mistake says."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from provision.config import ConfigError, load, resolve_settings
from provision.plugins import Registry, discover
from provision.settings import SyncSettings


@pytest.fixture(scope="module")
def registry() -> Registry:
    return discover()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "provision.toml"
    path.write_text(dedent(text), encoding="utf-8")
    return path


def error_of(path: Path | None, env: dict[str, str] | None = None) -> str:
    """The message of the ConfigError that loading ``path`` raises."""
    with pytest.raises(ConfigError) as caught:
        load(path, env=env or {})
    return str(caught.value)


def resolve_error(path: Path, registry: Registry, name: str) -> str:
    """The message of the ConfigError that resolving endpoint ``name`` raises."""
    config = load(path, env={})
    with pytest.raises(ConfigError) as caught:
        resolve_settings(config, registry, name)
    return str(caught.value)


def table_error(path: Path, registry: Registry, table: str) -> str:
    """[sync] is checked by `load`, an endpoint table when it is resolved."""
    return error_of(path) if table == "sync" else resolve_error(path, registry, table)


# What a table means


def test_a_table_named_after_a_connector_uses_that_connector(
    tmp_path: Path, registry: Registry
) -> None:
    path = write(tmp_path, '[file]\npath = "users.json"\n')
    info, settings = resolve_settings(load(path, env={}), registry, "file")
    assert info.name == "file"
    assert settings.path == tmp_path / "users.json"


def test_the_connector_key_lets_any_table_use_a_connector(
    tmp_path: Path, registry: Registry
) -> None:
    path = write(tmp_path, '[backup]\nconnector = "file"\npath = "backup.json"\n')
    config = load(path, env={})
    assert config.endpoints["backup"].connector == "file"
    assert "connector" not in config.endpoints["backup"].values  # not a connector setting
    info, settings = resolve_settings(config, registry, "backup")
    assert info.name == "file"
    assert settings.path == tmp_path / "backup.json"


def test_two_file_endpoints_live_side_by_side(tmp_path: Path, registry: Registry) -> None:
    path = write(
        tmp_path,
        """
        [source]
        connector = "file"
        path = "in.json"

        [target]
        connector = "file"
        path = "out.json"
        indent = 0
        """,
    )
    config = load(path, env={})
    _, source = resolve_settings(config, registry, "source")
    _, target = resolve_settings(config, registry, "target")
    assert (source.path, source.indent) == (tmp_path / "in.json", 2)
    assert (target.path, target.indent) == (tmp_path / "out.json", 0)


# The environment


def test_an_environment_variable_overrides_the_file_value(
    tmp_path: Path, registry: Registry
) -> None:
    path = write(tmp_path, '[src]\nconnector = "file"\npath = "from-file.json"\n')
    config = load(path, env={"PROVISION_SRC_PATH": "from-env.json", "PROVISION_SRC_INDENT": "4"})
    _, settings = resolve_settings(config, registry, "src")
    assert settings.path == tmp_path / "from-env.json"
    assert settings.indent == 4


def test_an_environment_variable_overrides_a_sync_setting(tmp_path: Path) -> None:
    path = write(tmp_path, "[sync]\nmax_deletes = 10\n")
    config = load(
        path, env={"PROVISION_SYNC_MAX_DELETES": "7", "PROVISION_SYNC_ON_DELETE": "ignore"}
    )
    assert config.sync.max_deletes == 7
    assert config.sync.on_delete == "ignore"


def test_variables_without_the_provision_prefix_are_ignored(tmp_path: Path) -> None:
    path = write(tmp_path, "[sync]\nmax_deletes = 10\n")
    config = load(path, env={"SYNC_MAX_DELETES": "7", "provision_sync_max_deletes": "8"})
    assert config.sync.max_deletes == 10


def test_the_environment_alone_defines_an_endpoint_named_after_a_known_connector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, registry: Registry
) -> None:
    monkeypatch.chdir(tmp_path)  # no provision.toml here
    config = load(env={"PROVISION_FILE_PATH": "users.json"}, known_connectors={"file"})
    assert config.path is None
    assert list(config.endpoints) == ["file"]
    info, settings = resolve_settings(config, registry, "file")
    assert info.name == "file"
    assert settings.path == tmp_path / "users.json"  # relative to the working directory


def test_a_variable_for_a_table_that_is_neither_in_the_file_nor_a_connector_defines_nothing(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "[sync]\n")
    config = load(path, env={"PROVISION_FILE_PATH": "users.json"}, known_connectors=set())
    assert config.endpoints == {}


def test_the_longest_table_name_wins(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [oci]
        connector = "file"
        path = "oci.json"

        [oci_prod]
        connector = "file"
        path = "oci-prod.json"
        """,
    )
    config = load(path, env={"PROVISION_OCI_PROD_PATH": "prod-from-env.json"})
    assert config.endpoints["oci_prod"].values["path"] == "prod-from-env.json"
    assert config.endpoints["oci"].values == {"path": "oci.json"}  # no stray 'prod_path' key


@pytest.mark.parametrize(
    "value",
    ["userName, emails\nactive", "userName,emails,active", "userName\nemails\nactive\n"],
)
def test_a_list_key_from_the_environment_takes_comma_or_newline_separated_values(
    tmp_path: Path, value: str
) -> None:
    path = write(tmp_path, "[sync]\n")
    config = load(path, env={"PROVISION_SYNC_USER_ATTRIBUTES": value})
    assert config.sync.user_attributes == ["userName", "emails", "active"]


# Mistakes name the file, the table and the key


@pytest.mark.parametrize(
    ("toml", "table", "wrong", "meant"),
    [
        ("[sync]\nmax_delets = 3\n", "sync", "max_delets", "max_deletes"),
        ('[src]\nconnector = "file"\npath = "a.json"\nindnt = 4\n', "src", "indnt", "indent"),
    ],
)
def test_an_unknown_key_suggests_the_closest_one(
    tmp_path: Path, registry: Registry, toml: str, table: str, wrong: str, meant: str
) -> None:
    path = write(tmp_path, toml)
    message = table_error(path, registry, table)
    assert message.startswith(f"{path}: [{table}] unknown key {wrong!r}.")
    assert f"Did you mean {meant!r}?" in message


@pytest.mark.parametrize(
    ("toml", "table", "key"),
    [
        ('[sync]\nmax_deletes = "many"\n', "sync", "max_deletes"),
        ('[sync]\non_delete = "purge"\n', "sync", "on_delete"),
        ("[sync]\nmax_delete_percent = 150\n", "sync", "max_delete_percent"),
        ('[src]\nconnector = "file"\npath = "a.json"\nindent = "wide"\n', "src", "indent"),
    ],
)
def test_a_value_of_the_wrong_type_names_the_file_table_and_key(
    tmp_path: Path, registry: Registry, toml: str, table: str, key: str
) -> None:
    path = write(tmp_path, toml)
    message = table_error(path, registry, table)
    assert message.startswith(f"{path}: [{table}] key {key!r}:")


def test_a_missing_required_key_names_the_variable_that_can_supply_it(
    tmp_path: Path, registry: Registry
) -> None:
    path = write(tmp_path, '[src]\nconnector = "file"\n')
    message = resolve_error(path, registry, "src")
    assert message == f"{path}: [src] missing required key 'path' (or set PROVISION_SRC_PATH)"


def test_every_mistake_in_a_table_is_reported_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, '[sync]\nmax_delets = 3\non_delete = "purge"\n')
    lines = error_of(path).splitlines()
    assert len(lines) == 2
    assert all(line.startswith(f"{path}: [sync] ") for line in lines)


def test_a_named_file_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"
    assert error_of(missing) == f"{missing}: no such configuration file"


def test_invalid_toml_names_the_file_and_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[sync]\nmax_deletes = 3\n[src\npath = "a.json"\n')
    message = error_of(path)
    assert message.startswith(f"{path}: not valid TOML:")
    assert "line 3" in message


def test_a_file_that_is_not_utf8_is_reported_as_invalid(tmp_path: Path) -> None:
    path = tmp_path / "provision.toml"
    path.write_bytes(b'[src]\nconnector = "file"\npath = "caf\xe9.json"\n')  # Latin-1
    assert error_of(path).startswith(f"{path}: ")


def test_a_top_level_key_outside_any_table_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "max_deletes = 5\n\n[sync]\n")
    message = error_of(path)
    assert message.startswith(f"{path}: top-level key 'max_deletes' must be a table")
    assert "[sync]" in message


def test_a_connector_that_is_not_a_string_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "[src]\nconnector = 3\n")
    assert error_of(path) == f"{path}: [src] key 'connector' must be a string"


def test_an_unknown_endpoint_name_suggests_the_closest_one(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[source]\nconnector = "file"\npath = "a.json"\n'
        '[target]\nconnector = "file"\npath = "b.json"\n',
    )
    config = load(path, env={})
    with pytest.raises(ConfigError) as caught:
        config.endpoint("sorce")
    message = str(caught.value)
    assert message.startswith(f"{path}: no endpoint named 'sorce'.")
    assert "Did you mean 'source'?" in message
    assert "Endpoints defined: source, target." in message


def test_an_unknown_connector_lists_the_available_ones(tmp_path: Path, registry: Registry) -> None:
    path = write(tmp_path, '[src]\nconnector = "fiel"\npath = "a.json"\n')
    message = resolve_error(path, registry, "src")
    assert message.startswith(f"{path}: [src]: no connector named 'fiel'.")
    assert "Did you mean 'file'?" in message
    assert f"Choose one of: {', '.join(sorted(registry.connectors))}." in message


def test_a_table_named_after_no_connector_says_so(tmp_path: Path, registry: Registry) -> None:
    path = write(tmp_path, '[cognito_pool]\npath = "a.json"\n')
    message = resolve_error(path, registry, "cognito_pool")
    assert "no connector named 'cognito_pool'" in message
    assert f"Choose one of: {', '.join(sorted(registry.connectors))}." in message


def test_no_file_and_no_variables_is_an_error_that_says_how_to_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    message = error_of(None, env={"HOME": str(tmp_path)})  # no PROVISION_* among them
    assert message.startswith("no configuration: provision.toml does not exist")
    assert "-c FILE" in message


def test_an_empty_file_is_not_reported_as_missing(tmp_path: Path) -> None:
    path = write(tmp_path, "# nothing configured yet\n")
    message = error_of(path)
    assert "does not exist" not in message
    assert message.startswith(f"{path}: ")


def test_a_mistake_in_an_environment_only_configuration_does_not_blame_a_missing_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    message = error_of(None, env={"PROVISION_SYNC_MAX_DELETES": "many"})
    assert message.startswith(  # the variable is blamed; the missing file is only stated
        f"the environment (no provision.toml in {tmp_path}): [sync] key 'max_deletes' "
        "(from PROVISION_SYNC_MAX_DELETES):"
    )


# [sync]


def test_a_relative_state_path_is_relative_to_the_config_files_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    write(conf, '[sync]\nstate = "run/state.db"\n')
    monkeypatch.chdir(elsewhere)
    config = load(Path("../conf/provision.toml"), env={})
    assert config.state_path() == conf / "run" / "state.db"


def test_a_relative_path_setting_is_relative_to_the_config_files_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, registry: Registry
) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    absolute = tmp_path / "abs.json"
    write(
        conf,
        f"""
        [source]
        connector = "file"
        path = "data/in.json"

        [target]
        connector = "file"
        path = '{absolute}'
        """,
    )
    monkeypatch.chdir(elsewhere)
    config = load(Path("../conf/provision.toml"), env={})
    assert resolve_settings(config, registry, "source")[1].path == conf / "data" / "in.json"
    assert resolve_settings(config, registry, "target")[1].path == absolute


def test_an_absolute_state_path_is_kept(tmp_path: Path) -> None:
    state = tmp_path / "var" / "state.db"
    path = write(tmp_path, f"[sync]\nstate = '{state}'\n")
    assert load(path, env={}).state_path() == state


def test_the_default_state_file_sits_beside_the_config_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[file]\npath = "a.json"\n')
    assert load(path, env={}).state_path() == tmp_path / "provision-state.db"


def test_sync_settings_default_to_deactivate_at_most_50_or_20_percent(tmp_path: Path) -> None:
    path = write(tmp_path, '[file]\npath = "a.json"\n')
    sync = load(path, env={}).sync
    assert sync.on_delete == "deactivate"
    assert sync.max_deletes == 50
    assert sync.max_delete_percent == 20
    assert sync == SyncSettings()


def test_a_list_key_given_as_a_string_in_the_file_is_a_mistake(tmp_path: Path) -> None:
    path = write(tmp_path, '[sync]\nuser_attributes = "userName, emails"\n')
    assert "[sync] key 'user_attributes': Input should be a valid list" in error_of(path)


def test_user_attributes_must_include_user_name(tmp_path: Path) -> None:
    message = error_of(None, env={"PROVISION_SYNC_USER_ATTRIBUTES": "emails"})
    assert "(from PROVISION_SYNC_USER_ATTRIBUTES)" in message
    assert "must include 'userName'" in message


# Safety first: mistakes an operator makes with the file and with secrets.


def test_a_misspelt_table_is_refused_with_did_you_mean(tmp_path: Path) -> None:
    path = tmp_path / "provision.toml"
    path.write_text('[src]\nconnector = "file"\npath = "a.json"\n[synk]\non_delete = "delete"\n')
    with pytest.raises(ConfigError) as caught:
        load(path, env={}, known_connectors={"file", "cognito", "oci"})
    assert "table [synk]" in str(caught.value)
    assert "Did you mean [sync]?" in str(caught.value)


def test_a_misspelt_endpoint_table_is_refused_when_its_secret_comes_from_the_environment(
    tmp_path: Path,
) -> None:
    path = tmp_path / "provision.toml"
    path.write_text('[cognitoo]\nregion = "eu-west-1"\nuser_pool_id = "eu-west-1_A"\n')
    env = {"PROVISION_COGNITO_SECRET_ACCESS_KEY": "x"}
    with pytest.raises(ConfigError) as caught:
        load(path, env=env, known_connectors={"file", "cognito", "oci"})
    assert "table [cognitoo]" in str(caught.value)
    assert "Did you mean [cognito]?" in str(caught.value)


def test_secrets_come_from_files_and_systemd_credentials(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n")
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "PROVISION_OCI_CLIENT_SECRET").write_text("from-systemd")
    env = {
        "PROVISION_COGNITO_SECRET_ACCESS_KEY_FILE": str(secret),
        "CREDENTIALS_DIRECTORY": str(creds),
    }
    config = load(None, env=env, known_connectors={"cognito", "oci"})
    assert config.endpoints["cognito"].values["secret_access_key"] == "from-a-file"
    assert config.endpoints["oci"].values["client_secret"] == "from-systemd"


def test_a_secret_set_twice_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("a")
    env = {"PROVISION_OCI_CLIENT_SECRET": "b", "PROVISION_OCI_CLIENT_SECRET_FILE": str(secret)}
    with pytest.raises(ConfigError, match="set twice"):
        load(None, env=env, known_connectors={"oci"})


def test_a_secret_written_in_the_file_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from provision.config import resolve_settings
    from provision.plugins import discover

    path = tmp_path / "provision.toml"
    path.write_text(
        '[oci]\ndomain_url = "https://idcs-x.identity.oraclecloud.com"\nclient_id = "c"\n'
        'client_secret = "in-the-file"\n'
    )
    registry = discover()
    config = load(path, env={}, known_connectors=set(registry.connectors))
    with caplog.at_level("WARNING", logger="provision.config"):
        resolve_settings(config, registry, "oci")
    assert "[oci] client_secret is written in the file" in caplog.text
    assert "PROVISION_OCI_CLIENT_SECRET" in caplog.text
    assert "in-the-file" not in caplog.text
