//! Cookie parsing and Set-Cookie rendering (Django's `http.cookie`).
