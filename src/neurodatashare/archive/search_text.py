"""Full-text matching behind one interface: SQLite FTS5 or PostgreSQL tsvector.

Both stem English words (FTS5's porter tokenizer, PostgreSQL's 'english' configuration)
and match each query word as a prefix, so "recordings" finds "recording" and "GCaMP6"
finds "GCaMP6s". Every word must match (AND). Words are reduced to letters and digits
before they reach either query language, so no input can change the query's meaning.

Highlights come back as plain text with two private-use characters around each match;
`to_html` escapes the text and turns them into <mark> tags.
"""

from __future__ import annotations

import html
from typing import Any

from sqlalchemy import Float, Integer, bindparam, text
from sqlalchemy.orm import Session

OPEN, CLOSE = "\ue000", "\ue001"


def _fts5(words: list[str]) -> str:
    return " AND ".join(f'"{w}"*' for w in words)


def _tsquery(words: list[str]) -> str:
    return " & ".join(f"{w}:*" for w in words)


def dataset_matches(s: Session, words: list[str]) -> Any:
    """A subquery (dataset_id, rank) of the datasets whose text holds every word; a lower
    rank is a better match on both backends. On PostgreSQL the rank weighs the words of
    the name and description only (see migration 0006)."""
    if s.get_bind().dialect.name == "postgresql":
        sql = text(
            "SELECT dataset_id, -ts_rank(tsv_rank, q) AS rank FROM search_datasets, "
            "to_tsquery('english', :tsq) AS q WHERE tsv @@ q"
        ).bindparams(tsq=_tsquery(words))
    else:
        # bm25 weights: a word in the name counts most, then the description.
        sql = text(
            "SELECT rowid AS dataset_id, bm25(search_datasets_fts, 10.0, 4.0, 1.0) AS rank "
            "FROM search_datasets_fts WHERE search_datasets_fts MATCH :match"
        ).bindparams(match=_fts5(words))
    return sql.columns(dataset_id=Integer, rank=Float).subquery("text_match")


def dataset_ids_matching(words: list[str], *, dialect: str) -> Any:
    """A SELECT of the ids of the datasets whose text holds every word, for `IN`."""
    if dialect == "postgresql":
        return text(
            "SELECT dataset_id FROM search_datasets WHERE tsv @@ to_tsquery('english', :tsq)"
        ).bindparams(tsq=_tsquery(words))
    return text(
        "SELECT rowid FROM search_datasets_fts WHERE search_datasets_fts MATCH :match"
    ).bindparams(match=_fts5(words))


def asset_matches(s: Session, *, dataset_ids: list[int], words: list[str]) -> Any:
    """A subquery (id, rank) of these datasets' indexed files that hold any of the words.

    Whole (stemmed) words here, not prefixes: a prefix query reads the postings of every
    word it starts, across all files of all datasets."""
    if s.get_bind().dialect.name == "postgresql":
        sql = text(
            "SELECT id, -ts_rank(tsv, q) AS rank FROM search_assets, "
            "to_tsquery('english', :tsq) AS q WHERE dataset_id IN :ids AND tsv @@ q"
        ).bindparams(bindparam("ids", dataset_ids, expanding=True), tsq=" | ".join(words))
    else:
        # The scope words ANDed in keep FTS5 inside these datasets' files.
        scopes = " OR ".join(f'"d{d}"' for d in dataset_ids)
        anyword = " OR ".join(f'"{w}"' for w in words)
        sql = text(
            "SELECT rowid AS id, bm25(search_assets_fts) AS rank FROM search_assets_fts "
            "WHERE search_assets_fts MATCH :match"
        ).bindparams(match=f"scope : ({scopes}) AND {{path text}} : ({anyword})")
    return sql.columns(id=Integer, rank=Float).subquery("asset_match")


def dataset_highlights(
    s: Session, *, dataset_ids: list[int], words: list[str]
) -> dict[int, dict[str, str]]:
    """{dataset: {"name": marked, "description": marked excerpt}} for matched words."""
    if not dataset_ids or not words:
        return {}
    ids: Any = bindparam("ids", dataset_ids, expanding=True)
    if s.get_bind().dialect.name == "postgresql":
        options = f"StartSel={OPEN}, StopSel={CLOSE}"
        sql = text(
            "SELECT dataset_id, ts_headline('english', name, q, :whole), "
            "ts_headline('english', description, q, :excerpt) "
            "FROM search_datasets, to_tsquery('english', :tsq) AS q "
            "WHERE dataset_id IN :ids"
        ).bindparams(
            ids,
            tsq=_tsquery(words).replace(" & ", " | "),
            whole=f"{options}, HighlightAll=true",
            excerpt=f"{options}, MaxFragments=2, MaxWords=25, MinWords=8",
        )
    else:
        sql = text(
            "SELECT rowid, highlight(search_datasets_fts, 0, :o, :c), "
            "snippet(search_datasets_fts, 1, :o, :c, ' … ', 32) FROM search_datasets_fts "
            "WHERE search_datasets_fts MATCH :match AND rowid IN :ids"
        ).bindparams(ids, o=OPEN, c=CLOSE, match=" OR ".join(f'"{w}"*' for w in words))
    out: dict[int, dict[str, str]] = {}
    for dataset_id, name, description in s.execute(sql):
        found = {
            field: to_html(value)
            for field, value in (("name", name), ("description", description))
            if value and OPEN in value
        }
        if found:
            out[int(dataset_id)] = found
    return out


def to_html(marked: str) -> str:
    """Escape the text and turn the match markers into <mark> tags."""
    return html.escape(marked, quote=True).replace(OPEN, "<mark>").replace(CLOSE, "</mark>")


def mark_words(value: str, words: list[str]) -> str | None:
    """`value` as HTML with the words that start with a query word (or its stem) marked;
    None if none does. For short fields (paths, labels) that have no database snippet."""
    from neurodatashare.archive.search_documents import WORD_RE

    stems = [stem(w) for w in words]
    pieces: list[str] = []
    last, hit = 0, False
    for m in WORD_RE.finditer(value):
        if any(m.group().lower().startswith(st) for st in stems):
            pieces += [
                html.escape(value[last : m.start()]),
                f"<mark>{html.escape(m.group())}</mark>",
            ]
            last, hit = m.end(), True
    if not hit:
        return None
    return "".join([*pieces, html.escape(value[last:])])


def stem(word: str) -> str:
    """A rough English stem, for explaining matches (the databases do the real stemming)."""
    for suffix in ("ings", "ing", "ies", "es", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word
