"""The shipped standard letters: their mandatory mentions, printed (PDF) and e-mailed, and layout.

Each letter is rendered from a context built by hand in the shape `letter_context` gives, with
the agent's values as an interface would send them (checked by `agent_values`), printed with
WeasyPrint and read back with poppler's `pdftotext` and `pdftoppm`, as a citizen would read it.

`QUALIPREF_UPDATE_GOLDEN=1` (or `QUALIPREF_TEST_UPDATE_GOLDEN=1`) rewrites the golden files under
golden/ from the current templates instead of comparing.
"""

import html
import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from backend.calendar.working_days import WorkingCalendar
from backend.config import Settings
from backend.letters.context import prefecture_context, service_context
from backend.letters.formatting import date_fr
from backend.letters.pdf import letter_pdf
from backend.letters.rendering import RenderedLetter, TemplateRenderError, render_letter
from backend.letters.templates import (
    LetterChannel,
    LetterEffect,
    VariableType,
    agent_values,
    letter_template,
    letter_templates,
)
from tests.backend.letters.test_rendering import PREFECTURE

GOLDEN_DIR = Path(__file__).parent / "golden"


def _update_golden() -> bool:
    """True when QUALIPREF_UPDATE_GOLDEN=1 (or QUALIPREF_TEST_UPDATE_GOLDEN=1) is set."""
    # tests/conftest.py removes the QUALIPREF_ variables but the *_TEST_* ones before any test
    # module is imported: the first is read from the environment the process started with.
    if os.environ.get("QUALIPREF_TEST_UPDATE_GOLDEN") == "1":
        return True
    try:
        initial = Path("/proc/self/environ").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"QUALIPREF_UPDATE_GOLDEN=1" in initial


UPDATE_GOLDEN = _update_golden()

LETTERS = (
    "reponse-sejour",
    "accuse-reception-demande-sejour",
    "demande-pieces",
    "accuse-reception-reclamation",
    "reponse-libre",
)
REFERENCE = "GERS-2026-000123"
# A Thursday: 15 working days later is 27 November, 11 November (a Wednesday) being a holiday.
TODAY = date(2026, 11, 5)
DEADLINE = "27 novembre 2026"
RECEIVED_ON = "28 octobre 2026"
SERVICE_NAME = "Bureau du séjour et de la nationalité"
SERVICE_ADDRESS = ["Préfecture du Gers", "3 place du Préfet Claude Érignac", "32007 Auch Cedex"]
SERVICE_PHONE = "05 62 61 44 10"
SERVICE_EMAIL = "pref-sejour-etrangers@gers.gouv.fr"
CITIZEN_NAME = "M. Karim Benali"
CITIZEN_ADDRESS = ["12 rue Victor Hugo", "Appartement 4", "32000 Auch"]
SIGNATORY_TITLE = "La cheffe du bureau du séjour"
APPEALS = [
    "recours gracieux auprès du préfet",
    "recours hiérarchique auprès du ministre de l'Intérieur",
    "recours contentieux devant le tribunal administratif",
]

# What an interface sends for the asked variables: text, as typed or picked.
AGENT_VALUES: dict[str, dict[str, object]] = {
    "reponse-sejour": {
        "message": "Votre nouveau titre de séjour est disponible.\n"
        "Vous pouvez le retirer au guichet, sans rendez-vous, muni de votre récépissé."
    },
    "accuse-reception-demande-sejour": {
        "appointment_date": "2026-12-03",
        "appointment_time": "14:30",
        "appointment_place": "Préfecture du Gers, guichet du séjour des étrangers\n"
        "3 place du Préfet Claude Érignac, Auch",
        "documents_to_bring": [
            "Passeport en cours de validité",
            "Trois photographies d'identité récentes et conformes aux normes",
            "Justificatif de domicile de moins de trois mois",
        ],
    },
    "demande-pieces": {
        "documents": ["Dernier avis d'imposition", "Timbre fiscal"],
        "deadline_days": "15",
    },
    "accuse-reception-reclamation": {},
    "reponse-libre": {
        "message": "Vous nous avez signalé l'attente au standard téléphonique.\n"
        "Une ligne supplémentaire est ouverte depuis le 2 novembre 2026."
    },
}

# What each letter must say, read alike in the PDF, the e-mail text part and its HTML part.
MENTIONS: dict[str, list[str]] = {
    "reponse-sejour": [
        f"Votre demande du {RECEIVED_ON}",
        f"Par votre demande reçue le {RECEIVED_ON} et enregistrée sous la référence {REFERENCE}",
        "service du séjour des étrangers",
        "Votre nouveau titre de séjour est disponible.",
        "sans rendez-vous, muni de votre récépissé.",
        "administration numérique pour les étrangers en France (ANEF)",
    ],
    "accuse-reception-demande-sejour": [
        "Accusé de réception de votre demande de titre de séjour",
        f"reçue par la préfecture le {RECEIVED_ON} et enregistrée sous la référence {REFERENCE}",
        f"Votre demande est instruite par : {SERVICE_NAME} {' '.join(SERVICE_ADDRESS)} "
        f"Téléphone : {SERVICE_PHONE} Courriel : {SERVICE_EMAIL}",
        "je vous propose un rendez-vous : le 3 décembre 2026 à 14 h 30 "
        "Préfecture du Gers, guichet du séjour des étrangers "
        "3 place du Préfet Claude Érignac, Auch",
        "Passeport en cours de validité",
        "Trois photographies d'identité récentes et conformes aux normes",
        "Justificatif de domicile de moins de trois mois",
        "Le silence gardé par l'administration pendant quatre mois sur votre demande vaut "
        "décision implicite de rejet",
        "R432-1 et R432-2 du code de l'entrée et du séjour des étrangers et du droit d'asile",
        # CRPA R112-5: the date the implicit decision arises, four months after receipt.
        "réputée rejetée le 28 février 2027, à l'expiration d'un délai de quatre mois à "
        f"compter du {RECEIVED_ON}",
        "dans un délai de deux mois",
        *APPEALS,
        "Télérecours citoyens",
    ],
    "demande-pieces": [
        "Demande de pièces complémentaires",
        f"Vous avez déposé le {RECEIVED_ON} une demande de renouvellement de votre titre de séjour",
        "Dernier avis d'imposition",
        "Timbre fiscal",
        f"au plus tard le {DEADLINE} (délai de 15 jours ouvrés)",
        f"par courriel, à {SERVICE_EMAIL}",
        f"par courrier : {SERVICE_NAME}, {', '.join(SERVICE_ADDRESS)}",
        "article L114-5 du code des relations entre le public et l'administration",
        "décision implicite de rejet",
        "ne court qu'à compter de la réception de l'ensemble des pièces demandées",
        f"À défaut de réception de ces pièces au plus tard le {DEADLINE}, votre dossier, "
        "incomplet, ne pourra pas être instruit et votre demande pourra être rejetée.",
    ],
    "accuse-reception-reclamation": [
        "Accusé de réception de votre réclamation",
        f"J'accuse réception de votre réclamation, reçue le {RECEIVED_ON} et enregistrée sous "
        f"la référence {REFERENCE}",
        f"{SERVICE_NAME} {' '.join(SERVICE_ADDRESS)} Téléphone : {SERVICE_PHONE} "
        f"Courriel : {SERVICE_EMAIL}",
        "une réponse vous sera apportée dans un délai de 5 jours ouvrés",
    ],
    "reponse-libre": [
        "Vous nous avez signalé l'attente au standard téléphonique.",
        "Une ligne supplémentaire est ouverte depuis le 2 novembre 2026.",
    ],
}
# Where the brief's letters differ from the common case: a complaint, for the acknowledgement.
CASE_KINDS = {"accuse-reception-reclamation": "complaint"}

# The window of a DL envelope, window on the right: an 85 x 35 mm frame at 110 mm from the left
# edge and 50 mm from the top of the page.
WINDOW_MM = (110.0, 50.0, 195.0, 85.0)
MM_PER_POINT = 25.4 / 72
# The longest address La Poste accepts: 6 lines of at most 38 characters.
LONGEST_NAME = "Mme Marie-Christine DE LA FONTAINE"
LONGEST_ADDRESS = [
    "Chez M. et Mme Jean-Baptiste Lefebvre",
    "RÉSIDENCE LES TILLEULS BÂTIMENT C",
    "128 AVENUE DE LA RÉPUBLIQUE",
    "LIEU-DIT LE GRAND CHEMIN",
    "32000 AUCH",
]


def base_context(**changes: Any) -> dict[str, Any]:
    """What letter_context gives every letter, for one case; top-level entries replaced."""
    context: dict[str, Any] = {
        "reference": REFERENCE,
        "today": TODAY,
        "case": {
            "reference": REFERENCE,
            "subject": "Renouvellement de ma carte de séjour",
            "received_on": date(2026, 10, 28),
            "received_at": datetime(2026, 10, 28, 9, 5, tzinfo=UTC),
            "channel": "email",
            "kind": "residence",
            "delay_days": 5,
        },
        "citizen": {
            "name": CITIZEN_NAME,
            "postal_address": "\n".join(CITIZEN_ADDRESS),
            "email": "karim.benali@example.org",
        },
        "service": {
            "name": SERVICE_NAME,
            "postal_address": "\n".join(SERVICE_ADDRESS),
            "email": SERVICE_EMAIL,
            "phone": SERVICE_PHONE,
        },
        "signatory": {"first_name": "Claire", "last_name": "Dupuy", "title": SIGNATORY_TITLE},
        "prefecture": PREFECTURE,
    }
    context.update(changes)
    return context


def letter_context_for(settings: Settings, name: str, **changes: Any) -> dict[str, Any]:
    """The full context of a letter: the case's, a kind that suits it, the agent's values."""
    context = base_context()
    if name in CASE_KINDS:
        context["case"] = context["case"] | {"kind": CASE_KINDS[name]}
    context |= agent_values(letter_template(settings, name), AGENT_VALUES[name])
    return context | changes


def render(settings: Settings, name: str, **changes: Any) -> RenderedLetter:
    """A letter rendered from the sample context, some top-level entries replaced."""
    return render_letter(
        settings=settings, template=name, context=letter_context_for(settings, name, **changes)
    )


def poppler(tool: str, *arguments: str) -> str:
    """The output of a poppler-utils command, which must succeed."""
    result = subprocess.run(
        [tool, *arguments], capture_output=True, text=True, check=True, timeout=60
    )
    return result.stdout


@dataclass(frozen=True)
class PrintedLetter:
    """A letter rendered, printed to PDF, and the PDF's text as pdftotext lays it out."""

    rendered: RenderedLetter
    pdf_path: Path
    layout_text: str

    @property
    def pages(self) -> int:
        """The number of pages, from pdftotext's form feeds."""
        return self.layout_text.count("\f")

    @property
    def flat_text(self) -> str:
        """The PDF's words in one line: phrases are found whatever their line breaks."""
        return flatten(self.layout_text)


def print_letter(rendered: RenderedLetter, path: Path) -> PrintedLetter:
    """The letter's PDF written to path, and read back with pdftotext -layout."""
    path.write_bytes(letter_pdf(rendered.document))
    return PrintedLetter(
        rendered=rendered,
        pdf_path=path,
        layout_text=poppler("pdftotext", "-layout", str(path), "-"),
    )


def flatten(text: str) -> str:
    """Whitespace collapsed; a line broken after a hyphen (no hyphenation: a real one) joined."""
    return " ".join(re.sub(r"-\n\s*", "-", text).split())


def html_words(markup: str) -> str:
    """The text a reader sees in an HTML part: tags removed, entities decoded, flattened."""
    return flatten(html.unescape(re.sub(r"<[^>]+>", "", markup)))


@pytest.fixture(scope="module")
def printed(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], PrintedLetter]:
    """Each sample letter printed once for the module (WeasyPrint takes a while)."""
    directory = tmp_path_factory.mktemp("letters")
    letters: dict[str, PrintedLetter] = {}

    def get(name: str) -> PrintedLetter:
        """The letter printed, the first time it is asked for."""
        if name not in letters:
            letters[name] = print_letter(render(settings, name), directory / f"{name}.pdf")
        return letters[name]

    return get


def test_the_hand_made_context_has_the_shape_letter_context_gives(settings: Settings) -> None:
    context = base_context()

    assert set(context["prefecture"]) == set(prefecture_context(settings))
    assert set(context["service"]) == set(service_context(None, settings=settings))


def test_the_five_letters_are_offered_by_post_and_e_mail(settings: Settings) -> None:
    offered = {letter.name: letter for letter in letter_templates(settings)}

    assert set(LETTERS) <= set(offered)
    for name in LETTERS:
        assert set(offered[name].channels) == {LetterChannel.EMAIL, LetterChannel.POST}
        assert offered[name].title
    assert offered["reponse-sejour"].effect is LetterEffect.ANSWER
    assert offered["reponse-libre"].effect is LetterEffect.ANSWER
    assert offered["accuse-reception-demande-sejour"].effect is LetterEffect.ACKNOWLEDGE
    assert offered["accuse-reception-reclamation"].effect is LetterEffect.ACKNOWLEDGE
    assert offered["demande-pieces"].effect is LetterEffect.REQUEST_DOCUMENTS
    assert set(offered["accuse-reception-reclamation"].kinds) == {"complaint", "suggestion"}


def test_the_agent_fills_in_what_the_case_does_not_know(settings: Settings) -> None:
    asked = {name: letter_template(settings, name).asked for name in LETTERS}

    assert set(asked["reponse-sejour"]) == {"message"}
    assert set(asked["reponse-libre"]) == {"message"}
    assert {name: spec.type for name, spec in asked["accuse-reception-demande-sejour"].items()} == {
        "appointment_date": VariableType.DATE,
        "appointment_time": VariableType.TIME,
        "appointment_place": VariableType.TEXT,
        "documents_to_bring": VariableType.LIST,
    }
    documents = asked["demande-pieces"]["documents"]
    deadline = asked["demande-pieces"]["deadline_days"]
    assert (documents.type, documents.catalogue) == (VariableType.LIST, "missing_documents")
    assert (deadline.type, deadline.default) == (VariableType.INT, 15)
    assert deadline.label == "Délai pour les fournir, en jours ouvrés"
    assert agent_values(letter_template(settings, "demande-pieces"), {"documents": ["x"]}) == {
        "documents": ["x"],
        "deadline_days": 15,
    }
    assert not asked["accuse-reception-reclamation"]["note"].required


def test_the_catalogues_the_manifests_name_are_settings(settings: Settings) -> None:
    for name in LETTERS:
        for spec in letter_template(settings, name).asked.values():
            if spec.catalogue is not None:
                catalogue = getattr(settings, f"{spec.catalogue}_catalogue")
                assert "Passeport en cours de validité" in catalogue
                assert "Justificatif de domicile de moins de trois mois" in catalogue


@pytest.mark.parametrize("name", LETTERS)
def test_every_asked_variable_is_used_and_required_by_the_wording(
    settings: Settings, name: str
) -> None:
    context = letter_context_for(settings, name)

    for variable in letter_template(settings, name).asked:
        without = {key: value for key, value in context.items() if key != variable}
        with pytest.raises(TemplateRenderError, match=f"« {variable} »"):
            render_letter(settings=settings, template=name, context=without)


@pytest.mark.parametrize("name", LETTERS)
def test_the_printed_letter_says_what_the_law_asks(
    printed: Callable[[str], PrintedLetter], name: str
) -> None:
    text = printed(name).flat_text

    for mention in MENTIONS[name]:
        assert mention in text


@pytest.mark.parametrize("name", LETTERS)
def test_the_printed_letter_has_letterhead_addresses_reference_and_signature(
    printed: Callable[[str], PrintedLetter], name: str
) -> None:
    letter = printed(name)
    lines = [line.strip() for line in letter.layout_text.splitlines()]
    text = letter.flat_text

    # The brand block: the préfet's title in capitals, the motto on three lines.
    assert lines[:5] == ["PRÉFET", "DU GERS", "Liberté", "Égalité", "Fraternité"]
    assert "RÉPUBLIQUE FRANÇAISE" not in text
    # The sender: the service in charge with its address, telephone and e-mail (CRPA L111-2).
    sender = [
        SERVICE_NAME,
        *SERVICE_ADDRESS,
        f"Tél. : {SERVICE_PHONE}",
        f"Courriel : {SERVICE_EMAIL}",
    ]
    for expected in sender:
        assert any(line.startswith(expected) for line in lines), expected
    for expected in [CITIZEN_NAME, *CITIZEN_ADDRESS]:
        assert any(line.endswith(expected) for line in lines), expected
    assert "Auch, le 5 novembre 2026" in lines
    assert f"Réf. : {REFERENCE}" in lines
    assert any(line.startswith("Objet : ") for line in lines)
    assert "Madame, Monsieur," in lines
    assert (
        "Je vous prie d'agréer, Madame, Monsieur, l'assurance de ma considération distinguée."
        in text
    )
    assert f"Pour le préfet et par délégation, {SIGNATORY_TITLE} Claire Dupuy" in text
    # The préfecture's contact footer and the page number, on every page.
    for page in letter.layout_text.split("\f")[:-1]:
        footer = flatten(page)
        assert "Préfecture du Gers – 3 place du Préfet Claude Érignac, 32007 Auch Cedex" in footer
        assert "Tél. : 05 62 61 44 00 – prefecture@gers.gouv.fr – https://www.gers.gouv.fr" in (
            footer
        )
        assert re.search(r"Page \d / \d", footer)


@pytest.mark.parametrize("name", LETTERS)
def test_the_e_mail_says_the_same_in_its_text_and_html_parts(
    printed: Callable[[str], PrintedLetter], name: str
) -> None:
    rendered = printed(name).rendered
    text, markup = flatten(rendered.text), html_words(rendered.html)

    assert f"[{REFERENCE}]" in rendered.subject
    assert rendered.html.startswith('<!DOCTYPE html>\n<html lang="fr">')
    common = [
        "PRÉFET DU GERS",
        f"Réf. : {REFERENCE}",
        "Madame, Monsieur,",
        f"Pour le préfet et par délégation, {SIGNATORY_TITLE} Claire Dupuy",
        f"{SERVICE_NAME} {' '.join(SERVICE_ADDRESS)} Téléphone : {SERVICE_PHONE} "
        f"Courriel : {SERVICE_EMAIL}",
        "https://www.gers.gouv.fr",
    ]
    for mention in [*common, *MENTIONS[name]]:
        assert mention in text
        assert mention in markup


def test_the_deadline_counts_working_days_in_the_prefectures_calendar(
    settings: Settings, printed: Callable[[str], PrintedLetter]
) -> None:
    calendar = WorkingCalendar.from_settings(settings)
    letter = printed("demande-pieces")

    assert date_fr(calendar.add_working_days(day=TODAY, count=15)) == DEADLINE
    assert f"avant le {DEADLINE}" in letter.rendered.subject
    later = render(settings, "demande-pieces", deadline_days=1)
    assert "au plus tard le 6 novembre 2026 (délai de 1 jour ouvré)" in flatten(later.text)


def test_a_suggestion_is_acknowledged_as_a_suggestion(settings: Settings) -> None:
    case = base_context()["case"] | {"kind": "suggestion", "delay_days": 10}
    rendered = render(settings, "accuse-reception-reclamation", case=case, note="Merci !")

    assert rendered.subject.startswith("Accusé de réception de votre suggestion [")
    for part in (flatten(rendered.text), html_words(rendered.html), html_words(rendered.document)):
        assert "J'accuse réception de votre suggestion, reçue le" in part
        assert "dans un délai de 10 jours ouvrés" in part
        assert "Merci !" in part


def test_a_prefete_signs_and_receives_the_appeals(settings: Settings) -> None:
    prefecture = base_context()["prefecture"] | {"prefet_title": "PRÉFÈTE DU GERS"}
    rendered = render(settings, "accuse-reception-demande-sejour", prefecture=prefecture)

    for part in (flatten(rendered.text), html_words(rendered.html), html_words(rendered.document)):
        assert "Pour la préfète et par délégation," in part
        assert "recours gracieux auprès de la préfète ;" in part
        assert "préfet " not in part


@pytest.mark.parametrize(
    ("address", "place_date"),
    [
        ("Hôtel de préfecture\n1 place Saint-Étienne\n31038 Toulouse Cedex 9", "Toulouse, le"),
        ("Hôtel de préfecture\n13282 MARSEILLE CEDEX 20", "MARSEILLE, le"),
        ("Rue de la Préfecture\n32000 Auch", "Auch, le"),
        ("", "Le"),
    ],
)
def test_the_place_is_the_town_of_the_prefectures_address(
    settings: Settings, address: str, place_date: str
) -> None:
    prefecture = base_context()["prefecture"] | {"postal_address": address}
    rendered = render(settings, "reponse-libre", prefecture=prefecture)

    assert f'<p class="place-date">{place_date} 5 novembre 2026</p>' in rendered.document


def test_the_agents_text_is_escaped_and_keeps_its_lines(settings: Settings, tmp_path: Path) -> None:
    message = 'Ligne <script>alert("x")</script> & suite\nDeuxième ligne'
    context = letter_context_for(settings, "reponse-libre") | {"message": message}
    rendered = render_letter(settings=settings, template="reponse-libre", context=context)

    for markup in (rendered.html, rendered.document):
        assert "<script>" not in markup
        assert "Ligne &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; suite<br>" in markup
    letter = print_letter(rendered, tmp_path / "escaped.pdf")
    assert 'Ligne <script>alert("x")</script> & suite\nDeuxième ligne' in letter.layout_text


def test_the_pdf_is_a4_tagged_with_embedded_dejavu_text(
    printed: Callable[[str], PrintedLetter],
) -> None:
    path = printed("reponse-libre").pdf_path
    info, fonts = poppler("pdfinfo", str(path)), poppler("pdffonts", str(path))

    assert re.search(r"Page size:\s+595\.\d+ x 841\.\d+ pts \(A4\)", info)
    assert re.search(r"Tagged:\s+yes", info)
    assert "DejaVu-Sans" in fonts
    # Reading order: the letter's text comes out in the order it is read.
    plain = flatten(poppler("pdftotext", str(path), "-"))
    order = ["PRÉFET", SERVICE_NAME, CITIZEN_NAME, "Réf. :", "Objet :", "Madame, Monsieur,"]
    positions = [plain.index(word) for word in order]
    assert positions == sorted(positions)


def test_a_long_answer_runs_onto_numbered_pages(settings: Settings, tmp_path: Path) -> None:
    paragraph = (
        "Le service a examiné avec attention chacun des points de votre courrier et vous "
        "apporte les précisions suivantes, qui répondent à votre demande."
    )
    message = "\n\n".join(f"{number}. {paragraph}" for number in range(1, 26))
    context = letter_context_for(settings, "reponse-libre") | {"message": message}
    rendered = render_letter(settings=settings, template="reponse-libre", context=context)
    letter = print_letter(rendered, tmp_path / "long.pdf")
    first, second = letter.layout_text.split("\f")[:2]

    assert letter.pages == 2
    assert "Page 1 / 2" in first
    assert "Page 2 / 2" in second
    # The following page repeats the reference at its top; the signature closes the letter.
    assert second.lstrip().startswith(f"Réf. : {REFERENCE}")
    assert "Claire Dupuy" in second
    assert "25. Le service" in second


def window_words(pdf: Path) -> list[tuple[str, tuple[float, float, float, float]]]:
    """Every word of the first page with its box in mm from the page's top-left corner."""
    bbox = poppler("pdftotext", "-bbox", "-f", "1", "-l", "1", str(pdf), "-")
    pattern = r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<'
    words = []
    for x_min, y_min, x_max, y_max, word in re.findall(pattern, bbox):
        left, top, right, bottom = (
            float(value) * MM_PER_POINT for value in (x_min, y_min, x_max, y_max)
        )
        words.append((html.unescape(word), (left, top, right, bottom)))
    return words


def dark_pixels(pdf: Path, directory: Path) -> tuple[set[tuple[int, int]], float]:
    """The dark pixels of the first page rendered at 50 dpi, and pixels per mm."""
    root = directory / pdf.stem
    poppler(
        "pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(root)
    )
    with Image.open(root.with_suffix(".png")) as image:
        grey = image.convert("L")
        width = grey.width
        data = grey.tobytes()
    dark = {(index % width, index // width) for index, value in enumerate(data) if value < 160}
    return dark, width / 210.0


def in_window(x: float, y: float, *, tolerance: float = 0.0) -> bool:
    """True when the point, in mm, lies in the envelope's window (widened by tolerance)."""
    left, top, right, bottom = WINDOW_MM
    return left - tolerance <= x <= right + tolerance and top - tolerance <= y <= bottom + tolerance


@pytest.fixture(scope="module")
def window_letters(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    """A letter to the longest address La Poste accepts, and the same letter with none."""
    assert all(len(line) <= 38 for line in [LONGEST_NAME, *LONGEST_ADDRESS])
    assert len([LONGEST_NAME, *LONGEST_ADDRESS]) == 6
    directory = tmp_path_factory.mktemp("window")
    citizen = {"name": LONGEST_NAME, "postal_address": "\n".join(LONGEST_ADDRESS), "email": ""}
    blank = {"name": "", "postal_address": "", "email": ""}
    paths = []
    for label, recipient in (("addressed", citizen), ("blank", blank)):
        rendered = render(settings, "accuse-reception-demande-sejour", citizen=recipient)
        paths.append(print_letter(rendered, directory / f"{label}.pdf").pdf_path)
    return paths[0], paths[1]


def test_the_address_words_lie_in_the_envelope_window(window_letters: tuple[Path, Path]) -> None:
    addressed, _ = window_letters
    words = window_words(addressed)
    expected = " ".join([LONGEST_NAME, *LONGEST_ADDRESS]).split()
    left, top, right, bottom = WINDOW_MM

    touching = [
        (word, box)
        for word, box in words
        if box[2] > left and box[0] < right and box[3] > top and box[1] < bottom
    ]
    assert sorted(word for word, _ in touching) == sorted(expected)
    for word, (x_min, y_min, x_max, y_max) in touching:
        assert left <= x_min, word
        assert x_max <= right, word
        assert top <= y_min, word
        assert y_max <= bottom, word


def test_the_window_shows_the_address_and_nothing_else(
    window_letters: tuple[Path, Path], tmp_path: Path
) -> None:
    addressed, blank = window_letters
    with_address, per_mm = dark_pixels(addressed, tmp_path)
    without_address, _ = dark_pixels(blank, tmp_path)
    tolerance = 1.5 / per_mm  # a pixel and a half of anti-aliasing

    def window(pixels: set[tuple[int, int]]) -> set[tuple[int, int]]:
        """The pixels that fall in the window."""
        return {(x, y) for x, y in pixels if in_window(x / per_mm, y / per_mm, tolerance=tolerance)}

    # Without an address the window is blank: nothing else is printed where it shows.
    assert not window(without_address)
    # The address is there, and every pixel it darkens is inside the window.
    address_pixels = with_address ^ without_address
    assert len(window(address_pixels)) > 500
    assert address_pixels == window(address_pixels)


@pytest.mark.parametrize("name", LETTERS)
def test_golden_printed_letter(printed: Callable[[str], PrintedLetter], name: str) -> None:
    check_golden(GOLDEN_DIR / f"{name}.pdf.txt", golden_pdf_text(printed(name).layout_text))


@pytest.mark.parametrize("name", LETTERS)
def test_golden_e_mail(printed: Callable[[str], PrintedLetter], name: str) -> None:
    rendered = printed(name).rendered
    check_golden(GOLDEN_DIR / f"{name}.email.txt", f"Objet : {rendered.subject}\n\n{rendered.text}")


def golden_pdf_text(layout_text: str) -> str:
    """pdftotext's layout, steadier: pages marked, trailing blanks cut, wide gaps made equal."""
    pages = layout_text.split("\f")[:-1]
    lines: list[str] = []
    for number, page in enumerate(pages, start=1):
        lines.append(f"----- page {number} / {len(pages)} -----")
        lines.extend(re.sub(r" {2,}", "    ", line).rstrip() for line in page.splitlines())
    return "\n".join(lines).rstrip() + "\n"


def check_golden(path: Path, actual: str) -> None:
    """The text equals the golden file; QUALIPREF_UPDATE_GOLDEN=1 rewrites it instead."""
    if UPDATE_GOLDEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    assert path.is_file(), f"{path.name} manque : relancer avec QUALIPREF_UPDATE_GOLDEN=1"
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, (
        f"{path.name} a changé ; si c'est voulu, relancer avec QUALIPREF_UPDATE_GOLDEN=1"
    )
