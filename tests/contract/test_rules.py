"""Table-driven checks of single workspace files: each mistake people make, and the findings it gets."""

from __future__ import annotations

import pytest
from django.utils import translation

from tests.contract.conftest import entry, workspace
from workspaces.contract import MAX_FILE_BYTES, Severity, TreeEntry, evaluate_file

VALID = workspace("alice")

# (case id, path, file content, expected finding codes in order)
CASES = [
    ("valid file", "user/alice.yaml", VALID, []),
    ("storage omitted uses default", "user/alice.yaml", workspace("alice", storage=None), []),
    ("storage section empty", "user/alice.yaml", workspace("alice", storage=None) + "storage:\n", []),
    ("comments and blank lines", "user/alice.yaml", "# my workspace\n\n" + VALID + "# end\n", []),
    ("quoted values", "user/alice.yaml", VALID.replace("cuda13.0", '"cuda13.0"').replace("100Gi", "'100Gi'"), []),
    ("flow style", "user/alice.yaml", "{user: {username: alice, email: alice@example.com}, profile: {name: small}, "
     "cuda: {version: cuda12.8}}", []),
    ("executable bit", "user/alice.yaml", VALID, []),
    # Where the file is and how it is named.
    (".yml extension", "user/alice.yml", VALID, ["file.extension"]),
    ("no extension", "user/alice", VALID, ["file.extension"]),
    (".json extension", "user/alice.json", VALID, ["file.extension"]),
    ("upper-case extension", "user/alice.YAML", VALID, ["file.extension"]),
    ("sub-folder", "user/team/alice.yaml", VALID, ["file.subfolder"]),
    ("outside user", "users/alice.yaml", VALID, ["file.outside-user"]),
    ("repository root", "alice.yaml", VALID, ["file.outside-user"]),
    ("upper-case file name", "user/Alice.yaml", VALID, ["file.name"]),
    # Bytes and encoding.
    ("empty file", "user/alice.yaml", "", ["file.empty"]),
    ("only comments", "user/alice.yaml", "# nothing yet\n", ["file.empty"]),
    ("only null", "user/alice.yaml", "~\n", ["file.empty"]),
    ("binary content", "user/alice.yaml", b"\x89PNG\r\n\x1a\n\x00\x00", ["file.binary"]),
    ("latin-1 content", "user/alice.yaml", VALID.replace("alice@", "al\xe9ce@").encode("latin-1"), ["file.encoding"]),
    ("byte order mark", "user/alice.yaml", b"\xef\xbb\xbf" + VALID.encode(), ["file.bom"]),
    # YAML.
    ("syntax error", "user/alice.yaml", "user:\n  username: alice\n email: x\n", ["yaml.syntax"]),
    ("tab indentation", "user/alice.yaml", "user:\n\tusername: alice\n", ["yaml.syntax"]),
    ("anchor and alias", "user/alice.yaml", "user: &u\n  username: alice\nprofile: *u\n", ["yaml.anchor"]),
    ("billion laughs", "user/alice.yaml", 'a: &a ["x","x"]\nb: &b [*a,*a]\nc: [*b,*b]\n', ["yaml.anchor"]),
    ("python tag", "user/alice.yaml", "user: !!python/object:os.system {}\n", ["yaml.tag"]),
    ("deep nesting", "user/alice.yaml", "a: " + "[" * 40 + "]" * 40 + "\n", ["yaml.too-deep"]),
    ("too many values", "user/alice.yaml", "a: [" + ",".join(["1"] * 600) + "]\n", ["yaml.too-many-values"]),
    ("two documents", "user/alice.yaml", VALID + "---\n" + VALID, ["yaml.multiple-documents"]),
    ("list at top", "user/alice.yaml", "- alice\n", ["yaml.not-mapping"]),
    ("text at top", "user/alice.yaml", "alice\n", ["yaml.not-mapping"]),
    ("mapping key", "user/alice.yaml", "? [a, b]\n: c\n", ["key.invalid"]),
    ("duplicate key", "user/alice.yaml", VALID.replace("  email:", "  username: bob\n  email:"),
     ["key.duplicate"]),
    ("duplicate section", "user/alice.yaml", VALID + "cuda:\n  version: cuda12.8\n", ["key.duplicate"]),
    # Layout.
    ("old layout", "user/alice.yaml",
     "user:\n  username: alice\n  email: alice@example.com\nworkspace:\n  profile: small\n  cuda: cuda12.8\n"
     "  storage: 50Gi\n", ["layout.old"]),
    ("unknown top-level key", "user/alice.yaml", VALID + "gpu: 2\n", ["key.unknown"]),
    ("misspelt section", "user/alice.yaml", VALID.replace("profile:", "profil:"), ["key.unknown"]),
    ("misspelt key", "user/alice.yaml", VALID.replace("email:", "e-mail:"), ["key.unknown"]),
    ("missing key after unrelated key", "user/alice.yaml", VALID.replace("email:", "mail_address:"),
     ["key.unknown", "key.missing"]),
    ("missing user section", "user/alice.yaml", "profile:\n  name: small\ncuda:\n  version: cuda12.8\n",
     ["key.missing"]),
    ("missing email", "user/alice.yaml", VALID.replace("  email: alice@example.com\n", ""), ["key.missing"]),
    ("section as value", "user/alice.yaml", VALID.replace("cuda:\n  version: cuda13.0", "cuda: cuda13.0"),
     ["value.not-mapping"]),
    ("list as value", "user/alice.yaml", VALID.replace("name: medium", "name: [medium]"), ["value.not-text"]),
    ("empty value", "user/alice.yaml", VALID.replace("email: alice@example.com", "email:"), ["value.empty"]),
    ("null value", "user/alice.yaml", VALID.replace("version: cuda13.0", "version: null"), ["value.empty"]),
    # user.username
    ("uppercase username", "user/jules.yaml", workspace("Jules"), ["username.uppercase"]),
    ("underscore in username", "user/jules.yaml", workspace("jules_k"), ["username.invalid"]),
    ("username starts with digit", "user/7jules.yaml", workspace("7jules"), ["file.name", "username.invalid"]),
    ("username ends with hyphen", "user/jules.yaml", workspace("jules-"), ["username.invalid"]),
    ("username too long", "user/" + "a" * 41 + ".yaml", workspace("a" * 41), ["username.too-long"]),
    ("username at max length", "user/" + "a" * 40 + ".yaml", workspace("a" * 40), []),
    ("reserved username", "user/admin.yaml", workspace("admin"), ["username.reserved"]),
    ("reserved kube prefix", "user/kube-system.yaml", workspace("kube-system"), ["username.reserved"]),
    ("reserved default", "user/default.yaml", workspace("default"), ["username.reserved"]),
    ("username differs from file", "user/tam.yaml", workspace("cobalt"), ["username.mismatch"]),
    ("username read as boolean", "user/no.yaml", workspace("no"), ["yaml.coerced"]),
    ("username quoted boolean word", "user/no.yaml", workspace('"no"').replace('"no"@', "no@"), []),
    # user.email
    ("tld typo", "user/tam.yaml", workspace("tam", email="tam@gmail.con"), ["email.tld"]),
    ("tld unknown far from any", "user/tam.yaml", workspace("tam", email="tam@example.qqqqq"), ["email.tld"]),
    ("email country tld", "user/tam.yaml", workspace("tam", email="tam@example.com.tw"), []),
    ("email idn tld", "user/tam.yaml", workspace("tam", email="tam@example.台灣"), []),
    ("email without at", "user/tam.yaml", workspace("tam", email="tam.example.com"), ["email.invalid"]),
    ("email without domain dot", "user/tam.yaml", workspace("tam", email="tam@localhost"), ["email.invalid"]),
    ("email two ats", "user/tam.yaml", workspace("tam", email="tam@a@example.com"), ["email.invalid"]),
    ("email trailing space quoted", "user/tam.yaml", workspace("tam", email='"tam@example.com "'),
     ["email.invalid"]),
    # profile.name
    ("unknown profile", "user/alice.yaml", workspace("alice", profile="xlarge"), ["profile.unknown"]),
    ("capitalised profile", "user/alice.yaml", workspace("alice", profile="Medium"), ["profile.unknown"]),
    # cuda.version
    ("cuda not offered", "user/alice.yaml", workspace("alice", cuda="cuda12.9"), ["cuda.unknown"]),
    ("cuda as number", "user/alice.yaml", workspace("alice", cuda="12.8"), ["cuda.format"]),
    ("cuda 12.10 float", "user/alice.yaml", workspace("alice", cuda="12.10"), ["cuda.format"]),
    ("cuda with space", "user/alice.yaml", workspace("alice", cuda='"cuda 12.8"'), ["cuda.format"]),
    ("cuda upper case", "user/alice.yaml", workspace("alice", cuda="CUDA13.0"), ["cuda.format"]),
    ("cuda none", "user/alice.yaml", workspace("alice", cuda="none"), ["cuda.unknown"]),
    ("cuda old major", "user/alice.yaml", workspace("alice", cuda="cuda11.8"), ["cuda.unknown"]),
    # storage.size
    ("storage GB", "user/alice.yaml", workspace("alice", storage="100GB"), ["storage.format"]),
    ("storage lower gi", "user/alice.yaml", workspace("alice", storage="100gi"), ["storage.format"]),
    ("storage G", "user/alice.yaml", workspace("alice", storage="100G"), ["storage.format"]),
    ("storage number only", "user/alice.yaml", workspace("alice", storage="100"), ["storage.format"]),
    ("storage 1e3", "user/alice.yaml", workspace("alice", storage="1e3"), ["storage.format"]),
    ("storage with inner space", "user/alice.yaml", workspace("alice", storage="100 Gi"), ["storage.format"]),
    ("storage trailing spaces quoted", "user/alice.yaml", workspace("alice", storage='"100Gi  "'),
     ["storage.format"]),
    ("storage decimal Ti", "user/alice.yaml", workspace("alice", storage="1.5Ti"), ["storage.format"]),
    ("storage words", "user/alice.yaml", workspace("alice", storage="big"), ["storage.format"]),
    ("storage zero", "user/alice.yaml", workspace("alice", storage="0Gi"), ["storage.not-positive"]),
    ("storage negative", "user/alice.yaml", workspace("alice", storage="-5Gi"), ["storage.not-positive"]),
    ("storage below minimum", "user/alice.yaml", workspace("alice", storage="5Gi"), ["storage.too-small"]),
    ("storage above maximum", "user/alice.yaml", workspace("alice", storage="2Ti"), ["storage.too-large"]),
    ("storage at maximum", "user/alice.yaml", workspace("alice", storage="1Ti"), []),
    ("storage in Ti", "user/alice.yaml", workspace("alice", storage="1Ti"), []),
    # Several mistakes at once are all reported.
    ("several mistakes", "user/rook.yml", workspace("Rook", email="rook@gmail.con", cuda="cuda12.9", storage="100GB"),
     ["file.extension", "username.uppercase", "email.tld", "cuda.unknown", "storage.format"]),
]  # fmt: skip


@pytest.mark.parametrize(("path", "content", "codes"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_it_reports_expected_findings(catalog, path, content, codes):
    evaluation = evaluate_file(entry(path, content), catalog)
    assert [finding.code for finding in evaluation.findings] == codes


@pytest.mark.parametrize(("path", "content", "codes"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_it_gives_spec_only_without_errors(catalog, path, content, codes):
    evaluation = evaluate_file(entry(path, content), catalog)
    assert (evaluation.spec is None) == bool(evaluation.errors)


def test_it_builds_spec_of_valid_file(catalog):
    spec = evaluate_file(entry("user/alice.yaml", workspace("alice", storage="200Gi")), catalog).spec
    assert spec.username == "alice"
    assert spec.email == "alice@example.com"
    assert spec.profile == "medium"
    assert spec.cuda == "cuda13.0"
    assert spec.storage == "200Gi"
    assert spec.storage_bytes == 200 * 2**30


def test_it_defaults_storage_from_catalog(catalog):
    spec = evaluate_file(entry("user/alice.yaml", workspace("alice", storage=None)), catalog).spec
    assert spec.storage == "100Gi"
    assert spec.storage_bytes == 100 * 2**30


# (case id, path, content, code, expected suggestion)
SUGGESTIONS = [
    ("lowercase username", "user/jules.yaml", workspace("Jules"), "username.uppercase", "username: jules"),
    ("yaml extension", "user/rook.yml", workspace("rook"), "file.extension", "user/rook.yaml"),
    ("com for con", "user/tam.yaml", workspace("tam", email="tam.demo@gmail.con"), "email.tld",
     "email: tam.demo@gmail.com"),
    ("com for cmo", "user/tam.yaml", workspace("tam", email="tam@example.cmo"), "email.tld", "email: tam@example.com"),
    ("no tld suggestion", "user/tam.yaml", workspace("tam", email="tam@example.qqqqq"), "email.tld", None),
    ("file name kept", "user/tam.yaml", workspace("cobalt"), "username.mismatch", "username: tam"),
    ("closest cuda", "user/alice.yaml", workspace("alice", cuda="cuda12.9"), "cuda.unknown", "version: cuda12.8"),
    ("cuda prefix", "user/alice.yaml", workspace("alice", cuda="12.8"), "cuda.format", "version: cuda12.8"),
    ("cuda 12.10", "user/alice.yaml", workspace("alice", cuda="12.10"), "cuda.format", "version: cuda12.8"),
    ("cuda newer minor", "user/alice.yaml", workspace("alice", cuda="cuda13.1"), "cuda.unknown", "version: cuda13.0"),
    ("cuda older major", "user/alice.yaml", workspace("alice", cuda="cuda11.8"), "cuda.unknown", "version: cuda12.8"),
    ("profile case", "user/alice.yaml", workspace("alice", profile="Medium"), "profile.unknown", "name: medium"),
    ("Gi for GB", "user/alice.yaml", workspace("alice", storage="100GB"), "storage.format", "size: 100Gi"),
    ("Gi for gi", "user/alice.yaml", workspace("alice", storage="100gi"), "storage.format", "size: 100Gi"),
    ("Gi for G", "user/alice.yaml", workspace("alice", storage="100G"), "storage.format", "size: 100Gi"),
    ("trimmed", "user/alice.yaml", workspace("alice", storage='"100Gi  "'), "storage.format", "size: 100Gi"),
    ("Ti as Gi", "user/alice.yaml", workspace("alice", storage="1.5Ti"), "storage.format", "size: 1Ti"),
    ("default for zero", "user/alice.yaml", workspace("alice", storage="0Gi"), "storage.not-positive", "size: 100Gi"),
    ("maximum", "user/alice.yaml", workspace("alice", storage="2Ti"), "storage.too-large", "size: 1Ti"),
    ("minimum", "user/alice.yaml", workspace("alice", storage="5Gi"), "storage.too-small", "size: 10Gi"),
    ("quoted boolean", "user/no.yaml", workspace("no"), "yaml.coerced", 'username: "no"'),
    ("did you mean", "user/alice.yaml", VALID.replace("email:", "emial:"), "key.unknown",
     "email: alice@example.com"),
    ("section form", "user/alice.yaml", VALID.replace("cuda:\n  version: cuda13.0", "cuda: cuda13.0"),
     "value.not-mapping", "cuda:\n  version: cuda13.0"),
    ("sanitized username", "user/jules.yaml", workspace("Jules_K"), "username.invalid", "username: jules-k"),
    ("old layout moved", "user/bob.yaml",
     "user:\n  username: bob\n  email: bob@example.com\n\nworkspace:\n  profile: small\n  cuda: cuda12.8\n"
     "  storage: 50Gi", "layout.old",
     "user:\n  username: bob\n  email: bob@example.com\nprofile:\n  name: small\ncuda:\n  version: cuda12.8\n"
     "storage:\n  size: 50Gi"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "content", "code", "suggestion"), [case[1:] for case in SUGGESTIONS], ids=[case[0] for case in SUGGESTIONS]
)
def test_it_suggests_literal_fix(catalog, path, content, code, suggestion):
    findings = evaluate_file(entry(path, content), catalog).findings
    matching = [finding for finding in findings if finding.code == code]
    assert len(matching) == 1
    assert matching[0].suggestion == suggestion


def test_it_reports_both_lines_of_duplicate_key(catalog):
    content = VALID.replace("  email:", "  username: bob\n  email:")
    (finding,) = evaluate_file(entry("user/alice.yaml", content), catalog).findings
    assert finding.field == "user.username"
    assert finding.params["first_line"] == 2
    assert finding.params["line"] == 3


def test_it_reports_line_of_each_value(catalog):
    content = workspace("Alice", email="alice@example.con", profile="huge", cuda="cuda9", storage="1PB")
    findings = evaluate_file(entry("user/alice.yaml", content), catalog).findings
    assert {finding.field: finding.line for finding in findings} == {
        "user.username": 2,
        "user.email": 3,
        "profile.name": 5,
        "cuda.version": 7,
        "storage.size": 9,
    }


def test_it_lists_offered_cuda_versions(catalog):
    (finding,) = evaluate_file(entry("user/alice.yaml", workspace("alice", cuda="cuda12.9")), catalog).findings
    assert finding.message == "CUDA version cuda12.9 is not offered. Choose one of: cuda12.8, cuda13.0."


def test_it_joins_lists_with_chinese_comma(catalog):
    (finding,) = evaluate_file(entry("user/alice.yaml", workspace("alice", cuda="cuda12.9")), catalog).findings
    with translation.override("zh-hant"):
        message = finding.message
    assert "cuda12.8、cuda13.0" in message


def test_it_rejects_username_of_other_workspace(catalog):
    evaluation = evaluate_file(entry("user/alice.yaml", VALID), catalog, other_usernames=["bob", "Alice"])
    assert [finding.code for finding in evaluation.findings] == ["username.collision"]


def test_it_rejects_symlink(catalog):
    link = TreeEntry("user/alice.yaml", 0o120000, 11, b"/etc/passwd")
    assert [finding.code for finding in evaluate_file(link, catalog).findings] == ["file.symlink"]


def test_it_rejects_submodule(catalog):
    submodule = TreeEntry("user/alice.yaml", 0o160000, 0, None)
    assert [finding.code for finding in evaluate_file(submodule, catalog).findings] == ["file.not-a-file"]


def test_it_rejects_oversize_file_without_reading_it(catalog):
    huge = TreeEntry("user/alice.yaml", 0o100644, 50 * 1024 * 1024, None)
    (finding,) = evaluate_file(huge, catalog).findings
    assert finding.code == "file.too-large"
    assert finding.params == {"size": 50 * 1024 * 1024, "limit": MAX_FILE_BYTES}


def test_it_rejects_file_just_over_cap(catalog):
    padded = VALID + "#" * (MAX_FILE_BYTES - len(VALID) + 1)
    assert [finding.code for finding in evaluate_file(entry("user/alice.yaml", padded), catalog).findings] == [
        "file.too-large"
    ]


def test_it_marks_file_mistakes_as_errors(catalog):
    evaluation = evaluate_file(entry("user/alice.yaml", workspace("Alice")), catalog)
    assert all(finding.severity == Severity.ERROR for finding in evaluation.findings)
    assert not evaluation.ok
