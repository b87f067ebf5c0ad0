"""The latest release of kortix-guard: its version and its commit. Written by `scripts/release`
(never by hand); every pin that `init`, the README, the docs and the examples write comes from
here (docs/releasing.md). A pin is a commit SHA, never a tag: a tag can be moved, or never
pushed."""
from __future__ import annotations

VERSION = "0.5.0"
COMMIT = "f1947c2593f21439247529c0ecd59c41861f7924"
