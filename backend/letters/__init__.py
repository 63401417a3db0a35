"""Standard letters and e-mails: French templates rendered in a sandbox, strict about variables."""
