"""The reader service's replicas: full-text search (SQLite FTS5) and analytics (DuckDB), both embedded."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Iterable, Mapping

import duckdb


class SearchIndex:
    """Posts' text in an FTS5 table: index, delete, search by word."""

    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.lock = threading.Lock()
        self.db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS posts USING fts5(post_id UNINDEXED, text)")

    def index(self, docs: Mapping[str, str]) -> None:
        with self.lock:
            self.db.execute("BEGIN")
            self.db.executemany("DELETE FROM posts WHERE post_id = ?", [(i,) for i in docs])
            self.db.executemany("INSERT INTO posts (post_id, text) VALUES (?, ?)", list(docs.items()))
            self.db.execute("COMMIT")

    def delete(self, ids: Iterable[str]) -> None:
        with self.lock:
            self.db.executemany("DELETE FROM posts WHERE post_id = ?", [(i,) for i in ids])

    def search(self, word: str) -> list[str]:
        query = '"' + word.replace('"', '""') + '"'
        with self.lock:
            rows = self.db.execute("SELECT post_id FROM posts WHERE posts MATCH ? ORDER BY post_id", (query,))
            return [row[0] for row in rows]

    def close(self) -> None:
        self.db.close()


class Analytics:
    """Comments in a DuckDB table, for aggregate questions DynamoDB cannot answer with a key."""

    def __init__(self, path: str) -> None:
        self.db = duckdb.connect(path)
        self.lock = threading.Lock()
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS comments (comment_id VARCHAR PRIMARY KEY, post_id VARCHAR, day DATE)"
        )

    def upsert(self, rows: Iterable[tuple[str, str, str]]) -> None:
        """(comment_id, post_id, ISO day) rows."""
        rows = list(rows)
        if rows:
            with self.lock:
                self.db.executemany("INSERT OR REPLACE INTO comments VALUES (?, ?, ?)", rows)

    def delete(self, ids: Iterable[str]) -> None:
        rows = [(i,) for i in ids]
        if rows:
            with self.lock:
                self.db.executemany("DELETE FROM comments WHERE comment_id = ?", rows)

    def per_day(self, days: list[dt.date]) -> dict[str, int]:
        with self.lock:
            rows = self.db.execute(
                "SELECT day, count(*) FROM comments WHERE day BETWEEN ? AND ? GROUP BY day",
                [days[0], days[-1]],
            ).fetchall()
        counts = {day.isoformat(): n for day, n in rows}
        return {d.isoformat(): counts.get(d.isoformat(), 0) for d in days}

    def close(self) -> None:
        self.db.close()
