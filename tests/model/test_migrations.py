"""Live migrations against the embedded engine and moto_server: guarded rewrites under a concurrent writer,
a crash and resume, idempotence, parked items, plans and refusals, lazy upgrade on read."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from typing import Any

import pytest

from dynamokit import Engine
from dynamokit.model import App, Entity, Keys, Options, Table, ThreadTransport, Transport
from dynamokit.model._schema import create_tables
from dynamokit.model.migrations import (
    AddAttribute,
    ChangeIndex,
    Migration,
    MigrationError,
    Progress,
    RenameAttribute,
    arun,
    plan,
    run,
    status,
    write_back,
)
from dynamokit.model.migrations._limits import Limiter

from .migration_models import STATUSES, Doc, DocV1, Tag, migrations, v1_app, v1_doc, v2_app, v2_doc


class Recording:
    """A Transport counting successful PutItems writing `_v` = 2 (the tests write no others: rewrites)."""

    def __init__(self, inner: Transport) -> None:
        self.inner, self.rewrites, self.lock = inner, Counter[str](), threading.Lock()

    def call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        response = self.inner.call(operation, request)
        if operation == "PutItem" and request["Item"].get("_v") == {"N": "2"}:
            with self.lock:
                self.rewrites[request["Item"]["pk"]["S"]] += 1
        return response


class Crash(Exception):
    """Stands for a killed run."""


def load_v1(transport: Transport, count: int) -> App:
    old = v1_app().use(transport)
    create_tables(old)
    assert not old.batch_write([v1_doc(i) for i in range(count)] + [Tag(tag=f"t{i}") for i in range(20)])
    return old


def items(transport: Transport) -> dict[str, dict[str, Any]]:
    out, request = {}, {"TableName": "docs"}
    while True:
        response = transport.call("Scan", request)
        out.update({item["pk"]["S"]: item for item in response["Items"]})
        if "LastEvaluatedKey" not in response:
            return out
        request = {"TableName": "docs", "ExclusiveStartKey": response["LastEvaluatedKey"]}


def size(transport: Transport) -> int:
    return 5000 if isinstance(transport, Engine) else 800


def fresh(count: int, views: Counter[str]) -> tuple[Engine, App]:
    """The same documents loaded fresh in the new shape, in a database of their own."""
    engine = Engine()
    app = v2_app().use(engine)
    create_tables(app)
    app.batch_write(
        [v2_doc(i, views[f"d{i:06d}"]) for i in range(count)] + [Tag(tag=f"t{i}") for i in range(20)]
    )
    return engine, app


def answers(app: App) -> list[list[dict[str, Any]]]:
    """What the new access patterns answer, for every status and owner."""
    out = [[d.model_dump() for d in app.query("docs_by_status", status=s).all()] for s in STATUSES]
    out += [[d.model_dump() for d in app.query("docs_by_owner", owner=f"o{o}").all()] for o in range(37)]
    return out


def test_crash_resume_under_a_writer_loses_nothing(transport: Transport) -> None:
    """A writer updates random documents while the run migrates them; the run is killed after a few
    chunks and resumed. Every document ends migrated exactly once with every update kept, and the new
    access patterns answer exactly as a fresh load in the new shape."""
    count = size(transport)
    load_v1(transport, count)
    recording = Recording(transport)
    app = v2_app().use(transport)
    writer_app = v2_app().use(transport)
    views: Counter[str] = Counter()
    stop = threading.Event()

    def writer() -> None:
        chooser = random.Random(7)
        while not stop.is_set():
            doc_id = f"d{chooser.randrange(count):06d}"
            writer_app.update(Doc, doc_id=doc_id).add(views=1).run()
            views[doc_id] += 1

    chunks = [0]

    def crash_after_six(progress: Progress) -> None:
        chunks[0] += 1
        if chunks[0] == 6:
            raise Crash()

    # moto_server applies concurrent requests without locks (a condition and its write are not atomic there),
    # so the concurrent writer runs against the embedded engine; moto checks the crash, resume and shape.
    thread = threading.Thread(target=writer if isinstance(transport, Engine) else stop.wait)
    thread.start()
    try:
        with pytest.raises(Crash):
            run(app, recording, segments=4, chunk=100, on_chunk=crash_after_six)
        midway = status(app)[0]
        assert midway.stored is None and midway.run is not None and "finished" not in midway.run
        done = run(app, recording, segments=4, chunk=100)
    finally:
        stop.set()
        thread.join()
    assert done.tables[0].resumed and not done.tables[0].parked
    assert sum(views.values()) > 0 or not isinstance(transport, Engine)
    assert set(recording.rewrites) == {f"DOC#d{i:06d}" for i in range(count)}
    assert set(recording.rewrites.values()) == {1}, "an item was rewritten twice"
    stored = items(transport)
    for i in range(count):
        item = stored[f"DOC#d{i:06d}"]
        assert item["_v"] == {"N": "2"} and int(item["views"]["N"]) == views[f"d{i:06d}"], item
    assert "_v" not in stored["TAG#t1"], "an entity no migration changes was rewritten"
    engine, expected = fresh(count, views)
    with engine:
        assert answers(app) == answers(expected)
        docs = {k: v for k, v in items(engine).items() if k.startswith("DOC#")}
        assert {k: v for k, v in items(transport).items() if k.startswith("DOC#")} == docs
    again = run(app, recording, segments=4)
    assert str(again) == "docs: at model version 2, nothing to do"
    assert set(recording.rewrites.values()) == {1}


def test_plan_names_changes_cost_and_incomplete_patterns(transport: Transport) -> None:
    load_v1(transport, 300)
    app = v2_app().use(transport)
    planned = plan(app, count=True, rate=100)
    text = str(planned)
    assert planned.items == 300 and planned.tables[0].counted
    assert "model version 1 -> 2" in text and "create GSI 'gsi2'" in text
    assert "doc: rename attribute 'body' to 'text'" in text
    assert "access pattern 'docs_by_status' is incomplete until the run completes" in text
    assert "access pattern 'docs_by_owner' is incomplete" in text
    assert planned.tables[0].wcu >= 300 and planned.tables[0].cost > 0
    assert run(app).tables[0].progress.migrated == 300  # type: ignore[union-attr]
    assert "nothing to do" in str(plan(app))


def test_a_pattern_left_needing_a_scan_is_refused(transport: Transport) -> None:
    load_v1(transport, 10)
    without_index = [Migration(1, 2, [AddAttribute(Doc, "lang", "en")], "language only")]
    app = v2_app(without_index).use(transport)
    with pytest.raises(MigrationError, match="access pattern 'docs_by_status' reads GSI 'gsi2'"):
        plan(app)
    with pytest.raises(MigrationError, match="docs_by_status"):
        run(app)


def test_a_changed_template_without_a_migration_is_refused(transport: Transport) -> None:
    load_v1(transport, 10)
    run(v2_app().use(transport))
    from .migration_models import Doc as DocV2

    class Doc3(DocV2):
        keys = DocV2.keys.__class__(
            pk="DOC#{doc_id}",
            sk="DOC",
            by_owner=DocV2.keys.indexes["by_owner"].__class__(
                "gsi1", pk="OWNER#{owner}", sk="STATUS#{status}#{doc_id}"
            ),
            by_status=DocV2.keys.indexes["by_status"],
        )

    from dynamokit.model import GSI, Pattern, Table

    chain = [*migrations(), Migration(2, 3, [AddAttribute(Doc3, "lang", "en")])]
    third = App(
        Table("docs", [Doc3, Tag], indexes=[GSI("gsi1"), GSI("gsi2")]),
        patterns=[
            Pattern("docs_by_owner", Doc3, by=("owner",)),
            Pattern("docs_by_status", Doc3, by=("status",)),
        ],
        migrations=[*chain[:0], *(m for m in chain if m.source == 2)],
    ).use(transport)
    with pytest.raises(MigrationError, match=r"doc.by_owner: template changed .* \['docs_by_owner'\]"):
        plan(third)


def test_a_run_from_another_version_is_refused(transport: Transport) -> None:
    load_v1(transport, 10)
    run(v2_app().use(transport))
    later = v2_app([Migration(3, 4, [AddAttribute(Doc, "lang", "en")])]).use(transport)
    with pytest.raises(MigrationError, match="at model version 2; this App's migrations start from 3"):
        run(later)
    older = v2_app([Migration(0, 1, [AddAttribute(Doc, "lang", "en")])]).use(transport)
    with pytest.raises(MigrationError, match="newer than this App's version 1"):
        run(older)


def test_a_failing_transform_parks_the_item_and_retry_finishes(transport: Transport) -> None:
    load_v1(transport, 200)

    def fragile(values: dict[str, Any]) -> dict[str, Any]:
        if values["doc_id"] in ("d000013", "d000101"):
            raise ValueError("cannot count these words")
        return {**values, "words": len(values.get("text", "").split())}

    broken = v2_app(migrations(fragile)).use(transport)
    first = run(broken, segments=2, chunk=30)
    table = first.tables[0]
    assert sorted(p.key["pk"]["S"] for p in table.parked) == ["DOC#d000013", "DOC#d000101"]
    assert "ValueError: cannot count these words" in str(first)
    assert table.progress is not None and table.progress.migrated == 198
    assert status(broken)[0].stored is None and status(broken)[0].parked == 2
    fixed = v2_app().use(transport)
    second = run(fixed, retry_parked=True)
    assert not second.tables[0].parked and status(fixed)[0].stored == 2
    assert fixed.get(Doc, doc_id="d000013").run().words == 3  # type: ignore[union-attr]
    assert items(transport)["DOC#d000013"]["_v"] == {"N": "2"}


def test_reads_upgrade_old_items_in_memory_and_write_back(transport: Transport) -> None:
    load_v1(transport, 5)
    app = v2_app(write_back=True).use(transport)
    doc = app.get(Doc, doc_id="d000004").run()
    assert doc == v2_doc(4)
    assert "body" in items(transport)["DOC#d000004"]  # not written yet
    assert write_back(app) == 1
    stored = items(transport)["DOC#d000004"]
    assert stored["_v"] == {"N": "2"} and "body" not in stored and stored["gsi2pk"] == {"S": "STATUS#live"}
    assert app.get(Doc, doc_id="d000004").run() == doc and write_back(app) == 0


def test_model_writes_record_the_version_once_migrations_are_declared(transport: Transport) -> None:
    old = load_v1(transport, 0)
    old.put(DocV1(doc_id="x", owner="o", title="t")).run()
    assert "_v" not in items(transport)["DOC#x"]
    app = v2_app().use(transport)
    app.put(v2_doc(1)).run()
    assert items(transport)["DOC#d000001"]["_v"] == {"N": "2"}
    app.update(Doc, doc_id="x").add(views=2).run()  # an update keeps the shape, and so the version
    assert "_v" not in items(transport)["DOC#x"]


def test_declaration_errors_are_one_line() -> None:
    with pytest.raises(MigrationError, match="versions must be consecutive"):
        Migration(1, 3, [AddAttribute(Doc, "lang", "en")])
    with pytest.raises(MigrationError, match="Doc has no key 'by_tag'|doc has no key 'by_tag'"):
        from dynamokit.model.migrations import AddIndex

        v2_app([Migration(1, 2, [AddIndex(Doc, "by_tag")])])
    with pytest.raises(MigrationError, match="DocV1 is not an entity|doc is not an entity"):
        v2_app([Migration(1, 2, [AddAttribute(DocV1, "lang", "en")])])


def test_arun_over_an_async_transport_stops_and_resumes() -> None:
    """`arun`: the same run as asyncio tasks (here the engine in worker threads); a failing hook stops every
    segment at a checkpoint, and the next run resumes from there."""
    import asyncio

    with Engine() as engine:
        load_v1(engine, 1500)
        app = v2_app().use(ThreadTransport(engine))
        seen = [0]

        def crash_after_three(progress: Progress) -> None:
            seen[0] += 1
            if seen[0] == 3:
                raise Crash()

        with pytest.raises(Crash):
            asyncio.run(arun(app, segments=3, chunk=50, on_chunk=crash_after_three))
        assert seen[0] < 3 + 3  # the other segments stopped at their next chunk
        done = asyncio.run(arun(app, segments=3, chunk=50))
        assert done.tables[0].resumed and done.tables[0].progress is not None
        assert done.tables[0].progress.migrated == 1500
        assert len(v2_app().use(engine).query("docs_by_status", status="draft").all()) == 500


def test_the_rate_limit_holds() -> None:
    with Engine() as engine:
        load_v1(engine, 300)
        app = v2_app().use(engine)
        started = time.monotonic()
        done = run(app, segments=3, chunk=20, rate=400)
        took = time.monotonic() - started
        progress = done.tables[0].progress
        assert progress is not None and progress.wcu == 900  # 3 WCU per item: the table and its 2 GSIs
        assert took >= (900 - 400) / 400 * 0.9, took  # a one-second burst, then 400 WCU/s


def test_limiter_reserves_time() -> None:
    now = [0.0]
    limiter = Limiter(10, clock=lambda: now[0])
    assert limiter.reserve(10) == 0
    assert limiter.reserve(5) == pytest.approx(0.5)
    now[0] = 2.0
    assert limiter.reserve(5) == 0
    assert Limiter(None).reserve(1e9) == 0


class NoteV1(Entity):
    note_id: str
    text: str
    version: int = 0
    keys = Keys(pk="NOTE#{note_id}", sk="NOTE")
    options = Options(name="note", version="version", extra=True)


class Note(Entity):
    note_id: str
    text: str
    lang: str = "en"
    version: int = 0
    keys = Keys(pk="NOTE#{note_id}", sk="NOTE")
    options = Options(name="note", version="version", extra=True)


class Memo(Entity):
    memo_id: str
    lang: str = "en"
    keys = Keys(pk="MEMO#{memo_id}", sk="MEMO")
    options = Options(name="memo")


def test_items_too_wide_for_one_condition_are_guarded_by_their_version_or_parked(
    transport: Transport,
) -> None:
    """An item with hundreds of attributes cannot be compared in one 4 KB condition: an entity with a
    version field is guarded by `_v` and that field; one without is parked with the reason."""
    old = App(Table("notes", [NoteV1, Memo])).use(transport)
    create_tables(old)
    wide = {f"extra_{n:03d}": {"S": "x"} for n in range(300)}
    for key, kind, name in (("NOTE#n1", "note", "note_id"), ("MEMO#m1", "memo", "memo_id")):
        item = {"pk": {"S": key}, "sk": {"S": key.split("#")[0]}, "_type": {"S": kind}, name: {"S": key[5:]}}
        if kind == "note":
            item |= {"text": {"S": "hello"}, "version": {"N": "3"}}
        transport.call("PutItem", {"TableName": "notes", "Item": {**item, **wide}})
    chain = [Migration(1, 2, [AddAttribute(Note, "lang", "fr"), AddAttribute(Memo, "lang", "fr")])]
    app = App(Table("notes", [Note, Memo]), migrations=chain).use(transport)
    done = run(app)
    assert [p.entity for p in done.tables[0].parked] == ["memo"]
    assert "declare Options(version=...)" in done.tables[0].parked[0].error
    note = transport.call(
        "GetItem", {"TableName": "notes", "Key": {"pk": {"S": "NOTE#n1"}, "sk": {"S": "NOTE"}}}
    )
    assert note["Item"]["lang"] == {"S": "fr"} and note["Item"]["extra_299"] == {"S": "x"}


def test_unique_fields_cannot_be_renamed_by_a_migration() -> None:
    class Account(Entity):
        account_id: str
        email: str
        keys = Keys(pk="ACCOUNT#{account_id}", sk="ACCOUNT")
        options = Options(name="account", unique=("email",))

    with pytest.raises(MigrationError, match="account.email is a unique or reference field"):
        App(Table("t", [Account]), migrations=[Migration(1, 2, [RenameAttribute(Account, "email", "mail")])])


def test_an_undeclared_key_change_is_found_in_a_sample_of_unrecorded_tables(transport: Transport) -> None:
    """Tables whose templates were never recorded: a sample of stored items shows the undeclared change."""
    load_v1(transport, 50)
    steps = [c for c in migrations()[0].changes if not isinstance(c, ChangeIndex)]
    forgetful = v2_app([Migration(1, 2, steps)]).use(transport)
    with pytest.raises(MigrationError, match=r"doc.by_owner: stored items hold keys .* \['docs_by_owner'\]"):
        plan(forgetful)
    assert "model version 1 -> 2" in str(plan(v2_app().use(transport)))


class Creating:
    """A Transport whose first DescribeTable answers show GSI gsi2 still being created."""

    def __init__(self, inner: Transport, times: int) -> None:
        self.inner, self.times, self.calls = inner, times, list[str]()

    def call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        response = self.inner.call(operation, request)
        if operation == "DescribeTable" and request["TableName"] == "docs" and self.times:
            self.times -= 1
            for index in response["Table"].get("GlobalSecondaryIndexes", []):
                if index["IndexName"] == "gsi2":
                    index["IndexStatus"] = "CREATING"
            operation += ":CREATING"
        self.calls.append(operation + (":segment" if "Segment" in request else ""))
        return response


def test_a_gsi_still_being_created_is_waited_for() -> None:
    with Engine() as engine:
        load_v1(engine, 50)
        engine.call(
            "UpdateTable",
            {
                "TableName": "docs",
                "AttributeDefinitions": [
                    {"AttributeName": "gsi2pk", "AttributeType": "S"},
                    {"AttributeName": "gsi2sk", "AttributeType": "S"},
                ],
                "GlobalSecondaryIndexUpdates": [
                    {
                        "Create": {
                            "IndexName": "gsi2",
                            "KeySchema": [
                                {"AttributeName": "gsi2pk", "KeyType": "HASH"},
                                {"AttributeName": "gsi2sk", "KeyType": "RANGE"},
                            ],
                            "Projection": {"ProjectionType": "ALL"},
                        }
                    }
                ],
            },
        )
        creating = Creating(engine, 3)
        done = run(v2_app().use(engine), creating)
        assert done.tables[0].indexes == []  # it existed: not created again
        first_scan = creating.calls.index("Scan:segment")
        assert creating.calls[:first_scan].count("DescribeTable:CREATING") == 3
        assert "DescribeTable" in creating.calls[:first_scan]  # an ACTIVE answer came before the first Scan
