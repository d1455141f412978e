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

from ovos_realtime_plugin.protocol import beta
from ovos_realtime_plugin.protocol.render import Renderer
from ovos_realtime_plugin.server.client_secrets import Grant, SecretRequestError
from ovos_realtime_plugin.server.handshake import Handshake
from ovos_realtime_plugin.server.http_errors import (
    bearer_key,
)
from ovos_realtime_plugin.server.minting import mint_with

if TYPE_CHECKING:
    from ovos_realtime_plugin.server.sessions import SessionHost

BETA_KEY_SECONDS = 60
TRANSLATE = {"realtime": beta.session_update, "transcription": beta.transcription_session_update}


async def mint_beta(server: SessionHost, request: web.Request, kind: str) -> web.Response:
    """A beta session and its ephemeral key, for an operator's key (never for another ephemeral key)."""
    def mint(raw: dict[str, Any], grant: Grant) -> dict[str, Any]:
        expires = _expires_after(raw.pop("client_secret", None))
        session = TRANSLATE[kind](raw)
        minted = server.secrets.mint({"session": session, "expires_after": expires}, grant.key, server.check_session)
        model = session.get("model")
        hs = Handshake(path=request.path, dialect="beta", kind=kind, model=model if isinstance(model, str) else None,
                       api_key=None, call_id=None)
        opened = server.new_session(hs, session)
        rendered = Renderer("beta").session(opened.config, opened.id, minted["expires_at"])
        rendered["client_secret"] = {"value": minted["value"], "expires_at": minted["expires_at"]}
        return rendered

    return await mint_with(server, request, bearer_key(request), mint)


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
