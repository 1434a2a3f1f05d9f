"""CDS Hooks 2.0 (2.0.1): discovery, service calls, cards, feedback and EHR JWT checks."""
