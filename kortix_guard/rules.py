"""Every rule kortix-guard reports, with a stable code. The docs' rule tables come from here.

Codes never change meaning and are never reused: KG1xx are manifest rules (and the name rules
that `secrets set`, `env push` and `inject` share with it), KG3xx are scanner rules.
"""
from __future__ import annotations

import enum
from typing import NamedTuple


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"


class Rule(NamedTuple):
    code: str
    name: str
    severity: Severity
    summary: str
    example: str  # a snippet that triggers it (never a real secret)
    fixable: bool = False  # `manifest check --fix` repairs it
    versions: tuple[int, ...] = (1, 2, 3)  # the manifest versions a KG1xx rule applies to


V1, YAML = (1,), (2, 3)


E, W = Severity.ERROR, Severity.WARNING

_RULES = [
    # The manifest as a file.
    Rule("KG100", "invalid-toml", E, "kortix.toml is not valid TOML.", 'required = ["A",',
         versions=V1),
    Rule("KG101", "unsupported-version", E,
         "A `kortix_version` this release does not know, or in the wrong syntax: kortix.toml is "
         "version 1 (absent, 1 or \"1\"), kortix.yaml versions 2 and 3 (required). Kortix "
         "rejects an unknown version outright.", "kortix_version = 2  # in kortix.toml"),
    Rule("KG102", "ignored-manifest", W,
         "Kortix reads kortix.yaml, then kortix.yml, then kortix.toml: a later one beside an "
         "earlier one is ignored.", "kortix.yaml next to kortix.toml"),
    Rule("KG103", "project-name", E, "`[project]` must be a table with a non-empty string `name`.",
         '[project]\nname = ""', versions=V1),
    Rule("KG104", "env-shape", E,
         "`[env]` must be a table; `required` and `optional` must be arrays.",
         'env = "DATABASE_URL"'),
    Rule("KG105", "env-unknown-key", E,
         "`[env]` holds only `required` and `optional`.", '[env]\nrequried = ["A"]', versions=V1),
    Rule("KG106", "value-in-manifest", E,
         "A key under `env` holds a string (in kortix.yaml, a key shaped like an env var "
         "name): values never go in the manifest. The message never repeats the value.",
         '[env]\nOPENAI_API_KEY = "sk-..."'),  # kortix-guard: allow
    Rule("KG107", "invalid-yaml", E,
         "kortix.yaml is not valid YAML for a manifest: a syntax error, a tab in the "
         "indentation, a duplicate key, aliases that expand past 100,000 nodes, or a top "
         "level that is not a mapping.", "env:\n\trequired: [A]", versions=YAML),
    # Names: shared with secrets set, env push and inject.
    Rule("KG110", "name-invalid", E,
         "A name must match `^[A-Z_][A-Z0-9_]{0,63}$`.", 'required = ["API-KEY"]'),
    Rule("KG111", "name-lowercase", E,
         "Lower-case name; Kortix upper-cases it silently.", 'required = ["api_key"]', fixable=True),
    Rule("KG112", "name-too-long", E,
         "Over 64 characters: the Kortix API refuses to store it.", 'required = ["A…(65 chars)"]'),
    Rule("KG113", "name-whitespace", E, "Spaces around a name.", 'required = [" API_KEY "]',
         fixable=True),
    Rule("KG114", "name-empty", E, "An empty name.", 'required = [""]'),
    Rule("KG115", "name-not-string", E, "A name that is not a string.", "required = [42]"),
    Rule("KG120", "name-reserved", E, "`KORTIX_*` is reserved for the platform's runtime variables.",
         'required = ["KORTIX_TOKEN"]'),
    Rule("KG121", "name-dropped", E,
         "Kortix drops this name when a session starts: it never reaches the session.",
         'optional = ["PORT"]'),
    Rule("KG122", "name-github-refused", W,
         "`GITHUB_*` and `RUNNER_*` are the runner's own variables (it overwrites the ones it "
         "builds from its contexts): kortix-guard's policy is not to export them to a job.",
         'optional = ["GITHUB_TOKEN"]'),
    Rule("KG123", "name-changes-loading", E,
         "A name that changes what a process loads or runs, by family (`PYTHON*`, `GIT_*`, "
         "`PIP_*`, `NPM_CONFIG_*`, `LD_*`, `DYLD_*`, `GO*FLAGS`, `BASH_ENV`, `BROWSER`, ...; "
         "the list is below): the platform would inject it into every session. Refused by "
         "`secrets set`, `env push` and `inject` too. A project that needs one as a secret "
         "lists it in `[guard] allow_env`.",
         'optional = ["BASH_ENV"]'),
    Rule("KG130", "name-duplicate", E, "A name twice in one list.",
         'required = ["A", "A"]', fixable=True),
    Rule("KG131", "name-in-both", E, "A name in both `required` and `optional`.",
         'required = ["A"]\noptional = ["A"]'),
    Rule("KG140", "trigger-secret-undeclared", E,
         "A webhook trigger's `secret_env` must be a name declared in `env` "
         "(Kortix answers 409 otherwise).", '[[triggers]]\ntype = "webhook"\nsecret_env = "HOOK"'),
    Rule("KG141", "connector-secret-undeclared", E,
         "A connector's `auth.secret` must be a name declared in `[env]` (version 1); versions "
         "2 and 3 forbid `auth.secret` (a connector's credential is shared, set in Kortix).",
         '[[connectors]]\nauth = { type = "bearer", secret = "TOKEN" }'),
    Rule("KG142", "app-env-invalid", E,
         "An app's `env` (and version 2's `apps.<slug>.secrets`) holds "
         "`^[A-Za-z_][A-Za-z0-9_]*$` names, `env` with string values.",
         '[[apps]]\nenv = { "my-var" = 1 }'),
    Rule("KG143", "app-secret-undeclared", E,
         "`apps.<slug>.secrets` maps an env name to a project secret: the secret must be a name "
         "declared in `env`. Version 3 has no `apps` at all.",
         "apps:\n  web:\n    secrets: {DB: DATABASE_URL}", versions=YAML),
    Rule("KG150", "unknown-table", W, "A top-level table Kortix does not know; it is ignored. "
                                      "In kortix.yaml only a near miss of a key that touches "
                                      "secrets (`enviroment`, `environment`, `agent`) is "
                                      "reported.",
         "[enviroment]"),
    Rule("KG151", "guard-unknown-key", E,
         "An unknown key in kortix-guard's own settings (`[guard]` in kortix.toml, "
         "`x-kortix-guard` in kortix.yaml).", '[guard]\nstroe = "x"'),
    Rule("KG152", "guard-bad-type", E, "A kortix-guard setting of the wrong type.",
         "[guard]\nmin_known_length = \"8\""),
    Rule("KG160", "agent-grant-undeclared", W,
         "An agent is granted a secret `env` does not declare (compared without case). Kortix "
         "treats `env` as advisory, so it may exist in the Secrets Manager, but here it is "
         "usually a typo, and `inject --agent` exports declared names only. `--strict` fails.",
         "agents:\n  kortix: {secrets: [OPENAI_KEY]}", versions=YAML),
    Rule("KG161", "agent-grant-all", W,
         "`secrets: all` (or `*`) on an enabled agent other than `default_agent`: grant a "
         "specialist the names it needs (least privilege).",
         "agents:\n  helper: {secrets: all}", versions=YAML),
    Rule("KG162", "agent-grant-invalid", E,
         "An agent's `secrets` must be a list of names, `all`, `none` or `*` (omitted is "
         "`none`: deny by default).", "agents:\n  kortix: {secrets: everything}", versions=YAML),
    Rule("KG163", "default-agent", E,
         "`default_agent` must name an agent `agents` declares, and not a disabled one.",
         "default_agent: kortx", versions=YAML),
    # The scanner: a secret value about to enter git. Each finding also carries a confidence
    # (high, medium, low), declared by the detector that found it (docs/scan.md).
    Rule("KG300", "known-store-value", E,
         "A value from this project's encrypted store, whatever its shape.",
         "a store value pasted into config.py"),
    Rule("KG301", "known-env-value", E,
         "A value from an untracked or ignored `.env*` file of the work tree.",
         "a .env value pasted into settings.yaml"),
    Rule("KG302", "known-kortix-credential", E,
         "A Kortix credential from this process's environment (`KORTIX_TOKEN`, "
         "`KORTIX_CLI_TOKEN`, `KORTIX_SANDBOX_TOKEN`, `KORTIX_LLM_API_KEY`): in a Kortix "
         "session, the agent's own token; in CI, the token that pushes to Kortix.",
         "a session's $KORTIX_TOKEN written into a log file"),
    Rule("KG310", "declared-name-literal", E,
         "A literal assigned to a name that the manifest declares (references and placeholders "
         "are fine).", 'DATABASE_URL = "postgres://app:pw@db/app"'),  # kortix-guard: allow
    Rule("KG320", "provider-token", E,
         "A token in a provider's format (Kortix's own: `kortix_pat_`, `kortix_sa_`, "
         "`kortix_sb_`, ...; AI providers such as OpenAI, Anthropic, OpenRouter, "
         "Groq, xAI, Mistral and Hugging Face; back-end services such as Supabase, Stripe, "
         "Clerk, Resend and Vercel; GitHub, npm, Slack, AWS, ...), or a key with no prefix of "
         "its own under its conventional name (`SERPER_API_KEY=…`). The detector table in "
         "docs/scan.md lists them with the format each was written from.", 'token = "ghp_…"'),
    Rule("KG321", "private-key", E, "A PEM, OpenSSH or PuTTY private key block with key material "
                                    "(also inside JSON strings with \\n escapes).",
         "-----BEGIN RSA PRIVATE KEY-----"),
    Rule("KG322", "url-password", E, "A URL or connection string with a password in it, or a "
                                     "curl command's `-u user:password` or `Authorization` "
                                     "header.",
         "postgres://app:hunter2@db/app"),  # kortix-guard: allow
    Rule("KG323", "jwt", E, "A JSON Web Token; a Supabase key whose role is `service_role` is "
                            "high, one whose role is `anon` is public by design.", "eyJhbGciOi…"),
    Rule("KG324", "kortix-guard-key", E, "A kortix-guard store key (its checksum verified).",
         "kgk1_…"),
    Rule("KG325", "age-identity", E, "An age identity (`AGE-SECRET-KEY-1…`, its bech32 "
                                     "checksum verified).", "AGE-SECRET-KEY-1…"),
    Rule("KG326", "password-hash", E, "A password hash (crypt `$6$`, bcrypt `$2y$`, `$apr1$`, "
                                      "argon2, Django pbkdf2, `{SHA}`): crackable offline.",
         "root:$6$salt$…:19000:0:99999:7:::"),
    Rule("KG327", "framework-secret", E, "A framework's signing secret (Rails "
                                         "`secret_key_base`, WordPress keys and salts).",
         "define('AUTH_KEY', '…');"),
    Rule("KG330", "detect-secrets", E,
         "Retired in 0.2 (detect-secrets' plugins, replaced by KG320-KG332); a baseline entry "
         "with this code still accepts the same value.", "(retired)"),
    Rule("KG331", "secret-keyword", E,
         "A value under a secret-like key (`password`, `passphrase`, `secret`, `token`, "
         "`api_key`, ...) in JSON, XML, YAML, INI, properties, rc files or code.",
         '{"pass": "…"}'),
    Rule("KG332", "high-entropy", E, "A high-entropy string with no secret-like context "
                                     "(always low confidence).", 'blob = "…"'),
    Rule("KG340", "never-commit-file", E,
         "A file that must never be committed: a `.env` holding a real value (reported at its "
         "line; example files are judged line by line instead), private keys, .netrc, "
         ".pgpass, credentials files, .s3cfg, FileZilla and WinSCP sites, master.key, "
         "htpasswd/shadow files, age identity files, kortix-guard key files.", ".env"),
    Rule("KG350", "unscanned", E, "Content that could not be scanned, so it cannot be cleared: "
                                  "a file past the scanner's cap (100 MiB), a file that cannot "
                                  "be read, an object a partial, shallow or damaged clone lacks. "
                                  "Whether it fails the scan depends on the mode (docs/scan.md, "
                                  "Unscanned).", "a 200 MiB dump"),
]

RULES: dict[str, Rule] = {r.code: r for r in _RULES}
assert len(RULES) == len(_RULES), "duplicate rule code"


FIXABLE = frozenset(r.code for r in _RULES if r.fixable)


def rule(code: str) -> Rule:
    return RULES[code]


def versions_table() -> str:
    """The docs table of the manifest checks by manifest version (generated)."""
    lines = ["| code | name | severity | kortix.toml (1) | kortix.yaml (2) | kortix.yaml (3) |",
             "|---|---|---|---|---|---|"]
    for r in _RULES:
        if r.code.startswith("KG1"):
            marks = " | ".join("✓" if v in r.versions else "–" for v in (1, 2, 3))
            lines.append(f"| {r.code} | {r.name} | {r.severity.value} | {marks} |")
    return "\n".join(lines) + "\n"


def markdown_table(prefix: str) -> str:
    """The docs table of every rule whose code starts with prefix."""
    import html

    lines = ["| code | name | severity | what it means | example |", "|---|---|---|---|---|"]
    for r in _RULES:
        if r.code.startswith(prefix):
            example = html.escape(r.example).replace("\n", "<br>").replace("|", "&#124;")
            summary = r.summary.replace("|", "\\|") + (" Fixable with `--fix`." if r.fixable else "")
            # Examples look like secrets on purpose; the marker keeps our own scan quiet.
            lines.append(f"| {r.code} | {r.name} | {r.severity.value} | {summary} "
                         f"| <code>{example}</code> <!-- kortix-guard: allow --> |")
    return "\n".join(lines) + "\n"
