"""Search over the articles alias, shared by the CLI, the HTTP API and the web page.

`search(client, alias, SearchRequest(...), entity_table())` returns plain data; invalid user input
raises `QueryError` before anything reaches Elasticsearch.
"""

from newsflow.search.body import SearchRequest, build_body
from newsflow.search.entity_lookup import EntityTable, entity_table
from newsflow.search.query_text import QueryError, parse_query
from newsflow.search.results import search

__all__ = ["EntityTable", "QueryError", "SearchRequest", "build_body", "entity_table", "parse_query", "search"]
