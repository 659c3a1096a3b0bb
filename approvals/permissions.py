"""Access checks for the admin pages, shared by every view that shows or changes a request.

Anonymous visitors are sent to sign in. Signed-in people who are not staff get
404, on lists and objects alike, so the pages do not reveal that a request exists.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import get_object_or_404

from approvals.models import Request


def is_admin(user) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def admin_required(view):
    """Let staff users through; redirect anonymous visitors to sign in; 404 for everyone else."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_admin(request.user):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def _get_request_for_admin(http_request, pk: int) -> Request:
    """Return the request with ``pk`` for a staff user, or raise Http404."""
    if not is_admin(http_request.user):
        raise Http404
    return get_object_or_404(Request.objects.select_related("superseded_by"), pk=pk)


def _get_workspace_for_admin(http_request, username: str):
    """Return the workspace named ``username`` for a staff user, or raise Http404."""
    if not is_admin(http_request.user):
        raise Http404
    from workspaces.models import Workspace

    # A username deleted and requested again has several rows; the newest is the live one.
    workspace = Workspace.objects.filter(username=username).order_by("-created_at", "-pk").first()
    if workspace is None:
        raise Http404
    return workspace
