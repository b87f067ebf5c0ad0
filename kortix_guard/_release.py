"""The latest release of kortix-guard: its version and its commit. Written by `scripts/release`
(never by hand); every pin that `init`, the README, the docs and the examples write comes from
here (docs/releasing.md). A pin is a commit SHA, never a tag: a tag can be moved, or never
pushed."""
from __future__ import annotations

VERSION = "0.4.0"
COMMIT = "fdcc2532308af8a8909135dc5bdef2c72c80fefa"
