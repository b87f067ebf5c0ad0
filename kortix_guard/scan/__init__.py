"""The secret scanner: modes, detectors, context rules, reports (docs/architecture.md)."""
