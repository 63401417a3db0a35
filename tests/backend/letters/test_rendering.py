"""The acknowledgement templates as a citizen reads them, and the renderer's safety rules."""

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from backend.config import Settings
from backend.letters.formatting import date_fr
from backend.letters.rendering import RenderedEmail, TemplateRenderError, render_email

ACKNOWLEDGEMENTS = [
    "accuse-reception-contact",
    "accuse-reception-sejour",
    "accuse-reception-qualite",
]
SERVICE_ADDRESS_LINES = ["Cité administrative", "32020 Auch Cedex 9"]


# The préfecture as the templates are given it (prefecture_context), written out by hand.
PREFECTURE = {
    "name": "Préfecture du Gers",
    "prefet_title": "PRÉFET DU GERS",
    "postal_address": "3 place du Préfet Claude Érignac\n32007 Auch Cedex",
    "phone": "05 62 61 44 00",
    "email": "prefecture@gers.gouv.fr",
    "website": "https://www.gers.gouv.fr",
    "opening_hours": "du lundi au vendredi, de 9 h à 12 h et de 14 h à 17 h",
    "department_name": "Gers",
    "logo_url": "",
}


def full_context(**changes: object) -> dict[str, Any]:
    """Everything an acknowledgement template is given, with some values replaced."""
    context: dict[str, Any] = {
        "reference": "GERS-2026-000123",
        "citizen_subject": "Renouvellement de ma carte de séjour",
        "received_at": datetime(2026, 11, 25, 13, 5, tzinfo=UTC),
        "delay_days": 5,
        "mailbox": {"kind": "contact", "address": "prefecture@gers.gouv.fr"},
        "service": {
            "name": "Bureau du séjour",
            "postal_address": "\n".join(SERVICE_ADDRESS_LINES),
            "email": "pref-sejour-etrangers@gers.gouv.fr",
            "phone": "05 62 61 44 10",
        },
        "prefecture": PREFECTURE,
    }
    context.update(changes)
    return context


def render(settings: Settings, template: str, **changes: object) -> RenderedEmail:
    """The e-mail of a template folder with the full context, some values replaced."""
    return render_email(settings=settings, template=template, context=full_context(**changes))


def assert_in_both_parts(rendered: RenderedEmail, *phrases: str) -> None:
    """Each phrase is read in the text part and in the HTML part alike."""
    for phrase in phrases:
        assert phrase in rendered.text
        assert phrase in rendered.html


def override_settings(tmp_path: Path, files: dict[str, str]) -> Settings:
    """Settings whose override folder holds these templates."""
    override_dir = tmp_path / "modeles-prefecture"
    for name, content in files.items():
        (override_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (override_dir / name).write_text(content, encoding="utf-8")
    return Settings(data_dir=tmp_path, letter_templates_override_dir=override_dir)


@pytest.mark.parametrize("template", ACKNOWLEDGEMENTS)
def test_subject_quotes_the_reference_and_the_citizen_subject(
    settings: Settings, template: str
) -> None:
    rendered = render(settings, template)

    assert rendered.subject == (
        "Accusé de réception [GERS-2026-000123] – Renouvellement de ma carte de séjour"
    )


@pytest.mark.parametrize("template", ACKNOWLEDGEMENTS)
def test_both_parts_give_the_reference_and_the_local_time_of_receipt(
    settings: Settings, template: str
) -> None:
    rendered = render(settings, template)

    assert_in_both_parts(rendered, "25 novembre 2026 à 14 h 05", "GERS-2026-000123")
    assert "<strong>GERS-2026-000123</strong>" in rendered.html


@pytest.mark.parametrize("template", ACKNOWLEDGEMENTS)
def test_both_parts_give_the_service_in_charge(settings: Settings, template: str) -> None:
    rendered = render(settings, template)

    assert "Bureau du séjour\n" + "\n".join(SERVICE_ADDRESS_LINES) + "\n" in rendered.text
    assert "Cité administrative<br>" in rendered.html
    assert_in_both_parts(rendered, "05 62 61 44 10", "pref-sejour-etrangers@gers.gouv.fr")


@pytest.mark.parametrize("template", ACKNOWLEDGEMENTS)
def test_both_parts_promise_the_delay_and_point_to_hours_and_sites(
    settings: Settings, template: str
) -> None:
    rendered = render(settings, template)

    assert_in_both_parts(
        rendered,
        "5 jours ouvrés",
        "du lundi au vendredi, de 9 h à 12 h et de 14 h à 17 h",
        "https://www.service-public.fr",
        "https://www.gers.gouv.fr",
        "Préfecture du Gers",
    )


def test_residence_acknowledgement_explains_the_implicit_rejection(settings: Settings) -> None:
    rendered = render(settings, "accuse-reception-sejour")

    assert_in_both_parts(
        rendered,
        "quatre mois",
        "décision implicite de rejet",
        "R432-1",
        "tribunal administratif",
        "https://administration-etrangers-en-france.interieur.gouv.fr",
    )


def test_quality_acknowledgement_thanks_for_the_suggestion_or_complaint(
    settings: Settings,
) -> None:
    rendered = render(settings, "accuse-reception-qualite")

    assert_in_both_parts(
        rendered,
        "Nous vous remercions pour votre suggestion ou votre réclamation",
        "responsable qualité",
    )


@pytest.mark.parametrize("template", ACKNOWLEDGEMENTS)
def test_html_part_is_a_self_contained_french_document(settings: Settings, template: str) -> None:
    html = render(settings, template).html

    assert html.startswith('<!DOCTYPE html>\n<html lang="fr">')
    assert '<meta charset="utf-8">' in html
    assert "<script" not in html
    assert "<img" not in html
    assert "src=" not in html


def test_citizen_script_is_escaped_in_html_and_kept_in_text(settings: Settings) -> None:
    subject = "<script>alert(1)</script> & co"

    rendered = render(settings, "accuse-reception-contact", citizen_subject=subject)

    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in rendered.html
    assert "<script>" not in rendered.html
    assert subject in rendered.text
    assert rendered.subject.endswith(f"– {subject}")


@pytest.mark.parametrize(
    ("dropped", "failing_template"),
    [
        ("service.phone", "accuse-reception-contact/body.txt.j2"),
        ("reference", "accuse-reception-contact/subject.txt.j2"),
    ],
)
def test_missing_variable_is_an_error_naming_it_and_the_template(
    settings: Settings, dropped: str, failing_template: str
) -> None:
    context = full_context()
    *parents, name = dropped.split(".")
    owner = context
    for parent in parents:
        owner = owner[parent]
    del owner[name]

    with pytest.raises(TemplateRenderError) as raised:
        render_email(settings=settings, template="accuse-reception-contact", context=context)

    assert f"« {dropped} »" in str(raised.value)
    assert f"« {failing_template} »" in str(raised.value)


def test_none_is_never_printed(settings: Settings) -> None:
    context = full_context()
    context["service"]["phone"] = None

    with pytest.raises(TemplateRenderError, match="None"):
        render_email(settings=settings, template="accuse-reception-contact", context=context)


def test_unknown_template_folder_is_an_error(settings: Settings) -> None:
    with pytest.raises(TemplateRenderError, match="introuvable"):
        render(settings, "accuse-reception-inconnu")


def test_prefecture_override_replaces_only_its_own_files(tmp_path: Path) -> None:
    settings = override_settings(
        tmp_path, {"accuse-reception-contact/subject.txt.j2": "Votre message {{ reference }}\n"}
    )

    rendered = render(settings, "accuse-reception-contact")

    assert rendered.subject == "Votre message GERS-2026-000123"
    assert "25 novembre 2026 à 14 h 05" in rendered.text
    assert "https://www.service-public.fr" in rendered.html


def test_sandbox_refuses_python_internals_in_an_override(tmp_path: Path) -> None:
    settings = override_settings(
        tmp_path, {"accuse-reception-contact/subject.txt.j2": "{{ reference.__class__.__mro__ }}"}
    )

    with pytest.raises(TemplateRenderError, match="interdit"):
        render(settings, "accuse-reception-contact")


def test_syntax_error_in_an_override_gives_the_line(tmp_path: Path) -> None:
    settings = override_settings(
        tmp_path, {"accuse-reception-contact/subject.txt.j2": "Objet\n{% if reference %}\n"}
    )

    with pytest.raises(TemplateRenderError, match="ligne"):
        render(settings, "accuse-reception-contact")


@pytest.mark.parametrize(
    ("day", "expected"),
    [(date(2026, 12, 1), "1er décembre 2026"), (date(2026, 11, 25), "25 novembre 2026")],
)
def test_date_fr_writes_dates_as_the_administration_does(day: date, expected: str) -> None:
    assert date_fr(day) == expected


def test_date_filter_given_text_is_an_error(tmp_path: Path) -> None:
    settings = override_settings(
        tmp_path, {"accuse-reception-contact/subject.txt.j2": "{{ citizen_subject|date_fr }}"}
    )

    with pytest.raises(TemplateRenderError, match="date_fr attend une date"):
        render(settings, "accuse-reception-contact")
