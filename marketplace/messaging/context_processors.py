from . import selectors


def unread(request):
    """Unread counts for the header badge; the live script on every page keeps them current."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"messaging_unread": selectors.unread_counts(user=user)}
