"""The blog of authors, posts, comments and likes, written four times: one module per DynamoDB pattern.

- `simple`: one table, no secondary indexes; what has no key lookup is a Scan.
- `faux_sql`: a table per entity, references joined by dynamokit, integrity kept by transactions.
- `single_table`: one table, item collections, overloaded GSIs, counters kept in the same transaction.
- `microservice`: a write-side table whose stream feeds a reader service's views, full-text search and
  analytics.

Every blog answers the same questions (`api.Blog`) over the same seeded data (`data.generate`);
`access.ACCESS_PATTERNS` lists them. `dynamokit demo` runs them all and compares.
"""
