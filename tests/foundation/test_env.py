import pytest
from django.core.exceptions import ImproperlyConfigured

from larr1 import env


def test_it_uses_the_default_when_unset(monkeypatch):
    monkeypatch.delenv("LARR1_EXAMPLE", raising=False)
    assert env.integer("LARR1_EXAMPLE", 5) == 5


@pytest.mark.parametrize(
    ("reader", "value"),
    [
        (lambda: env.integer("LARR1_EXAMPLE", 1), "ten"),
        (lambda: env.integer("LARR1_EXAMPLE", 1, minimum=2), "1"),
        (lambda: env.boolean("LARR1_EXAMPLE", False), "maybe"),
        (lambda: env.choice("LARR1_EXAMPLE", "a", ("a", "b")), "c"),
    ],
)
def test_it_rejects_malformed_values(monkeypatch, reader, value):
    monkeypatch.setenv("LARR1_EXAMPLE", value)
    with pytest.raises(ImproperlyConfigured, match="LARR1_EXAMPLE"):
        reader()


def test_it_reads_a_secret_from_a_file(monkeypatch, tmp_path):
    secret_file = tmp_path / "token"
    secret_file.write_text("s3cr3t-value\n")
    monkeypatch.setenv("LARR1_EXAMPLE_FILE", str(secret_file))
    monkeypatch.delenv("LARR1_EXAMPLE", raising=False)
    assert env.secret("LARR1_EXAMPLE") == "s3cr3t-value"


def test_it_keeps_secret_values_out_of_errors(monkeypatch):
    monkeypatch.setenv("LARR1_EXAMPLE", "s3cr3t-value")
    monkeypatch.setenv("LARR1_EXAMPLE_FILE", "/nonexistent")
    with pytest.raises(ImproperlyConfigured) as caught:
        env.secret("LARR1_EXAMPLE")
    assert "s3cr3t-value" not in str(caught.value)


def test_it_splits_lists_on_commas(monkeypatch):
    monkeypatch.setenv("LARR1_EXAMPLE", "a.example.com, b.example.com,")
    assert env.string_list("LARR1_EXAMPLE", []) == ["a.example.com", "b.example.com"]
