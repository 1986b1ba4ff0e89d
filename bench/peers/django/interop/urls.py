"""The interop project serves nothing: its commands drive Django's machinery directly."""
urlpatterns = []
