"""Runtime settings read from the environment: normalised where the intent is clear, refused clearly otherwise."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from ecr_deploy.runtime.serve import available_cpus, gunicorn_argv, with_secret_key
from setup.environment import env_bool, env_hosts, env_int, env_origins


@pytest.mark.parametrize(
    ("value", "hosts"),
    [
        ("api.example.com", ["api.example.com"]),
        (" api.example.com , ,www.example.com ", ["api.example.com", "www.example.com"]),
        (".example.com,10.0.0.5,[::1],*", [".example.com", "10.0.0.5", "[::1]", "*"]),
    ],
)
def test_allowed_hosts_are_split_trimmed_and_empty_items_dropped(monkeypatch, value, hosts):
    monkeypatch.setenv("DJANGO_ALLOWED_HOSTS", value)
    assert env_hosts("DJANGO_ALLOWED_HOSTS") == hosts


@pytest.mark.parametrize("value", ["", " , ", "api example.com", "http://api.example.com", "api.example.com/x"])
def test_allowed_hosts_that_are_not_host_names_are_refused_clearly(monkeypatch, value):
    monkeypatch.setenv("DJANGO_ALLOWED_HOSTS", value)
    with pytest.raises(ImproperlyConfigured, match="DJANGO_ALLOWED_HOSTS=.*comma-separated host names"):
        env_hosts("DJANGO_ALLOWED_HOSTS")


def test_allowed_hosts_unset_leave_the_built_value(monkeypatch):
    monkeypatch.delenv("DJANGO_ALLOWED_HOSTS", raising=False)
    assert env_hosts("DJANGO_ALLOWED_HOSTS") is None


@pytest.mark.parametrize(
    ("value", "origins"),
    [
        ("https://a.example.com, https://b.example.com", ["https://a.example.com", "https://b.example.com"]),
        ("https://*.example.com,http://localhost:8000", ["https://*.example.com", "http://localhost:8000"]),
        ("", []),
    ],
)
def test_csrf_trusted_origins_are_split_and_trimmed(monkeypatch, value, origins):
    monkeypatch.setenv("DJANGO_CSRF_TRUSTED_ORIGINS", value)
    assert env_origins("DJANGO_CSRF_TRUSTED_ORIGINS") == origins


@pytest.mark.parametrize("value", ["example.com", "https://example.com/path", "ftp://example.com"])
def test_csrf_trusted_origins_without_a_scheme_or_with_a_path_are_refused(monkeypatch, value):
    monkeypatch.setenv("DJANGO_CSRF_TRUSTED_ORIGINS", value)
    with pytest.raises(ImproperlyConfigured, match="DJANGO_CSRF_TRUSTED_ORIGINS=.*comma-separated origins"):
        env_origins("DJANGO_CSRF_TRUSTED_ORIGINS")


@pytest.mark.parametrize(
    ("value", "expected"), [("1", True), ("true", True), ("0", False), ("off", False), ("", False)]
)
def test_switches_read_the_usual_spellings(monkeypatch, value, expected):
    monkeypatch.setenv("DJANGO_SECURE_SSL_REDIRECT", value)
    assert env_bool("DJANGO_SECURE_SSL_REDIRECT") is expected


@pytest.mark.parametrize(("function", "value"), [(env_bool, "maybe"), (env_int, "-5"), (env_int, "ten")])
def test_unreadable_values_are_refused_with_the_variable_named(monkeypatch, function, value):
    monkeypatch.setenv("SOME_SETTING", value)
    with pytest.raises(ImproperlyConfigured, match=f"SOME_SETTING={value!r}"):
        function("SOME_SETTING", *(() if function is env_bool else (0,)))


def test_a_missing_secret_key_is_made_once_with_a_warning_and_a_given_one_is_kept():
    made, warning = with_secret_key({"PATH": "/usr/bin"})
    assert len(made["DJANGO_SECRET_KEY"]) >= 50 and "DJANGO_SECRET_KEY is not set" in warning
    assert with_secret_key({"DJANGO_SECRET_KEY": "given"}) == ({"DJANGO_SECRET_KEY": "given"}, None)


def test_cpus_come_from_the_cgroup_quota(tmp_path):
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert available_cpus(tmp_path / "cpu.max") == 2
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert available_cpus(tmp_path / "cpu.max") >= 1


def test_gunicorn_gets_the_port_workers_and_a_graceful_stop():
    argv = gunicorn_argv("setup.wsgi.application", {"PORT": "9000", "WEB_CONCURRENCY": "5"})
    assert argv[:2] == ["gunicorn", "setup.wsgi:application"]
    assert argv[argv.index("--bind") + 1] == "0.0.0.0:9000" and argv[argv.index("--workers") + 1] == "5"
    assert argv[argv.index("--access-logfile") + 1] == "-" and "--graceful-timeout" in argv
    assert "--no-control-socket" in argv  # gunicorn 25 and later open a control socket unless told not to


def test_a_projects_older_gunicorn_gets_only_the_flags_it_knows():
    assert "--no-control-socket" not in gunicorn_argv("shop.wsgi.application", {}, (23, 0))


def test_a_development_key_only_with_debug():
    import subprocess
    import sys

    from tests.conftest import ROOT

    probe = "import setup.settings as s; print(bool(s.SECRET_KEY))"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    outputs = [
        subprocess.run([sys.executable, "-c", probe], env={**env, **extra}, capture_output=True, text=True, check=True)
        for extra in ({"DJANGO_DEBUG": "1"}, {})
    ]
    assert [done.stdout.strip() for done in outputs] == ["True", "False"]
