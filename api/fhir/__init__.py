"""FHIR R4 at the edge of the API: intake (resources -> patient case) and output (result ->
GuidanceResponse/RequestGroup). Parsed and validated with `fhir.resources.R4B`."""
