"""Which Kortix, which project and which token: found the way the pinned Kortix CLI finds them
(kortix-ai/suna apps/cli/src/api/config.ts, project-link.ts and command-helpers.ts at the
commits docs/choices.md pins), so `kortix-guard kortix push` talks to the project `kortix
secrets set` would.

- The token and the API: `KORTIX_CLI_TOKEN` (with `KORTIX_API_URL`, default
  https://api.kortix.com) wins; else the CLI's config file (`KORTIX_CONFIG_FILE`, else
  `KORTIX_AUTH_FILE`, else ~/.config/kortix/config.json: `{active, hosts: {NAME: {url,
  token}}}`; the host a project's link names, else the active one), else the older
  single-host ~/.config/kortix/auth.json (`{api_base, token}`).
- The project: `--project`, else `KORTIX_PROJECT_ID`, else `.kortix/link.json`'s `project_id`
  in the project root.
"""
from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from kortix_guard import errors
from kortix_guard.secret import SecretValue

DEFAULT_API_URL = "https://api.kortix.com"
LOGIN_HINT = ("in CI, set KORTIX_CLI_TOKEN to a Kortix service account's token (a repository "
              "secret); on your machine, run `kortix login`")


class KortixError(errors.Error):
    """Kortix could not be reached, refused a call, or could not be found (exit 2)."""


class Connection(NamedTuple):
    api_url: str  # the API's origin, as the CLI normalises it (no trailing `/`, no `/v1`)
    token: SecretValue
    project_id: str
    token_from: str  # where the token was found, for messages (never the token)

    def url(self, path: str) -> str:
        """The CLI's joinUrl: the origin, then exactly one `/v1`, then the path."""
        path = path if path.startswith("/") else "/" + path
        return self.api_url + (path if path.startswith("/v1/") else "/v1" + path)


def _json_file(path: Path) -> Any:
    """A JSON file's data, or None when it is missing or unreadable (as the CLI treats it)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def normalise_url(value: str, *, source: str) -> str:
    """The API origin the CLI would use (no query, no fragment, no trailing `/` or `/v1`).
    Plain http is refused except to this machine: a value would cross the network in clear."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise KortixError(f"{source}: {value[:100]!r} is not an http(s) URL",
                          hint="set KORTIX_API_URL to the API's origin, e.g. https://api.kortix.com")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise KortixError(f"{source}: {parts.scheme}://{parts.hostname} is plain http: secret "
                          f"values would cross the network unencrypted",
                          hint="use the API's https:// URL")
    base = f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")
    return base[:-3] if base.endswith("/v1") else base


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _text(data: dict, key: str) -> str:
    """An API URL from a config file, the CLI's default where it is not a string."""
    value = data.get(key)
    return value if isinstance(value, str) and value else DEFAULT_API_URL


def _link(root: Path) -> dict:
    data = _json_file(root / ".kortix" / "link.json")
    return data if isinstance(data, dict) else {}


def _config_file() -> tuple[Path, bool]:
    """The CLI's config file, and whether it is the default one (only then is the older
    auth.json read, as the CLI does)."""
    default = Path.home() / ".config" / "kortix" / "config.json"
    chosen = os.environ.get("KORTIX_CONFIG_FILE") or os.environ.get("KORTIX_AUTH_FILE")
    return (Path(chosen), False) if chosen else (default, True)


def find_token(root: Path) -> tuple[str, SecretValue, str] | None:
    """(API origin, token, where it was found), or None when no token is set anywhere."""
    env_token = os.environ.get("KORTIX_CLI_TOKEN", "").strip()
    if env_token:
        url = os.environ.get("KORTIX_API_URL") or DEFAULT_API_URL
        return normalise_url(url, source="KORTIX_API_URL"), SecretValue(env_token), \
            "KORTIX_CLI_TOKEN"
    path, default = _config_file()
    config = _json_file(path)
    if isinstance(config, dict) and isinstance(config.get("hosts"), dict):
        hosts = config["hosts"]
        wanted = _link(root).get("host") or config.get("active") or "cloud"
        host = hosts.get(wanted)
        token = host.get("token") if isinstance(host, dict) else None
        if isinstance(host, dict) and isinstance(token, str) and token.strip():
            return (normalise_url(_text(host, "url"), source=f"{path} host {wanted}"),
                    SecretValue(token.strip()), f"{path} (host {wanted})")
        return None
    legacy = path.parent / "auth.json" if default else None
    for candidate in (path, legacy):
        data = _json_file(candidate) if candidate is not None else None
        token = data.get("token") if isinstance(data, dict) else None
        if isinstance(data, dict) and isinstance(token, str) and token.strip():
            return (normalise_url(_text(data, "api_base"), source=str(candidate)),
                    SecretValue(token.strip()), str(candidate))
    return None


def find_project(root: Path, project: str | None) -> tuple[str, str] | None:
    """(project id, where it was found), or None."""
    if project:
        return project, "--project"
    env_project = os.environ.get("KORTIX_PROJECT_ID", "").strip()
    if env_project:
        return env_project, "KORTIX_PROJECT_ID"
    linked = _link(root).get("project_id")
    if isinstance(linked, str) and linked.strip():
        return linked.strip(), ".kortix/link.json"
    return None


PROJECT_HINT = ("pass --project ID, set KORTIX_PROJECT_ID, or link the repository with "
                "`kortix projects link` (it writes .kortix/link.json)")


def connect(root: Path, project: str | None) -> Connection | None:
    """The connection, or None when no token is found (the caller may use the `kortix` CLI
    instead). KortixError when there is a token but no project."""
    found = find_token(root)
    if found is None:
        return None
    url, token, token_from = found
    project_found = find_project(root, project)
    if project_found is None:
        raise KortixError("no Kortix project: kortix-guard does not know which project's "
                          "Secrets Manager to use", hint=PROJECT_HINT)
    return Connection(url, token, project_found[0], token_from)
