"""The private Dovecot server: mail comes out as it went in, per account, across restarts."""

from imapclient import IMAPClient

from tests.fixtures.dovecot import DovecotServer, ImapAccount

MESSAGE = (
    "From: Préfecture du Rhône <courrier@rhone.gouv.fr>\r\n"
    "To: usager@example.org\r\n"
    "Subject: Accusé de réception\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "Votre demande a été reçue ; délai de réponse : deux mois, à compter d'aujourd'hui.\r\n"
).encode()


def append_message(account: ImapAccount) -> None:
    """Put MESSAGE into the account's INBOX."""
    with account.connect() as client:
        client.append("INBOX", MESSAGE)


def inbox_messages(client: IMAPClient) -> dict[int, bytes]:
    """Every message of INBOX by UID, read without marking it seen."""
    client.select_folder("INBOX", readonly=True)
    uids = client.search(["ALL"])
    if not uids:
        return {}
    fetched = client.fetch(uids, ["BODY.PEEK[]"])
    return {uid: data[b"BODY[]"] for uid, data in fetched.items()}


def test_appended_message_reads_back_byte_for_byte(imap_account: ImapAccount) -> None:
    append_message(imap_account)
    with imap_account.connect() as client:
        status = client.select_folder("INBOX")
        messages = inbox_messages(client)

    assert isinstance(status[b"UIDVALIDITY"], int)
    assert list(messages.values()) == [MESSAGE]


def test_accounts_do_not_see_each_other(dovecot_server: DovecotServer) -> None:
    sender = dovecot_server.add_user()
    other = dovecot_server.add_user()
    append_message(sender)

    with other.connect() as client:
        assert inbox_messages(client) == {}
    with sender.connect() as client:
        assert list(inbox_messages(client).values()) == [MESSAGE]


def test_mail_survives_a_restart(dovecot_server: DovecotServer, imap_account: ImapAccount) -> None:
    append_message(imap_account)
    with imap_account.connect() as client:
        before = client.select_folder("INBOX")[b"UIDVALIDITY"]

    dovecot_server.stop()
    dovecot_server.start()

    with imap_account.connect() as client:
        after = client.select_folder("INBOX")[b"UIDVALIDITY"]
        assert list(inbox_messages(client).values()) == [MESSAGE]
    assert after == before


def test_users_added_while_running_log_in_at_once(dovecot_server: DovecotServer) -> None:
    for _ in range(3):
        account = dovecot_server.add_user()
        with account.connect() as client:
            assert client.select_folder("INBOX")[b"EXISTS"] == 0
