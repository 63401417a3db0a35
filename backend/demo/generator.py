"""A year of a préfecture's correspondence drawn from a seed: the plan the loader writes.

Pure: the same seed, last day and settings give the same plan. One `random.Random(seed)` draws
everything, in a fixed order, and no clock is read. The year ends on the morning of the last
day, as the office opens (OFFICE_OPENING): what came in overnight is waiting, nothing is dated
later. The figures it gives, and why, are in docs/demo.md.
"""

import math
import random
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

from backend.calendar.working_days import WorkingCalendar
from backend.cases.classification import default_kind
from backend.cases.due_dates import target_days
from backend.cases.service import PAPER_RECEIPT_TIME
from backend.config import Settings
from backend.models import (
    AnswerChannel,
    CaseChannel,
    CaseKind,
    CaseStatus,
    MailboxKind,
    MessageDirection,
    UserRole,
)

K = TypeVar("K")

DEFAULT_SEED = 2026
OFFICE_OPENING = time(8, 0)
EMAIL, PAPER, SLIP = CaseChannel.EMAIL, CaseChannel.PAPER, CaseChannel.SUGGESTION_BOX
INFORMATION, RESIDENCE = CaseKind.INFORMATION_REQUEST, CaseKind.RESIDENCE
COMPLAINT, SUGGESTION, OTHER = CaseKind.COMPLAINT, CaseKind.SUGGESTION, CaseKind.OTHER

# Volumes of a Gers-sized préfecture (~190,000 inhabitants): about 6,000 cases a year.
EMAILS_PER_WEEKDAY = 17.0
LETTERS_PER_WORKING_DAY = 2.8
SLIPS_PER_WEEK = 3.3
# Monday carries the weekend's mail; citizens write less on Saturdays, Sundays and holidays.
WEEKDAY_FACTOR = (1.35, 1.1, 1.0, 1.0, 0.9, 0.35, 0.3)
HOLIDAY_FACTOR = 0.3
# The rentrée brings students' residence permits; August and Christmas are quiet.
MONTH_FACTOR = {
    1: 1.05, 2: 1.0, 3: 1.1, 4: 1.0, 5: 0.95, 6: 1.05,
    7: 0.85, 8: 0.55, 9: 1.25, 10: 1.1, 11: 1.0, 12: 0.85,
}  # fmt: skip
# The post of a weekend or a bank holiday is opened on the next working day.
LETTERS_AFTER_DAYS_OFF = 1.6
# Received at these local hours, weighted: office hours, evenings, a few at night.
EMAIL_HOUR_WEIGHTS = (
    1, 1, 0.5, 0.5, 0.5, 1, 2, 4, 7, 9, 10, 9, 7, 7, 9, 9, 8, 7, 6, 5, 5, 4, 3, 2,
)  # fmt: skip
# Agents answer in office hours (local hours, weighted by repetition).
OFFICE_HOURS = (9, 9, 10, 10, 11, 14, 14, 15, 15, 16)

MAILBOX_WEIGHTS = {"contact": 58.0, "sejour": 36.0, "qualite": 6.0}
KIND_WEIGHTS: dict[str, dict[CaseKind, float]] = {
    "contact": {INFORMATION: 91.5, COMPLAINT: 3, OTHER: 5.5},
    "sejour": {RESIDENCE: 95, COMPLAINT: 2, INFORMATION: 3},
    "qualite": {SUGGESTION: 66, COMPLAINT: 30, OTHER: 4},
    "paper": {INFORMATION: 62, RESIDENCE: 25, COMPLAINT: 8, OTHER: 5},
    "slip": {SUGGESTION: 75, COMPLAINT: 25},
}
# Working days to an answer that keeps its target (waits for documents left out), weighted.
EMAIL_DELAYS: dict[int, float] = {0: 14, 1: 30, 2: 24, 3: 15, 4: 9, 5: 8}
RESIDENCE_DELAYS: dict[int, float] = {0: 4, 1: 16, 2: 24, 3: 22, 4: 18, 5: 16}
COMPLAINT_DELAYS: dict[int, float] = {1: 14, 2: 26, 3: 26, 4: 20, 5: 14}
LETTER_DELAYS: dict[int, float] = {1: 4, 2: 9, 3: 13, 4: 15, 5: 15, 6: 13, 7: 11, 8: 9, 9: 6, 10: 5}
# The share of answers that miss their target; half the staff is on leave in August.
LATE_SHARE = {INFORMATION: 0.06, RESIDENCE: 0.10, COMPLAINT: 0.09, SUGGESTION: 0.05, OTHER: 0.06}
AUGUST_LATE_FACTOR = 1.8
# A late answer's extra working days beyond the target: exponential with this mean, capped.
LATE_MEAN_EXTRA_DAYS = 4.0
LATE_MAX_EXTRA_DAYS = 25
WAIT_SHARE = {RESIDENCE: 0.10, INFORMATION: 0.02}
HOLDING_REPLY_SHARE_OF_LATE = 0.4
HOLDING_REPLY_SHARE_OF_RESIDENCE = 0.03
CLOSED_AFTER_ANSWER_SHARE = 0.85
PHONE_ANSWER_SHARE = 0.04
LETTER_WITH_EMAIL_SHARE = 0.25
ANONYMOUS_SLIP_SHARE = 0.45
FORGOTTEN_CASES = (5, 7)
MERGED_PAIRS = (2, 3)


@dataclass(frozen=True, slots=True)
class ServicePlan:
    """A service of the préfecture."""

    slug: str
    name: str
    postal_address: str


@dataclass(frozen=True, slots=True)
class MailboxPlan:
    """A functional mailbox and the service that owns it."""

    slug: str
    kind: MailboxKind
    address: str
    service: str


@dataclass(frozen=True, slots=True)
class AgentPlan:
    """A user account and the service it belongs to."""

    email: str
    first_name: str
    last_name: str
    title: str
    role: UserRole
    service: str


@dataclass(frozen=True, slots=True)
class MessagePlan:
    """One message of a case's thread; outbound subjects get the case reference on loading."""

    direction: MessageDirection
    at: datetime
    subject: str
    body_text: str
    from_name: str | None
    from_address: str | None
    to_address: str | None
    # None for a paper letter: its Message-ID is made from the case reference.
    message_id: str | None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    extra_headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class WaitPlan:
    """A wait for the citizen's documents; open while they have not arrived."""

    started_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class CasePlan:
    """One case with every instant of its life up to the end of the year."""

    key: int
    channel: CaseChannel
    kind: CaseKind
    status: CaseStatus
    mailbox: str | None
    service: str
    assignee: str | None  # the agent's e-mail
    subject: str
    sender_name: str | None
    sender_email: str | None
    sender_postal_address: str | None
    received_at: datetime
    registered_at: datetime
    registered_by: str | None  # the agent who registered a letter; e-mails are logged
    acknowledged_at: datetime | None
    acknowledgement_skip_reason: str | None
    assigned_at: datetime | None
    holding_reply_at: datetime | None
    holding_reply_delay_days: int | None
    answered_at: datetime | None
    answer_channel: AnswerChannel | None
    closed_at: datetime | None
    merged_into: int | None  # the key of the case it was merged into
    waits: tuple[WaitPlan, ...]
    messages: tuple[MessagePlan, ...]


@dataclass(frozen=True, slots=True)
class DemoPlan:
    """The services, mailboxes, accounts and cases of one demo year."""

    seed: int
    first_day: date
    until: date
    services: tuple[ServicePlan, ...]
    mailboxes: tuple[MailboxPlan, ...]
    agents: tuple[AgentPlan, ...]
    cases: tuple[CasePlan, ...]


@dataclass(frozen=True, slots=True)
class _Person:
    name: str
    email: str | None
    postal_address: str | None


@dataclass(frozen=True, slots=True)
class _Topic:
    subject: str
    body: str
    # A machine's mail: its sender, the headers that say so, the acknowledgement's skip reason.
    sender: _Person | None = None
    headers: tuple[tuple[str, str], ...] = ()
    skip_reason: str | None = None


@dataclass
class _Draft:
    """A case while its year is drawn; frozen into a CasePlan at the end."""

    key: int
    channel: CaseChannel
    kind: CaseKind
    mailbox: MailboxPlan | None
    service: str
    topic: _Topic
    sender: _Person
    received_at: datetime
    agent: AgentPlan | None = None
    assigned_at: datetime | None = None
    started_at: datetime | None = None
    holding_reply_at: datetime | None = None
    holding_reply_delay_days: int | None = None
    answered_at: datetime | None = None
    answer_channel: AnswerChannel | None = None
    closed_at: datetime | None = None
    merged_into: int | None = None
    waits: list[WaitPlan] = field(default_factory=list)
    reminders: list["_Draft"] = field(default_factory=list)


def _blocks(text: str) -> list[list[str]]:
    """Blocks separated by blank lines, as lists of stripped lines."""
    return [
        [line.strip() for line in block.strip().splitlines()]
        for block in text.strip().split("\n\n")
    ]


def _topics(text: str) -> tuple[_Topic, ...]:
    """Topics written as blocks: the subject on the first line, the body on the next ones."""
    return tuple(_Topic(subject=lines[0], body=" ".join(lines[1:])) for lines in _blocks(text))


def _paragraphs(text: str) -> tuple[str, ...]:
    """One string per block, its lines joined."""
    return tuple(" ".join(lines) for lines in _blocks(text))


def _words(text: str) -> tuple[str, ...]:
    """The words of a text."""
    return tuple(text.split())


def _lines(text: str) -> tuple[str, ...]:
    """One string per non-blank line."""
    return tuple(line.strip() for line in text.strip().splitlines() if line.strip())


def _ascii(text: str) -> str:
    """Lower-case ASCII for an e-mail address: 'Élodie' -> 'elodie', 'Da Silva' -> 'da-silva'."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return plain.replace(" ", "-").replace("'", "")


def _agent_email(first_name: str, last_name: str) -> str:
    """prenom.nom@gers.gouv.fr."""
    return f"{_ascii(first_name)}.{_ascii(last_name)}@gers.gouv.fr"


SERVICES = (
    ("accueil-courrier", "Accueil et courrier"),
    ("sejour-etrangers", "Bureau du séjour des étrangers"),
    ("mission-qualite", "Mission qualité"),
)
MAILBOXES = (
    MailboxPlan("contact", MailboxKind.CONTACT, "prefecture@gers.gouv.fr", "accueil-courrier"),
    MailboxPlan("sejour", MailboxKind.SEJOUR, "pref-sejour@gers.gouv.fr", "sejour-etrangers"),
    MailboxPlan("qualite", MailboxKind.QUALITE, "pref-qualite@gers.gouv.fr", "mission-qualite"),
)
AGENT, QUALITY_MANAGER, ADMIN = UserRole.AGENT, UserRole.QUALITY_MANAGER, UserRole.ADMIN
AGENTS = (
    ("Sophie", "Laborde", "Agente d'accueil", AGENT, "accueil-courrier"),
    ("Julien", "Castaing", "Agent du bureau du courrier", AGENT, "accueil-courrier"),
    ("Nadia", "Benali", "Secrétaire administrative", AGENT, "accueil-courrier"),
    ("Marc", "Dupouy", "Instructeur des titres de séjour", AGENT, "sejour-etrangers"),
    ("Camille", "Lacoste", "Instructrice des titres de séjour", AGENT, "sejour-etrangers"),
    ("Karim", "Haddad", "Adjoint au chef du bureau du séjour", AGENT, "sejour-etrangers"),
    ("Hélène", "Soulé", "Chargée de mission qualité", AGENT, "mission-qualite"),
    ("Isabelle", "Ducos", "Responsable qualité", QUALITY_MANAGER, "mission-qualite"),
    ("Thomas", "Verdier", "Administrateur de Qualipref", ADMIN, "mission-qualite"),
)
# Letters and slips are opened and registered in the mail room.
MAIL_ROOM_AGENT = _agent_email("Julien", "Castaing")
# The service a case goes to by kind, whatever its channel; an e-mail otherwise stays with its
# mailbox's service.
SERVICE_OF_KIND = {
    INFORMATION: "accueil-courrier",
    RESIDENCE: "sejour-etrangers",
    COMPLAINT: "mission-qualite",
    SUGGESTION: "mission-qualite",
    OTHER: "accueil-courrier",
}

FIRST_NAMES = _words("""
    Marie Jean Nathalie Pierre Isabelle Philippe Sylvie Michel Catherine Alain Christine Patrick
    Sandrine Laurent Valérie Thierry Émilie Nicolas Julie Sébastien Céline Olivier Aurélie
    Christophe Léa Thomas Manon Hugo Chloé Lucas Camille Bernard Monique Jacques Françoise
    Gérard Mathieu Élodie Romain Pauline
""")
LAST_NAMES = _words("""
    Martin Bernard Dubois Lafitte Duprat Lannes Dupuy Lacroix Ferran Daguzan Barrère Lamothe
    Cazaux Sarrade Abadie Labat Pujol Garcia Fourcade Castex Lagarde Roux Fontaine Mercier
    Baylac Soubiran Péré Lasserre Dufour Marty Cabanne Lalanne Moreau Petit Laurent Simon
    Michel Lefebvre Faure Rousseau
""")
RESIDENT_FIRST_NAMES = _words("""
    Mohamed Fatima Youssef Amina Ibrahima Aïssata Mamadou Khadija Oumar Mariam Ahmed Leila
    Sergio Ana Dmytro Olena Wei Mei Rahul Priya Kofi Ama Tiago Beatriz Arben Elira
""")
RESIDENT_LAST_NAMES = _lines("""
    Benali
    El Amrani
    Diallo
    Traoré
    Koné
    Ndiaye
    Haddad
    Bouzid
    Da Silva
    Pereira
    Kovalenko
    Chen
    Sharma
    Mensah
    Hoxha
    Rodríguez
    Cissé
    Belkacem
    Mansouri
    Okafor
    Nguyen
    Sow
    Camara
    Oliveira
""")
# Reserved domains (RFC 2606): the demo never points at anyone's real mailbox.
MAIL_DOMAINS = (
    "orange.example",
    "free.example",
    "laposte.example",
    "gmail.example",
    "sfr.example",
    "outlook.example",
)
TOWNS = (
    ("Auch", "32000"),
    ("Condom", "32100"),
    ("Fleurance", "32500"),
    ("L'Isle-Jourdain", "32600"),
    ("Lectoure", "32700"),
    ("Mirande", "32300"),
    ("Eauze", "32800"),
    ("Nogaro", "32110"),
    ("Vic-Fezensac", "32190"),
    ("Samatan", "32130"),
    ("Gimont", "32200"),
    ("Masseube", "32140"),
    ("Riscle", "32400"),
    ("Marciac", "32230"),
    ("Plaisance", "32160"),
    ("Mauvezin", "32120"),
)
STREETS = _lines("""
    rue de la République
    avenue des Pyrénées
    chemin de la Tuilerie
    rue Gambetta
    place de la Libération
    allée des Platanes
    route de Toulouse
    impasse du Moulin
    rue Victor-Hugo
    boulevard Sadi-Carnot
    rue d'Etigny
    chemin du Lavoir
""")

INFORMATION_TOPICS = _topics("""
    Renouvellement de mon permis de conduire
    Mon permis de conduire arrive à échéance le mois prochain. Pouvez-vous m'indiquer la
    démarche à suivre et s'il faut passer par le site de l'ANTS ?

    Changement d'adresse sur la carte grise
    Je viens de déménager à {town} et je souhaite mettre à jour l'adresse de ma carte grise.
    Est-ce possible sans me déplacer ?

    Horaires d'ouverture des guichets
    Pourriez-vous me préciser les horaires d'ouverture de l'accueil de la préfecture et me dire
    s'il faut prendre rendez-vous ?

    Déclaration d'un vide-grenier
    Notre association organise un vide-grenier à {town} au printemps. Quelles formalités
    devons-nous accomplir ?

    Création d'une association
    Nous souhaitons déclarer une association culturelle à {town}. Quelles pièces faut-il
    fournir au greffe des associations ?

    Médaille d'honneur du travail
    Je souhaite déposer une demande de médaille d'honneur du travail pour vingt ans de service.
    Quel est le calendrier de la prochaine promotion ?

    Restrictions d'eau
    L'arrêté sécheresse s'applique-t-il à l'arrosage des potagers dans la commune de {town} ?

    Brûlage des déchets verts
    Ai-je le droit de brûler des branches de taille dans mon jardin à {town} ? J'ai entendu
    parler d'une interdiction.

    Naturalisation : avancement de mon dossier
    J'ai déposé ma demande de naturalisation il y a huit mois. Pouvez-vous me dire où en est
    l'instruction ?

    Validation du permis de chasser
    Je souhaite valider mon permis de chasser pour la saison. Dois-je m'adresser à la
    préfecture ou à la fédération ?

    Carte professionnelle de VTC
    Je voudrais exercer comme chauffeur VTC dans le Gers. Quelle est la procédure pour obtenir
    la carte professionnelle ?

    Licence de débit de boissons
    Je reprends un café à {town}. Le transfert de la licence IV se déclare-t-il en préfecture
    ou en mairie ?

    Inscription sur les listes électorales
    J'ai emménagé à {town} récemment. Jusqu'à quand puis-je m'inscrire sur les listes
    électorales ?

    Prises de vue par drone
    Je suis photographe et je souhaite réaliser des prises de vue par drone au-dessus de
    {town}. Quelle autorisation dois-je demander ?

    Course cycliste sur la voie publique
    Notre club organise une course cycliste qui traverse plusieurs communes. Quel est le délai
    pour déposer le dossier de déclaration ?

    Détention d'une arme héritée
    J'ai hérité d'un fusil de chasse. Quelles démarches dois-je accomplir pour le conserver
    légalement ?

    Installation classée près de chez moi
    Une exploitation agricole doit s'agrandir près de chez moi à {town}. Où consulter le
    dossier de l'enquête publique ?

    Perte de ma carte d'identité
    J'ai perdu ma carte d'identité. Dois-je faire une déclaration de perte avant de prendre
    rendez-vous en mairie ?

    Carte grise de collection
    Je restaure un véhicule ancien et souhaite obtenir une carte grise de collection. Quelles
    pièces sont nécessaires ?

    Aide après les intempéries
    Après la grêle de la semaine dernière, existe-t-il une aide pour les exploitants agricoles
    du secteur de {town} ?

    Cérémonie d'accueil dans la citoyenneté
    J'ai reçu mon décret de naturalisation. Quand aura lieu la prochaine cérémonie d'accueil
    dans la citoyenneté ?

    Vente d'un véhicule à un particulier
    Je vends ma voiture à un particulier. La déclaration de cession se fait-elle en ligne ?

    Point numérique de la préfecture
    Le point numérique est-il ouvert le vendredi après-midi ? J'ai besoin d'aide pour une
    démarche en ligne.

    Feu d'artifice pour un mariage
    Nous souhaitons tirer un petit feu d'artifice lors de notre mariage à {town}. Faut-il une
    autorisation ?
""")
RESIDENCE_TOPICS = _topics("""
    Renouvellement de mon titre de séjour
    Mon titre de séjour expire dans deux mois et je n'arrive pas à déposer ma demande sur le
    site de l'ANEF. Pouvez-vous m'aider ?

    Récépissé expiré
    Mon récépissé a expiré la semaine dernière et je n'ai pas encore reçu mon titre. Mon
    employeur me demande un document valide.

    Changement de statut étudiant vers salarié
    Je termine mon master à Toulouse et j'ai une promesse d'embauche à {town}. Comment changer
    de statut ?

    Titre de séjour étudiant pour la rentrée
    Je commence une formation à Auch en septembre. Quels documents dois-je fournir pour mon
    titre de séjour étudiant ?

    Regroupement familial
    Je souhaite faire venir mon épouse et nos deux enfants. Pouvez-vous m'indiquer les
    conditions de ressources et de logement ?

    Duplicata de titre de séjour
    J'ai perdu mon titre de séjour et j'ai fait une déclaration de perte. Comment obtenir un
    duplicata ?

    Attestation de prolongation d'instruction
    Ma demande est en cours d'instruction depuis trois mois. Puis-je obtenir une attestation
    pour continuer à travailler ?

    Document de circulation pour mon fils
    Mon fils de douze ans part en voyage scolaire en Espagne. Comment obtenir un document de
    circulation pour étranger mineur ?

    Demande de carte de résident
    Je réside en France depuis plus de cinq ans sous couvert de cartes pluriannuelles.
    Puis-je demander une carte de résident ?

    Retrait de mon titre de séjour
    J'ai reçu un SMS m'indiquant que mon titre est disponible. Faut-il prendre rendez-vous pour
    le retirer ?

    Changement d'adresse
    J'ai déménagé de Toulouse à {town}. Mon dossier de titre de séjour est-il transféré dans le
    Gers ?

    Autorisation de travail pour les vendanges
    Je suis viticulteur à {town} et je souhaite embaucher un saisonnier étranger pour les
    vendanges. Quelle est la démarche ?

    Admission exceptionnelle au séjour
    Je vis en France depuis six ans avec ma famille. Comment déposer une demande d'admission
    exceptionnelle au séjour ?

    Carte de séjour passeport talent
    Je rejoins un laboratoire de recherche à Auch. Quelles pièces faut-il pour une carte de
    séjour passeport talent ?
""")
COMPLAINT_TOPICS = _topics("""
    Réclamation : aucune réponse à mes courriels
    Je vous ai écrit à trois reprises depuis un mois sans aucune réponse. Je suis très
    mécontent de ce silence.

    Plainte concernant l'accueil au guichet
    Lors de mon passage à l'accueil mardi, j'ai attendu plus d'une heure et l'on m'a répondu
    sèchement. Je souhaite déposer une réclamation.

    Impossible d'obtenir un rendez-vous
    Depuis des semaines aucun créneau n'est disponible en ligne. C'est inadmissible : mon titre
    expire bientôt.

    Réclamation sur le traitement de mon dossier
    Mon dossier a été déclaré incomplet alors que j'avais fourni toutes les pièces demandées.
    Je conteste cette décision.

    Standard téléphonique injoignable
    J'ai appelé la préfecture dix fois cette semaine et personne ne décroche. Ce
    dysfonctionnement est inacceptable.

    Mécontentement : documents égarés
    Les originaux envoyés en recommandé semblent avoir été égarés. Je suis très insatisfait du
    suivi de mon dossier.

    Réclamation : délai de délivrance
    J'attends mon titre depuis deux mois, ce qui m'empêche de voyager pour raisons familiales.
    Je souhaite une explication.

    Erreur sur mon titre de séjour
    Mon nom est mal orthographié sur le titre que je viens de retirer. Je réclame une
    correction rapide, sans nouveau rendez-vous.

    Réclamation : renvoyé de service en service
    On m'a transféré quatre fois d'un service à l'autre sans réponse à ma question. C'est
    scandaleux pour un service public.

    Contestation d'un refus
    Ma demande a été refusée sans explication claire. Je réclame une réponse motivée et un
    réexamen de ma situation.
""")
SUGGESTION_TOPICS = _topics("""
    Suggestion : ouvrir l'accueil entre midi et deux
    Beaucoup d'usagers qui travaillent ne peuvent venir qu'à l'heure du déjeuner. Une ouverture
    entre 12 h et 14 h un jour par semaine serait appréciée.

    Proposition pour le site internet
    Il serait utile de regrouper sur une seule page les démarches des étrangers, avec les
    délais moyens de traitement.

    Des sièges en salle d'attente
    La salle d'attente manque de sièges le lundi matin. Quelques chaises de plus éviteraient
    aux personnes âgées de rester debout.

    Suggestion : un SMS de rappel
    Un rappel par SMS la veille du rendez-vous éviterait les oublis et libérerait des créneaux.

    Merci, et une suggestion
    Merci à l'agent de l'accueil pour sa patience. Un fléchage vers le point numérique rendrait
    l'accès plus simple.

    Un formulaire de contact par service
    Un formulaire qui oriente directement vers le bon service éviterait que les messages soient
    transférés.

    Afficher les délais de réponse
    Afficher à l'accueil le délai moyen de réponse aux courriers permettrait de savoir à quoi
    s'attendre.

    Places de stationnement réservées
    Les places réservées aux personnes handicapées sont souvent occupées par des livreurs. Un
    contrôle plus régulier serait bienvenu.
""")
# Mail that needs no answer: machines (no acknowledgement either), advertising, thanks, copies.
OTHER_EMAIL_TOPICS = (
    _Topic(
        "Réponse automatique : absent du bureau",
        "Je suis absent jusqu'à lundi. Pour toute urgence, merci de contacter le secrétariat.",
        _Person("Cabinet Duprat", "secretariat@cabinet-duprat.example", None),
        (("Auto-Submitted", "auto-replied"),),
        "message automatique (Auto-Submitted: auto-replied)",
    ),
    _Topic(
        "Lettre d'information des collectivités",
        "Retrouvez ce mois-ci nos actualités sur la commande publique et les finances locales.",
        _Person("Info Collectivités", "lettre@info-collectivites.example", None),
        (("List-Unsubscribe", "<mailto:desinscription@info-collectivites.example>"),),
        "message automatique (List-Unsubscribe)",
    ),
    _Topic(
        "Formation bureautique pour vos agents",
        "Découvrez nos sessions de formation à distance, éligibles au plan de formation.",
        _Person("Formapro Conseil", "contact@formapro.example", None),
    ),
    _Topic(
        "Invitation au salon des maires",
        "Nous avons le plaisir de vous inviter au salon départemental des maires du Gers.",
        _Person("Salon des maires du Gers", "invitation@salon-maires.example", None),
    ),
    *_topics("""
        Merci pour votre réponse
        Merci beaucoup pour votre réponse rapide, tout est clair maintenant.

        Copie pour information
        Je vous transmets pour information le courrier que j'ai adressé ce jour à la mairie de
        {town}.
    """),
)
PAPER_SUBJECTS: dict[CaseKind, tuple[str, ...]] = {
    INFORMATION: _lines("""
        Demande de médaille de la famille
        Recours gracieux contre un arrêté
        Demande d'audience auprès du préfet
        Pétition des riverains de la route départementale
        Dérogation pour un transport exceptionnel
        Demande de subvention pour une association
        Demande de renseignements sur un permis de construire
        Naturalisation : envoi de pièces complémentaires
        Demande de carte grise pour un tracteur agricole
        Demande de copie d'un arrêté préfectoral
    """),
    RESIDENCE: _lines("""
        Dossier de renouvellement de titre de séjour
        Envoi de pièces pour mon titre de séjour
        Demande de rendez-vous au bureau du séjour
        Demande de regroupement familial
    """),
    COMPLAINT: tuple(topic.subject for topic in COMPLAINT_TOPICS),
    OTHER: _lines("""
        Copie pour information d'un courrier adressé au maire
        Carte de vœux
        Invitation à une inauguration
    """),
}
SLIP_SUBJECTS: dict[CaseKind, tuple[str, ...]] = {
    SUGGESTION: _lines("""
        Plus de places assises dans le hall
        Une fontaine à eau en salle d'attente
        Ouvrir plus tard le jeudi
        Mieux signaler le point numérique
        Accueil très aimable, merci
        Un coin pour les enfants
        Afficher le temps d'attente
    """),
    COMPLAINT: _lines("""
        Attente trop longue ce matin
        Guichet fermé sans prévenir
        Toilettes hors service
        Agent peu aimable à l'accueil
    """),
}
EMAIL_TOPICS: dict[CaseKind, tuple[_Topic, ...]] = {
    INFORMATION: INFORMATION_TOPICS,
    RESIDENCE: RESIDENCE_TOPICS,
    COMPLAINT: COMPLAINT_TOPICS,
    SUGGESTION: SUGGESTION_TOPICS,
    OTHER: OTHER_EMAIL_TOPICS,
}
GREETINGS = ("Bonjour,", "Madame, Monsieur,", "Bonjour Madame, Monsieur,")
SIGN_OFFS = _lines("""
    Cordialement,
    Bien cordialement,
    Merci d'avance pour votre réponse.
    Dans l'attente de votre réponse, veuillez agréer mes salutations distinguées.
""")
ANSWERS: dict[CaseKind, tuple[str, ...]] = {
    INFORMATION: _paragraphs("""
        Vous trouverez la démarche détaillée sur le site internet des services de l'État dans
        le Gers, rubrique « Démarches administratives ». En cas de difficulté, le point
        numérique de la préfecture vous accueille du lundi au vendredi, de 9 h à 12 h.

        Cette démarche relève de votre mairie, à laquelle je vous invite à vous adresser
        directement : elle vous indiquera les pièces à fournir.

        Après vérification auprès du service compétent, aucune formalité supplémentaire n'est
        nécessaire dans votre situation.

        Vous trouverez ci-dessous la liste des pièces à fournir ; vous pouvez nous les
        transmettre par retour de courriel en rappelant la référence de votre dossier.
    """),
    RESIDENCE: _paragraphs("""
        Votre demande doit être déposée sur le site de l'Administration numérique des étrangers
        en France (ANEF). En cas de difficulté, un point d'accueil numérique est à votre
        disposition à la préfecture.

        Votre titre de séjour est en cours de fabrication. Vous recevrez un SMS dès qu'il sera
        disponible ; votre attestation de prolongation d'instruction reste valable jusque-là.

        Après examen de votre situation, un rendez-vous vous est proposé au bureau du séjour
        des étrangers ; la convocation vous parviendra séparément.
    """),
    COMPLAINT: _paragraphs("""
        Je vous prie de nous excuser pour la gêne occasionnée. Après vérification auprès du
        service concerné, votre dossier a été traité et une réponse vous a été apportée ce jour.

        Votre réclamation a bien été prise en compte : les faits que vous décrivez ont été
        signalés au responsable du service, et des mesures ont été prises pour qu'ils ne se
        reproduisent pas.
    """),
    SUGGESTION: _paragraphs("""
        Je vous remercie pour votre suggestion, qui sera présentée au prochain comité local des
        usagers. Nous ne manquerons pas de vous tenir informé des suites données.

        Merci pour votre proposition. Elle sera étudiée dans le cadre de notre démarche
        d'amélioration continue Services Publics+.
    """),
}
HOLDING_REPLY = (
    "Votre demande a bien été prise en compte et fait l'objet d'un examen approfondi. "
    "Une réponse vous sera apportée dans un délai de {days} jours."
)
DOCUMENTS_REQUEST = (
    "Afin de poursuivre l'instruction de votre demande, je vous remercie de nous transmettre "
    "{documents}. Son traitement est suspendu dans l'attente de ces pièces."
)
DOCUMENTS = _lines("""
    un justificatif de domicile de moins de trois mois
    la copie de votre passeport
    une photographie d'identité conforme
    votre dernier avis d'imposition
    votre contrat de travail signé
    l'acte de naissance de vos enfants
""")
DOCUMENTS_SENT = (
    "Veuillez trouver ci-joint les documents demandés. Je reste à votre disposition pour tout "
    "complément."
)
REMINDER = (
    "Je me permets de vous relancer au sujet de ma demande du {day}, restée sans réponse à ce "
    "jour. {body}"
)
POLITENESS = "Je vous prie d'agréer, Madame, Monsieur, l'expression de mes salutations distinguées."


def generate_demo(*, seed: int, until: date, settings: Settings) -> DemoPlan:
    """The year of correspondence ending on the morning of `until`, drawn from `seed`."""
    year = _Year(seed=seed, until=until, settings=settings)
    drafts = year.receipts()
    for draft in drafts:
        year.work(draft)
    year.forget_a_few(drafts)
    drafts += year.merge_a_few(drafts)
    drafts.sort(key=lambda draft: (draft.received_at, draft.key))
    for draft in drafts:
        year.clip(draft)
    return DemoPlan(
        seed=seed,
        first_day=year.first_day,
        until=until,
        services=year.services,
        mailboxes=MAILBOXES,
        agents=year.agents,
        cases=tuple(year.case_plan(draft) for draft in drafts),
    )


def first_day_until(until: date) -> date:
    """The day after the same date a year earlier: the demo's year runs from it to `until`."""
    try:
        year_before = until.replace(year=until.year - 1)
    except ValueError:  # 29 February
        year_before = until.replace(year=until.year - 1, day=28)
    return year_before + timedelta(days=1)


class _Year:
    """The drawing of one year: the random generator, the calendar, the people and the cases."""

    def __init__(self, *, seed: int, until: date, settings: Settings) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not a secret
        self.settings = settings
        # The office is closed on weekends and holidays whatever unit delays are counted in.
        self.calendar = WorkingCalendar(subdivision=settings.prefecture.holiday_subdivision)
        self.first_day = first_day_until(until)
        self.until = until
        self.cutoff = self.instant(until, OFFICE_OPENING)
        self.services = tuple(
            ServicePlan(slug, name, settings.prefecture.postal_address) for slug, name in SERVICES
        )
        self.agents = tuple(
            AgentPlan(_agent_email(first, last), first, last, title, role, service)
            for first, last, title, role, service in AGENTS
        )
        self.next_key = 0

    # Time at the préfecture.

    def instant(self, day: date, clock: time) -> datetime:
        """A local day and clock time, as an aware UTC instant."""
        return datetime.combine(day, clock, tzinfo=self.settings.tzinfo).astimezone(UTC)

    def local_day(self, moment: datetime) -> date:
        """The day a moment falls on at the préfecture."""
        return self.settings.local_date(moment)

    def working_day(self, day: date, *, after: int = 0) -> date:
        """The working day `after` working days from the first one on or after `day`."""
        start = self.calendar.first_working_day_on_or_after(day)
        return self.calendar.add_working_days(day=start, count=after)

    def office_moment(self, day: date, *, after: datetime) -> datetime:
        """A moment of office hours on day, or on a later working day, after `after`."""
        day = self.working_day(max(day, self.local_day(after)))
        while True:
            clock = time(self.rng.choice(OFFICE_HOURS), self.rng.randrange(60))
            moment = self.instant(day, clock)
            if moment > after:
                return moment
            later = after + timedelta(minutes=self.rng.randint(15, 90))
            if self.local_day(later) == day and later.astimezone(self.settings.tzinfo).hour < 18:
                return later
            day = self.working_day(day, after=1)

    # Receipts.

    def receipts(self) -> list[_Draft]:
        """Every e-mail, letter and suggestion slip of the year, day by day."""
        drafts: list[_Draft] = []
        day = self.first_day
        while day <= self.until:
            drafts += self.emails_of(day)
            # Paper is opened at noon: none on the last day, whose morning ends the year.
            if self.calendar.is_working_day(day) and day < self.until:
                drafts += self.letters_of(day) + self.slips_of(day)
            day += timedelta(days=1)
        return drafts

    def emails_of(self, day: date) -> list[_Draft]:
        """The e-mails received on a day, before the office opens on the last one."""
        factor = WEEKDAY_FACTOR[day.weekday()]
        if day.weekday() < 5 and not self.calendar.is_working_day(day):
            factor = HOLIDAY_FACTOR
        drafts = []
        for _ in range(_poisson(self.rng, EMAILS_PER_WEEKDAY * factor * MONTH_FACTOR[day.month])):
            hour = self.rng.choices(range(24), weights=EMAIL_HOUR_WEIGHTS)[0]
            received_at = self.instant(day, time(hour, self.rng.randrange(60)))
            draft = self.email(slug=_weighted(self.rng, MAILBOX_WEIGHTS), received_at=received_at)
            if received_at < self.cutoff:
                drafts.append(draft)
        return drafts

    def email(self, *, slug: str, received_at: datetime) -> _Draft:
        """One e-mail to a mailbox, its kind and text drawn."""
        mailbox = next(mailbox for mailbox in MAILBOXES if mailbox.slug == slug)
        kind = _weighted(self.rng, KIND_WEIGHTS[slug])
        topic = self.rng.choice(EMAIL_TOPICS[kind])
        sender = topic.sender or self.person(resident=kind is RESIDENCE, with_email=True)
        service = SERVICE_OF_KIND[COMPLAINT] if kind is COMPLAINT else mailbox.service
        return self.draft(EMAIL, kind, mailbox, service, topic, sender, received_at)

    def letters_of(self, day: date) -> list[_Draft]:
        """The letters opened on a working day: more after a weekend or a bank holiday."""
        mean = LETTERS_PER_WORKING_DAY * MONTH_FACTOR[day.month]
        if not self.calendar.is_working_day(day - timedelta(days=1)):
            mean *= LETTERS_AFTER_DAYS_OFF
        received_at = self.instant(day, PAPER_RECEIPT_TIME)
        drafts = []
        for _ in range(_poisson(self.rng, mean)):
            kind = _weighted(self.rng, KIND_WEIGHTS["paper"])
            topic = _Topic(self.rng.choice(PAPER_SUBJECTS[kind]), "")
            with_email = self.rng.random() < LETTER_WITH_EMAIL_SHARE
            sender = self.person(resident=kind is RESIDENCE, with_email=with_email)
            service = SERVICE_OF_KIND[kind]
            drafts.append(self.draft(PAPER, kind, None, service, topic, sender, received_at))
        return drafts

    def slips_of(self, day: date) -> list[_Draft]:
        """The suggestion box is emptied on the last working day of each week."""
        if self.working_day(day, after=1).isocalendar().week == day.isocalendar().week:
            return []
        received_at = self.instant(day, PAPER_RECEIPT_TIME)
        drafts = []
        for _ in range(_poisson(self.rng, SLIPS_PER_WEEK * MONTH_FACTOR[day.month])):
            kind = _weighted(self.rng, KIND_WEIGHTS["slip"])
            topic = _Topic(self.rng.choice(SLIP_SUBJECTS[kind]), "")
            sender = self.slip_author()
            service = SERVICE_OF_KIND[kind]
            drafts.append(self.draft(SLIP, kind, None, service, topic, sender, received_at))
        return drafts

    def draft(
        self,
        channel: CaseChannel,
        kind: CaseKind,
        mailbox: MailboxPlan | None,
        service: str,
        topic: _Topic,
        sender: _Person,
        received_at: datetime,
    ) -> _Draft:
        """A new case, keyed in the order it was drawn."""
        self.next_key += 1
        town, _ = self.rng.choice(TOWNS)
        topic = replace(topic, body=topic.body.replace("{town}", town))
        return _Draft(self.next_key, channel, kind, mailbox, service, topic, sender, received_at)

    def person(self, *, resident: bool, with_email: bool) -> _Person:
        """A citizen with a postal address in the Gers and, maybe, an e-mail address."""
        first_names, last_names = (
            (RESIDENT_FIRST_NAMES, RESIDENT_LAST_NAMES) if resident else (FIRST_NAMES, LAST_NAMES)
        )
        first, last = self.rng.choice(first_names), self.rng.choice(last_names)
        town, postcode = self.rng.choice(TOWNS)
        address = f"{self.rng.randint(1, 60)} {self.rng.choice(STREETS)}\n{postcode} {town}"
        if not with_email:
            return _Person(f"{first} {last}", None, address)
        local = f"{_ascii(first)}.{_ascii(last)}"
        if self.rng.random() < 0.4:
            local = f"{_ascii(first)[0]}{_ascii(last)}{self.rng.randint(1, 99)}"
        return _Person(f"{first} {last}", f"{local}@{self.rng.choice(MAIL_DOMAINS)}", address)

    def slip_author(self) -> _Person:
        """Many slips are anonymous; the others leave an address, postal or electronic."""
        if self.rng.random() < ANONYMOUS_SLIP_SHARE:
            return _Person("Usager anonyme", None, None)
        return self.person(resident=False, with_email=self.rng.random() < 0.5)

    # Work on a case.

    def work(self, draft: _Draft) -> None:
        """Triage, answer (after a wait for documents, maybe), holding reply and closing."""
        start = self.working_day(self.local_day(draft.received_at))
        staff = [a for a in self.agents if a.service == draft.service and a.role is AGENT]
        draft.agent = self.rng.choice(staff)
        triage_day = self.working_day(start, after=self.rng.choice((0, 0, 1)))
        draft.assigned_at = self.office_moment(triage_day, after=draft.received_at)
        anonymous = draft.sender.email is None and draft.sender.postal_address is None
        if draft.kind is OTHER or anonymous:
            # Nothing to answer (a machine, a copy for information) or nobody to answer to.
            closing_day = self.working_day(triage_day, after=self.rng.randint(0, 2))
            draft.closed_at = self.office_moment(closing_day, after=draft.assigned_at)
            return
        started_day = self.working_day(triage_day, after=self.rng.randint(0, 1))
        draft.started_at = self.office_moment(started_day, after=draft.assigned_at)
        delay, late = self.delay(draft, start=start)
        self.answer(draft, start=start, delay=delay)
        self.maybe_holding_reply(draft, start=start, late=late)
        if self.rng.random() < CLOSED_AFTER_ANSWER_SHARE and draft.answered_at is not None:
            answer_day = self.local_day(draft.answered_at)
            closing_day = self.working_day(answer_day, after=self.rng.randint(1, 12))
            draft.closed_at = self.office_moment(closing_day, after=draft.answered_at)

    def delay(self, draft: _Draft, *, start: date) -> tuple[int, bool]:
        """Working days to the answer, waits left out, and whether it misses the target."""
        targets = self.settings.delay_targets
        target = target_days(channel=draft.channel, kind=draft.kind, targets=targets)
        late_share = LATE_SHARE[draft.kind] * (AUGUST_LATE_FACTOR if start.month == 8 else 1)
        if self.rng.random() < late_share:
            extra = min(int(self.rng.expovariate(1 / LATE_MEAN_EXTRA_DAYS)), LATE_MAX_EXTRA_DAYS)
            return target + 1 + extra, True
        return min(_weighted(self.rng, _delay_profile(draft)), target), False

    def answer(self, draft: _Draft, *, start: date, delay: int) -> None:
        """The answer `delay` working days after the start, later if documents were missing."""
        resume_day, resume_after, left = start, draft.started_at or draft.received_at, delay
        if self.rng.random() < WAIT_SHARE.get(draft.kind, 0.0):
            before = min(self.rng.randint(1, 2), max(delay, 1))
            request_day = self.working_day(start, after=before)
            requested_at = self.office_moment(request_day, after=resume_after)
            documents_at = self.documents_arrival(draft, requested_at=requested_at)
            draft.waits.append(WaitPlan(requested_at, documents_at))
            resume_day = self.working_day(self.local_day(documents_at))
            resume_after, left = documents_at, max(delay - before, 1)
        answer_day = self.working_day(resume_day, after=left)
        draft.answered_at = self.office_moment(answer_day, after=resume_after)
        draft.answer_channel = self.answer_channel(draft)

    def documents_arrival(self, draft: _Draft, *, requested_at: datetime) -> datetime:
        """When the citizen's documents come: by e-mail at any hour, by post at noon."""
        wait = timedelta(days=self.rng.randint(3, 20), hours=self.rng.randint(0, 8))
        if draft.channel is EMAIL:
            return requested_at + wait
        return self.instant(
            self.working_day(self.local_day(requested_at + wait)), PAPER_RECEIPT_TIME
        )

    def answer_channel(self, draft: _Draft) -> AnswerChannel:
        """E-mails are answered by e-mail, letters mostly by letter; a few by phone."""
        if self.rng.random() < PHONE_ANSWER_SHARE:
            return AnswerChannel.PHONE
        if draft.channel is EMAIL or (draft.sender.email and self.rng.random() < 0.5):
            return AnswerChannel.EMAIL
        return AnswerChannel.LETTER

    def maybe_holding_reply(self, draft: _Draft, *, start: date, late: bool) -> None:
        """A reply announcing a processing time, for many late cases and a few residence ones."""
        share = HOLDING_REPLY_SHARE_OF_LATE if late else 0.0
        if not late and draft.kind is RESIDENCE:
            share = HOLDING_REPLY_SHARE_OF_RESIDENCE
        if self.rng.random() >= share:
            return
        day = self.working_day(start, after=self.rng.randint(1, 3))
        moment = self.office_moment(day, after=draft.started_at or draft.received_at)
        if draft.answered_at is not None and moment < draft.answered_at:
            draft.holding_reply_at = moment
            draft.holding_reply_delay_days = self.rng.choice((10, 15, 20, 30) if late else (30, 60))

    # The year's accidents.

    def forget_a_few(self, drafts: list[_Draft]) -> None:
        """A handful of old cases nobody answered: the oldest of the backlog."""
        oldest, newest = self.cutoff - timedelta(days=250), self.cutoff - timedelta(days=40)
        candidates = [
            draft
            for draft in drafts
            if draft.answered_at is not None
            and not draft.waits
            and draft.channel is not SLIP
            and oldest < draft.received_at < newest
        ]
        count = min(len(candidates), self.rng.randint(*FORGOTTEN_CASES))
        for draft in self.rng.sample(candidates, count):
            draft.answered_at = draft.answer_channel = draft.closed_at = None
            draft.holding_reply_at = draft.holding_reply_delay_days = None
            if self.rng.random() < 0.5:
                draft.started_at = None

    def merge_a_few(self, drafts: list[_Draft]) -> list[_Draft]:
        """Citizens who wrote again before being answered: the new case is merged."""
        candidates = [
            draft
            for draft in drafts
            if draft.channel is EMAIL
            and draft.kind in {INFORMATION, RESIDENCE}
            and not draft.waits
            and draft.answered_at is not None
            and draft.answered_at < self.cutoff - timedelta(days=1)
            and draft.answered_at - draft.received_at > timedelta(days=3)
        ]
        count = min(len(candidates), self.rng.randint(*MERGED_PAIRS))
        return [self.reminder(target) for target in self.rng.sample(candidates, count)]

    def reminder(self, target: _Draft) -> _Draft:
        """The citizen's second e-mail, merged into the first case before its answer."""
        assert target.answered_at is not None
        assert target.mailbox is not None
        waited = (target.answered_at - target.received_at).total_seconds()
        received_at = target.received_at + timedelta(seconds=self.rng.uniform(86400, waited - 7200))
        day = f"{self.local_day(target.received_at):%d/%m/%Y}"
        topic = _Topic(
            f"Relance : {target.topic.subject}", REMINDER.format(day=day, body=target.topic.body)
        )
        reminder = self.draft(
            EMAIL, target.kind, target.mailbox, target.service, topic, target.sender, received_at
        )
        reminder.agent, reminder.merged_into = target.agent, target.key
        merged_at = self.office_moment(self.local_day(received_at), after=received_at)
        reminder.assigned_at = min(merged_at, target.answered_at - timedelta(minutes=5))
        reminder.closed_at = reminder.assigned_at
        target.reminders.append(reminder)
        return reminder

    def clip(self, draft: _Draft) -> None:
        """Drop whatever would happen after the year's end: those cases are still open."""
        cutoff = self.cutoff
        if draft.answered_at is not None and draft.answered_at > cutoff:
            draft.answered_at = draft.answer_channel = draft.closed_at = None
        if draft.closed_at is not None and draft.closed_at > cutoff:
            draft.closed_at = None
        if draft.holding_reply_at is not None and draft.holding_reply_at > cutoff:
            draft.holding_reply_at = draft.holding_reply_delay_days = None
        draft.waits = [
            replace(wait, ended_at=None) if wait.ended_at and wait.ended_at > cutoff else wait
            for wait in draft.waits
            if wait.started_at <= cutoff
        ]
        if draft.started_at is not None and draft.started_at > cutoff:
            draft.started_at = None
        if draft.assigned_at is not None and draft.assigned_at > cutoff:
            draft.assigned_at = draft.agent = None

    # The plan.

    def case_plan(self, draft: _Draft) -> CasePlan:
        """The case as the loader writes it, with its thread of messages."""
        status = _status(draft)
        kind = draft.kind
        if status is CaseStatus.NEW and draft.mailbox is not None:
            kind = default_kind(draft.mailbox.kind)  # nobody has classified it yet
        return CasePlan(
            key=draft.key,
            channel=draft.channel,
            kind=kind,
            status=status,
            mailbox=draft.mailbox.slug if draft.mailbox else None,
            service=draft.service,
            assignee=draft.agent.email if draft.agent else None,
            subject=draft.topic.subject,
            sender_name=draft.sender.name,
            sender_email=draft.sender.email,
            sender_postal_address=None if draft.channel is EMAIL else draft.sender.postal_address,
            received_at=draft.received_at,
            registered_at=draft.received_at + timedelta(seconds=self.rng.randint(5, 90)),
            registered_by=None if draft.channel is EMAIL else MAIL_ROOM_AGENT,
            acknowledged_at=self.acknowledgement(draft),
            acknowledgement_skip_reason=draft.topic.skip_reason,
            assigned_at=draft.assigned_at,
            holding_reply_at=draft.holding_reply_at,
            holding_reply_delay_days=draft.holding_reply_delay_days,
            answered_at=draft.answered_at,
            answer_channel=draft.answer_channel,
            closed_at=draft.closed_at,
            merged_into=draft.merged_into,
            waits=tuple(draft.waits),
            # A merge moves the messages to the case merged into.
            messages=() if draft.merged_into else self.thread(draft),
        )

    def acknowledgement(self, draft: _Draft) -> datetime | None:
        """E-mails get the automatic acknowledgement within minutes, unless a machine sent them."""
        if draft.channel is not EMAIL or draft.topic.skip_reason is not None:
            return None
        return draft.received_at + timedelta(seconds=self.rng.randint(30, 300))

    def thread(self, draft: _Draft) -> tuple[MessagePlan, ...]:
        """The messages of the case in order; each reply answers the messages before it."""
        thread: list[MessagePlan] = []
        for message, is_reply in sorted(self.thread_events(draft), key=lambda e: e[0].at):
            earlier = tuple(m.message_id for m in thread if m.message_id is not None)
            if is_reply and earlier:
                message = replace(message, in_reply_to=earlier[-1], references=earlier)
            thread.append(message)
        return tuple(thread)

    def thread_events(self, draft: _Draft) -> list[tuple[MessagePlan, bool]]:
        """The citizen's messages and the préfecture's e-mails, each marked if it is a reply."""
        events = [(self.first_message(draft), False)]
        events += [(self.first_message(reminder), False) for reminder in draft.reminders]
        if draft.holding_reply_at is not None and draft.channel is EMAIL:
            text = HOLDING_REPLY.format(days=draft.holding_reply_delay_days)
            events.append((self.outbound(draft, draft.holding_reply_at, text), True))
        for wait in draft.waits if draft.channel is EMAIL else []:
            text = DOCUMENTS_REQUEST.format(documents=" et ".join(self.rng.sample(DOCUMENTS, 2)))
            events.append((self.outbound(draft, wait.started_at, text), True))
            if wait.ended_at is not None:
                subject = f"Re: {draft.topic.subject}"
                events.append((self.inbound(draft, wait.ended_at, subject, DOCUMENTS_SENT), True))
        if draft.answer_channel is AnswerChannel.EMAIL and draft.answered_at is not None:
            text = self.rng.choice(ANSWERS[draft.kind])
            events.append((self.outbound(draft, draft.answered_at, text), True))
        return events

    def first_message(self, draft: _Draft) -> MessagePlan:
        """The e-mail that opened the case, or the paper letter (its text is on the scan)."""
        if draft.channel is EMAIL:
            return self.inbound(draft, draft.received_at, draft.topic.subject, draft.topic.body)
        return MessagePlan(
            direction=MessageDirection.INBOUND,
            at=draft.received_at,
            subject=draft.topic.subject,
            body_text="",
            from_name=draft.sender.name,
            from_address=draft.sender.email,
            to_address=None,
            message_id=None,
        )

    def inbound(self, draft: _Draft, at: datetime, subject: str, text: str) -> MessagePlan:
        """An e-mail from the citizen to the mailbox."""
        sender = draft.sender
        greeting, sign_off = self.rng.choice(GREETINGS), self.rng.choice(SIGN_OFFS)
        body = f"{greeting}\n\n{text}\n\n{sign_off}\n{sender.name}\n"
        domain = (sender.email or "").rpartition("@")[2] or MAIL_DOMAINS[0]
        return MessagePlan(
            direction=MessageDirection.INBOUND,
            at=at,
            subject=subject,
            body_text=body,
            from_name=sender.name,
            from_address=sender.email,
            to_address=draft.mailbox.address if draft.mailbox else None,
            message_id=self.message_id(domain),
            extra_headers=draft.topic.headers,
        )

    def outbound(self, draft: _Draft, at: datetime, text: str) -> MessagePlan:
        """An e-mail of the préfecture to the citizen, signed by the agent (CRPA L111-2)."""
        service = next(service for service in self.services if service.slug == draft.service)
        address = draft.mailbox.address if draft.mailbox else self.settings.prefecture.email
        agent = draft.agent
        signature = [f"{agent.first_name} {agent.last_name}", agent.title] if agent else []
        signature += [service.name, self.settings.prefecture.name]
        body = f"Madame, Monsieur,\n\n{text}\n\n{POLITENESS}\n\n" + "\n".join(signature) + "\n"
        return MessagePlan(
            direction=MessageDirection.OUTBOUND,
            at=at,
            subject=f"Re: {draft.topic.subject}",
            body_text=body,
            from_name=service.name,
            from_address=address,
            to_address=draft.sender.email,
            message_id=self.message_id(address.rpartition("@")[2]),
        )

    def message_id(self, domain: str) -> str:
        """A Message-ID drawn from the seed, in the sender's domain."""
        return f"{self.rng.getrandbits(64):016x}.{self.rng.getrandbits(32):08x}@{domain}"


def _status(draft: _Draft) -> CaseStatus:
    """Where the case stands when the year ends."""
    if draft.closed_at is not None:
        return CaseStatus.CLOSED
    if draft.answered_at is not None:
        return CaseStatus.ANSWERED
    if draft.waits and draft.waits[-1].ended_at is None:
        return CaseStatus.WAITING_CITIZEN
    if draft.assigned_at is None:
        return CaseStatus.NEW
    if draft.started_at is not None or draft.holding_reply_at is not None:
        return CaseStatus.IN_PROGRESS
    return CaseStatus.ASSIGNED


def _delay_profile(draft: _Draft) -> dict[int, float]:
    """The on-time delays of this kind of case, weighted."""
    if draft.kind is COMPLAINT:
        return COMPLAINT_DELAYS
    if draft.channel is not EMAIL:
        return LETTER_DELAYS
    return RESIDENCE_DELAYS if draft.kind is RESIDENCE else EMAIL_DELAYS


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method): how many letters or e-mails come in a day."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _weighted(rng: random.Random, weights: dict[K, float]) -> K:
    """One key, drawn in proportion to its weight."""
    return rng.choices(list(weights), weights=list(weights.values()))[0]
