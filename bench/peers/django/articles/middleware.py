"""The seeds' middleware, in the order settings.MIDDLEWARE lists them."""
import json
import logging
import time

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils.crypto import constant_time_compare
from django.utils.deprecation import MiddlewareMixin

api_logger = logging.getLogger("api_logging")


class RequestTimerMiddleware(MiddlewareMixin):
    """Times the request and reports it in X-Duration-ms."""

    def process_request(self, request):
        request._started_at = time.perf_counter()

    def process_response(self, request, response):
        started = getattr(request, "_started_at", None)
        if started is not None:
            response["X-Duration-ms"] = f"{(time.perf_counter() - started) * 1000:.3f}"
        return response


class PoweredByMiddleware(MiddlewareMixin):
    def process_response(self, request, response):
        response["X-Powered-By"] = settings.POWERED_BY
        return response


def _loggable_body(content_type, body):
    if not body:
        return "-"
    if content_type.split(";")[0].strip() == "application/json":
        try:
            return json.dumps(json.loads(body), separators=(",", ":"))[:2048]
        except ValueError:
            return body.decode("utf-8", "replace").replace("\n", " ")[:2048]
    return f"<{len(body)} bytes of {content_type or 'unknown type'}>"


class ApiLoggingMiddleware:
    """Logs method, path, status, duration and JSON bodies of /api/ requests."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/api/"):
            return self.get_response(request)
        started = time.perf_counter()
        # Read before the view does, so the body stays available for the log line.
        request_body = request.body
        response = self.get_response(request)
        if api_logger.isEnabledFor(logging.INFO):
            response_body = b"" if response.streaming else response.content
            api_logger.info(
                "api_logging: %s %s %s %.3f ms request=%s response=%s",
                request.method,
                request.path,
                response.status_code,
                (time.perf_counter() - started) * 1000,
                _loggable_body(request.content_type or "", request_body),
                _loggable_body(response.get("Content-Type", ""), response_body),
            )
        return response


class ApiKeyCheckMiddleware(MiddlewareMixin):
    def process_request(self, request):
        if request.path.startswith("/api/private/"):
            sent = request.headers.get("X-API-KEY", "")
            if not constant_time_compare(sent, settings.API_KEY):
                return HttpResponse("Invalid or missing API Key", status=401)
        return None


class AnonymousUser:
    is_authenticated = False
    is_staff = False
    username = ""


class TokenUser:
    is_authenticated = True

    def __init__(self, username, is_staff):
        self.username = username
        self.is_staff = is_staff


class TokenAuthMiddleware(MiddlewareMixin):
    """Authorization: Token <t> signs the request in as the token's user."""

    def process_request(self, request):
        request.user = AnonymousUser()
        parts = request.headers.get("Authorization", "").split()
        if len(parts) == 2 and parts[0].lower() == "token":
            user = settings.API_TOKENS.get(parts[1])
            if user is not None:
                request.user = TokenUser(user["username"], user["staff"])


class ErrorHandlerMiddleware(MiddlewareMixin):
    """Turns an unhandled view error into a JSON 500 when DEBUG is off."""

    def process_exception(self, request, exception):
        if settings.DEBUG:
            return None
        return JsonResponse(
            {
                "status_code": 500,
                "message": "Internal Server Error",
                "data": {"message": str(exception)},
            },
            status=500,
        )
