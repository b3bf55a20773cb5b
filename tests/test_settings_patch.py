"""patch_allowed_hosts: the ALLOWED_HOSTS assignment is rewritten whatever its shape, or refused clearly."""

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ecr_deploy.errors import SettingsPatchError
from ecr_deploy.image.settings_patch import patch_allowed_hosts, settings_file

PATCHABLE = {
    "course-empty-list": ("DEBUG = True\nALLOWED_HOSTS = []\nX = 1\n", "DEBUG = True\nALLOWED_HOSTS = ['*']\nX = 1\n"),
    "list-with-space": ("ALLOWED_HOSTS = [ ]\n", "ALLOWED_HOSTS = ['*']\n"),
    "no-spaces": ("ALLOWED_HOSTS=[]\n", "ALLOWED_HOSTS=['*']\n"),
    "multi-line": (
        "ALLOWED_HOSTS = [\n    'a.example',\n    'b.example',\n]\nZ = 2\n",
        "ALLOWED_HOSTS = ['*']\nZ = 2\n",
    ),
    "tuple": ("ALLOWED_HOSTS = ()\n", "ALLOWED_HOSTS = ('*',)\n"),
    "trailing-comment": (
        "ALLOWED_HOSTS = []  # filled by the build\n",
        "ALLOWED_HOSTS = ['*']  # filled by the build\n",
    ),
    "annotated": ("ALLOWED_HOSTS: list[str] = []\n", "ALLOWED_HOSTS: list[str] = ['*']\n"),
    "crlf-and-accents": (
        "# configuração\r\nALLOWED_HOSTS = []\r\nNOME = 'João'\r\n",
        "# configuração\r\nALLOWED_HOSTS = ['*']\r\nNOME = 'João'\r\n",
    ),
    "other-hosts": ("ALLOWED_HOSTS = ['localhost']\n", "ALLOWED_HOSTS = ['*']\n"),
    "indented-in-parentheses": ("ALLOWED_HOSTS = (\n    []\n)\n", "ALLOWED_HOSTS = (\n    ['*']\n)\n"),
}

ALREADY_PATCHED = {
    "single-quotes": "ALLOWED_HOSTS = ['*']\n",
    "double-quotes": 'ALLOWED_HOSTS = ["*"]  # ok\n',
}

REFUSED = {
    "missing": ("DEBUG = True\n", "has no ALLOWED_HOSTS assignment"),
    "course-typo": ("ALLOWED_HOST = []\n", "has no ALLOWED_HOSTS assignment"),
    "from-environment": ("import os\nALLOWED_HOSTS = os.environ['HOSTS'].split(',')\n", "computed at run time"),
    "from-a-function": ("ALLOWED_HOSTS = get_hosts()\n", "computed at run time"),
    "list-with-a-name": ("H = 'x'\nALLOWED_HOSTS = [H]\n", "computed at run time"),
    "conditional": (
        "if DEBUG:\n    ALLOWED_HOSTS = []\nelse:\n    ALLOWED_HOSTS = ['x']\n",
        "more than once, conditionally",
    ),
    "assigned-twice": ("ALLOWED_HOSTS = []\nALLOWED_HOSTS = ['a']\n", "more than once"),
    "augmented": ("ALLOWED_HOSTS = []\nALLOWED_HOSTS += ['a']\n", "more than once"),
    "unpacked": ("ALLOWED_HOSTS, X = [], 1\n", "more than once, conditionally or by unpacking"),
    "not-python": ("ALLOWED_HOSTS = [\n", "not valid Python"),
}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "settings.py"
    path.write_bytes(text.encode())
    return path


@pytest.mark.parametrize(("before", "after"), PATCHABLE.values(), ids=PATCHABLE.keys())
def test_patches_every_shape_and_keeps_the_rest_byte_for_byte(tmp_path, before, after):
    path = write(tmp_path, before)
    result = patch_allowed_hosts(path, ["*"])
    assert result.changed
    assert path.read_bytes() == after.encode()


@pytest.mark.parametrize("text", ALREADY_PATCHED.values(), ids=ALREADY_PATCHED.keys())
def test_already_patched_file_is_left_alone(tmp_path, text):
    path = write(tmp_path, text)
    mtime = path.stat().st_mtime_ns
    assert not patch_allowed_hosts(path, ["*"]).changed
    assert path.read_bytes() == text.encode() and path.stat().st_mtime_ns == mtime


def test_patching_twice_is_idempotent(tmp_path):
    path = write(tmp_path, "ALLOWED_HOSTS = []\n")
    patch_allowed_hosts(path, ["api.example", "localhost"])
    once = path.read_bytes()
    assert not patch_allowed_hosts(path, ["api.example", "localhost"]).changed
    assert once == path.read_bytes() == b"ALLOWED_HOSTS = ['api.example', 'localhost']\n"


@pytest.mark.parametrize(("text", "message"), REFUSED.values(), ids=REFUSED.keys())
def test_refuses_what_cannot_be_patched_safely_and_writes_nothing(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(SettingsPatchError, match=message):
        patch_allowed_hosts(path, ["*"])
    assert path.read_bytes() == text.encode()
    assert [p.name for p in tmp_path.iterdir()] == ["settings.py"]


def test_file_mode_is_kept(tmp_path):
    path = write(tmp_path, "ALLOWED_HOSTS = []\n")
    path.chmod(0o640)
    patch_allowed_hosts(path, ["*"])
    assert path.stat().st_mode & 0o777 == 0o640


def test_the_settings_file_is_found_from_the_settings_module():
    assert settings_file("setup.settings") == Path(__file__).resolve().parent.parent / "setup" / "settings.py"


def test_command_default_hosts_and_diff(tmp_path):
    path = write(tmp_path, "ALLOWED_HOSTS = []\n")
    out = io.StringIO()
    call_command("patch_allowed_hosts", "--file", str(path), "--diff", stdout=out)
    assert "-ALLOWED_HOSTS = []" in out.getvalue() and "+ALLOWED_HOSTS = ['*']" in out.getvalue()
    assert path.read_text() == "ALLOWED_HOSTS = ['*']\n"


def test_command_with_hosts(tmp_path):
    path = write(tmp_path, "ALLOWED_HOSTS = []\n")
    call_command(
        "patch_allowed_hosts", "--file", str(path), "--host", "a.example", "--host", "b.example", stdout=io.StringIO()
    )
    assert path.read_text() == "ALLOWED_HOSTS = ['a.example', 'b.example']\n"


def test_check_exits_1_when_a_change_is_needed_and_writes_nothing(tmp_path):
    path = write(tmp_path, "ALLOWED_HOSTS = []\n")
    with pytest.raises(CommandError, match="needs") as raised:
        call_command("patch_allowed_hosts", "--file", str(path), "--check", stdout=io.StringIO())
    assert raised.value.returncode == 1
    assert path.read_text() == "ALLOWED_HOSTS = []\n"


def test_check_passes_on_a_patched_file(tmp_path):
    path = write(tmp_path, "ALLOWED_HOSTS = ['*']\n")
    out = io.StringIO()
    call_command("patch_allowed_hosts", "--file", str(path), "--check", stdout=out)
    assert "already" in out.getvalue()


def test_check_on_the_project_settings_says_a_change_is_needed():
    with pytest.raises(CommandError, match=r"setup/settings.py: ALLOWED_HOSTS is \[\]"):
        call_command("patch_allowed_hosts", "--check", stdout=io.StringIO())


def test_command_turns_a_refusal_into_a_command_error(tmp_path):
    path = write(tmp_path, "ALLOWED_HOSTS = os.environ['H']\n")
    with pytest.raises(CommandError, match="computed at run time"):
        call_command("patch_allowed_hosts", "--file", str(path), stdout=io.StringIO())


@pytest.mark.parametrize("host", ["", " padded "], ids=["empty", "padded"])
def test_invalid_host_is_refused(tmp_path, host):
    path = write(tmp_path, "ALLOWED_HOSTS = []\n")
    with pytest.raises(CommandError, match="Invalid hosts"):
        call_command("patch_allowed_hosts", "--file", str(path), "--host", host, stdout=io.StringIO())
    assert path.read_text() == "ALLOWED_HOSTS = []\n"
