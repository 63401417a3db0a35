"""Complaint keywords propose the complaint kind whatever the accents and the case."""

from backend.cases.classification import SCANNED_BODY_CHARACTERS, suggest_complaint

KEYWORDS = ["réclamation", "plainte", "mécontentement"]


def test_keywords_match_without_accents_or_case() -> None:
    assert suggest_complaint(subject="RECLAMATION dossier 12", body="", keywords=KEYWORDS)
    assert suggest_complaint(subject="Objet", body="Je suis très Mécontent", keywords=["mécontent"])


def test_a_keyword_must_start_a_word() -> None:
    assert suggest_complaint(
        subject="Mes réclamations restent sans réponse", body="", keywords=KEYWORDS
    )
    assert not suggest_complaint(subject="Une déclamation", body="", keywords=["clamation"])


def test_only_the_beginning_of_a_long_body_counts() -> None:
    quoted_history = "x" * SCANNED_BODY_CHARACTERS + " > plainte du mois dernier"

    assert not suggest_complaint(subject="Question", body=quoted_history, keywords=KEYWORDS)


def test_no_keyword_configured_proposes_nothing() -> None:
    assert not suggest_complaint(subject="Réclamation", body="", keywords=["", "  "])
