"""Signals other apps connect to."""

from django.dispatch import Signal

# Sent on commit after a sync changed ApprovedFile rows, with usernames=set[str]
# of the workspaces whose approved file was added, changed or removed.
approved_state_changed = Signal()
