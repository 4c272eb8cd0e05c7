"""How a request reaches Redmine: a per-thread pooled session, a bound on the requests one process has under
way, and the one table that turns Redmine's answers into the core's errors.

python-redmine has an error table of its own (`BaseEngine.process_response`). It is pre-empted here because
its errors carry no message a person can read, do not say whose account was refused (412), and cannot tell a
request that never left (safe to repeat) from one whose answer was lost (never repeated: Redmine may have
acted on it).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
from redminelib.engines.base import BaseEngine
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util.retry import Retry

from app_integration.adapters import metrics
from app_integration.adapters.redmine.call_scope import current_scope
from app_integration.core.dispatch import note_write
from app_integration.core.errors import (
    AccountUnavailable,
    BridgeError,
    NotFound,
    OperatorError,
    PermissionDenied,
    PersonalKeyRefused,
    RedmineNoAnswer,
    RedmineRejected,
    RedmineUnavailable,
)
from app_integration.core.i18n import N_, _

UNAVAILABLE = N_("Redmine is unavailable right now. Try again in a minute.")
BUSY = N_("The bridge is waiting on Redmine for many requests at once. Try again in a minute.")


class _Answer:
    """What the error table looks at: the status, the body's errors, and whose request it was."""

    def __init__(self, response: requests.Response, login: str | None) -> None:
        self.response = response
        self.login = login

    def errors(self) -> list[str]:
        try:
            errors = self.response.json().get("errors", [])
        except ValueError:
            return ["invalid input"]
        return [": ".join(e) if isinstance(e, list) else str(e) for e in errors] or ["invalid input"]


# Redmine's answers, by status, as the core's errors. Any 5xx is RedmineUnavailable: Redmine's work on the
# request is over, so a lookup can tell whether it acted.
STATUS_ERRORS: dict[int | str, Callable[[_Answer], BridgeError]] = {
    401: lambda a: OperatorError(
        _("The bridge's Redmine admin key was refused. Ask the operator to check ADMIN_REDMINE_KEY_API.")
    ),
    403: lambda a: PermissionDenied(_("You have no permission for that in this Redmine project.")),
    404: lambda a: NotFound(_("Not found in Redmine, or you cannot see it.")),
    412: lambda a: AccountUnavailable(_("The Redmine account `{login}` is missing or locked.", login=a.login)),
    422: lambda a: RedmineRejected(a.errors()),
    "5xx": lambda a: RedmineUnavailable(_(UNAVAILABLE)),
}
# Requests that got no answer. A connect timeout or a refused connection never reached Redmine; a read timeout
# or a connection cut midway may have: RedmineNoAnswer, which no caller sends again.
TRANSPORT_ERRORS: dict[str, Callable[[], BridgeError]] = {
    "unreachable": lambda: RedmineUnavailable(_(UNAVAILABLE)),
    "timeout": lambda: RedmineNoAnswer(_("Redmine did not answer in time. Try again in a minute.")),
    "cut": lambda: RedmineNoAnswer(_(UNAVAILABLE)),
    "busy": lambda: RedmineUnavailable(_(BUSY)),
}


def error_for(status: int, answer: _Answer) -> BridgeError | None:
    factory = STATUS_ERRORS.get(status) or (STATUS_ERRORS["5xx"] if status >= 500 else None)
    return factory(answer) if factory else None


class CallBound:
    """At most `limit` Redmine requests under way in this process, whatever sent them (batches, lists, the
    feed, the listener): a burst of batches across gunicorn's threads queues here instead of at Redmine.

    Within the limit, a window that halves when Redmine shows strain (a 5xx, a timeout, a cut connection) and
    grows back by one per window's worth of good answers (additive increase, multiplicative decrease, as TCP
    does): a Redmine that stalls under parallel writes (SQLite locks its whole database for each) gets them
    one at a time until it answers well again, instead of more of what stalled it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.window = float(limit)
        self._in_flight = 0
        self._ready = threading.Condition()

    def acquire(self, wait: float) -> bool:
        started = time.perf_counter()
        deadline = time.monotonic() + wait
        with self._ready:
            while self._in_flight >= int(self.window):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._ready.wait(left)
            self._in_flight += 1
        metrics.REDMINE_WAIT_SECONDS.observe(time.perf_counter() - started)
        return True

    def release(self, strained: bool) -> None:
        with self._ready:
            self._in_flight -= 1
            if strained:
                self.window = max(1.0, self.window / 2)
            else:
                self.window = min(float(self.limit), self.window + 1 / self.window)
            metrics.REDMINE_WINDOW.set(self.window)
            self._ready.notify_all()


_bound = CallBound(8)
# Outcomes that say Redmine is struggling; a 4xx says the request was wrong, not that Redmine was busy.
_STRAINED = frozenset({"timeout", "cut"})
_thread = threading.local()


def bound_calls(limit: int) -> None:
    """REDMINE_MAX_CALLS for this process; set once at wiring."""
    global _bound
    if limit != _bound.limit:
        _bound = CallBound(limit)


def _pooled_session() -> requests.Session:
    session: requests.Session | None = getattr(_thread, "session", None)
    if session is None:
        session = requests.Session()
        # Only reads are retried: on a connect error, or once on a connection cut mid-answer (a busy Redmine's
        # server drops some); a read is safe to repeat. A create is never repeated blindly.
        retry = Retry(
            total=2, connect=2, read=1, status=0, other=0, backoff_factor=0.2, allowed_methods=frozenset({"GET"})
        )
        session.mount("http://", HTTPAdapter(max_retries=retry, pool_maxsize=4))
        session.mount("https://", HTTPAdapter(max_retries=retry, pool_maxsize=4))
        _thread.session = session
    return session


def _kind(method: str) -> str:
    return {"GET": "read", "POST": "create"}.get(method.upper(), "update")


class CallEngine(BaseEngine):  # type: ignore[misc]
    """A python-redmine engine whose headers belong to this call alone."""

    def create_session(self, **params: Any) -> requests.Session:
        self._call_params = params
        return _pooled_session()

    def request(self, method: str, url: str, headers: Any = None, params: Any = None, data: Any = None) -> Any:
        kwargs = self.construct_request_kwargs(method, headers, params, data)
        kwargs["headers"] = {**self._call_params.get("headers", {}), **kwargs["headers"]}
        kwargs["params"] = {**self._call_params.get("params", {}), **kwargs["params"]}
        scope = current_scope()
        if scope is not None:
            scope.tally.add()
        response = self._send(method, url, kwargs)
        answer = self.process_response(response)
        if method.upper() != "GET" and not urlsplit(url).path.endswith("/uploads.json"):
            # Redmine accepted a write: a form that fails after this must not be sent again. An upload is no
            # write: no ticket shows it until a create or a note names its token, and Redmine prunes it otherwise.
            note_write()
        return answer

    def _send(self, method: str, url: str, kwargs: dict[str, Any]) -> requests.Response:
        kind, timeout = _kind(method), self._call_params["timeout"]
        bound = _bound
        if not bound.acquire(wait=sum(timeout)):
            metrics.REDMINE_CALLS.labels(kind, "busy").inc()
            raise TRANSPORT_ERRORS["busy"]()  # never sent
        metrics.REDMINE_IN_FLIGHT.inc()
        started = time.perf_counter()
        outcome = "unreachable"
        try:
            response: requests.Response = self.session.request(method, url, timeout=timeout, **kwargs)
            outcome = str(response.status_code)
            return response
        except requests.ConnectTimeout:
            raise TRANSPORT_ERRORS["unreachable"]() from None
        except requests.Timeout:
            outcome = "timeout"
            raise TRANSPORT_ERRORS["timeout"]() from None
        except requests.RequestException as error:
            if _never_sent(error):
                raise TRANSPORT_ERRORS["unreachable"]() from None
            outcome = "cut"
            raise TRANSPORT_ERRORS["cut"]() from None
        finally:
            bound.release(strained=outcome in _STRAINED or outcome.startswith("5"))
            metrics.REDMINE_IN_FLIGHT.dec()
            metrics.REDMINE_SECONDS.labels(kind).observe(time.perf_counter() - started)
            metrics.REDMINE_CALLS.labels(kind, outcome).inc()

    def page(self, url: str) -> str:
        """An HTML page, for what Redmine shows only there; through the same bound and error table."""
        kwargs = self.construct_request_kwargs("get", None, None, None)
        kwargs["headers"] = {**self._call_params.get("headers", {}), **kwargs["headers"]}
        response = self._send("get", url, kwargs)
        error = error_for(response.status_code, _Answer(response, None))
        if error is not None:
            raise error
        return response.text

    def process_response(self, response: requests.Response) -> Any:
        status = response.status_code
        personal = self._call_params.get("personal")
        if status == 401 and personal:
            raise PersonalKeyRefused(personal)
        error = error_for(status, _Answer(response, self._call_params["headers"].get("X-Redmine-Switch-User")))
        if error is not None:
            raise error
        return super().process_response(response)

    def process_bulk_request(self, method: str, url: str, container: str, bulk_params: Any) -> list[Any]:
        return [item for params in bulk_params for item in self.request(method, url, params=params)[container]]


def _never_sent(error: BaseException) -> bool:
    """Whether the connection failed before the request left (refused, no route, name not found): only then
    is nothing of it at Redmine."""
    seen: BaseException | None = error
    for _depth in range(8):
        if seen is None:
            return False
        if isinstance(seen, NewConnectionError | ConnectTimeoutError):
            return True
        reason = getattr(seen, "reason", None)
        first = seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None
        seen = reason if isinstance(reason, BaseException) else first or seen.__context__
    return False
