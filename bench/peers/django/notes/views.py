"""The notes twin's views: the same routes and answers as Portico's sample-apps/notes
(shared/contracts/notes-app.md), rendering the very same Jinja2 templates."""
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
    require_safe,
)

from .models import Note


def _notes_of(user):
    return list(Note.objects.filter(owner=user).order_by("id").values("id", "title", "body"))


@require_safe
def home(request):
    user = request.user
    return render(
        request,
        "home.html",
        {
            "username": user.username if user.is_authenticated else "anonymous",
            "is_authenticated": user.is_authenticated,
            "notes": _notes_of(user) if user.is_authenticated else [],
        },
    )


class LoginView(auth_views.LoginView):
    """Django's LoginView; the context also carries the form's value and errors by name, as
    the shared template reads them."""

    template_name = "registration/login.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = context["form"]
        context.update(
            username=(form["username"].value() or "") if form.is_bound else "",
            non_field_errors=list(form.non_field_errors()),
            username_errors=list(form.errors.get("username", [])),
            password_errors=list(form.errors.get("password", [])),
        )
        return context


@login_required
@require_http_methods(["GET", "POST"])
def note_list(request):
    if request.method == "POST":
        title = request.POST.get("title", "").strip()
        body = request.POST.get("body", "")
        if not title:
            return JsonResponse({"error": "title is required"}, status=400)
        Note.objects.create(owner=request.user, title=title, body=body)
        messages.success(request, "Note saved.")
        return redirect("home")
    return JsonResponse({"notes": _notes_of(request.user)})


@login_required
@require_http_methods(["GET", "DELETE"])
def note_detail(request, id):
    note = get_object_or_404(Note, pk=id, owner=request.user)
    if request.method == "DELETE":
        note.delete()
        return HttpResponse(status=204)
    return JsonResponse({"id": note.id, "title": note.title, "body": note.body})


@require_GET
def session_counter(request):
    count = request.session.get("count", 0) + 1
    request.session["count"] = count
    return JsonResponse({"count": count})


@require_GET
def whoami(request):
    return JsonResponse(
        {
            "username": request.user.username,
            "is_authenticated": request.user.is_authenticated,
        }
    )


@require_POST
def ping(request):
    return JsonResponse({"pong": True})


@csrf_exempt
@require_POST
def hook(request):
    return JsonResponse({"received": len(request.body)})


@require_GET
def big(request):
    return HttpResponse("".join(f"line {i}\n" for i in range(1000)), content_type="text/plain")
