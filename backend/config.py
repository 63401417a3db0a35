"""Application settings, read from the environment (prefix QUALIPREF_) and an optional .env file."""

import re
import unicodedata
from datetime import date, datetime
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET_KEY = "insecure-development-secret-change-me"  # noqa: S105 - refused in production


DEFAULT_COMPLAINT_KEYWORDS = (
    "réclamation",
    "réclame",
    "plainte",
    "mécontent",
    "mécontentement",
    "inadmissible",
    "inacceptable",
    "scandaleux",
    "insatisfait",
    "déplorable",
    "dysfonctionnement",
)


# The usual pieces of a residence permit renewal file, offered to the agent who writes a letter
# asking for missing documents (letter_templates/demande-pieces).
DEFAULT_MISSING_DOCUMENTS = (
    "Passeport en cours de validité",
    "Trois photographies d'identité récentes et conformes aux normes",
    "Justificatif de domicile de moins de trois mois",
    "Dernier avis d'imposition",
    "Titre de séjour en cours de validité ou expiré",
    "Timbre fiscal",
    "Justificatifs de ressources des trois derniers mois",
    "Acte de naissance avec filiation",
)


class Environment(StrEnum):
    """Deployment mode: development allows the insecure defaults, production refuses them."""

    DEVELOPMENT = "development"
    PRODUCTION = "production"


class DelayUnit(StrEnum):
    """How delays are counted: working days (the default) or calendar days."""

    WORKING_DAYS = "working_days"
    CALENDAR_DAYS = "calendar_days"


class PrefectureIdentity(BaseModel):
    """The préfecture's identity, printed on letters and acknowledgements."""

    department_code: str = "32"
    department_name: str = "Gers"
    # The brand block's title line: "PRÉFET DU GERS", "PRÉFET DE LA HAUTE-GARONNE", ...
    prefet_title: str = "PRÉFET DU GERS"
    name: str = "Préfecture du Gers"
    postal_address: str = "3 place du Préfet Claude Érignac\n32007 Auch Cedex"
    phone: str = "05 62 61 44 00"
    email: str = "prefecture@gers.gouv.fr"
    website: str = "https://www.gers.gouv.fr"
    opening_hours: str = "du lundi au vendredi, de 9 h à 12 h et de 14 h à 17 h"
    # The préfecture's own Marianne logo (PNG or SVG) above the brand block of printed letters;
    # none: the brand block is text only.
    logo_path: Path | None = None
    # holidays.France subdivision: "57" (Moselle) or "6AE" (Alsace; "67" and "68" mean the same)
    # for Alsace-Moselle, "971".."974" and "976" overseas; None for metropolitan France.
    holiday_subdivision: str | None = None
    # Case references are "<PREFIX>-<YEAR>-<NNNNNN>"; empty means derived from the name.
    reference_prefix: str = ""

    @property
    def case_reference_prefix(self) -> str:
        """The prefix of case references, e.g. GERS or HAUTE-GARONNE."""
        if self.reference_prefix:
            return self.reference_prefix.upper()
        return re.sub(r"[^A-Z0-9]+", "-", _ascii_upper(self.department_name)).strip("-")


def _ascii_upper(text: str) -> str:
    """Upper-case ASCII transliteration: 'Hautes-Pyrénées' -> 'HAUTES-PYRENEES'."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).upper()


class DelayTargets(BaseModel):
    """The promised answer delays, in the delay unit (working days by default)."""

    email: int = Field(default=5, ge=0)
    paper: int = Field(default=10, ge=0)
    suggestion_box: int = Field(default=10, ge=0)
    # Whatever its channel, a complaint is answered within this.
    complaint: int = Field(default=5, ge=0)
    # The rate of answers within target the préfecture commits to.
    within_target_rate_percent: float = Field(default=80.0, ge=0, le=100)


class OidcSettings(BaseModel):
    """OpenID Connect sign-in (ProConnect for the State's agents): off while no issuer is set."""

    # The provider's issuer, its discovery document under <issuer>/.well-known/openid-configuration
    # (ProConnect: https://<PROCONNECT_DOMAIN>/api/v2).
    issuer: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    # Exactly as registered with the provider: https://<Qualipref's host>/auth/oidc/callback.
    redirect_uri: str | None = None
    scopes: str = "openid email given_name usual_name uid"
    # Sent only when set, for a provider that asks for an authentication level.
    acr_values: str | None = None
    http_timeout_seconds: Annotated[float, Field(gt=0)] = 10.0

    @model_validator(mode="after")
    def _complete_when_enabled(self) -> Self:
        if not self.issuer:
            return self
        missing = [
            f"QUALIPREF_OIDC__{name.upper()}"
            for name in ("client_id", "client_secret", "redirect_uri")
            if not getattr(self, name)
        ]
        if missing:
            raise ValueError(f"{', '.join(missing)} must be set with QUALIPREF_OIDC__ISSUER")
        if "openid" not in self.scopes.split():
            raise ValueError("QUALIPREF_OIDC__SCOPES must include openid")
        return self

    @property
    def enabled(self) -> bool:
        """True when sign-in through the provider is configured."""
        return bool(self.issuer)


class RetentionSettings(BaseModel):
    """How long personal data is kept (see docs/privacy.md)."""

    # Months after a case is closed before its personal data is removed; dates, channel, kind
    # and delays stay, so past indicators never change.
    months_after_closure: int = Field(default=24, ge=1)
    # Another period for some kinds, e.g. {"complaint": 36}.
    months_by_kind: dict[str, int] = Field(default_factory=dict)
    # Audit events are deleted after this many months.
    audit_months: int = Field(default=12, ge=1)

    def months_for(self, kind: str) -> int:
        """The retention period of a kind of case, in months after closure."""
        return self.months_by_kind.get(kind, self.months_after_closure)


class Settings(BaseSettings):
    """Every setting of Qualipref; see README for the environment variable names."""

    model_config = SettingsConfigDict(
        env_prefix="QUALIPREF_",
        env_file=".env",
        env_file_encoding="utf-8",
        env_nested_delimiter="__",
        extra="ignore",
    )

    environment: Environment = Environment.DEVELOPMENT
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET_KEY)
    # A browser session lasts a working day; signing in again is cheap.
    session_lifetime_hours: Annotated[float, Field(gt=0)] = 10.0
    # Off only behind a plain-HTTP test server: browsers keep Secure cookies on localhost.
    session_cookie_secure: bool = True
    # After this many failed sign-ins in a row the account waits, then twice as long each time.
    login_max_failures: Annotated[int, Field(ge=1)] = 5
    login_lockout_seconds: Annotated[float, Field(gt=0)] = 60.0
    data_dir: Path = Path("./var")
    database_url: str = ""
    broker_url: str = ""
    result_backend_url: str = ""
    smtp_url: str = ""
    timezone: str = "Europe/Paris"
    log_level: str = "INFO"
    api_host: str = "127.0.0.1"
    api_port: Annotated[int, Field(ge=1, le=65535)] = 8000
    # Processes of `qualipref serve`: about one per core on a host given to the API.
    api_workers: Annotated[int, Field(ge=1, le=64)] = 1
    worker_concurrency: Annotated[int, Field(ge=1)] = 2
    heartbeat_interval_seconds: Annotated[float, Field(gt=0)] = 300.0
    prefecture: PrefectureIdentity = PrefectureIdentity()
    # Delays, due dates and indicators count working days (Monday to Friday minus the public
    # holidays of prefecture.holiday_subdivision) unless calendar days are chosen.
    delay_unit: DelayUnit = DelayUnit.WORKING_DAYS
    delay_targets: DelayTargets = DelayTargets()
    # Each working day at this local time (HH:MM in `timezone`), beat e-mails every service the
    # list of its cases past due and due on the next working day.
    overdue_alert_time: str = "07:30"
    # Each night at this local time, beat takes the day's changes and computes the months over
    # of the default twelve, so the first quality table of the day is read, not computed.
    indicator_refresh_time: str = "05:30"
    retention: RetentionSettings = RetentionSettings()
    # Each night at this local time, beat removes the personal data whose time is over.
    retention_time: str = "03:30"
    # The days a case waits for the citizen's documents are left out of its delay (the
    # préfecture cannot answer meanwhile); a holding reply announcing a processing time counts
    # as the answer only when asked (Services Publics+ accepts it, Qual-e-pref did not).
    delay_excludes_waiting_periods: bool = True
    holding_reply_stops_clock: bool = False
    # Mailbox polling: beat's interval, messages per fetch-and-commit batch, network timeout,
    # how long a poller's lease lasts without renewal, and the longest backoff after failures.
    poll_interval_seconds: Annotated[float, Field(gt=0)] = 60.0
    imap_batch_size: Annotated[int, Field(ge=1, le=5000)] = 200
    imap_timeout_seconds: Annotated[float, Field(gt=0)] = 30.0
    poll_lease_seconds: Annotated[float, Field(gt=0)] = 600.0
    poll_backoff_max_seconds: Annotated[float, Field(gt=0)] = 3600.0
    # Processes that parse and store a large backlog beside the poller (0: one per CPU,
    # 1: none, all in the poller's own process).
    ingest_processes: Annotated[int, Field(ge=0, le=64)] = 0
    # Outgoing mail: SMTP network timeout; retries after temporary failures (exponential from
    # the base up to the maximum, given up after the last delay); how often beat looks for due
    # e-mails; after how long an attempt whose worker vanished is settled.
    smtp_timeout_seconds: Annotated[float, Field(gt=0)] = 30.0
    outbox_retry_base_seconds: Annotated[float, Field(gt=0)] = 30.0
    outbox_retry_max_seconds: Annotated[float, Field(gt=0)] = 3600.0
    outbox_give_up_after_seconds: Annotated[float, Field(gt=0)] = 2 * 24 * 3600.0
    outbox_sweep_seconds: Annotated[float, Field(gt=0)] = 15.0
    outbox_stale_sending_seconds: Annotated[float, Field(gt=0)] = 600.0
    # Automatic acknowledgements: at most this many per address in 24 hours (the loop guard),
    # and the domains whose senders are the préfecture's own (none given: the domain of the
    # préfecture's e-mail address).
    acknowledgement_limit_per_day: Annotated[int, Field(ge=0)] = 3
    own_mail_domains: list[str] = Field(default_factory=list)
    # Words that make an incoming message a proposed complaint (matched without accents).
    complaint_keywords: list[str] = Field(default_factory=lambda: list(DEFAULT_COMPLAINT_KEYWORDS))
    # The list an agent picks from for a letter variable with `catalogue = "missing_documents"`
    # in its manifest (documents missing from, or to bring for, a residence permit file).
    missing_documents_catalogue: list[str] = Field(
        default_factory=lambda: list(DEFAULT_MISSING_DOCUMENTS)
    )
    # The préfecture's customised letter templates: a file there wins over the shipped one of
    # the same path in letter_templates/ (file by file); None uses the shipped ones only.
    letter_templates_override_dir: Path | None = None
    # `qualipref run` fills a database without cases with a year of demo correspondence, so that
    # a laptop shows a living system; never in production (see docs/demo.md).
    demo_data: bool = True
    # Agents sign in through ProConnect (QUALIPREF_OIDC__ISSUER, ...), see docs/oidc.md.
    oidc: OidcSettings = OidcSettings()

    @field_validator("data_dir")
    @classmethod
    def _absolute_data_dir(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}") from error
        return value

    @model_validator(mode="after")
    def _fill_defaults_and_refuse_insecure_production(self) -> Self:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'qualipref.sqlite'}"
        if not self.broker_url:
            self.broker_url = f"sqla+sqlite:///{self.data_dir / 'broker.sqlite'}"
        if not self.result_backend_url:
            self.result_backend_url = _result_backend_for(self.broker_url, self.data_dir)
        if self.environment is Environment.PRODUCTION:
            self._refuse_default_secrets()
        return self

    def _refuse_default_secrets(self) -> None:
        if self.secret_key.get_secret_value() == DEFAULT_SECRET_KEY:
            raise ValueError(
                "QUALIPREF_SECRET_KEY must be set to a secret of your own in production "
                "(for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        if len(self.secret_key.get_secret_value()) < 32:
            raise ValueError("QUALIPREF_SECRET_KEY must be at least 32 characters in production")

    @field_validator("overdue_alert_time", "indicator_refresh_time", "retention_time")
    @classmethod
    def _clock_time(cls, value: str, info: ValidationInfo) -> str:
        match = re.fullmatch(r"(\d{1,2}):(\d{2})", value.strip())
        if match is None or int(match[1]) > 23 or int(match[2]) > 59:
            variable = f"QUALIPREF_{(info.field_name or '').upper()}"
            raise ValueError(f"{variable} must be HH:MM (e.g. 07:30), not {value!r}")
        return f"{int(match[1]):02d}:{match[2]}"

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url_scheme(cls, value: str) -> str:
        if value and not value.startswith(("smtp://", "smtps://")):
            raise ValueError("QUALIPREF_SMTP_URL must start with smtp:// or smtps://")
        return value

    @property
    def own_domains(self) -> frozenset[str]:
        """Mail domains of the préfecture: no automatic reply goes to them."""
        domains = self.own_mail_domains or [self.prefecture.email.rpartition("@")[2]]
        return frozenset(domain.strip().lower() for domain in domains if domain.strip())

    @property
    def tzinfo(self) -> ZoneInfo:
        """The préfecture's time zone, in which days and deadlines are counted."""
        return ZoneInfo(self.timezone)

    def local_date(self, moment: datetime) -> date:
        """The day a moment falls on at the préfecture."""
        return moment.astimezone(self.tzinfo).date()

    def today(self) -> date:
        """Today at the préfecture."""
        return datetime.now(self.tzinfo).date()

    @property
    def is_sqlite(self) -> bool:
        """True when the database is the embedded SQLite default."""
        return self.database_url.startswith("sqlite")

    @property
    def file_store_dir(self) -> Path:
        """Content-addressed store of raw messages, attachments and PDFs."""
        return self.data_dir / "files"

    @property
    def outbox_dir(self) -> Path:
        """Where outgoing mail is written as .eml files when no SMTP relay is configured."""
        return self.data_dir / "outbox"


def _result_backend_for(broker_url: str, data_dir: Path) -> str:
    """Keep task results next to the broker: the same Redis, or a SQLite file beside it."""
    if broker_url.startswith(("redis://", "rediss://")):
        return broker_url
    return f"db+sqlite:///{data_dir / 'celery-results.sqlite'}"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
