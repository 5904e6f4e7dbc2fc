"""dynamokit.testing: a pytest plugin for applications built on dynamokit.

Fixtures (enabled through the `pytest11` entry point, or `-p dynamokit.testing.plugin`):
`dynamokit_engine` (an in-memory embedded engine per test), `dynamokit_client` (a boto3 DynamoDB client
answered in-process by it) and `dynamokit_tables` (a factory: `app = dynamokit_tables(app)` binds a model
App to the engine and creates its tables, fresh for each test); `dynamokit_mock` / `dynamokit_mock_server`
(every DynamoDB client of the process answered by a fresh engine: `mock.py`, `docs/testing.md`).
"""
