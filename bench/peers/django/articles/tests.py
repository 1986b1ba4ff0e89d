"""The peer's contract checks (shared/contracts/articles-app.md), so a benchmark never compares
Portico with a peer that answers something else. Run: ../../.venv/bin/python manage.py test"""
import json

from django.test import TestCase

from .models import Article


class ArticlesContractTests(TestCase):
    def setUp(self):
        Article.objects.create(id=1, title="One", content="first")
        Article.objects.create(id=2, title="Two", content="second")

    def test_home(self):
        response = self.client.get("/")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.content, b"Success!")
        self.assertEqual(response["Content-Type"], "text/html; charset=utf-8")
        self.assertIn("X-Duration-ms", response)
        self.assertEqual(response["X-Powered-By"], "Django")

    def test_success(self):
        response = self.client.get("/api/success/")
        self.assertEqual(response.json(), {"message": "Success", "data": [1, 2, 3]})

    def test_article_list_in_id_order(self):
        response = self.client.get("/api/articles/")
        self.assertEqual(
            response.json(),
            {
                "articles": [
                    {"id": 1, "title": "One", "content": "first"},
                    {"id": 2, "title": "Two", "content": "second"},
                ]
            },
        )

    def test_create_validates_and_creates(self):
        bad = self.client.post("/api/articles/", {"title": "x"})
        self.assertEqual(bad.status_code, 400)
        self.assertEqual(bad.json(), {"error": "Title and content are required"})
        invalid = self.client.post("/api/articles/", "{", content_type="application/json")
        self.assertEqual(invalid.json(), {"error": "Invalid JSON"})
        created = self.client.post(
            "/api/articles/",
            json.dumps({"title": "T", "content": "C"}),
            content_type="application/json",
        )
        self.assertEqual(created.status_code, 201)
        self.assertEqual(created.json()["message"], "Article created successfully")

    def test_detail_get_put_delete_and_404(self):
        self.assertEqual(self.client.get("/api/articles/2/").json()["title"], "Two")
        updated = self.client.put(
            "/api/articles/2/", json.dumps({"title": "Deux"}), content_type="application/json"
        )
        self.assertEqual(updated.json(), {"id": 2, "title": "Deux", "content": "second"})
        self.assertEqual(self.client.delete("/api/articles/2/").status_code, 204)
        missing = self.client.get("/api/articles/2/")
        self.assertEqual(missing.status_code, 404)
        self.assertEqual(missing.json(), {"error": "Article not found"})

    def test_method_not_allowed_lists_the_view_methods(self):
        response = self.client.patch("/api/articles/")
        self.assertEqual(response.status_code, 405)
        self.assertEqual(response["Allow"], "GET, POST, HEAD, OPTIONS")

    def test_append_slash(self):
        response = self.client.get("/api/articles")
        self.assertEqual(response.status_code, 301)
        self.assertEqual(response["Location"], "/api/articles/")

    def test_api_key_and_tokens(self):
        self.assertEqual(self.client.get("/api/private/data/").status_code, 401)
        ok = self.client.get("/api/private/data/", headers={"X-API-KEY": "EXPECTED_SECRET_KEY"})
        self.assertEqual(ok.json(), {"data": "private"})
        self.assertEqual(self.client.get("/api/admin/").status_code, 401)
        user = self.client.get("/api/admin/", headers={"Authorization": "Token user-token"})
        self.assertEqual(user.status_code, 403)
        admin = self.client.get("/api/admin/", headers={"Authorization": "token admin-token"})
        self.assertEqual(admin.json(), {"message": "Admin area"})

    def test_unhandled_error_is_json_500(self):
        response = self.client.get("/api/boom/")
        self.assertEqual(response.status_code, 500)
        self.assertEqual(response.json()["message"], "Internal Server Error")

    def test_etag_gives_304(self):
        first = self.client.get("/api/cached/")
        again = self.client.get("/api/cached/", headers={"If-None-Match": first["ETag"]})
        self.assertEqual(again.status_code, 304)
