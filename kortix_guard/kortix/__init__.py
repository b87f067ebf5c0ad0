"""Kortix's Secrets Manager as the destination: `kortix-guard kortix push` keeps the platform
in step with the store in git, `kortix diff` and `check --kortix` compare the names.

connection.py finds the API, the token and the project as the pinned Kortix CLI does;
api.py makes the three calls; cli_tool.py uses the `kortix` CLI where no token is found;
push.py is the two commands.
"""
from __future__ import annotations
