"""dynamokit.server: DynamoDB's HTTP endpoint, the JSON 1.0 protocol (`dynamokit.protocol`) served over HTTP/1.1
(`Server`), with SigV4 authentication (`Authenticator`, `AuthorizingBackend`) and IAM policy evaluation
(`authorize`, `tenant_policy`). Names are imported on first use (PEP 562)."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .access import Principal, authorize, tenant_policy
    from .auth import Authenticator, AuthorizingBackend
    from .http import Server

__all__ = ["Authenticator", "AuthorizingBackend", "Principal", "Server", "authorize", "tenant_policy"]

_LAZY = {"Authenticator": ".auth", "AuthorizingBackend": ".auth", "Server": ".http", "Principal": ".access",
         "authorize": ".access", "tenant_policy": ".access"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_LAZY[name], __name__), name)
