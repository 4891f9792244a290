import pytest

from heldout.config import ConfigError, Settings, new_password, sandbox_build_env


def test_defaults_give_an_embedded_demo(tmp_path):
    settings = Settings.from_env({"HELDOUT_DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'heldout.sqlite3'}"
    assert settings.embedded_queue
    assert settings.sandbox == "auto"
    assert settings.storage == "local"


def test_the_demo_secret_key_is_generated_once_and_kept(tmp_path):
    first = Settings.from_env({"HELDOUT_DATA_DIR": str(tmp_path)}).secret_key
    second = Settings.from_env({"HELDOUT_DATA_DIR": str(tmp_path)}).secret_key
    assert first == second and len(first) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_production_requires_a_secret_key(tmp_path):
    with pytest.raises(ConfigError, match="HELDOUT_SECRET_KEY is required"):
        Settings.from_env({"HELDOUT_DATA_DIR": str(tmp_path), "HELDOUT_PRODUCTION": "1"})


@pytest.mark.parametrize("name, value, message", [
    ("HELDOUT_SANDBOX", "podman", "is not one of auto, docker, bubblewrap"),
    ("HELDOUT_SCORER", "lukewarm", "is not one of warm, fresh"),
    ("HELDOUT_STORAGE", "nfs", "is not one of local, database, s3"),
    ("HELDOUT_STORAGE", "s3", "HELDOUT_S3_BUCKET is required with HELDOUT_STORAGE=s3"),
    ("HELDOUT_TRUSTED_PROXIES", "-1", "must be zero or more"),
    ("HELDOUT_REDIS_URL", "localhost:6379", "is not a Redis URL"),
    ("HELDOUT_DATABASE_URL", "heldout.db", "is not a database URL"),
    ("HELDOUT_PRODUCTION", "maybe", "is not a boolean"),
    ("HELDOUT_MAX_UPLOAD_BYTES", "lots", "is not a whole number"),
])
def test_a_malformed_variable_names_itself(tmp_path, name, value, message):
    with pytest.raises(ConfigError, match=message) as info:
        Settings.from_env({"HELDOUT_DATA_DIR": str(tmp_path), name: value})
    assert name in str(info.value)


S3 = {"HELDOUT_STORAGE": "s3", "HELDOUT_S3_BUCKET": "heldout-files"}


@pytest.mark.parametrize("name, value, message", [
    ("HELDOUT_S3_BUCKET", "Heldout_Files", "is not a bucket name"),
    ("HELDOUT_S3_ENDPOINT_URL", "minio:9000", "is not a URL; use e.g. http://minio:9000"),
    ("HELDOUT_S3_PREFIX", "a//b", "is not a key prefix"),
    ("AWS_ACCESS_KEY_ID", "AKIA123", "AWS_SECRET_ACCESS_KEY is missing"),
])
def test_a_malformed_s3_setting_names_itself(tmp_path, name, value, message):
    with pytest.raises(ConfigError, match=message) as info:
        Settings.from_env({"HELDOUT_DATA_DIR": str(tmp_path), **S3, name: value})
    assert "\n" not in str(info.value)


def test_the_s3_settings_are_read_from_the_environment(tmp_path):
    settings = Settings.from_env({"HELDOUT_DATA_DIR": str(tmp_path), **S3, "HELDOUT_S3_PREFIX": "/site-a/",
                                  "HELDOUT_S3_ENDPOINT_URL": "http://minio:9000", "AWS_ACCESS_KEY_ID": "AKIA1",
                                  "AWS_SECRET_ACCESS_KEY": "sekrit", "AWS_DEFAULT_REGION": "eu-west-1"})
    s3 = settings.s3
    assert (s3.bucket, s3.endpoint_url, s3.prefix, s3.region) == ("heldout-files", "http://minio:9000", "site-a/",
                                                                   "eu-west-1")
    assert (s3.access_key_id, s3.secret_access_key) == ("AKIA1", "sekrit") and "sekrit" not in repr(settings)
    # Without credentials boto3 looks for them itself (an instance profile, ~/.aws); without a bucket, no S3.
    bare = Settings.from_env({"HELDOUT_DATA_DIR": str(tmp_path), **S3}).s3
    assert bare.access_key_id is None and bare.endpoint_url is None and bare.prefix == ""
    assert Settings.from_env({"HELDOUT_DATA_DIR": str(tmp_path)}).s3 is None


def test_postgres_urls_use_the_shipped_driver(tmp_path):
    settings = Settings.from_env({"HELDOUT_DATA_DIR": str(tmp_path), "HELDOUT_DATABASE_URL": "postgres://u@h/db"})
    assert settings.database_url == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize("value, expected", [("", "local"), ("local", "local"), ("database", "database"),
                                             (" Database ", "database"), ("S3", "s3")])
def test_the_storage_backend_is_read_from_the_environment(tmp_path, value, expected):
    settings = Settings.from_env({"HELDOUT_DATA_DIR": str(tmp_path), "HELDOUT_STORAGE": value,
                                  "HELDOUT_S3_BUCKET": "heldout-files"})
    assert settings.storage == expected


def test_a_wrong_storage_backend_is_one_line_naming_the_variable(tmp_path):
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"HELDOUT_DATA_DIR": str(tmp_path), "HELDOUT_STORAGE": "shared-disk"})
    assert str(info.value) == "HELDOUT_STORAGE='shared-disk' is not one of local, database, s3"


def test_the_sandbox_tools_and_the_cli_read_their_variables_through_config(tmp_path):
    unset = sandbox_build_env({})
    assert (unset.docker_dir, unset.image, unset.online, unset.pool_dir) == (None, None, False, None)
    env = {"HELDOUT_SANDBOX_DOCKER_DIR": str(tmp_path / "recipe"), "HELDOUT_SANDBOX_IMAGE": "mine:1",
           "HELDOUT_SANDBOX_ONLINE": "1", "HELDOUT_SANDBOX_POOL_DIR": str(tmp_path / "pool")}
    given = sandbox_build_env(env)
    assert (given.docker_dir, given.image, given.online, given.pool_dir) == (
        tmp_path / "recipe", "mine:1", True, tmp_path / "pool")
    # The worker's Settings and the image tools agree on which image runs.
    assert Settings.from_env({"HELDOUT_DATA_DIR": str(tmp_path), **env}).sandbox_image == "mine:1"
    assert new_password({}) is None and new_password({"HELDOUT_NEW_PASSWORD": "long enough"}) == "long enough"


def test_the_docker_runtimes_are_read_from_the_environment(tmp_path):
    settings = Settings.from_env({"HELDOUT_DATA_DIR": str(tmp_path), "HELDOUT_SANDBOX_RUNTIME": " runsc "})
    assert (settings.sandbox_runtime, settings.scorer_runtime) == ("runsc", None)
    default = Settings.from_env({"HELDOUT_DATA_DIR": str(tmp_path)})
    assert (default.sandbox_runtime, default.scorer_runtime) == (None, None)


@pytest.mark.parametrize("env, message", [
    ({"HELDOUT_SANDBOX_RUNTIME": "run sc"}, "HELDOUT_SANDBOX_RUNTIME='run sc' is not a Docker runtime's name"),
    ({"HELDOUT_SCORER_RUNTIME": "--privileged"}, "HELDOUT_SCORER_RUNTIME='--privileged' is not a Docker runtime"),
    ({"HELDOUT_SANDBOX": "bubblewrap", "HELDOUT_SANDBOX_RUNTIME": "runsc"},
     "HELDOUT_SANDBOX_RUNTIME=runsc names a Docker runtime, but HELDOUT_SANDBOX=bubblewrap runs no Docker"),
])
def test_a_wrong_runtime_setting_is_one_line_naming_the_variable(tmp_path, env, message):
    with pytest.raises(ConfigError, match=message) as info:
        Settings.from_env({"HELDOUT_DATA_DIR": str(tmp_path), **env})
    assert "\n" not in str(info.value)
