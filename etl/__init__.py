"""ETL for the DX dashboard: reference geography, indicators, demo data and report loads."""
