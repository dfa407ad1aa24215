"""A platform's deep linking return URL over real HTTP on loopback, recording what it receives."""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from ..lti_platform import JwksServer

RETURN_PATH = "/mod/lti/contentitem_return.php"


class DeepLinkReturnServer(JwksServer):
    """Serves key sets like JwksServer and takes deep linking responses at RETURN_PATH."""

    def __init__(self) -> None:
        self.received: list[dict[str, str]] = []
        super().__init__()

    def _app(self, environ, start_response):
        request = Request(environ)
        if request.path != RETURN_PATH:
            return super()._app(environ, start_response)
        self.received.append(request.form.to_dict())
        return Response("<p>Activities added.</p>", content_type="text/html")(
            environ, start_response)

    def return_url(self) -> str:
        """Where the test platform asks for the answer, with a Moodle-like query."""
        return f"{self.url}{RETURN_PATH}?course=2&id=1&sesskey=dTL5L74Cnd"
