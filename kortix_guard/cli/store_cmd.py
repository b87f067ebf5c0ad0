"""`secrets`, `key`, `env` and `merge-store`: the encrypted store's commands."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from kortix_guard.cli._state import Group, State, pass_state
from kortix_guard.cli.inject_cmd import carried_option, stale_option
from kortix_guard.cli.prompt import pasted_key, secret_value
from kortix_guard.inject import get
from kortix_guard.store import Allow
from kortix_guard.store.commands.edit import edit
from kortix_guard.store.commands.env import pull, push
from kortix_guard.store.commands.key import new_key, rotate_key
from kortix_guard.store.commands.merge import merge, resolve
from kortix_guard.store.commands.recipients import add, identity_new, identity_show, ls, rm
from kortix_guard.store.commands.secrets import (
    accept_secrets,
    list_secrets,
    remove_secrets,
    reseal,
    set_secrets,
)
from kortix_guard.store.commands.store import trust_cmd, upgrade
from kortix_guard.store.commands.v1 import export_key, import_key


@click.group(cls=Group)
def secrets() -> None:
    """Set, list and remove the project's secrets (values sealed in the store)."""


@secrets.command("set")
@click.argument("assignments", nargs=-1, required=True, metavar="NAME=VALUE|NAME=-|NAME...")
@click.option("--allow-empty", is_flag=True,
              help="Store an empty value (refused by default: an unset variable piped in "
                   "would replace the real value).")
@pass_state
def secrets_set(state: State, assignments: tuple[str, ...], allow_empty: bool) -> int:
    """Seal values into the store. NAME=- reads stdin; NAME alone prompts (no echo)."""
    prompt = secret_value if sys.stdin.isatty() else None
    return set_secrets(state.project(), assignments, stdin=sys.stdin.buffer, prompt=prompt,
                       allow_empty=allow_empty)


@secrets.command("get")
@click.argument("name")
@click.option("--reveal", is_flag=True, help="Print the value even when stdout is a terminal.")
@stale_option
@carried_option
@pass_state
def secrets_get(state: State, name: str, reveal: bool, allow_stale: bool,
                allow_carried: bool) -> int:
    """Print one value to stdout, byte for byte (into a pipe or a file; on a terminal only
    with --reveal). Works in CI with KORTIX_GUARD_KEY. An undeclared or unset NAME exits 1."""
    return get(state.project(), name, reveal=reveal, to_terminal=sys.stdout.isatty(),
               allow=Allow(allow_stale, allow_carried))


@secrets.command("edit")
@click.option("--allow-empty", is_flag=True, help="Accept empty values.")
@pass_state
def secrets_edit(state: State, allow_empty: bool) -> int:
    """Edit every value in $VISUAL or $EDITOR (a private temporary file, removed afterwards):
    applied all or nothing when you save; a deleted line removes that secret."""
    return edit(state.project(), allow_empty=allow_empty)


# One spelling per flag across commands (`--format json`, `--output`); the older spellings
# stay as hidden aliases so that scripts written for them keep working.
def format_option(what: str):
    return click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
                        show_default=True, help=f"text, or json: {what}.")


json_alias = click.option("--json", "as_json", is_flag=True, hidden=True)


@secrets.command("ls")
@format_option("a list of {name, status, spec, set_at, rotate, carried}: status set, missing "
               "or empty; spec required, optional or undeclared; set_at an ISO 8601 UTC time or "
               "null; rotate and carried booleans")
@json_alias
@click.option("--strict", is_flag=True, help="Exit 1 when a required secret is missing.")
@pass_state
def secrets_ls(state: State, fmt: str, as_json: bool, strict: bool) -> int:
    """List declared and stored names with their status. Needs no key."""
    return list_secrets(state.project(), as_json=as_json or fmt == "json", strict=strict)


@secrets.command("rm")
@click.argument("names", nargs=-1, required=True)
@click.option("--missing-ok", is_flag=True, help="Absent names are not an error.")
@pass_state
def secrets_rm(state: State, names: tuple[str, ...], missing_ok: bool) -> int:
    """Remove secrets from the store."""
    return remove_secrets(state.project(), names, missing_ok=missing_ok)


@secrets.command("accept")
@click.argument("names", nargs=-1, required=True)
@pass_state
def secrets_accept(state: State, names: tuple[str, ...]) -> int:
    """Accept values a merge carried from an older generation, after reviewing them: clears
    their `carried` mark (a `rotate` mark stays until a new value is set)."""
    return accept_secrets(state.project(), names)


@secrets.command("resolve")
@click.option("--ours", "ours", multiple=True, metavar="NAME",
              help="Keep this branch's value of NAME (repeat for more names).")
@click.option("--theirs", "theirs", multiple=True, metavar="NAME",
              help="Take the merged branch's value of NAME (repeat for more names).")
@pass_state
def secrets_resolve(state: State, ours: tuple[str, ...], theirs: tuple[str, ...]) -> int:
    """Finish a merge the store's merge driver left in conflict: each conflicting NAME keeps
    one side's value, everything else merges by name; then `git add` the store."""
    if not ours and not theirs:
        raise click.UsageError("name the conflicting secrets with --ours NAME or --theirs NAME "
                               "(the merge listed them)")
    return resolve(state.project(), ours, theirs)


@secrets.command("reseal")
@click.option("--yes", is_flag=True, help="Reseal values that differ from HEAD without asking.")
@pass_state
def secrets_reseal(state: State, yes: bool) -> int:
    """Recompute the MAC of a hand-merged store (every entry must open with the key); asks
    before resealing values that differ from HEAD's store."""

    confirm = (lambda q: click.confirm(q, default=False)) if sys.stdin.isatty() else None
    return reseal(state.project(), yes=yes, confirm=confirm)


@click.group(cls=Group)
def key() -> None:
    """Create the store, rotate its key; export and import a version 1 store's shared key."""


@key.command("new")
@pass_state
def key_new(state: State) -> int:
    """Write a new, empty store wrapped to your identity (created first when you have none)."""
    return new_key(state.project())


@key.command("export")
@pass_state
def key_export(state: State) -> int:
    """Print the key (for a CI secret). Anyone holding it reads every value."""
    return export_key(state.project())


@key.command("import")
@pass_state
def key_import(state: State) -> int:
    """Read a key (a prompt on a terminal, else stdin), check it opens the store, save it as
    your per-user key."""
    import io


    if sys.stdin.isatty():

        return import_key(state.project(), io.BytesIO(pasted_key().encode()))
    return import_key(state.project(), sys.stdin.buffer)


@key.command("rotate")
@pass_state
def key_rotate(state: State) -> int:
    """Re-seal every value under a new key in one atomic replace."""
    return rotate_key(state.project())


@click.group(cls=Group)
def env() -> None:
    """Bulk-push a .env file into the store, or pull a names-only skeleton."""


@env.command("push")
@click.option("--from", "-f", "source", type=click.Path(path_type=Path), required=True,
              help="The .env file to read.")
@click.option("--dry-run", is_flag=True, help="Validate and list, write nothing.")
@click.option("--only", multiple=True, metavar="NAME[,NAME...]",
              help="Push these names only; the file's other lines are skipped.")
@click.option("--declared", is_flag=True,
              help="Push the manifest's declared names only; list the rest as skipped.")
@pass_state
def env_push(state: State, source: Path, dry_run: bool, only: tuple[str, ...],
             declared: bool) -> int:
    """Upsert every NAME=value of a .env file (all names checked first)."""
    if only and declared:
        raise click.UsageError("choose one of --only and --declared")
    names_ = tuple(n.strip() for item in only for n in item.split(",") if n.strip())
    return push(state.project(), source, dry_run=dry_run, only=names_, declared=declared)


@env.command("pull")
@click.option("--output", type=click.Path(path_type=Path), help="Write here instead of stdout.")
@click.option("--out", "out_alias", type=click.Path(path_type=Path), hidden=True)
@click.option("--force", is_flag=True, help="Replace an existing --output file.")
@pass_state
def env_pull(state: State, output: Path | None, out_alias: Path | None, force: bool) -> int:
    """Write `NAME=` lines for every declared and stored name: names only, never a value.

    For a local .env with the values, use `kortix-guard inject --format dotenv --output .env`
    (and keep `.env` in .gitignore)."""

    return pull(state.project(), output or out_alias, force=force)


@click.command("merge-store")
@click.argument("base", type=click.Path(path_type=Path))
@click.argument("ours", type=click.Path(path_type=Path))
@click.argument("theirs", type=click.Path(path_type=Path))
@pass_state
def merge_store(state: State, base: Path, ours: Path, theirs: Path) -> int:
    """Git merge driver for the store: `kortix-guard merge-store %O %A %B`."""
    return merge(state.project(), base, ours, theirs)


@click.group(cls=Group)
def identity() -> None:
    """Your personal age identity (the private half stays in your config folder)."""


@identity.command("new")
def identity_new_cmd() -> int:
    """Create your age identity (0600) and print its public recipient (last line)."""
    return identity_new()


@identity.command("show")
def identity_show_cmd() -> int:
    """Print your public recipient (`age1...`), never the identity itself."""
    return identity_show()


@click.group(cls=Group)
def recipients() -> None:
    """Who can open the store: age and SSH public keys its data key is wrapped to."""


@recipients.command("add")
@click.argument("name")
@click.argument("recipient", required=False)
@click.option("--generate", is_flag=True,
              help="Create a new age identity for NAME (CI) and print it once.")
@pass_state
def recipients_add(state: State, name: str, recipient: str | None, generate: bool) -> int:
    """Wrap the store's key to RECIPIENT (`age1...`, an ssh-ed25519/ssh-rsa public key line,
    or a keys file: every supported key in it, `-` for stdin) under NAME (NAME-2, NAME-3
    for further keys). A version 1 store is converted to version 3. Keys are never fetched
    from the network: download `github.com/NAME.keys` first."""

    if generate == (recipient is not None):
        raise click.UsageError("give either RECIPIENT or --generate")
    stdin_text = sys.stdin.read() if recipient == "-" else None
    return add(state.project(), name, recipient, generate=generate, stdin_text=stdin_text)


@recipients.command("ls")
@format_option("a list of {name, type, recipient, fingerprint, added}")
@json_alias
@pass_state
def recipients_ls(state: State, fmt: str, as_json: bool) -> int:
    """List the recipients. Needs no key."""
    return ls(state.project(), as_json=as_json or fmt == "json")


@recipients.command("rm")
@click.argument("name")
@click.option("--force", is_flag=True,
              help="Also remove the last recipient, or the one you opened the store with.")
@click.option("--all", "every", is_flag=True,
              help="Version 3 stores: also remove NAME-2, NAME-3, ... (the other keys of a "
                   "keys file; version 4 records them as one person and removes them anyway).")
@pass_state
def recipients_rm(state: State, name: str, force: bool, every: bool) -> int:
    """Remove NAME (every key of that person): a new data key, every value re-sealed and
    re-wrapped to the others, and every value NAME could read marked to rotate."""

    return rm(state.project(), name, force=force, every=every)


@click.group("store", cls=Group)
def store_group() -> None:
    """The store's format and this machine's trust in it."""


@store_group.command("upgrade")
@pass_state
def store_upgrade(state: State) -> int:
    """Convert a store to version 4: from version 1 (one shared key) to recipients, wrapped to
    you; from versions 2 and 3, a revision that every write raises (rollbacks are refused) and
    recipients grouped by person. Teammates and CI then need kortix-guard 0.4.0."""
    return upgrade(state.project())


@store_group.command("trust")
@click.option("--yes", is_flag=True, help="Trust it without asking (after comparing what it shows).")
@click.option("--list", "listing", is_flag=True,
              help="List every record this machine keeps (clones, projects, stores, freshness).")
@click.option("--forget", is_flag=True, help="Forget this project's record in this clone.")
@pass_state
def store_trust(state: State, yes: bool, listing: bool, forget: bool) -> int:
    """Expect this store from now on: after reviewing a re-key that does not chain, or a store
    the team re-created, moved or added in a new project folder. Shows the store ids, paths,
    generations and recipient fingerprints trusted until now and the new ones, then asks."""
    if listing and forget:
        raise click.UsageError("give --list or --forget, not both")
    confirm = (lambda q: click.confirm(q, default=False)) if sys.stdin.isatty() else None
    project = None if listing else state.project()
    return trust_cmd(project, yes=yes, listing=listing, forget=forget,  # type: ignore[arg-type]
                     confirm=confirm)


COMMANDS = [secrets, key, env, merge_store, identity, recipients, store_group]
