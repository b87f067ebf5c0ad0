"""The latest release of kortix-guard: its version and its commit. Written by `scripts/release`
(never by hand); every pin that `init`, the README, the docs and the examples write comes from
here (docs/releasing.md). A pin is a commit SHA, never a tag: a tag can be moved, or never
pushed."""
from __future__ import annotations

VERSION = "0.6.2"
COMMIT = "1e3581972949996bfd8adefe398a00a75b4d6baf"
