"""A small shop's data layer, written as an application would be, with no knowledge of dynamokit."""
