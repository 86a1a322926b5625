import pytest

from streamwatch.core.config import Config, ConfigError, config_path, load_config, save_theme, themes_dir


@pytest.fixture
def config_home(tmp_path, monkeypatch):
    monkeypatch.setenv("STREAMWATCH_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config"


def write(config_home, text):
    config_home.mkdir(parents=True, exist_ok=True)
    (config_home / "config.toml").write_text(text)
    return config_home / "config.toml"


def test_the_env_override_moves_the_config_and_themes_folder(config_home):
    assert config_path() == config_home / "config.toml"
    assert themes_dir() == config_home / "themes"


def test_no_file_means_every_setting_is_unset(config_home):
    config = load_config()
    assert (config.theme, config.model, config.stall_threshold, config.base_url) == (None, None, None, None)


def test_every_setting_is_read(config_home):
    path = write(config_home, 'theme = "light"\nmodel = "claude-opus-4-1"\nstall_threshold = 2\n'
                              'base_url = "http://127.0.0.1:8787"\n')
    assert load_config() == Config(theme="light", model="claude-opus-4-1", stall_threshold=2.0,
                                   base_url="http://127.0.0.1:8787", path=path)


def test_embedded_is_a_valid_base_url(config_home):
    write(config_home, 'base_url = "embedded"\n')
    assert load_config().base_url == "embedded"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("stall_threshold = 0\n", "stall_threshold must be a number of seconds more than 0, not 0"),
        ('stall_threshold = "fast"\n', "stall_threshold must be a number of seconds more than 0, not 'fast'"),
        ("stall_threshold = true\n", "stall_threshold must be a number of seconds"),
        ('theme = "my theme"\n', "theme must be a theme name"),
        ('model = ""\n', "model must be a model name"),
        ('base_url = "ftp://example.com"\n', "base_url must be a URL (http:// or https://) or 'embedded'"),
        ('base_url = "http://"\n', "base_url must be a URL"),
        ('base_url = "http://[::1"\n', "base_url must be a URL a client can reach (malformed address: no closing ']' after "
                                      "the IPv6 address), not 'http://[::1'"),
        ('base_url = "http://h:80:90"\n', "(malformed port: '80:90' is not a number)"),
        ('colour = "red"\n', "unknown setting 'colour' (known: theme, model, stall_threshold, base_url)"),
        ('theme = "dark\n', "not valid TOML"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_key_and_the_file(config_home, text, words):
    path = write(config_home, text)
    with pytest.raises(ConfigError) as caught:
        load_config()
    message = str(caught.value)
    assert words in message and str(path) in message and "\n" not in message


def test_an_unreadable_config_is_a_config_error(config_home):
    config_home.mkdir(parents=True)
    (config_home / "config.toml").mkdir()
    with pytest.raises(ConfigError, match="cannot read"):
        load_config()


def test_save_theme_creates_the_file_and_folder(config_home):
    save_theme("high-contrast")
    assert load_config().theme == "high-contrast"


def test_save_theme_replaces_only_the_theme_line(config_home):
    original = (
        "# my settings\n"
        'model = "claude-opus-4-1"   # the big one\n'
        "theme = 'dark'\n"
        "stall_threshold = 2.5\n"
    )
    path = write(config_home, original)
    save_theme("light")
    assert path.read_text() == original.replace("theme = 'dark'", 'theme = "light"')
    config = load_config()
    assert (config.theme, config.model, config.stall_threshold) == ("light", "claude-opus-4-1", 2.5)


def test_save_theme_adds_the_line_when_there_is_none(config_home):
    path = write(config_home, 'model = "claude-opus-4-1"\n')
    save_theme("ansi")
    assert path.read_text() == 'theme = "ansi"\nmodel = "claude-opus-4-1"\n'


def test_save_theme_refuses_a_broken_file_instead_of_overwriting_it(config_home):
    path = write(config_home, 'model = "unterminated\n')
    with pytest.raises(ConfigError, match="not valid TOML"):
        save_theme("light")
    assert path.read_text() == 'model = "unterminated\n'


def test_save_theme_rejects_a_bad_name(config_home):
    with pytest.raises(ConfigError, match="theme must be a theme name"):
        save_theme("dark]\nmodel = 1")
    assert not config_path().exists()


def test_a_failed_write_is_a_config_error_and_keeps_the_old_file(config_home, monkeypatch):
    path = write(config_home, 'theme = "dark"\n')

    def full(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("streamwatch.core.config.os.replace", full)
    with pytest.raises(ConfigError, match="cannot write .*No space left on device"):
        save_theme("light")
    assert path.read_text() == 'theme = "dark"\n'
    assert sorted(p.name for p in config_home.iterdir()) == ["config.toml"]


def test_saving_never_writes_through_a_link_planted_at_the_temporary_name(config_home, tmp_path):
    path = write(config_home, 'theme = "dark"\n')
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (config_home / ".config.toml.tmp").symlink_to(victim)
    save_theme("light")
    assert victim.read_text() == "precious\n"
    assert load_config().theme == "light" and path.read_text().startswith('theme = "light"')


@pytest.mark.parametrize("url", ["bob:pa55w0rdSECRET@127.0.0.1:18777", "http://bob:pa55w0rdSECRET@[::1"])
def test_a_bad_base_url_is_refused_without_showing_its_password(config_home, url):
    write(config_home, f'base_url = "{url}"\n')
    with pytest.raises(ConfigError) as refused:
        load_config()
    assert "pa55w0rd" not in str(refused.value) and "[redacted]@" in str(refused.value)


@pytest.mark.parametrize("url", ["http://a..b", f"https://{'x' * 64}.example"])
def test_a_base_url_whose_host_no_resolver_takes_is_refused(config_home, url):
    write(config_home, f'base_url = "{url}"\n')
    with pytest.raises(ConfigError, match=r"base_url must be a URL a client can reach \(a part of its host name"):
        load_config()
