"""Rewrite the ALLOWED_HOSTS assignment of a settings file, whatever its formatting, atomically."""

from __future__ import annotations

import ast
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from ecr_deploy.common import unified_diff, write_atomically
from ecr_deploy.errors import SettingsPatchError


@dataclass(frozen=True)
class PatchResult:
    path: Path
    old_hosts: list[str]
    new_hosts: list[str]
    diff: str

    @property
    def changed(self) -> bool:
        return bool(self.diff)


def settings_file(settings_module: str) -> Path:
    """The file that assigns ALLOWED_HOSTS for a settings module: its own file or, for settings split into
    modules (`from .base import *`), the star-imported one whose assignment is the one that stays."""
    return _assigning_file(settings_module) or _module_file(settings_module)


def _module_file(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        raise SettingsPatchError(f"Cannot find the file of settings module {module!r}.")
    return Path(spec.origin)


def _assigning_file(module: str) -> Path | None:
    path = _module_file(module)
    try:
        tree = ast.parse(path.read_bytes())
    except (OSError, SyntaxError):
        return None  # patching it reports the problem with its line
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = None
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and any(alias.name == "*" for alias in node.names):
            imported = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
            found = _assigning_file(imported) or found
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and any(
            isinstance(target, ast.Name) and target.id == "ALLOWED_HOSTS"
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        ):
            found = path
    return found


def _the_assignment(tree: ast.Module, path: Path) -> ast.expr:
    """The value of the one top-level ALLOWED_HOSTS assignment to patch. Later assignments are allowed only
    as a run-time override that falls back to it (`ALLOWED_HOSTS = from_environment() or ALLOWED_HOSTS`)."""
    stores = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Name) and n.id == "ALLOWED_HOSTS" and isinstance(n.ctx, ast.Store)
    ]
    top_level = [
        node.value
        for node in tree.body
        if isinstance(node, (ast.Assign, ast.AnnAssign))
        and node.value is not None
        and any(
            isinstance(t, ast.Name) and t.id == "ALLOWED_HOSTS"
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
        )
    ]
    augmented = [
        n for n in ast.walk(tree) if isinstance(n, ast.AugAssign) and getattr(n.target, "id", None) == "ALLOWED_HOSTS"
    ]
    if not stores and not augmented:
        raise SettingsPatchError(f"{path} has no ALLOWED_HOSTS assignment; add `ALLOWED_HOSTS = []` at the top level.")
    patched, overrides = top_level[:1], top_level[1:]
    if len(stores) != len(top_level) or not patched or augmented or not all(map(_falls_back, overrides)):
        raise SettingsPatchError(
            f"{path} assigns ALLOWED_HOSTS more than once, conditionally or by unpacking; "
            "leave one plain top-level `ALLOWED_HOSTS = [...]` so it can be patched safely "
            "(a later `ALLOWED_HOSTS = ... or ALLOWED_HOSTS` may override it at run time)."
        )
    return patched[0]


def _falls_back(value: ast.expr) -> bool:
    """`... or ALLOWED_HOSTS`: an override that keeps the patched value when it has nothing to say."""
    return (
        isinstance(value, ast.BoolOp)
        and isinstance(value.op, ast.Or)
        and isinstance(value.values[-1], ast.Name)
        and value.values[-1].id == "ALLOWED_HOSTS"
    )


def _literal_hosts(value: ast.expr, path: Path) -> list[str]:
    try:
        hosts = ast.literal_eval(value)
    except ValueError:
        hosts = None
    if not isinstance(hosts, (list, tuple)) or not all(isinstance(h, str) for h in hosts):
        raise SettingsPatchError(
            f"{path}:{value.lineno}: ALLOWED_HOSTS is computed at run time ({ast.unparse(value)}); "
            "it cannot be patched. Write a literal list, or set the hosts yourself."
        )
    return list(hosts)


def _byte_offset(lines: list[bytes], lineno: int, col: int) -> int:
    return sum(len(line) for line in lines[: lineno - 1]) + col


def patched_source(source: bytes, hosts: list[str], path: Path) -> tuple[bytes, list[str]]:
    """The new source and the old hosts; only the bytes of the assigned value change."""
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as err:
        raise SettingsPatchError(f"{path}:{err.lineno}: not valid Python ({err.msg}).") from err
    value = _the_assignment(tree, path)
    old_hosts = _literal_hosts(value, path)
    if old_hosts == hosts:
        return source, old_hosts
    items = ", ".join(repr(h) for h in hosts)
    literal = (
        f"({items},)"
        if isinstance(value, ast.Tuple) and len(hosts) == 1
        else (f"({items})" if isinstance(value, ast.Tuple) else f"[{items}]")
    )
    lines = source.splitlines(keepends=True)
    start = _byte_offset(lines, value.lineno, value.col_offset)
    end = _byte_offset(lines, value.end_lineno, value.end_col_offset)
    return source[:start] + literal.encode() + source[end:], old_hosts


def patch_allowed_hosts(path: Path, hosts: list[str], *, write: bool = True) -> PatchResult:
    """Set ALLOWED_HOSTS in path to hosts; idempotent; writes only when something changes."""
    if not hosts or not all(isinstance(h, str) and h and h.strip() == h for h in hosts):
        raise SettingsPatchError(f"Invalid hosts {hosts!r}: give one or more non-empty host names, e.g. '*'.")
    try:
        source = path.read_bytes()
    except OSError as err:
        raise SettingsPatchError(f"Cannot read {path}: {err.strerror}.") from err
    new_source, old_hosts = patched_source(source, hosts, path)
    diff = unified_diff(source.decode(errors="replace"), new_source.decode(errors="replace"), path.name)
    if diff and write:
        write_atomically(path, new_source)
    return PatchResult(path=path, old_hosts=old_hosts, new_hosts=hosts if diff else old_hosts, diff=diff)
