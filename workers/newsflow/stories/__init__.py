"""Stories: articles about one event, across outlets and languages, grouped online.

`features` (what an article offers: canonical entity ids, numbers, key terms, an
embedding), `embedding` (multilingual sentence encoder), `scoring` (story
aggregates and P(article belongs to story)), `assign` (the online decision, no
I/O). The stories index and its look-ups live in `newsflow.es.stories`.
"""
