"""The latest release of kortix-guard: its version and its commit. Written by `scripts/release`
(never by hand); every pin that `init`, the README, the docs and the examples write comes from
here (docs/releasing.md). A pin is a commit SHA, never a tag: a tag can be moved, or never
pushed."""
from __future__ import annotations

VERSION = "0.6.4"
COMMIT = "1e2da8059f6680f8faa307685489305c7e86ff86"
