from django.db import models


class Article(models.Model):
    title = models.CharField(max_length=200)
    content = models.TextField()

    class Meta:
        ordering = ["id"]

    def as_dict(self):
        return {"id": self.id, "title": self.title, "content": self.content}
