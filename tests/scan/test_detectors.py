"""Every detector against its own examples and counter-examples, every context rule against
its example, and every never-commit file: one table per class, on both matching engines
(hyperscan, and Python's re where hyperscan is absent)."""
from __future__ import annotations

import random
from pathlib import Path

import pytest

from kortix_guard.scan import context
from kortix_guard.scan.detectors import all_detectors, files
from kortix_guard.scan.engine import Item, Scanner
from kortix_guard.scan.examples import expand
from kortix_guard.scan.model import Confidence
from tests.scan.conftest import RNG

ENGINES = ["hyperscan", "re"]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "re":
        monkeypatch.setenv("KORTIX_GUARD_NO_HYPERSCAN", "1")
    else:
        pytest.importorskip("hyperscan")
        monkeypatch.delenv("KORTIX_GUARD_NO_HYPERSCAN", raising=False)
    return request.param


def findings(path: str, text: str, threshold: Confidence = Confidence.MEDIUM):
    scanner = Scanner(min_confidence=threshold)
    return scanner.scan(Item(path, path, data=text.encode())).findings


def _cases(kind: str):
    for detector in all_detectors():
        for example in getattr(detector, kind):
            yield pytest.param(detector, example, id=f"{detector.id}:{example.path}")


@pytest.mark.parametrize(("detector", "example"), list(_cases("examples")))
def test_detector_finds_its_examples(engine: str, detector, example) -> None:
    text = expand(example.text, RNG)
    found = findings(example.path, text, threshold=min(detector.confidence, Confidence.MEDIUM))
    codes = {f.code for f in found}
    assert detector.code in codes, f"{example.path}: {example.text!r} -> {found}"
    mine = [f for f in found if f.code == detector.code]
    assert all(f.confidence <= detector.confidence for f in mine)
    # The finding never holds the value: only its public prefix and length.
    assert all(text[f.col - 1:][:12] not in f.message for f in mine if len(text) > f.col + 12)


@pytest.mark.parametrize(("detector", "example"), list(_cases("negatives")))
def test_detector_leaves_its_counter_examples(engine: str, detector, example) -> None:
    assert findings(example.path, expand(example.text, RNG)) == []


@pytest.mark.parametrize("rule", context.RULES, ids=lambda r: r.id)
def test_context_rule_decides_its_example(engine: str, rule, monkeypatch) -> None:
    """With the rule, its example is dropped (or only low); without it, it is reported."""
    text = expand(rule.example, RNG)
    found = findings(rule.example_path, text, Confidence.LOW)
    if rule.effect is context.Effect.DROP:
        assert found == [], text
    else:
        assert found and all(f.confidence is Confidence.LOW for f in found), text
    monkeypatch.setattr(context, "RULES", [r for r in context.RULES if r is not rule])
    without = findings(rule.example_path, text, Confidence.LOW)
    assert without, f"{rule.id}: its example is not a candidate at all: {text}"
    if rule.effect is context.Effect.LOW:
        assert any(f.confidence > Confidence.LOW for f in without)


@pytest.mark.parametrize("example", files.EXAMPLES, ids=lambda e: e.path)
def test_never_commit_file_examples(engine: str, example) -> None:
    found = findings(example.path, expand(example.text, RNG))
    assert found and found[0].code == "KG340" and found[0].confidence is Confidence.HIGH


@pytest.mark.parametrize("example", files.NEGATIVES, ids=lambda e: e.path)
def test_never_commit_file_counter_examples(engine: str, example) -> None:
    assert "KG340" not in {f.code for f in findings(example.path, expand(example.text, RNG))}


def test_detector_ids_are_unique_and_codes_registered() -> None:
    from kortix_guard.rules import RULES

    ids = [d.id for d in all_detectors()]
    assert len(ids) == len(set(ids))
    assert all(d.code in RULES for d in all_detectors())
    assert len({r.id for r in context.RULES}) == len(context.RULES)


def test_high_findings_survive_every_context_rule_but_vendor_examples(engine: str) -> None:
    """A token on a line that says `example`, `test`, `sha256` and `localhost` stays high."""
    token = expand("{github}", RNG)
    found = findings("tests/fixtures/example.lock",
                     f'sha256 localhost example test placeholder = "{token}"')
    assert [(f.code, f.confidence) for f in found] == [("KG320", Confidence.HIGH)]


@pytest.mark.parametrize(("threshold", "expected"), [
    (Confidence.LOW, {"KG331", "KG332"}), (Confidence.MEDIUM, set()), (Confidence.HIGH, set()),
])
def test_threshold(engine: str, threshold: Confidence, expected: set[str]) -> None:
    # Its own seed: drawn from the module's shared generator, the string depended on which
    # tests ran before it in the same worker, and one draw in thousands reads as a digest.
    text = 'password = "hunter22"\nblob = "' + expand("{alnum:40}", random.Random(40)) + '"\n'
    assert {f.code for f in findings("app.py", text, threshold)} == expected


def test_store_fields_are_skipped_only_in_a_store(engine: str) -> None:
    """The store's own hex fields and recipient lines are not findings; the same line in
    another file still is, and a value pasted into a store is still found."""
    mac = 'mac = "' + expand("{hex:64}", RNG) + '"'
    header = "# kortix-guard encrypted store: names are public, values are sealed.\n"
    assert findings(".kortix/secrets.enc.toml", header + mac + "\n", Confidence.LOW) == []
    assert findings("settings.toml", mac + "\n", Confidence.LOW)
    token = expand("{github}", RNG)
    pasted = findings(".kortix/secrets.enc.toml", header + f'mac = "{token}"\n')
    assert [f.code for f in pasted] == ["KG320"]


def _rule_cases(kind: str):
    for rule in context.RULES:
        for example in getattr(rule, kind):
            yield pytest.param(rule, example, id=f"{rule.id}:{example.path}")


@pytest.mark.parametrize(("rule", "example"), list(_rule_cases("negatives")))
def test_context_rule_leaves_its_counter_examples(engine: str, rule, example) -> None:
    """What a rule must not touch is still reported at the default threshold."""
    text = expand(example.text, RNG)
    assert findings(example.path, text), f"{rule.id}: {text!r}"


@pytest.mark.parametrize(("rule", "example"), list(_rule_cases("also")))
def test_context_rule_decides_its_class(engine: str, rule, example) -> None:
    """More lines of each rule's class, from the repositories the rule was written for:
    none is reported at the default threshold."""
    text = expand(example.text, RNG)
    assert findings(example.path, text) == [], f"{rule.id}: {text!r}"


@pytest.mark.parametrize("rule", [r for r in context.RULES if r.path_based], ids=lambda r: r.id)
def test_gate_modes_only_lower_path_based_rules(engine: str, rule) -> None:
    """In --pre-receive, --pre-push and --range, a rule that judges a file by its path never
    drops a finding: a path is chosen by whoever pushes."""
    text = expand(rule.example, RNG)
    scanner = Scanner(min_confidence=Confidence.LOW, gate=True)
    found = scanner.scan(Item(rule.example_path, rule.example_path, data=text.encode())).findings
    assert found and all(f.confidence is Confidence.LOW for f in found), text


@pytest.mark.parametrize(("path", "text", "expected"), [
    ("locales/x.json", '{"k": "{github}"}', Confidence.HIGH),
    ("pnpm-lock.yaml", "  token: {github}", Confidence.HIGH),
    ("web.env.txt", "NEXT_PUBLIC_STRIPE_KEY=sk_live_{alnum:24}", Confidence.HIGH),
    ("eas.json", '{"EXPO_PUBLIC_KEY": "{jwt:service_role}"}', Confidence.HIGH),
    (".env.example", "OPENAI_API_KEY=sk-proj-{alnum:48}", Confidence.HIGH),
])
def test_a_provider_token_stays_high_under_any_rule(engine: str, path: str, text: str,
                                                    expected: Confidence) -> None:
    for gate in (False, True):
        scanner = Scanner(min_confidence=Confidence.MEDIUM, gate=gate)
        found = scanner.scan(Item(path, path, data=expand(text, RNG).encode())).findings
        assert [f.confidence for f in found] == [expected], (path, gate, found)


def test_public_by_design_says_why_and_can_be_turned_off(engine: str) -> None:
    line = expand('{"EXPO_PUBLIC_SUPABASE_ANON_KEY": "{jwt:anon}"}', RNG)
    low = Scanner(min_confidence=Confidence.LOW).scan(
        Item("eas.json", "eas.json", data=line.encode())).findings
    assert [(f.code, f.confidence) for f in low] == [("KG323", Confidence.LOW)]
    assert "public by design: a Supabase anon key" in low[0].message
    assert "public_by_design: false" in low[0].message
    off = Scanner(public_by_design=False).scan(Item("eas.json", "eas.json", data=line.encode()))
    assert [(f.code, f.confidence) for f in off.findings] == [("KG323", Confidence.MEDIUM)]


def test_a_digest_on_the_line_drops_only_digests_in_gate_modes(engine: str) -> None:
    """`# sha256 …` is something a pusher can add to any line: in gate modes the hash-context
    rule drops only a value shaped like a digest, never a provider token."""
    token = "fc" + "-" + expand("{hex:32}", RNG)
    line = f'FIRECRAWL_KEY = "{token}"  # sha256 of the tarball\n'
    digest = "checksum = \"" + expand("{hex:64}", RNG) + "\"  # sha256\n"
    for gate, reported in ((False, []), (True, ["KG320"])):
        scanner = Scanner(min_confidence=Confidence.LOW, gate=gate)
        found = scanner.scan(Item("app.py", "app.py", data=line.encode())).findings
        assert [f.code for f in found] == reported, gate
        assert scanner.scan(Item("SUMS", "SUMS", data=digest.encode())).findings == []


def test_the_assignment_search_reads_a_bounded_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """A long line before a value made `_ASSIGNED` backtrack over all of it (300,000
    characters: about an hour and a half); it reads at most ASSIGNMENT_WINDOW characters."""
    read: list[int] = []
    real = context._ASSIGNED

    class Spy:
        def search(self, text: str):
            read.append(len(text))
            return real.search(text)

    monkeypatch.setattr(context, "_ASSIGNED", Spy())
    url = expand("postgres://app:{alnum:14}@db.corp.io/app", RNG)
    line = "a" * 5_000 + f' = "{url}"\n'
    found = Scanner(min_confidence=Confidence.LOW).scan(
        Item("min.js", "min.js", data=line.encode())).findings
    assert [f.code for f in found] == ["KG322"]
    assert read and max(read) <= context.ASSIGNMENT_WINDOW


def test_a_megabyte_line_before_a_value_hangs_no_scan(tmp_path: Path) -> None:
    from tests.conftest import kg_proc

    jwt = expand("{jwt:service_role}", RNG)
    (tmp_path / "min.js").write_text("q" * 1_000_000 + f' = "{jwt}"; x = "https://u:{jwt[:20]}@h"\n')
    result = kg_proc("scan", "min.js", cwd=tmp_path, timeout=120)  # a guard against a hang only
    assert result.code == 1 and "KG323" in result.out


@pytest.mark.parametrize(("offset", "lines", "start"), [
    (0, 0, 0), (0, 5, 0), (5, 0, 4), (4, 0, 4), (3, 0, 0), (9, 1, 4), (9, 2, 0), (9, 9, 0),
    (11, 0, 11), (11, 1, 8),  # just after the last newline: an empty last line
])
def test_start_above(offset: int, lines: int, start: int) -> None:
    from kortix_guard.scan.model import Blob

    blob = Blob("f", b"abc\ndef\ngh\n")  # lines start at 0, 4, 8 and 11
    assert blob.start_above(offset, lines) == start
    assert start == blob.line_span(max(blob.line_of(offset) - lines, 1))[0]  # the slow way


@pytest.mark.parametrize(("between", "found"), [(4, True), (5, False)])
def test_curl_is_looked_for_on_the_flags_line_and_the_five_above(between: int,
                                                                  found: bool) -> None:
    password = "".join(RNG.choice("abcdefghijkmnopqrstuvwxyz23456789") for _ in range(14))
    text = "curl -s \\\n" + "  -X POST \\\n" * between + f"  -u deploy:{password} \\\n  x\n"
    outcome = Scanner().scan(Item("deploy.sh", "deploy.sh", data=text.encode()))
    assert any(f.code == "KG322" for f in outcome.findings) is found
