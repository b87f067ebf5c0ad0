"""The three calls of Kortix's Secrets Manager kortix-guard makes, over the standard library's
HTTP client (kortix-ai/suna apps/api/src/projects/index.ts at the commit docs/choices.md pins):

- `GET /v1/projects/{id}/secrets`: `{items: [{name, …}], required, optional, …}`, names only
  (the service has no call that returns a value);
- `POST /v1/projects/{id}/secrets` `{name, value}`: an upsert, the value whole;
- `DELETE /v1/projects/{id}/secrets/{name}`.

Every failure is one ServiceError naming the status and what to do next; a message from the
service is shown cut short and with every value of this run removed (it should hold none).
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterable
from urllib.parse import quote

from kortix_guard import _meta
from kortix_guard.kortix.connection import LOGIN_HINT, PROJECT_HINT, Connection, KortixError
from kortix_guard.secret import SecretValue

DEFAULT_TIMEOUT = 30.0


class ServiceError(KortixError):
    def __init__(self, message: str, *, hint: str | None = None, status: int = 0) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class SecretsApi:
    def __init__(self, connection: Connection, *, timeout: float = DEFAULT_TIMEOUT,
                 scrub: Iterable[SecretValue] = ()) -> None:
        self.connection = connection
        self.timeout = timeout
        self._scrub = [v.reveal() for v in scrub if len(v) >= 4]

    @property
    def where(self) -> str:
        return f"project {self.connection.project_id} at {self.connection.api_url}"

    def names(self) -> dict:
        """The project's secret names and its manifest's `env`, as the service reads them."""
        data = self._call("GET", self._path())
        items = data.get("items") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise ServiceError(f"{self.where}: an answer kortix-guard does not understand "
                               f"(no `items` list)", hint="check that the URL is a Kortix API")
        return data

    def set(self, name: str, value: SecretValue) -> None:
        self._call("POST", self._path(), {"name": name, "value": value.reveal()}, name=name)

    def delete(self, name: str) -> None:
        self._call("DELETE", self._path(quote(name, safe="")), name=name)

    def _path(self, name: str | None = None) -> str:
        base = f"/projects/{quote(self.connection.project_id, safe='')}/secrets"
        return base + (f"/{name}" if name else "")

    def _call(self, method: str, path: str, body: dict | None = None, *,
              name: str | None = None):
        url = self.connection.url(path)
        request = urllib.request.Request(url, method=method, headers={
            "Authorization": f"Bearer {self.connection.token.reveal()}",
            "Accept": "application/json",
            "User-Agent": f"kortix-guard/{_meta.version()}",
        })
        data = json.dumps(body).encode("utf-8") if body is not None else None
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, data=data, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as e:
            raise self._refused(e, name) from None
        except TimeoutError:
            raise ServiceError(f"{self.where}: no answer within {self.timeout:g} s",
                               hint="check the network and KORTIX_API_URL, then run the command "
                                    "again (--timeout SECONDS waits longer)") from None
        except urllib.error.URLError as e:
            reason = e.reason if isinstance(e.reason, str) else type(e.reason).__name__
            if isinstance(e.reason, TimeoutError):
                reason = f"no answer within {self.timeout:g} s"
            raise ServiceError(f"{self.where}: could not reach it ({reason})",
                               hint="check the network and KORTIX_API_URL") from None
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None

    def _refused(self, e: urllib.error.HTTPError, name: str | None) -> ServiceError:
        said = _said(e, self._scrub)
        status = e.code
        subject = f"{name}: " if name else ""
        if status == 401:
            return ServiceError(f"{self.where}: Kortix rejected the token from "
                                f"{self.connection.token_from} (HTTP 401)", hint=LOGIN_HINT,
                                status=status)
        if status == 403:
            return ServiceError(f"{self.where}: the token may not manage this project's "
                                f"secrets (HTTP 403{': ' + said if said else ''})",
                                hint="use a token of a project owner or admin, or a service "
                                     "account granted project.secret.write", status=status)
        if status == 404:
            return ServiceError(f"{self.where}: Kortix knows no such project for this token "
                                f"(HTTP 404)", hint=PROJECT_HINT, status=status)
        if status == 429:
            wait = e.headers.get("Retry-After") if e.headers else None
            return ServiceError(f"{self.where}: Kortix is limiting the rate of calls (HTTP 429)",
                                hint=(f"wait {wait} s and " if wait else "wait, then ")
                                + "run it again: without --all, what already went is not sent "
                                  "again", status=status)
        if status >= 500:
            return ServiceError(f"{self.where}: Kortix failed (HTTP {status}"
                                f"{': ' + said if said else ''})",
                                hint="run it again later: without --all, what already went is not sent again",
                                status=status)
        return ServiceError(f"{self.where}: {subject}Kortix refused it (HTTP {status}"
                            f"{': ' + said if said else ''})",
                            hint="fix what the service says, then run it again", status=status)


def _said(e: urllib.error.HTTPError, scrub: list[str]) -> str:
    """The service's own `error` or `message` (as the CLI reads it), one line, at most 200
    characters, with any value of this run cut out."""
    try:
        payload = json.loads(e.read() or b"null")
    except (ValueError, OSError):
        payload = None
    text = ""
    if isinstance(payload, dict):
        for key in ("error", "message"):
            if isinstance(payload.get(key), str):
                text = payload[key]
                break
    for value in scrub:
        text = text.replace(value, "***")
    text = " ".join(text.split())
    return "".join(ch for ch in text if ch.isprintable())[:200]
