"""Shared decision making in clinics: the option grid, icon arrays and the printable summary."""
