"""The outgoing message: built once per issue and list, personalised per recipient."""

from newsletter.message.build import (
    IssueMessage,
    PersonalBatch,
    PersonalMessage,
    Recipient,
    build_issue_message,
)
from newsletter.message.mime import to_mime

__all__ = [
    "IssueMessage",
    "PersonalBatch",
    "PersonalMessage",
    "Recipient",
    "build_issue_message",
    "to_mime",
]
