"""Template tags of the user pages: the home page's part for the signed-in user."""

from django import template

from workspaces.views import dashboard_context

register = template.Library()


@register.inclusion_tag("workspaces/_dashboard.html", takes_context=True)
def user_dashboard(context):
    """Render the signed-in user's workspaces and requests."""
    return {"request": context["request"], "user": context["user"], **dashboard_context(context["request"])}


@register.filter
def state_reason_text(workspace) -> str:
    """The reason for a workspace's observed state, in the reader's language where Larr1 knows it."""
    from workspaces.views import status_context

    return status_context(workspace)["reason"]


@register.filter
def step_label(step) -> str:
    """Return a provisioning step's label in the reader's language."""
    from workspaces.views import STEP_LABELS

    return str(STEP_LABELS.get(step.name, step.name))


@register.filter
def step_note(step) -> str:
    """Return a provisioning step's note in the reader's language."""
    from workspaces.views import step_note

    return step_note(step)


@register.filter
def finding_messages(row) -> list[str]:
    """The error messages of a row with stored findings (a request or a file on main), in the reader's language."""
    from workspaces.contract import Finding

    return [Finding.from_dict(data).message for data in row.findings if data.get("severity") == "error"]


@register.filter
def profile_summary(profile) -> str:
    """Return what a catalog profile gives a workspace, in the reader's language."""
    from django.utils.translation import ngettext

    return ngettext(
        "%(gpus)s GPU share with %(gpu_memory)s GiB of GPU memory, %(cpu)s CPU, %(memory)s of memory",
        "%(gpus)s GPU shares with %(gpu_memory)s GiB of GPU memory, %(cpu)s CPU, %(memory)s of memory",
        profile.gpus,
    ) % {"gpus": profile.gpus, "gpu_memory": profile.gpu_memory_gib, "cpu": profile.cpu, "memory": profile.memory}
