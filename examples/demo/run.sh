#!/usr/bin/env bash
# The whole kortix-guard loop on the demo project, in a temporary git repository:
# an identity, init, secrets, a passing check, a planted token that check blocks, run (and
# run as one agent, with only what it is granted), CI's own identity, and inject --check.
# Nothing is written outside the temporary folder; no key is ever tracked in this repository.
# DEMO_MANIFEST=kortix.toml walks the same loop on a legacy (version 1) manifest.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
kg=${KORTIX_GUARD:-kortix-guard}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export XDG_CONFIG_HOME="$work/config"   # the demo's identity lives and dies here
unset KORTIX_GUARD_KEY KORTIX_GUARD_KEY_FILE

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
random() { python3 -c "import secrets; print(secrets.token_urlsafe($1))"; }

step "a Kortix project in a fresh git repository"
mkdir "$work/demo"
manifest=${DEMO_MANIFEST:-kortix.yaml}
cp "$here/$manifest" "$here/app.py" "$work/demo/"
cd "$work/demo"
git init -q -b main
git config user.email demo@example.com
git config user.name demo
cat "$manifest"

step "your identity (once per machine): its public recipient is the last line"
"$kg" identity new

step "kortix-guard init (the store is wrapped to your identity)"
"$kg" init

step "secrets set (generated values, read from stdin)"
printf 'postgres://app:%s@db.internal/app' "$(random 18)" | "$kg" secrets set DATABASE_URL=-  # kortix-guard: allow (a format string)
random 32 | "$kg" secrets set WEBHOOK_SLACK_SECRET=-
"$kg" secrets ls

step "commit the project (the store holds sealed values only)"
git add -A
git commit -qm "kortix project with kortix-guard"
git log --oneline

step "kortix-guard check passes"
"$kg" check

step "a planted token, staged: check blocks it"
# A well-formed GitHub token: 30 random characters and their CRC32 in base62 (a made-up one
# whose checksum fails is only shown at --min-confidence low).
printf 'GITHUB_TOKEN = "ghp_%s"\n' "$(python3 -c '
import secrets, string, zlib
b62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
body = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(30))
n, check = zlib.crc32(body.encode()), ""
while n:
    n, r = divmod(n, 62)
    check = b62[r] + check
print(body + check.rjust(6, "0"))')" > leak.py
git add leak.py
if "$kg" check; then
  echo "demo: check should have failed on the planted token" >&2
  exit 1
fi
git rm -q --cached leak.py
rm leak.py

step "kortix-guard run -- the app (it prints which names it received, never values)"
"$kg" run -- python3 app.py

if [ "$manifest" != kortix.toml ]; then
  step "run as the notifier agent: only what kortix.yaml grants it"
  "$kg" run --agent notifier -- python3 app.py
fi

step "CI's own identity: a recipient of the store (printed once; here kept in a variable)"
ci_identity=$("$kg" recipients add ci --generate 2>/dev/null | tail -1)
"$kg" recipients ls

step "inject --check in CI: the identity from KORTIX_GUARD_KEY, nothing exported"
XDG_CONFIG_HOME="$work/ci-config" KORTIX_GUARD_KEY=$ci_identity "$kg" inject --check

step "done: every step passed"
