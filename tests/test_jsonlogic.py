"""Unit tests of the JSON Logic -> SQL compiler, against a real SQLite table."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    select,
)

from mockcvat import jsonlogic
from mockcvat.errors import ValidationFailed
from mockcvat.jsonlogic import FilterField

metadata = MetaData()
people = Table(
    "people", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String, nullable=False),
    Column("nick", String, nullable=True),
    Column("active", Boolean, nullable=False),
    Column("joined", DateTime, nullable=False),
)
FIELDS = {
    "id": FilterField("id", people.c.id, "int"),
    "name": FilterField("name", people.c.name),
    "nick": FilterField("nick", people.c.nick, nullable=True),
    "active": FilterField("active", people.c.active, "bool"),
    "joined": FilterField("joined", people.c.joined, "datetime"),
}
ROWS = [
    {"id": 1, "name": "alice", "nick": "Al", "active": True},
    {"id": 2, "name": "bob", "nick": None, "active": False},
    {"id": 3, "name": "Carol", "nick": "caz", "active": True},
    {"id": 4, "name": "dave_x", "nick": "d%", "active": True},
]


@pytest.fixture(scope="module")
def engine():
    import datetime as dt

    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as conn:
        for index, row in enumerate(ROWS):
            conn.execute(people.insert().values(
                **row, joined=dt.datetime(2024, 1, 1 + index)
            ))
        conn.exec_driver_sql("PRAGMA case_sensitive_like=ON")
    yield engine
    engine.dispose()


def ids(engine, rules) -> list[int]:
    parsed = jsonlogic.parse(json.dumps(rules) if not isinstance(rules, str) else rules)
    condition = jsonlogic.compile_filter(parsed, FIELDS)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA case_sensitive_like=ON")
        return sorted(r[0] for r in conn.execute(select(people.c.id).where(condition)))


def error_of(rules) -> object:
    text = json.dumps(rules) if not isinstance(rules, str) else rules
    with pytest.raises(ValidationFailed) as info:
        jsonlogic.compile_filter(jsonlogic.parse(text), FIELDS)
    return info.value.detail


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ({"==": [{"var": "name"}, "bob"]}, [2]),
        ({"==": [{"var": "id"}, "3"]}, [3]),  # strings become ints for int fields, as in Django
        ({"<": [{"var": "id"}, 3]}, [1, 2]),
        ({"<=": [{"var": "id"}, 3]}, [1, 2, 3]),
        ({">": [{"var": "id"}, 3]}, [4]),
        ({">=": [{"var": "id"}, 3]}, [3, 4]),
        ({"<=": [2, {"var": "id"}, 3]}, [2, 3]),  # the inclusive range form
        ({"in": [{"var": "id"}, [1, 4, 99]]}, [1, 4]),
        ({"in": ["l", {"var": "name"}]}, [1, 3]),  # contains, case-sensitive as in PostgreSQL
        ({"in": ["c", {"var": "name"}]}, [1]),
        ({"in": ["C", {"var": "name"}]}, [3]),
        ({"in": ["_", {"var": "name"}]}, [4]),  # LIKE wildcards are literal
        ({"in": ["%", {"var": "nick"}]}, [4]),
        ({"==": [{"var": "active"}, True]}, [1, 3, 4]),
        ({"==": [{"var": "active"}, "false"]}, [2]),
        ({"==": [{"var": "nick"}, None]}, [2]),
        ({"!": {"==": [{"var": "nick"}, "Al"]}}, [2, 3, 4]),  # NOT keeps NULL rows (Django ~Q)
        ({"!!": {"==": [{"var": "id"}, 1]}}, [1]),
        ({"var": "nick"}, [1, 3, 4]),  # "is set"
        ({"and": [{">": [{"var": "id"}, 1]}, {"==": [{"var": "active"}, True]}]}, [3, 4]),
        ({"or": [{"==": [{"var": "id"}, 1]}, {"==": [{"var": "name"}, "bob"]}]}, [1, 2]),
        ({"and": [{"or": [{"==": [{"var": "id"}, 1]}, {"==": [{"var": "id"}, 2]}]},
                  {"!": {"==": [{"var": "id"}, 2]}}]}, [1]),
        ({">": [{"var": "joined"}, "2024-01-02T12:00:00Z"]}, [3, 4]),
        ({"in": ["2", {"var": "id"}]}, [2]),  # contains on a number field compares its text
    ],
)
def test_accepted_rules_select_the_right_rows(engine, rules, expected):
    assert ids(engine, rules) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "filter: Json syntax should be used"),
        ("{}", "filter shouldn't be empty"),
        ("[]", "filter shouldn't be empty"),
        ('{"==": [{"var": "secret"}, 1]}', "filter: 'secret' term is not supported"),
        ('{"var": "secret"}', "filter: 'secret' term is not supported"),
        ('{"!=": [{"var": "id"}, 1]}',
         "filter: != operation with [{'var': 'id'}, 1] arguments is not implemented"),
        ('{"==": [{"var": "id"}, 1, 2]}',
         "filter: == operation with [{'var': 'id'}, 1, 2] arguments is not implemented"),
        ('{"<": [{"var": "id"}, 1, 2]}',
         "filter: < operation with [{'var': 'id'}, 1, 2] arguments is not implemented"),
        ('{"==": [{"foo": 1}, 2]}', "filter: 'var' term is not supported"),
        ('{"and": []}', "filter: and operation with [] arguments is not implemented"),
    ],
)
def test_rejected_rules_get_cvats_messages(text, message):
    assert error_of(text) == [message]


@pytest.mark.parametrize(
    "text",
    [
        "5",  # not an object
        '"abc"',
        '{"==": [1, {"var": "id"}]}',  # the field must come first
        '{"==": [{"var": "id"}, "abc"]}',  # not a number for an int field
        '{"==": [{"var": "active"}, "maybe"]}',
        '{"<": [{"var": "id"}, null]}',
        '{"in": [{"var": "id"}, 5]}',
        '{"and": {"==": [{"var": "id"}, 1]}}',
        '{"==": [{"var": "id"}, {"var": "name"}]}',
        '{"!": [{"var": "id"}]}',
    ],
)
def test_malformed_trees_are_400_not_500(text):
    detail = error_of(text)
    assert isinstance(detail, list) and detail and all(isinstance(m, str) for m in detail)
    assert detail[0].startswith("filter")


def test_compiled_condition_is_sql_not_python():
    condition = jsonlogic.compile_filter({"==": [{"var": "name"}, "bob"]}, FIELDS)
    sql = str(condition.compile(compile_kwargs={"literal_binds": True}))
    assert sql == "people.name = 'bob'"
