"""Overdue alerts: each working day, every service is e-mailed its cases late and due next."""
