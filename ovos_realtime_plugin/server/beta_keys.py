"""The beta dialect's ephemeral keys: ``POST /v1/realtime/sessions`` and ``/v1/realtime/transcription_sessions``,
what OpenAI's browser samples (``openai-realtime-console``, ``openai-realtime-agents``) and every page written from
the beta WebRTC guide call before posting their offer to ``POST /v1/realtime?model=``.

The body is a beta session object; the answer is that session as the beta dialect renders it, with
``client_secret: {"value": "ek_...", "expires_at": ...}``. The key carries the session translated to GA (the core's
shape), so it opens a session on either dialect; it expires after ``client_secret.expires_after.seconds`` (default
60, as OpenAI's beta keys), under the same bounds as ``client_secrets``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from ovos_realtime_plugin.core.errors import ProtocolError
from ovos_realtime_plugin.protocol import beta
from ovos_realtime_plugin.protocol.render import Renderer
from ovos_realtime_plugin.server.client_secrets import MintRefused, SecretRequestError
from ovos_realtime_plugin.server.handshake import Handshake
from ovos_realtime_plugin.server.http_errors import (
    BadJson,
    bad_key,
    bearer_key,
    json_error,
    load_json,
    read_body,
    too_large,
)

if TYPE_CHECKING:
    from ovos_realtime_plugin.server.app import RealtimeServer

BETA_KEY_SECONDS = 60
TRANSLATE = {"realtime": beta.session_update, "transcription": beta.transcription_session_update}


async def mint_beta(server: RealtimeServer, request: web.Request, kind: str) -> web.Response:
    """A beta session and its ephemeral key, for an operator's key (never for another ephemeral key)."""
    grant = server.secrets.grant(bearer_key(request))
    if grant is None or grant.ephemeral:
        return bad_key()
    body = await read_body(request)
    if body is None:
        return too_large()
    try:
        raw = load_json(body or b"{}", "The request body")
        if not isinstance(raw, dict):
            raise SecretRequestError("The request body must be a JSON object.")
        expires = _expires_after(raw.pop("client_secret", None))
        session = TRANSLATE[kind](raw)
        minted = server.secrets.mint({"session": session, "expires_after": expires}, grant.key, server.check_session)
    except BadJson as err:
        return json_error(400, str(err), "invalid_json")
    except SecretRequestError as err:
        return json_error(400, str(err), "invalid_value", err.param)
    except ProtocolError as err:
        return json_error(400, err.message, err.code, err.param, err.type)
    except MintRefused as err:
        return json_error(err.status, str(err), err.code, None, "requests")
    model = session.get("model")
    hs = Handshake(path=request.path, dialect="beta", kind=kind, model=model if isinstance(model, str) else None,
                   api_key=None, call_id=None)
    opened = server.new_session(hs, session)
    rendered = Renderer("beta").session(opened.config, opened.id, minted["expires_at"])
    rendered["client_secret"] = {"value": minted["value"], "expires_at": minted["expires_at"]}
    return web.json_response(rendered)


def _expires_after(client_secret: Any) -> dict[str, Any]:
    """``client_secret.expires_after`` of a beta body (``{"anchor": "created_at", "seconds": N}``)."""
    if client_secret is None:
        return {"anchor": "created_at", "seconds": BETA_KEY_SECONDS}
    if not isinstance(client_secret, dict):
        raise SecretRequestError("Invalid 'client_secret': expected an object.", "client_secret")
    expires = client_secret.get("expires_after")
    if expires is None:
        return {"anchor": "created_at", "seconds": BETA_KEY_SECONDS}
    if not isinstance(expires, dict):
        raise SecretRequestError("Invalid 'client_secret.expires_after': expected an object.",
                                 "client_secret.expires_after")
    return {"anchor": "created_at", "seconds": BETA_KEY_SECONDS, **expires}
