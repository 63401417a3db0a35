"""Files kept outside the database: raw messages, attachments, PDFs."""
