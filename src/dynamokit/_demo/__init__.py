"""`dynamokit demo`: the blog in all four DynamoDB patterns on the embedded engine, compared side by side.

`runner.run(...)` loads the same data into each pattern, runs the same access patterns and returns a
`report.Report`; `terminal`, `html` and `Report.to_json()` render it; `cli.demo` is the command.
"""
