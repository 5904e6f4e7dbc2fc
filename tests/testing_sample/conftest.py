"""The sample's suite runs with no AWS configuration and nothing able to leave the process."""

from ..testing.conftest import no_aws  # noqa: F401  (autouse)
