"""DynamoDB's HTTP endpoint: the JSON 1.0 protocol (`protocol`) served over HTTP/1.1 (`http`)."""

from .http import Server

__all__ = ["Server"]
