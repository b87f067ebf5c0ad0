"""What each command-line group of the store does, as plain functions that return an exit
code: `secrets` (secrets.py, edit.py), `env` (env.py), `key` (key.py; version 1's in
v1.py), `recipients` and `identity` (recipients.py), `store` (store.py), `merge-store`
(merge.py). The library they stand on is the rest of `kortix_guard.store`."""
