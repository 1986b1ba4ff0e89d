import hashlib
import json

from django.http import HttpResponse, HttpResponseNotModified, JsonResponse
from django.views import View
from django.views.decorators.http import require_http_methods

from .models import Article


def home(request):
    return HttpResponse("Success!")


def login(request):
    return HttpResponse("<h1>Login</h1>")


def new_url(request):
    return HttpResponse("<h1>New URL</h1>")


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


def boom(request):
    raise RuntimeError("boom")


def cached(request):
    body = json.dumps({"data": "cacheable"}).encode()
    etag = '"%s"' % hashlib.md5(body).hexdigest()
    if request.headers.get("If-None-Match") == etag:
        return HttpResponseNotModified(headers={"ETag": etag})
    response = HttpResponse(body, content_type="application/json")
    response["ETag"] = etag
    return response
