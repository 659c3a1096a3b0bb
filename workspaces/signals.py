"""Receivers that start provisioning when the approved state on main changes."""

from __future__ import annotations

from django.dispatch import receiver

from approvals.signals import approved_state_changed


@receiver(approved_state_changed, dispatch_uid="workspaces.follow_approved_state")
def follow_approved_state(sender, usernames: set[str], **kwargs) -> None:
    from workspaces.provisioning import follow_approved_state as follow

    follow(set(usernames))
