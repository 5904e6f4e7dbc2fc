"""The compiled codecs: the fast path builds exactly what pydantic validation builds, or defers to it."""

from __future__ import annotations

import datetime as dt
import enum
import random
import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from dynamokit.model import Entity, Keys, Options
from dynamokit.model._codec import Codec
from dynamokit.model._keys import Template, encode_part

from .models import Address, Article, Author, Comment, Note, Post, Status, User


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Point(BaseModel):
    x: int
    y: Decimal = Decimal(0)
    label: str | None = None


class Everything(Entity):
    id: str
    n: int
    big: int = 0
    f: float = 0.0
    d: Decimal = Decimal(0)
    flag: bool = False
    blob: bytes = b""
    at: dt.datetime | None = None
    day: dt.date | None = None
    uid: uuid.UUID | None = None
    status: Status = Status.DRAFT
    level: Level = Level.LOW
    names: set[str] = Field(default_factory=set)
    numbers: set[int] = Field(default_factory=set)
    amounts: frozenset[Decimal] = frozenset()
    extra: list[str] = ["x"]  # noqa: RUF012 - a plain mutable default: copied per instance
    blobs: set[bytes] = Field(default_factory=set)
    statuses: set[Status] = Field(default_factory=set)
    items: list[int] = Field(default_factory=list)
    nested: list[list[str]] = Field(default_factory=list)
    mapping: dict[str, Decimal] = Field(default_factory=dict)
    point: Point | None = None
    points: list[Point] = Field(default_factory=list)
    anything: Any = None
    literal: Literal["a", "b"] = "a"
    positive: Annotated[int, Field(gt=0)] = 1
    ttl: dt.datetime | None = None
    keys = Keys(pk="E#{id}", sk="E")
    options = Options(ttl="ttl")


def slow(cls: type[Entity], item: dict[str, Any]) -> Entity:
    return Codec.of(cls, cls.options.ttl)._slow_decode(item)


def same(a: BaseModel, b: BaseModel) -> None:
    """Equal values of identical types, field by field (recursively), and the same fields_set."""
    assert a == b
    assert a.model_fields_set == b.model_fields_set
    for name in type(a).model_fields:
        left, right = getattr(a, name), getattr(b, name)
        assert type(left) is type(right), name
        if isinstance(left, BaseModel):
            same(left, right)
        if isinstance(left, dt.datetime):
            assert left.utcoffset() == right.utcoffset()
        if isinstance(left, Decimal):
            assert str(left) == str(right)
        if isinstance(left, (set, frozenset, list)):
            assert sorted(map(repr, left)) == sorted(map(repr, right))


def random_everything(rng: random.Random) -> Everything:
    zone = rng.choice([None, dt.UTC, dt.timezone(dt.timedelta(hours=rng.randint(-12, 12)))])
    moment = dt.datetime(
        rng.randint(1, 9999),
        rng.randint(1, 12),
        rng.randint(1, 28),
        rng.randint(0, 23),
        rng.randint(0, 59),
        rng.randint(0, 59),
        rng.choice([0, rng.randint(0, 999999)]),
        tzinfo=zone,
    )
    return Everything(
        id=str(rng.random()),
        n=rng.randint(-(2**80), 2**80),
        big=rng.choice([0, 10**37, -(10**37)]),
        f=rng.choice([0.1, -1e300, 5e-324, 1.0, rng.random()]),
        d=Decimal(rng.choice(["12345678901234567890.123456789", "-0.000001", "1E+10", "5", "1.50"])),
        flag=rng.random() < 0.5,
        blob=rng.randbytes(rng.randint(1, 20)),
        at=moment,
        day=moment.date(),
        uid=uuid.UUID(int=rng.getrandbits(128)),
        status=rng.choice(list(Status)),
        level=rng.choice(list(Level)),
        names={str(rng.random()) for _ in range(rng.randint(0, 3))},
        numbers={rng.randint(-1000, 1000) for _ in range(rng.randint(0, 3))},
        amounts=frozenset(Decimal(rng.randint(0, 99)) / 4 for _ in range(rng.randint(0, 3))),
        blobs={rng.randbytes(3) for _ in range(rng.randint(0, 2))},
        statuses=set(rng.sample(list(Status), rng.randint(0, 2))),
        items=[rng.randint(0, 9) for _ in range(rng.randint(0, 3))],
        nested=[["a", "b"], []],
        mapping={"k": Decimal("1.25")},
        point=rng.choice([None, Point(x=1, y=Decimal("2.5"), label="p")]),
        points=[Point(x=2)],
        anything=rng.choice([None, {"a": [1, "x"]}, "text", 7]),
        literal=rng.choice(["a", "b"]),
        positive=rng.randint(1, 100),
        ttl=rng.choice([None, dt.datetime(2030, 1, 1, tzinfo=dt.UTC)]),
    )


def test_fast_path_builds_what_validation_builds() -> None:
    codec = Everything.codec()
    assert codec.fast
    rng = random.Random(7)
    for _ in range(300):
        entity = random_everything(rng)
        item = entity.attributes()
        fast = Everything.from_item(item)
        same(fast, slow(Everything, item))
        assert codec.fast_decode(item) == fast  # it really took the fast path
        assert fast.model_dump() == entity.model_dump() | {"ttl": fast.ttl}  # TTL keeps whole seconds


def test_round_trips_stay_exact() -> None:
    entity = Everything(
        id="x",
        n=2**70,
        d=Decimal("12345678901234567890.123456789"),
        f=0.1,
        at=dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        statuses={Status.PUBLISHED},
        mapping={"a": Decimal("1E+2")},
    )
    again = Everything.from_item(entity.attributes())
    assert again == entity
    assert type(again.n) is int and again.n == 2**70
    assert str(again.d) == "12345678901234567890.123456789" and again.f == 0.1
    assert again.at is not None and again.at.utcoffset() == dt.timedelta(hours=2)
    assert str(again.mapping["a"]) == "1E+2"
    assert type(next(iter(again.statuses))) is Status


def test_anything_doubtful_goes_through_validation() -> None:
    item = Everything(id="x", n=1).attributes()
    with pytest.raises(ValidationError):  # a required field is missing: pydantic's own error
        Everything.from_item({k: v for k, v in item.items() if k != "n"})
    with pytest.raises(ValidationError):  # constraints are still checked
        Everything.from_item({**item, "positive": {"N": "0"}})
    with pytest.raises(ValidationError):
        Everything.from_item({**item, "literal": {"S": "zzz"}})
    with pytest.raises(ValidationError):
        Everything.from_item({**item, "n": {"N": "1.5"}})
    with pytest.raises(ValidationError):
        Everything.from_item({**item, "status": {"S": "deleted"}})
    # inputs only pydantic's lax rules accept still come out as validation makes them
    assert Everything.from_item({**item, "n": {"N": "1E+3"}}).n == 1000
    assert Everything.from_item({**item, "at": {"NULL": True}}).at is None
    assert Everything.from_item({**item, "id": {"S": "y"}, "point": {"NULL": True}}).point is None


def test_validators_and_configs_disable_the_fast_path() -> None:
    class Checked(Entity):
        id: str
        keys = Keys(pk="{id}")

        @field_validator("id")
        @classmethod
        def upper(cls, value: str) -> str:
            return value.upper()

    codec = Checked.codec()
    assert not codec.fast
    assert Checked.from_item({"id": {"S": "abc"}}).id == "ABC"

    class Strict(Entity):
        model_config = ConfigDict(strict=True)
        id: str
        keys = Keys(pk="{id}")

    assert not Strict.codec().fast


def test_mutable_defaults_are_fresh_copies() -> None:
    item = Everything(id="x", n=1).attributes()
    a, b = Everything.from_item(item), Everything.from_item(item)
    a.names.add("changed")
    a.items.append(1)
    a.extra.append("y")
    assert b.names == set() and b.items == [] and b.extra == ["x"]


def test_entities_of_the_test_models_decode_fast() -> None:
    post = Post(
        post_id="p",
        author="a",
        title="t",
        created=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        tags={"x"},
        data=b"\x00",
        expires=dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
    )
    user = User(user_id="u", email="e", name="n")
    for entity in (post, user):
        codec = type(entity).codec()
        assert codec.fast
        item = entity.attributes()
        same(codec.fast_decode(item), slow(type(entity), item))
        assert codec.decode(item) == entity


def test_datetime_key_text_matches_strftime() -> None:
    rng = random.Random(3)
    zones = [
        None,
        dt.UTC,
        dt.timezone(dt.timedelta(hours=5, minutes=30)),
        dt.timezone(dt.timedelta(hours=-8)),
    ]
    for _ in range(2000):
        moment = dt.datetime(
            rng.randint(1, 9999),
            rng.randint(1, 12),
            rng.randint(1, 28),
            rng.randint(0, 23),
            rng.randint(0, 59),
            rng.randint(0, 59),
            rng.choice([0, rng.randint(0, 999999)]),
            tzinfo=rng.choice(zones),
        )
        utc = moment.astimezone(dt.UTC).replace(tzinfo=None) if moment.tzinfo else moment
        if utc.year >= 1000:
            assert encode_part(moment) == utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    template = Template("A#{a}#{b:4}#B")
    assert template.render({"a": "x", "b": 7}) == "A#x#0007#B"
    assert template.render({"a": "x"}) is None
    assert template.head == "A#"


MINIMAL: dict[type[Entity], dict[str, Any]] = {
    User: {"user_id": "u", "email": "e", "name": "n"},
    Post: {"post_id": "p", "author": "a", "title": "t", "created": dt.datetime(2024, 1, 1, tzinfo=dt.UTC)},
    Comment: {
        "post_id": "p",
        "comment_id": "c",
        "author": "a",
        "body": "b",
        "created": dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    },
    Author: {"author_id": "a", "name": "n"},
    Article: {"article_id": "r", "author_id": "a", "category": "c", "title": "t"},
    Note: {"note_id": "n", "article_id": "r", "body": "b"},
}
FULL: dict[type[Entity], dict[str, Any]] = {
    User: {
        "org": "o",
        "address": Address(city="c", zip="z"),
        "version": 3,
        "created_at": dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        "updated_at": dt.datetime(2024, 1, 2, tzinfo=dt.UTC),
    },
    Post: {
        "status": Status.PUBLISHED,
        "views": 7,
        "rating": Decimal("4.5"),
        "tags": {"x", "y"},
        "data": b"\x00\x01",
        "featured_rank": 2,
        "expires": dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
    },
}


@pytest.mark.parametrize("cls", list(MINIMAL), ids=lambda c: c.__name__)
def test_every_test_model_decodes_fast_as_validation_does(cls: type[Entity]) -> None:
    codec = Codec.of(cls, cls.options.ttl)
    assert codec.fast
    full = {**MINIMAL[cls], **FULL.get(cls, {})}
    for values in (MINIMAL[cls], full):
        item = cls(**values).attributes()
        fast = codec.fast_decode(item)  # the compiled path alone (raises where it would decline)
        same(fast, slow(cls, item))
        assert fast.model_fields_set == set(item) & set(cls.model_fields)
        # every subset of the optional fields present: the fields-set masks
        optional = sorted(set(values) - set(MINIMAL[cls]))
        for i in range(len(optional)):
            partial = {k: v for k, v in item.items() if k != optional[i]}
            same(codec.fast_decode(partial), slow(cls, partial))
    # a stored NULL is a field set (to None), as validation has it
    if cls is Post:
        item = {**cls(**MINIMAL[cls]).attributes(), "featured_rank": {"NULL": True}}
        same(codec.fast_decode(item), slow(cls, item))
        assert "featured_rank" in codec.decode(item).model_fields_set


def test_wrongly_typed_stored_values_take_the_validated_path() -> None:
    """As pydantic has it: the same ValidationError (reads turn it into InvalidItem/InvalidItems, see
    test_update_safety's lenient and strict read tests), or the same lax conversion, never a default."""
    codec = Post.codec()
    good = Post(**MINIMAL[Post], **FULL[Post]).attributes()
    for name, wrong in [
        ("views", {"S": "seven"}),
        ("title", {"N": "5"}),
        ("tags", {"S": "x"}),
        ("created", {"BOOL": True}),
    ]:
        item = {**good, name: wrong}
        with pytest.raises(Exception):  # noqa: B017 - the fast path declines
            codec.fast_decode(item)
        with pytest.raises(ValidationError) as fast_error:
            codec.decode(item)
        with pytest.raises(ValidationError) as slow_error:
            slow(Post, item)
        assert fast_error.value.errors() == slow_error.value.errors()
    # lax inputs pydantic accepts come out as validation makes them, not as a default
    item = {**good, "views": {"S": "7"}}
    same(codec.decode(item), slow(Post, item))
    assert codec.decode(item).views == 7 and "views" in codec.decode(item).model_fields_set
