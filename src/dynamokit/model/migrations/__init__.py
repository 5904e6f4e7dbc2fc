"""Model migrations: declared changes between model versions, planned, run live and resumable, lazy on read.

```python
MIGRATIONS = [Migration(1, 2, [AddIndex(Post, "by_tag"), AddAttribute(Post, "lang", "en")], "posts by tag")]
app = App(table, patterns=[...], migrations=MIGRATIONS)
print(plan(app, transport=engine))   # what changes, items, WCU/RCU, cost, patterns unavailable until done
run(app, transport=engine, segments=4, rate=500)   # parallel, guarded, checkpointed, rate-limited
```

The same plan/run/status serve every pattern: a new GSI over attributes the items hold (faux-SQL:
`AddIndex`, DynamoDB backfills it, nothing rewritten), a key change rewriting items (single-table), and a
new view built by the gapless stream backfill (microservice: `BuildView(View, "source_table", processor)`).
"""

from ._changes import (
    AddAttribute,
    AddIndex,
    BuildView,
    ChangeIndex,
    Migration,
    MigrationError,
    RemoveAttribute,
    RenameAttribute,
    Transform,
)
from ._lazy import write_back
from ._limits import Progress
from ._plan import Plan, TablePlan, TableStatus, ViewPlan, plan, status
from ._runner import Report, TableRun, arun, run
from ._state import STATE_TABLE, Parked
from ._views import ViewRun

__all__ = [
    "STATE_TABLE",
    "AddAttribute",
    "AddIndex",
    "BuildView",
    "ChangeIndex",
    "Migration",
    "MigrationError",
    "Parked",
    "Plan",
    "Progress",
    "RemoveAttribute",
    "RenameAttribute",
    "Report",
    "TablePlan",
    "TableRun",
    "TableStatus",
    "Transform",
    "ViewPlan",
    "ViewRun",
    "arun",
    "plan",
    "run",
    "status",
    "write_back",
]
