//! multipart/form-data parsing (Django's `http.multipartparser`).
