"""The scanner's layers: known values, declared names, patterns (ours and detect-secrets'),
and files that must never be committed."""
