//! URL dispatch (Django's `django.urls`): path, re_path, include, resolve, reverse.
