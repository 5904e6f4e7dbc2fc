"""The storage floor: the workload done directly with sqlite3 (WAL, one connection per thread).

It answers the same wire-shape requests as the engines, but only with what the workload needs: items are stored
as JSON blobs beside their key columns, the GSI is a SQL index, and a Scan page holds ~1 MB of items.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from typing import Any

SCAN_PAGE = 4080  # as many ~257-byte items (DynamoDB's size of a workload item) as 1 MB holds


class ConditionFailed(Exception):
    pass


class RawSqlite:
    def __init__(self, path: str) -> None:
        self.path = path
        self.local = threading.local()
        self.db.execute("CREATE TABLE IF NOT EXISTS t (pk TEXT, sk REAL, g TEXT, item BLOB, PRIMARY KEY (pk, sk))"
                        " WITHOUT ROWID")
        self.db.execute("CREATE INDEX IF NOT EXISTS t_g ON t (g, sk)")

    @property
    def db(self) -> sqlite3.Connection:
        db = getattr(self.local, "db", None)
        if db is None:
            db = self.local.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                                 timeout=30)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
        return db

    def call(self, op: str, request: dict[str, Any]) -> dict[str, Any]:
        return getattr(self, op)(request)

    def _put(self, db: sqlite3.Connection, item: dict[str, Any]) -> None:
        db.execute("INSERT OR REPLACE INTO t VALUES (?, ?, ?, ?)",
                   (item["pk"]["S"], float(item["sk"]["N"]), item["g"]["S"], json.dumps(item).encode()))

    def _get(self, db: sqlite3.Connection, key: dict[str, Any]) -> dict[str, Any] | None:
        row = db.execute("SELECT item FROM t WHERE pk = ? AND sk = ?", (key["pk"]["S"], float(key["sk"]["N"]))).fetchone()
        return json.loads(row[0]) if row else None

    def PutItem(self, request: dict[str, Any]) -> dict[str, Any]:
        db = self.db
        if "ConditionExpression" not in request:  # attribute_not_exists(pk) is the only condition used
            self._put(db, request["Item"])
            return {}
        db.execute("BEGIN IMMEDIATE")
        try:
            if self._get(db, request["Item"]) is not None:
                raise ConditionFailed
            self._put(db, request["Item"])
            db.execute("COMMIT")
        finally:
            if db.in_transaction:
                db.execute("ROLLBACK")
        return {}

    def GetItem(self, request: dict[str, Any]) -> dict[str, Any]:
        item = self._get(self.db, request["Key"])
        return {"Item": item} if item else {}

    def Query(self, request: dict[str, Any]) -> dict[str, Any]:
        values = request["ExpressionAttributeValues"]
        if "IndexName" in request:
            rows = self.db.execute("SELECT item FROM t WHERE g = ? ORDER BY sk", (values[":g"]["S"],))
        else:
            rows = self.db.execute("SELECT item FROM t WHERE pk = ? AND sk < ? ORDER BY sk",
                                   (values[":p"]["S"], float(values[":n"]["N"])))
        items = [json.loads(row[0]) for row in rows]
        return {"Items": items, "Count": len(items)}

    def _update(self, db: sqlite3.Connection, key: dict[str, Any]) -> None:
        item = self._get(db, key)
        if item is None:
            item = dict(key)
        item["c"] = {"N": str(int(item.get("c", {"N": "0"})["N"]) + 1)}
        db.execute("UPDATE t SET item = ? WHERE pk = ? AND sk = ?",
                   (json.dumps(item).encode(), key["pk"]["S"], float(key["sk"]["N"])))

    def UpdateItem(self, request: dict[str, Any]) -> dict[str, Any]:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        self._update(db, request["Key"])
        db.execute("COMMIT")
        return {}

    def BatchWriteItem(self, request: dict[str, Any]) -> dict[str, Any]:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        for writes in request["RequestItems"].values():
            for write in writes:
                self._put(db, write["PutRequest"]["Item"])
        db.execute("COMMIT")
        return {}

    def TransactWriteItems(self, request: dict[str, Any]) -> dict[str, Any]:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            for action in request["TransactItems"]:
                if "Put" in action:
                    self._put(db, action["Put"]["Item"])
                elif "Update" in action:
                    self._update(db, action["Update"]["Key"])
                elif self._get(db, action["ConditionCheck"]["Key"]) is None:
                    raise ConditionFailed
            db.execute("COMMIT")
        finally:
            if db.in_transaction:
                db.execute("ROLLBACK")
        return {}

    def Scan(self, request: dict[str, Any]) -> dict[str, Any]:
        start = request.get("ExclusiveStartKey")
        if start:
            rows = self.db.execute("SELECT pk, sk, item FROM t WHERE (pk, sk) > (?, ?) ORDER BY pk, sk LIMIT ?",
                                   (start["pk"]["S"], float(start["sk"]["N"]), SCAN_PAGE)).fetchall()
        else:
            rows = self.db.execute("SELECT pk, sk, item FROM t ORDER BY pk, sk LIMIT ?", (SCAN_PAGE,)).fetchall()
        page: dict[str, Any] = {"Items": [json.loads(row[2]) for row in rows], "Count": len(rows)}
        if len(rows) == SCAN_PAGE:
            page["LastEvaluatedKey"] = {"pk": {"S": rows[-1][0]}, "sk": {"N": repr(rows[-1][1])}}
        return page

    def CreateTable(self, request: dict[str, Any]) -> dict[str, Any]:
        return {}

    def DescribeTable(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"Table": {"TableStatus": "ACTIVE", "GlobalSecondaryIndexes": [{"IndexStatus": "ACTIVE"}]}}
