"""The subscriber-facing endpoint: unsubscribe pages, the SendGrid webhook, the archive."""
