"""The only importer of detect_secrets. Its plugins and filters run on the lines our
prefilter picked, inside `transient_settings`, and its results become our Hits at once.

detect-secrets keeps process-global settings; this adapter enters them once per scanning
process and restores them on exit. It uses detect-secrets' line-level machinery
(`_scan_line`, `_is_filtered_out`), the same calls its own `scan_file` makes per line, because
its public entry points read whole files from disk and we scan git blobs. Verification
(which would send a found secret to the provider's API) stays off.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

from kortix_guard.scan.model import Hit, Text
from kortix_guard.secret import SecretValue


class DetectSecrets(contextlib.AbstractContextManager):
    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self._entered = False

    def _enter(self) -> None:
        from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
        from detect_secrets.settings import get_filters, get_settings, transient_settings

        plugins = [{"name": cls.__name__}
                   for cls in get_mapping_from_secret_type_to_class().values()]
        self._stack.enter_context(transient_settings({"plugins_used": plugins}))
        # We hand it blobs that need not exist on disk (index, history), and a secret is never
        # sent to a provider's API for verification.
        get_settings().disable_filters(
            "detect_secrets.filters.common.is_invalid_file",
            "detect_secrets.filters.common.is_ignored_due_to_verification_policies",
        )
        get_filters.cache_clear()
        self._entered = True

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def find(self, text: Text, lines: set[int]) -> Iterator[Hit]:
        if not lines:
            return
        if not self._entered:
            self._enter()
        from detect_secrets.core.scan import _is_filtered_out
        from detect_secrets.settings import get_plugins
        from detect_secrets.util.code_snippet import get_code_snippet

        path = text.path
        if _is_filtered_out(required_filter_parameters=["filename"], filename=path):
            return
        all_lines = text.lines()
        plugins = get_plugins()
        for number in sorted(lines):
            line = all_lines[number - 1].rstrip()
            snippet = get_code_snippet(lines=all_lines, line_number=number)
            if _is_filtered_out(required_filter_parameters=["line"], filename=path, line=line,
                                context=snippet):
                continue
            for plugin in plugins:
                # What detect-secrets' `_scan_line` does, without its per-call signature
                # inspection (which cost more than the plugins themselves).
                for secret in plugin.analyze_line(filename=path, line=line, line_number=number,
                                                  context=snippet):
                    if _is_filtered_out(required_filter_parameters=["secret"], filename=path,
                                        secret=secret.secret_value, plugin=plugin, line=line):
                        continue
                    if _is_filtered_out(required_filter_parameters=["context"],
                                        filename=secret.filename, secret=secret.secret_value,
                                        plugin=plugin, line=line, context=snippet):
                        continue
                    value = secret.secret_value or ""
                    column = max(line.find(value), 0) if value else 0
                    yield Hit(text.starts[number - 1] + column, "KG330", secret.type,
                              SecretValue(value))
