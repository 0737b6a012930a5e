from pathlib import Path

import orjson
import pytest
import typer
from typer.testing import CliRunner

from newsflow.cli.evaluate import evaluate
from newsflow.errors import NewsflowError
from newsflow.evaluation import PARTS, run_parts
from newsflow.settings import Settings

ROWS = [
    {"lang": "en", "kind": "sentence", "text": "The central bank raised interest rates again on Thursday."},
    {"lang": "en", "kind": "sentence", "text": "Police said the two men were arrested near the border."},
    {"lang": "ar", "kind": "sentence", "text": "رفع البنك المركزي أسعار الفائدة مرة أخرى يوم الخميس."},
    {"lang": "fr", "kind": "sentence", "text": "La banque centrale a relevé ses taux pour lutter contre l'inflation."},
    {"lang": "en", "kind": "pair", "text": "interest rates"},
    {"lang": "zh", "kind": "word", "text": "选举"},
]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_bytes(b"\n".join(orjson.dumps(row) for row in rows) + b"\n")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    write_jsonl(tmp_path / "langid.jsonl", ROWS)
    return tmp_path


def invoke(*args: str):
    app = typer.Typer()
    app.command()(evaluate)
    return CliRunner().invoke(app, list(args))


def test_json_report_has_accuracy_per_language_and_kind(data_dir: Path):
    result = invoke("--data", str(data_dir), "--json")
    assert result.exit_code == 0, result.output
    parts = orjson.loads(result.output)["parts"]
    langid = parts["langid"]
    assert langid["status"] == "ok"
    assert langid["overall"]["texts"] == len(ROWS)
    assert langid["by_kind"]["sentence"]["accuracy"] == 1.0
    assert langid["by_language"]["en"]["sentence"] == {
        "texts": 2,
        "accuracy": 1.0,
        "indexed_accuracy": 1.0,
        "undetermined": 0.0,
    }
    assert set(langid["by_language"]) == {"ar", "en", "fr", "zh"}
    for name in PARTS.keys() - {"langid"}:
        assert parts[name]["status"] == "skipped"


def test_table_report_names_languages_and_kinds(data_dir: Path):
    result = invoke("--data", str(data_dir), "--only", "langid")
    assert result.exit_code == 0, result.output
    for expected in ("langid", "language", "sentence", "pair", "word", "en", "ar", "100.0"):
        assert expected in result.output
    assert "ner" not in result.output


def test_missing_files_skip_their_part_with_a_note(tmp_path: Path):
    result = invoke("--data", str(tmp_path), "--json", "--only", "langid")
    assert result.exit_code == 0, result.output
    langid = orjson.loads(result.output)["parts"]["langid"]
    assert langid["status"] == "skipped"
    assert "langid.jsonl" in langid["note"]


def test_unknown_part_is_a_usage_error(data_dir: Path):
    result = invoke("--data", str(data_dir), "--only", "sentiment")
    assert result.exit_code == 2
    assert "sentiment" in result.output


def test_malformed_row_names_file_and_line(tmp_path: Path):
    (tmp_path / "langid.jsonl").write_text('{"lang": "en", "kind": "word", "text": "hello"}\n{"lang": "en"}\n')
    with pytest.raises(NewsflowError, match=r"langid.jsonl:2: .*kind, text"):
        run_parts(tmp_path, ["langid"], Settings())
