"""Realistic French citizens' e-mails for the ingestion benchmarks (deterministic per seed)."""

import random
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

FIRST_NAMES = ["Camille", "Léa", "Hélène", "Jérôme", "Benoît", "Aïcha", "Noël", "Zoé", "Éric"]
LAST_NAMES = ["Martin", "Bernard", "Lefèvre", "Müller", "N'Diaye", "Rousseau", "Garçon", "Faure"]
SUBJECTS = [
    "Demande de titre de séjour",
    "Renouvellement de ma carte de résident",
    "Réclamation : délai de traitement de mon dossier",
    "Question sur l'immatriculation de mon véhicule",
    "Prise de rendez-vous pour un récépissé",
    "Suggestion pour l'accueil du public",
    "Permis de conduire échangé : où en est ma demande ?",
]
PARAGRAPHS = [
    "Madame, Monsieur,",
    "Je me permets de vous écrire au sujet de ma demande déposée le mois dernier à la "
    "préfecture. Malgré plusieurs relances, je n'ai reçu aucune réponse à ce jour.",
    "Pourriez-vous m'indiquer les pièces justificatives à fournir ainsi que le délai "
    "prévisible de traitement ? Mon récépissé expire bientôt et mon employeur s'inquiète.",
    "Je reste à votre disposition pour tout complément d'information et vous remercie "
    "par avance de l'attention que vous porterez à ma demande.",
    "Veuillez agréer, Madame, Monsieur, l'expression de mes salutations distinguées.",
]


def generate_mails(count: int, *, seed: int = 2026) -> list[bytes]:
    """60 % plain, 30 % text+HTML, 10 % with a 50-200 KB attachment; 10 % are replies."""
    rng = random.Random(seed)
    start = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
    sent_ids: list[str] = []
    mails = []
    for number in range(count):
        message = _base_message(rng, number=number, sent_at=start + timedelta(minutes=7 * number))
        if sent_ids and rng.random() < 0.10:
            parent = rng.choice(sent_ids)
            message.replace_header("Subject", f"RE: {message['Subject']}")
            message["In-Reply-To"] = parent
            message["References"] = parent
        body = "\n\n".join(PARAGRAPHS[: rng.randint(3, len(PARAGRAPHS))])
        shape = rng.random()
        message.set_content(body)
        if shape >= 0.6:
            message.add_alternative(_html(body), subtype="html")
        if shape >= 0.9:
            size = rng.randint(50_000, 200_000)
            message.add_attachment(
                rng.randbytes(size),
                maintype="application",
                subtype="pdf",
                filename=f"pièce justificative {number}.pdf",
            )
        sent_ids.append(message["Message-ID"])
        mails.append(message.as_bytes())
    return mails


def _base_message(rng: random.Random, *, number: int, sent_at: datetime) -> EmailMessage:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    message = EmailMessage()
    message["From"] = f"{first} {last} <{first.lower()}.{number}@example.org>"
    message["To"] = "pref-sejour-etrangers@gers.gouv.fr"
    # Non-ASCII subjects: the policy encodes them as RFC 2047 encoded-words.
    message["Subject"] = f"{rng.choice(SUBJECTS)} (dossier {number})"
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = make_msgid(idstring=str(number), domain="example.org")
    return message


def _html(body: str) -> str:
    paragraphs = "".join(f"<p>{paragraph}</p>" for paragraph in body.split("\n\n"))
    return f"<html><body style='font-family: Arial'>{paragraphs}</body></html>"
