"""The one working-day calendar of due dates, deadlines, alerts and indicators."""
