from django.http import JsonResponse


def whoami(request):
    """The user Django's AuthenticationMiddleware finds for the session, and the session."""
    user = request.user
    return JsonResponse({
        "authenticated": user.is_authenticated,
        "username": user.get_username() if user.is_authenticated else None,
        "user_id": user.pk if user.is_authenticated else None,
        "session_key": request.session.session_key,
        "session": dict(request.session.items()),
    })
