"""The commit of this repository that generated workflows and the docs' examples pin (a
commit SHA, never a movable tag). Cutting a release updates it to the release's commit."""
from __future__ import annotations

PINNED_COMMIT = "33a1cdf01fe8678eff495be0da6a9d4c54a7123e"
