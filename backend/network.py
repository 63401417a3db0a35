"""What went wrong on the way to a mail server, in words an administrator acts on."""

import socket
import ssl


def describe_network_error(
    error: BaseException, *, service: str, host: str, port: int, timeout_seconds: float
) -> str | None:
    """A French diagnosis of a DNS, connection, timeout or TLS failure; None for other errors."""
    where = f"{host}:{port}"
    if isinstance(error, socket.gaierror):
        return f"Nom de serveur {service} inconnu : {host} ({error.strerror})"
    if isinstance(error, ConnectionRefusedError):
        return f"Connexion refusée par {where} (serveur {service} arrêté ou mauvais port ?)"
    if isinstance(error, TimeoutError | socket.timeout):
        return f"Pas de réponse de {where} en {timeout_seconds:g} s"
    if isinstance(error, ssl.SSLError):
        return f"Échec TLS avec {where} : {error.reason or error}"
    return None
