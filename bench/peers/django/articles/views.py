import hashlib
import json
import time

from django.http import (
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseNotModified,
    HttpResponseRedirect,
    JsonResponse,
    QueryDict,
    StreamingHttpResponse,
)
from django.urls import reverse
from django.utils.html import escape
from django.views import View
from django.views.decorators.http import require_http_methods

from .models import Article


def home(request):
    return HttpResponse("Success!")


def login(request):
    next_url = escape(request.GET.get("next", "/"))
    return HttpResponse(
        "<!DOCTYPE html>\n<html><head><title>Log in</title></head><body>\n<h1>Log in</h1>\n"
        "<p>Send <code>Authorization: Token &lt;token&gt;</code> with your requests.</p>\n"
        f'<p>Then continue to <a href="{next_url}">{next_url}</a>.</p>\n</body></html>\n'
    )


def new_url(request):
    return HttpResponse("<h1>New URL</h1>")


def dashboard(request):
    # login_required(login_url="login") without contrib.auth, which this peer does not install:
    # redirect_to_login's URL, next= encoded with "/" kept.
    if not request.user.is_authenticated:
        query = QueryDict(mutable=True)
        query["next"] = request.get_full_path()
        return HttpResponseRedirect(reverse("login") + "?" + query.urlencode(safe="/"))
    return HttpResponse(
        "<!DOCTYPE html>\n<html><head><title>Dashboard</title></head><body>\n"
        f"<h1>Welcome, {escape(request.user.username)}</h1>\n</body></html>\n"
    )


def api_success(request):
    return JsonResponse({"message": "Success", "data": [1, 2, 3]})


@require_http_methods(["GET"])
def get_only(request):
    return JsonResponse({"data": "This is GET only"})


def _payload(request):
    """The request's fields, from a JSON object or a form; None when the JSON does not parse."""
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            return None
        return data if isinstance(data, dict) else None
    if request.method == "POST":
        return request.POST
    from django.http import QueryDict

    return QueryDict(request.body, encoding=request.encoding)


class ArticleListView(View):
    def get(self, request):
        articles = list(Article.objects.values("id", "title", "content"))
        return JsonResponse({"articles": articles})

    def post(self, request):
        data = _payload(request)
        if data is None:
            return JsonResponse({"error": "Invalid JSON"}, status=400)
        title, content = data.get("title"), data.get("content")
        if not title or not content:
            return JsonResponse({"error": "Title and content are required"}, status=400)
        article = Article.objects.create(title=title, content=content)
        return JsonResponse(
            {"message": "Article created successfully", "id": article.id}, status=201
        )


class ArticleDetailView(View):
    http_method_names = ["get", "put", "delete", "head", "options"]

    def _article(self, id):
        return Article.objects.filter(pk=id).first()

    def get(self, request, id):
        article = self._article(id)
        if article is None:
            return JsonResponse({"error": "Article not found"}, status=404)
        return JsonResponse(article.as_dict())

    def put(self, request, id):
        article = self._article(id)
        if article is None:
            return JsonResponse({"error": "Article not found"}, status=404)
        data = _payload(request)
        if data is None:
            return JsonResponse({"error": "Invalid JSON"}, status=400)
        for field in ("title", "content"):
            if field in data:
                setattr(article, field, data[field])
        article.save()
        return JsonResponse(article.as_dict())

    def delete(self, request, id):
        article = self._article(id)
        if article is None:
            return JsonResponse({"error": "Article not found"}, status=404)
        article.delete()
        return HttpResponse(status=204)


def protected(request):
    if not request.user.is_authenticated:
        return JsonResponse({"error": "Authentication required"}, status=401)
    return JsonResponse({"data": "Secret information"})


def admin_area(request):
    if not request.user.is_authenticated:
        return JsonResponse({"error": "Authentication required"}, status=401)
    if not request.user.is_staff:
        return JsonResponse({"error": "You do not have permission"}, status=403)
    return JsonResponse({"message": "Admin area"})


def private_data(request):
    return JsonResponse({"data": "private"})


def create_user(request):
    if request.method != "POST":
        return HttpResponseBadRequest("Only POST method allowed")
    data = _payload(request)
    if data is None:
        return JsonResponse({"error": "Invalid JSON"}, status=400)
    username, email = data.get("username"), data.get("email")
    if not username or not email:
        return JsonResponse({"error": "Username and email are required"}, status=400)
    if "@" not in email:
        return JsonResponse({"error": "Invalid email format"}, status=400)
    return JsonResponse({"message": "User created"}, status=201)


def divide(request):
    try:
        a = int(request.GET.get("a"))
        b = int(request.GET.get("b"))
        return JsonResponse({"result": a / b})
    except ZeroDivisionError:
        return JsonResponse({"error": "Cannot divide by zero"}, status=400)
    except Exception:
        return JsonResponse({"error": "Server error"}, status=500)


def boom(request):
    raise RuntimeError("Something went boom in the boom view")


def panic_view(request):
    raise RuntimeError("deliberate panic in panic_view")


def echo(request):
    return HttpResponse(
        request.body, content_type=request.META.get("CONTENT_TYPE") or "application/octet-stream"
    )


def stream(request):
    n = min(int(request.GET.get("n", 10)), 10000)
    return StreamingHttpResponse(
        (f"line {i}\n" for i in range(n)), content_type="text/plain; charset=utf-8"
    )


def slow(request):
    ms = min(int(request.GET.get("ms", 0)), 10000)
    time.sleep(ms / 1000)
    return JsonResponse({"slept_ms": ms})


def cached(request):
    body = json.dumps({"data": "cacheable"}).encode()
    etag = '"%s"' % hashlib.md5(body).hexdigest()
    if request.headers.get("If-None-Match") == etag:
        return HttpResponseNotModified(headers={"ETag": etag})
    response = HttpResponse(body, content_type="application/json")
    response["ETag"] = etag
    return response
