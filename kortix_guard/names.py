"""The secret-name rules, one implementation for the manifest, `secrets set`, `env push` and
`inject`. Facts from Kortix: names are env-var shaped, `KORTIX_*` is the platform's, and some
names are dropped when a session starts.
"""
from __future__ import annotations

import re
from typing import NamedTuple

from kortix_guard.rules import Rule, rule

NAME_RE = re.compile(r"[A-Z_][A-Z0-9_]{0,63}")
MAX_LEN = 64
RESERVED_PREFIX = "KORTIX_"
DROPPED = frozenset(
    "PORT PATH HOME PWD USER LOGNAME SHELL HOSTNAME TERM TMPDIR NODE_ENV NODE_OPTIONS "
    "LD_PRELOAD LD_LIBRARY_PATH".split()
)
DROPPED_PREFIX = "OPENCODE_"
# Names that change what a process loads or runs: set from a secret, they hand code execution
# to whoever can write the secret. kortix-guard's own policy (KG123), stricter than Kortix:
# whole families by prefix (a tool reads many variables of its own prefix, and new ones
# appear with each release), then single names. `[guard] allow_env` lets a project through
# with a name it really needs (CARGO_REGISTRY_TOKEN, a private PIP_INDEX_URL, NPM_CONFIG__AUTH).
LOADER_FAMILIES: tuple[tuple[str, str], ...] = (
    ("PYTHON", "Python: PYTHONPATH, PYTHONSTARTUP, PYTHONWARNINGS (with BROWSER: a command)"),
    ("PIP_", "pip: PIP_INDEX_URL, PIP_TRUSTED_HOST (what is installed)"),
    ("GIT_", "git: GIT_SSH_COMMAND, GIT_PROXY_COMMAND, GIT_CONFIG_*, GIT_TEMPLATE_DIR"),
    ("NPM_CONFIG_", "npm: NPM_CONFIG_REGISTRY, NPM_CONFIG_SCRIPT_SHELL"),
    ("YARN_", "yarn: YARN_REGISTRY, YARN_RC_FILENAME"),
    ("NODE_", "Node.js: NODE_OPTIONS (--require), NODE_PATH"),
    ("JDK_", "Java: JDK_JAVA_OPTIONS (an agent)"),
    ("DOTNET_", ".NET: DOTNET_STARTUP_HOOKS"),
    ("RUST", "Rust: RUSTC_WRAPPER, RUSTFLAGS, RUSTUP_*"),
    ("CARGO_", "Cargo: CARGO_BUILD_RUSTC_WRAPPER, CARGO_HOME"),
    ("LD_", "the dynamic loader: LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT"),
    ("DYLD_", "the macOS loader: DYLD_INSERT_LIBRARIES"),
    ("PERL", "Perl: PERL5OPT, PERL5LIB"),
    ("RUBY", "Ruby: RUBYOPT, RUBYLIB"),
    ("BUNDLE_", "Bundler: BUNDLE_GEMFILE"),
    ("GEM_", "RubyGems: GEM_HOME, GEM_PATH"),
    ("COMPOSER_", "Composer: COMPOSER_HOME"),
    ("ACTIONS_", "GitHub Actions: ACTIONS_ALLOW_UNSECURE_COMMANDS"),
    ("XDG_", "the XDG folders: XDG_CONFIG_HOME (git's config there sets core.fsmonitor, a "
             "command), XDG_DATA_HOME"),
    ("UV_", "uv: UV_INDEX_URL, UV_PYTHON (what is installed and run)"),
    ("POETRY_", "Poetry: POETRY_REPOSITORIES_*, POETRY_CONFIG_DIR"),
    ("PDM_", "PDM: PDM_PYPI_URL"),
    ("PIPENV_", "Pipenv: PIPENV_PYPI_MIRROR, PIPENV_DOTENV_LOCATION"),
    ("BUN_", "Bun: BUN_CONFIG_REGISTRY, BUN_INSTALL"),
    ("PNPM_", "pnpm: PNPM_HOME"),
    ("DENO_", "Deno: DENO_DIR, DENO_AUTH_TOKENS (what is fetched)"),
    ("CONDA_", "conda: CONDA_PKGS_DIRS, CONDA_CHANNELS"),
    ("SOPS_", "SOPS: SOPS_AGE_KEY_CMD (a command), SOPS_AGE_KEY_FILE"),
    ("SSL_CERT_", "OpenSSL: SSL_CERT_FILE, SSL_CERT_DIR (whom TLS trusts)"),
)
# Go's *FLAGS (GOFLAGS, GOAMD64FLAGS...) and its download settings; not every GO* (GOOGLE_...).
_GO = re.compile(r"GO[A-Z0-9]*FLAGS|GOPROXY|GOTOOLCHAIN|GOINSECURE|GONOSUMDB|GONOSUMCHECK|GOSUMDB"
                 r"|GOPRIVATE|GONOPROXY|GOENV|GOPATH|GOROOT")
# Single names, by what they change (a family's prefix would catch an application's own
# names: FEATURE_FLAGS is not CFLAGS).
LOADER_NAMES: tuple[tuple[str, str], ...] = (
    ("BASH_ENV ENV PS4 SHELLOPTS BASHOPTS PROMPT_COMMAND", "shells: a file or command at start"),
    ("SSH_ASKPASS BROWSER EDITOR VISUAL PAGER MANPAGER LESSOPEN LESSCLOSE",
     "programs a tool starts"),
    ("JAVA_TOOL_OPTIONS _JAVA_OPTIONS CLASSPATH MAVEN_OPTS GRADLE_OPTS SBT_OPTS", "the JVM"),
    ("GCONV_PATH LOCPATH NLSPATH HOSTALIASES", "glibc: modules and files it loads"),
    ("TAR_OPTIONS", "tar: `--checkpoint-action=exec`"),
    ("MAKEFLAGS MFLAGS GNUMAKEFLAGS MAKEFILES", "make: options and makefiles read first"),
    ("HTTP_PROXY HTTPS_PROXY ALL_PROXY FTP_PROXY NO_PROXY", "proxies: where traffic goes"),
    ("REQUESTS_CA_BUNDLE CURL_CA_BUNDLE CURL_HOME WGETRC", "whom TLS trusts, a tool's rc file"),
    ("CC CXX CPP LD AR CFLAGS CXXFLAGS CPPFLAGS LDFLAGS", "compilers and their flags"),
)
LOADER = frozenset(name for names, _ in LOADER_NAMES for name in names.split())
_LOADER_PREFIXES = tuple(p for p, _ in LOADER_FAMILIES)


def is_loader(name: str) -> bool:
    """Whether name changes what a process loads or runs (KG123)."""
    return (name in LOADER or name.startswith(_LOADER_PREFIXES)
            or name.startswith("GO") and _GO.fullmatch(name) is not None)


def loader_table() -> str:
    """The documented list (docs/manifest.md), from the data above."""
    lines = ["| names | what they change |", "|---|---|"]
    lines += [f"| `{prefix}*` | {what} |" for prefix, what in LOADER_FAMILIES]
    lines.append("| `GO*FLAGS`, `GOPROXY`, `GOTOOLCHAIN`, `GOPATH`, ... | Go: flags and "
                 "what is downloaded |")
    lines += ["| " + ", ".join(f"`{n}`" for n in names.split()) + f" | {what} |"
              for names, what in LOADER_NAMES]
    return "\n".join(lines) + "\n"
GITHUB_REFUSED_PREFIXES = ("GITHUB_", "RUNNER_")


class NameIssue(NamedTuple):
    rule: Rule
    message: str
    fix: str | None = None  # the safe replacement, when there is one


def is_valid(name: str) -> bool:
    return NAME_RE.fullmatch(name) is not None


def shown(name: str) -> str:
    """A name as messages show it. Names are public, so a name is shown whole, valid or not
    (`db_url`, a 65-character name), unless it looks like a value pasted by mistake (a PEM
    line, a token given as `secrets set TOKEN`): then a masked preview, two characters and
    the length."""
    if is_valid(name) or _NAME_SHAPED.fullmatch(name) and not _VALUE_SHAPED.search(name):
        return name if is_valid(name) else repr(name)
    return repr(name[:2] + "…") + f" ({len(name)} chars)" if len(name) > 2 else repr(name)


# What a name written wrongly looks like (letters, digits, `_`, `-`, `.`, up to 128), and what
# a value looks like: a run of 16 or more letters and digits holding a digit (a token), or of
# 20 letters in both cases (base64 text); names are written in one case.
_NAME_SHAPED = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,127}")
_VALUE_SHAPED = re.compile(r"(?=[A-Za-z0-9]*[0-9])[A-Za-z0-9]{16,}|"
                           r"(?=[A-Za-z]*[a-z])(?=[A-Za-z]*[A-Z])[A-Za-z]{20,}")


def normalize(name: str) -> str:
    """What Kortix would store: trimmed and upper-cased (validity is not implied)."""
    return name.strip().upper()


def check(name: object, allow: frozenset[str] = frozenset()) -> list[NameIssue]:
    """Every rule the name breaks: at most one about its shape, then any about its meaning.
    allow: names the project lets through KG123 (`[guard] allow_env`)."""
    if not isinstance(name, str):
        return [NameIssue(rule("KG115"), f"a name must be a string, not {type(name).__name__}")]
    issues = _shape(name)
    candidate = issues[0].fix if issues else name
    if candidate is not None and is_valid(candidate):
        issues += _meaning(candidate, allow)
    return issues


def _shape(name: str) -> list[NameIssue]:
    stripped = name.strip()
    if not stripped:
        return [NameIssue(rule("KG114"), "empty name")]
    fixed = stripped.upper()
    fix = fixed if is_valid(fixed) else None
    if stripped != name:
        return [NameIssue(rule("KG113"), f"{name!r} has spaces around it" + _did_you_mean(fix), fix)]
    if len(name) > MAX_LEN:
        return [NameIssue(rule("KG112"),
                          f"{shown(name)} is {len(name)} characters; Kortix stores at most {MAX_LEN}")]
    if name != fixed and fix:
        return [NameIssue(rule("KG111"),
                          f"{name!r} is not upper case; Kortix stores it as {fix!r}",
                          fix)]
    if not is_valid(name):
        suggestion = re.sub(r"[^A-Z0-9_]", "_", fixed)
        if suggestion[:1].isdigit():
            suggestion = "_" + suggestion
        hint = _did_you_mean(suggestion if is_valid(suggestion) else None)
        return [NameIssue(rule("KG110"),
                          f"{name!r} is not a valid env var name (A-Z, 0-9, _; not starting with a digit)"
                          + hint)]
    return []


def _meaning(name: str, allow: frozenset[str]) -> list[NameIssue]:
    if name.startswith(RESERVED_PREFIX):
        return [NameIssue(rule("KG120"), f"{name} is reserved: KORTIX_* names belong to the platform")]
    if is_loader(name) and name not in allow:
        return [NameIssue(rule("KG123"), f"{name} changes what a process loads or runs; a "
                                         f"secret must not be able to set it (if this project "
                                         f"needs it as a secret, list it in kortix-guard's "
                                         f"`allow_env` setting)")]
    if name in DROPPED or name.startswith(DROPPED_PREFIX):
        return [NameIssue(rule("KG121"),
                          f"{name} never reaches the session: Kortix drops it when a session starts")]
    if name.startswith(GITHUB_REFUSED_PREFIXES):
        return [NameIssue(rule("KG122"), f"{name}: GITHUB_* and RUNNER_* are the runner's own "
                                         f"variables; kortix-guard does not export them")]
    return []


def _did_you_mean(suggestion: str | None) -> str:
    return f"; did you mean {suggestion!r}?" if suggestion else ""
