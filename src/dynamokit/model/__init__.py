"""dynamokit.model: entities, key templates, access patterns, collections and references on any DynamoDB.

```python
class Post(Entity):
    post_id: str
    author: str
    title: str
    keys = Keys(pk="POST#{post_id}", sk="POST#{post_id}", by_author=Index("gsi1", pk="AUTHOR#{author}"))

blog = App(Table("blog", [Post], indexes=[GSI("gsi1", sk=None)]),
           patterns=[Pattern("posts_by_author", Post, by=("author",))], transport=engine)
blog.put(Post(post_id="p1", author="ann", title="Hi")).run()
blog.posts_by_author(author="ann").all()
```
"""

from ._app import App
from ._batches import Backoff
from ._builders import Attr, Condition, Update, attr
from ._collection import Collection, CollectionPage, CollectionQuery
from ._entity import Entity, Options, Ref
from ._errors import (
    CascadeTooLarge,
    IntegrityError,
    InvalidItems,
    InvalidUpdate,
    MissingKeyInputs,
    ModelError,
    UnknownAttribute,
)
from ._keys import Index, Keys, Template
from ._metering import RequestCounter
from ._operations import Delete, Put, UpdateOp
from ._patterns import Pattern, TypedPattern, pattern
from ._reads import Get, InvalidItem, InvalidItemWarning, Page, Query, ScanWarning, UnboundedFilterWarning
from ._schema import acreate_tables, create_table_requests, create_tables
from ._table import GSI, Table
from ._transport import AsyncBotoTransport, AsyncTransport, BotoTransport, ThreadTransport, Transport
from ._values import from_item, to_item

__all__ = [
    "GSI",
    "App",
    "AsyncBotoTransport",
    "AsyncTransport",
    "Attr",
    "Backoff",
    "BotoTransport",
    "CascadeTooLarge",
    "Collection",
    "CollectionPage",
    "CollectionQuery",
    "Condition",
    "Delete",
    "Entity",
    "Get",
    "Index",
    "IntegrityError",
    "InvalidItem",
    "InvalidItemWarning",
    "InvalidItems",
    "InvalidUpdate",
    "Keys",
    "MissingKeyInputs",
    "ModelError",
    "Options",
    "Page",
    "Pattern",
    "Put",
    "Query",
    "Ref",
    "RequestCounter",
    "ScanWarning",
    "Table",
    "Template",
    "ThreadTransport",
    "Transport",
    "TypedPattern",
    "UnboundedFilterWarning",
    "UnknownAttribute",
    "Update",
    "UpdateOp",
    "acreate_tables",
    "attr",
    "create_table_requests",
    "create_tables",
    "from_item",
    "pattern",
    "to_item",
]
