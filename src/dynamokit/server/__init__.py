"""dynamokit.server: DynamoDB's HTTP endpoint, the JSON 1.0 protocol (`dynamokit._protocol`) served over
HTTP/1.1 (`Server`), with SigV4 authentication (`Authenticator`, `AuthorizingBackend`) and IAM policy
evaluation (`authorize`, `tenant_policy`). Names are imported on first use (PEP 562)."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._access import Principal, authorize, tenant_policy
    from ._auth import Authenticator, AuthorizingBackend
    from ._http import Server

__all__ = ["Authenticator", "AuthorizingBackend", "Principal", "Server", "authorize", "tenant_policy"]

_LAZY = {"Authenticator": "._auth", "AuthorizingBackend": "._auth", "Server": "._http",
         "Principal": "._access", "authorize": "._access", "tenant_policy": "._access"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_LAZY[name], __name__), name)
