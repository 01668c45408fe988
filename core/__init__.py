"""What every layer shares (etl, dashboard, charts import it; it imports none of them)."""
