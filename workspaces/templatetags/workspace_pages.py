"""Template tags of the user pages: the home page's part for the signed-in user."""

from django import template

from workspaces.views import dashboard_context

register = template.Library()


@register.inclusion_tag("workspaces/_dashboard.html", takes_context=True)
def user_dashboard(context):
    """Render the signed-in user's workspaces and requests."""
    return {"request": context["request"], "user": context["user"], **dashboard_context(context["request"])}
