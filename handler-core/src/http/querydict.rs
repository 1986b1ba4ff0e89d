//! QueryDict: the multi-value map behind request.GET and request.POST (Django's `QueryDict`).
